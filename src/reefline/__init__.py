"""Reefline: typed, cached ML and CI pipelines from one YAML file."""

__version__ = "0.1.0"
