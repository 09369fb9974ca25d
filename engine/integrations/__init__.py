"""Web-framework integrations: pydantic, Django, FastAPI and Flask, one small module each.

Each module imports its framework (install the extra of the same name, e.g.
`pip install 'mailprobe[django]'`); this package itself imports none, and nothing in the engine
imports it. Every module goes through the same time-bounded check (`_check.py`) and policy.
"""
