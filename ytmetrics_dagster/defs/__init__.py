"""Dagster definitions, loaded as a folder by ``definitions.py``."""
