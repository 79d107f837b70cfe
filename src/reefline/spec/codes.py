"""Stable diagnostic codes, in one place.

=====  ==========================================
code   title
=====  ==========================================
RL100  internal error (a bug in Reefline)
RL101  YAML syntax error
RL102  duplicate key
RL103  unknown key
RL104  wrong type
RL105  missing key
RL106  invalid value
RL107  key is not a string
RL108  document too large or recursive
RL201  unknown job in needs
RL202  unknown job or output in from
RL203  dependency cycle
RL204  unknown stage
RL205  dependency on a later stage
RL206  duplicate stage
RL207  output path written twice (after rendering)
RL208  invalid job name
RL301  type mismatch on an edge
RL302  unknown artifact type
RL303  cycle in type extends
RL304  custom type shadows a predefined type
RL401  invalid if expression
RL402  undefined reference
RL403  invalid template
RL404  type error in an if expression
RL501  not supported yet
RL502  invalid duration
RL503  job needs exactly one of script or run
RL504  invalid run entry point
RL505  input needs exactly one of path or from
RL506  path leaves the workspace
RL507  invalid param
RL508  empty matrix
RL509  `params` on a job that is not a `run:` job (warning)
RL510  too many jobs after matrix expansion
RL511  matrix values that name the same job
RL601  image or executor not in the allow-list
=====  ==========================================

Codes never change meaning once released; retired codes are not reused.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    "RL100": "internal error",
    "RL101": "YAML syntax error",
    "RL102": "duplicate key",
    "RL103": "unknown key",
    "RL104": "wrong type",
    "RL105": "missing key",
    "RL106": "invalid value",
    "RL107": "key is not a string",
    "RL108": "document too large or recursive",
    "RL201": "unknown job in needs",
    "RL202": "unknown job or output in from",
    "RL203": "dependency cycle",
    "RL204": "unknown stage",
    "RL205": "dependency on a later stage",
    "RL206": "duplicate stage",
    "RL207": "output path written twice",
    "RL208": "invalid job name",
    "RL301": "type mismatch on an edge",
    "RL302": "unknown artifact type",
    "RL303": "cycle in type extends",
    "RL304": "custom type shadows a predefined type",
    "RL401": "invalid if expression",
    "RL402": "undefined reference",
    "RL403": "invalid template",
    "RL404": "type error in an if expression",
    "RL501": "not supported yet",
    "RL502": "invalid duration",
    "RL503": "job needs exactly one of script or run",
    "RL504": "invalid run entry point",
    "RL505": "input needs exactly one of path or from",
    "RL506": "path leaves the workspace",
    "RL507": "invalid param",
    "RL508": "empty matrix",
    "RL509": "params on a script job",
    "RL510": "too many jobs after matrix expansion",
    "RL511": "matrix values that name the same job",
    "RL601": "image or executor not in the allow-list",
}
