"""Vendor faces: one pure function per vendor from our Result to that vendor's response dict.

A face translates and never decides: the state, reason and flags are the engine's; each module
holds the vendor's field names, enums and reason vocabulary, and imports no other face.
"""
