"""``reefline lsp``: the language server for ``reefline.yaml``, on top of :mod:`reefline.spec`.

The feature modules (completion, hover, navigation, actions) are pure functions of a
:class:`~reefline.lsp.state.DocumentState` and a position; :mod:`reefline.lsp.server` wires them to pygls.
"""
