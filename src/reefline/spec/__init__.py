"""The pipeline language: YAML with source positions, models, linter, JSON Schema.

Imports nothing else of Reefline. Public entry point: :func:`reefline.spec.load_spec`.
"""
