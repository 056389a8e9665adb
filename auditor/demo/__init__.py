"""The bundled demo snapshot (package data)."""
