"""The HTTP service (`mailprobe serve`): one engine process, a native API and vendor faces."""
