"""HTTP routes, one module per face."""
