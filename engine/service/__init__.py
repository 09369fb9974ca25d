"""mailprobe's HTTP service (`mailprobe serve`): one engine process, the native API and the
faces of the verification APIs it replaces.

Nothing in the engine imports this package; it imports the engine's public values only.
"""
