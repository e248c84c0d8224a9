"""Recommendation models, one file per family, registered by name in `registry.py`."""
