"""Lineage: which job made an artifact, from what, back across runs and pipelines (``reefline trace``)."""
