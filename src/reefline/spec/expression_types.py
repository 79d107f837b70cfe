"""Static types of ``if:`` expressions: what would fail (or always be false) at run time, found at validation.

At run time params have their declared type (``-p`` values are coerced to it), while matrix values
and variables are strings (they are rendered into names and environments). So ``1 < params.s`` with
a string param, or ``matrix.n > 1``, can be found before anything runs. Each problem is located at
the operator and says what to write instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reefline.spec.expressions import Binary, Expr, ListExpr, Literal, Ref, Unary, type_name

# "number", "string", "bool", "null", "list", or "any" when not known statically.
ANY = "any"
_PARAM_TYPES = {"str": "string", "int": "number", "float": "number", "bool": "bool", "list": "list"}
_ORDERED = ("number", "string")


@dataclass(frozen=True, slots=True)
class TypeProblem:
    message: str
    offset: int
    length: int
    hint: str | None


def param_type_word(ptype: str) -> str:
    return _PARAM_TYPES.get(ptype, ANY)


class _Checker:
    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params  # param name -> "number", "string", ...
        self.problems: list[TypeProblem] = []

    def type_of(self, expr: Expr) -> str:
        if isinstance(expr, Literal):
            return type_name(expr.value)
        if isinstance(expr, Ref):
            if expr.root == "params":
                return self.params.get(expr.parts[0], ANY)
            return "string"  # matrix values and variables are rendered as text
        if isinstance(expr, ListExpr):
            for item in expr.items:
                self.type_of(item)
            return "list"
        if isinstance(expr, Unary):
            self.type_of(expr.operand)
            return "bool"
        left, right = self.type_of(expr.left), self.type_of(expr.right)
        if expr.op not in ("and", "or"):
            self.compare(expr, left, right)
        return "bool"

    def shallow(self, expr: Expr) -> str:
        """The type of ``expr`` without reporting anything (its problems are reported once, elsewhere)."""
        if isinstance(expr, Literal):
            return type_name(expr.value)
        if isinstance(expr, Ref):
            return self.params.get(expr.parts[0], ANY) if expr.root == "params" else "string"
        return "list" if isinstance(expr, ListExpr) else "bool"

    def report(self, expr: Binary, message: str, hint: str | None) -> None:
        self.problems.append(TypeProblem(message, expr.offset, len(expr.op.split()[0]), hint))

    def compare(self, expr: Binary, left: str, right: str) -> None:
        if ANY in (left, right):
            return
        op = expr.op
        if op in ("in", "not in"):
            self.membership(expr, left, right)
        elif op in ("==", "!="):
            if left != right and "null" not in (left, right):
                outcome = "false" if op == "==" else "true"
                self.report(
                    expr,
                    f"'{op}' compares {_described(expr.left, left)} with {_described(expr.right, right)}; "
                    f"it is always {outcome}",
                    _hint(expr, left, right),
                )
        elif left != right or left not in _ORDERED:
            what = f"{_described(expr.left, left)} {op} {_described(expr.right, right)}"
            why = "only numbers or only strings can be ordered"
            self.report(expr, f"cannot compare {what}: {why}", _hint(expr, left, right))

    def membership(self, expr: Binary, left: str, right: str) -> None:
        if right not in ("list", "string"):
            self.report(
                expr,
                f"'{expr.op}' needs a list or a string on the right, got {_described(expr.right, right)}",
                "e.g. `matrix.model in ['tree', 'forest']`",
            )
            return
        if right == "string" and left != "string":
            self.report(
                expr,
                f"'{expr.op}' looks for text in a string, but the left side is {_described(expr.left, left)}",
                "to test one of several values, put them in a list, e.g. `params.n in [1, 2]`",
            )
            return
        if right == "list" and isinstance(expr.right, ListExpr) and expr.right.items and left != "null":
            kinds = {self.shallow(item) for item in expr.right.items}
            if ANY not in kinds and left not in kinds and "null" not in kinds:
                shown = " or ".join(sorted(kinds))
                self.report(
                    expr,
                    f"'{expr.op}' looks for {_described(expr.left, left)} in a list of {shown} values; "
                    "it can never be found",
                    _hint(expr, left, sorted(kinds)[0]),
                )


def _described(expr: Expr, kind: str) -> str:
    if isinstance(expr, Ref):
        return f"{expr.text} ({kind})"
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _hint(expr: Binary, left: str, right: str) -> str | None:
    sides = (expr.left, expr.right)
    if "bool" in (left, right) and expr.op in ("<", "<=", ">", ">="):
        return "use a boolean as a condition on its own: `params.flag` or `not params.flag`"
    text_refs = [s for s in sides if isinstance(s, Ref) and s.root in ("matrix", "variables")]
    if text_refs and "number" in (left, right):
        ref = text_refs[0]
        numbers = [s.value for s in sides if isinstance(s, Literal) and type_name(s.value) == "number"]
        example = (
            f", e.g. `{ref.text} {expr.op} '{numbers[0]}'`" if numbers and expr.op in ("==", "!=") else ""
        )
        return f"{ref.text} is text (matrix values and variables are strings): compare it with text{example}"
    params = [s for s in sides if isinstance(s, Ref) and s.root == "params"]
    if params:
        name = params[0].parts[0]
        return (
            f"compare param '{name}' with a value of its type, or declare the type it should have "
            "(e.g. `{type: int, default: 1}`)"
        )
    return None


def check_types(expr: Expr, params: Mapping[str, str]) -> list[TypeProblem]:
    """Every type problem of ``expr``; ``params`` maps a param name to its type word (``number``...)."""
    checker = _Checker(params)
    checker.type_of(expr)
    return checker.problems
