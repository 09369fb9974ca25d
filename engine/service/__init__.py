"""mailprobe's HTTP service: the native API and the faces of the verification APIs it replaces.

Nothing in the engine imports this package; it imports the engine's public values only.
"""
