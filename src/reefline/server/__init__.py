"""The Reefline server: a FastAPI app over the same services the CLI uses (``reefline server``)."""
