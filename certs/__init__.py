"""Sillage cryptography (placeholder while building)."""
