"""Small modules that show the engine's API; the engine's own tests and tools run them."""
