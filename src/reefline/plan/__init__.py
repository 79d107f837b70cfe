"""Spec -> backend-neutral plan. Pure: no I/O, no processes, no database.

Imports only :mod:`reefline.spec`.
"""
