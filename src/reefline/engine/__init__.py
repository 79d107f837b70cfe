"""Runs plans: a durable state machine in the store; ready steps go to an executor."""
