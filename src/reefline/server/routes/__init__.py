"""One module per resource; each exposes ``router`` (a :class:`~reefline.server.routing.SecureRouter`)."""
