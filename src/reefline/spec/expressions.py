"""The ``if:`` language: a tokenizer and a recursive-descent parser. Nothing is ever passed to eval.

Grammar (lowest precedence first)::

    expr    := or
    or      := and (("or" | "||") and)*
    and     := not (("and" | "&&") not)*
    not     := ("not" | "!") not | compare
    compare := primary (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") primary)?
    primary := NUMBER | STRING | true | false | null | "[" [expr ("," expr)*] "]" | "(" expr ")" | REF
    REF     := ("params" | "variables" | "matrix") "." NAME ("." NAME)*

The whole expression may be wrapped in ``${{ }}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROOTS = ("params", "variables", "matrix")


class ExpressionError(Exception):
    """A bad expression; ``offset`` is the 0-based index in the source of the offending token."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any
    offset: int


@dataclass(frozen=True, slots=True)
class Ref:
    root: str
    parts: tuple[str, ...]
    offset: int

    @property
    def text(self) -> str:
        return ".".join((self.root, *self.parts))


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Expr, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: Expr
    offset: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    offset: int


Expr = Literal | Ref | ListExpr | Unary | Binary


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # NUM, STR, NAME, OP, END
    text: str
    offset: int
    value: Any = None


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+\.\d*|\.\d+|\d+)(?![\w.])
  | (?P<name>[A-Za-z_][\w-]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\],.])
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}


def tokenize(src: str, base: int = 0) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            ch = src[pos]
            if ch in "'\"":
                raise ExpressionError("unterminated string", base + pos)
            if ch == "=":
                raise ExpressionError("unexpected '='; use '==' to compare", base + pos)
            if ch in "&|":
                raise ExpressionError(f"unexpected '{ch}'; use '{ch * 2}' or 'and'/'or'", base + pos)
            raise ExpressionError(f"unexpected character {ch!r}", base + pos)
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "num":
            if len(text) > 100:
                raise ExpressionError(f"number too long ({len(text)} digits)", base + pos)
            tokens.append(Token("NUM", text, base + pos, float(text) if "." in text else int(text)))
        elif kind == "str":
            tokens.append(Token("STR", text, base + pos, _unquote(text)))
        elif kind == "name":
            tokens.append(Token("NAME", text, base + pos))
        elif kind == "op":
            tokens.append(Token("OP", text, base + pos))
        pos = m.end()
    tokens.append(Token("END", "", base + len(src)))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


_WRAPPED = re.compile(r"^\s*\$\{\{(?P<inner>.*)\}\}\s*$", re.DOTALL)


def parse_expression(src: str) -> Expr:
    """Parse an ``if:`` expression; raises :class:`ExpressionError` with the offset of the bad token."""
    base = 0
    m = _WRAPPED.match(src)
    if m:
        base = m.start("inner")
        src = m.group("inner")
    parser = _Parser(tokenize(src, base))
    if parser.peek().kind == "END":
        raise ExpressionError("empty expression", base)
    expr = parser.parse_or()
    tok = parser.peek()
    if tok.kind != "END":
        raise ExpressionError(f"unexpected {_show(tok)} after a complete expression", tok.offset)
    deepest = _deepest(expr)
    if deepest is not None:
        raise ExpressionError(
            f"expression nested too deeply (more than {MAX_DEPTH} levels of operators)", deepest.offset
        )
    return expr


MAX_DEPTH = 100


def _children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, ListExpr):
        return expr.items
    return ()


def _deepest(expr: Expr) -> Expr | None:
    """The first node deeper than :data:`MAX_DEPTH`, found without recursion (a chain of 10,000
    ``and`` is flat to parse but deep as a tree); every recursive walk of a parsed tree is then safe."""
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((child, depth + 1) for child in _children(node))
    return None


def _show(tok: Token) -> str:
    return "end of expression" if tok.kind == "END" else f"'{tok.text}'"


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.peek()
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok.kind in ("OP", "NAME") and tok.text in texts

    def expect(self, text: str) -> Token:
        tok = self.next()
        if tok.text != text or tok.kind not in ("OP", "NAME"):
            raise ExpressionError(f"expected '{text}', got {_show(tok)}", tok.offset)
        return tok

    def parse_or(self) -> Expr:
        self.depth += 1
        if self.depth > 100:
            raise ExpressionError("expression nested too deeply", self.peek().offset)
        left = self.parse_and()
        while self.at("or", "||"):
            tok = self.next()
            left = Binary("or", left, self.parse_and(), tok.offset)
        self.depth -= 1
        return left

    def parse_and(self) -> Expr:
        left = self.parse_not()
        while self.at("and", "&&"):
            tok = self.next()
            left = Binary("and", left, self.parse_not(), tok.offset)
        return left

    def parse_not(self) -> Expr:
        if self.at("not", "!") and not (self.peek().text == "not" and self.peek(1).text == "in"):
            tok = self.next()
            self.depth += 1
            if self.depth > 100:
                raise ExpressionError("expression nested too deeply", tok.offset)
            operand = self.parse_not()
            self.depth -= 1
            return Unary("not", operand, tok.offset)
        return self.parse_compare()

    def parse_compare(self) -> Expr:
        left = self.parse_primary()
        tok = self.peek()
        if self.at("==", "!=", "<", "<=", ">", ">=", "in"):
            self.next()
            return Binary(tok.text, left, self.parse_primary(), tok.offset)
        if self.at("not") and self.peek(1).text == "in":
            self.next()
            self.next()
            return Binary("not in", left, self.parse_primary(), tok.offset)
        return left

    def parse_primary(self) -> Expr:
        tok = self.next()
        if tok.kind in ("NUM", "STR"):
            return Literal(tok.value, tok.offset)
        if tok.kind == "OP" and tok.text == "(":
            inner = self.parse_or()
            self.expect(")")
            return inner
        if tok.kind == "OP" and tok.text == "[":
            items: list[Expr] = []
            if not self.at("]"):
                items.append(self.parse_or())
                while self.at(","):
                    self.next()
                    items.append(self.parse_or())
            self.expect("]")
            return ListExpr(tuple(items), tok.offset)
        if tok.kind == "NAME":
            if tok.text in ("true", "false"):
                return Literal(tok.text == "true", tok.offset)
            if tok.text == "null":
                return Literal(None, tok.offset)
            if tok.text in _KEYWORDS:
                raise ExpressionError(f"unexpected '{tok.text}'", tok.offset)
            return self.parse_ref(tok)
        raise ExpressionError(f"expected a value, got {_show(tok)}", tok.offset)

    def parse_ref(self, tok: Token) -> Ref:
        if tok.text not in ROOTS:
            raise ExpressionError(
                f"unknown name '{tok.text}'; references start with params., variables. or matrix.",
                tok.offset,
            )
        parts: list[str] = []
        while self.at("."):
            self.next()
            name = self.next()
            if name.kind != "NAME":
                raise ExpressionError(f"expected a name after '.', got {_show(name)}", name.offset)
            parts.append(name.text)
        if not parts:
            raise ExpressionError(f"'{tok.text}' needs a name, e.g. {tok.text}.x", tok.offset)
        return Ref(tok.text, tuple(parts), tok.offset)


def references(expr: Expr) -> set[tuple[str, str]]:
    """Every ``(root, name)`` the expression reads, e.g. ``{("params", "lr")}``."""
    if isinstance(expr, Ref):
        return {(expr.root, expr.parts[0])}
    if isinstance(expr, ListExpr):
        return set().union(*(references(i) for i in expr.items)) if expr.items else set()
    if isinstance(expr, Unary):
        return references(expr.operand)
    if isinstance(expr, Binary):
        return references(expr.left) | references(expr.right)
    return set()


def ref_nodes(expr: Expr) -> list[Ref]:
    """Every reference node, in source order (for positioned diagnostics)."""
    if isinstance(expr, Ref):
        return [expr]
    if isinstance(expr, ListExpr):
        return [r for i in expr.items for r in ref_nodes(i)]
    if isinstance(expr, Unary):
        return ref_nodes(expr.operand)
    if isinstance(expr, Binary):
        return sorted(ref_nodes(expr.left) + ref_nodes(expr.right), key=lambda r: r.offset)
    return []


def type_name(value: Any) -> str:
    """The expression language's name for a value's type (null, bool, number, string, list)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def evaluate(expr: Expr, context: Mapping[str, Mapping[str, Any]]) -> Any:
    """Value of ``expr`` over ``context`` (``{"params": {...}, "variables": {...}, "matrix": {...}}``).

    Raises only :class:`ExpressionError` (an unknown reference, a comparison of mismatched types),
    whatever the values; the linter rejects at validation every such case it can see statically."""
    try:
        return _evaluate(expr, context)
    except ExpressionError:
        raise
    except (TypeError, ValueError, RecursionError, AttributeError) as exc:  # defence in depth
        offset = getattr(expr, "offset", 0)
        raise ExpressionError(f"cannot evaluate the expression: {exc}", offset) from None


def _evaluate(expr: Expr, context: Mapping[str, Mapping[str, Any]]) -> Any:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Ref):
        value: Any = context.get(expr.root, {})
        for i, part in enumerate(expr.parts):
            if not isinstance(value, Mapping) or part not in value:
                shown = ".".join((expr.root, *expr.parts[: i + 1]))
                raise ExpressionError(f"unknown reference '{shown}'", expr.offset)
            value = value[part]
        return value
    if isinstance(expr, ListExpr):
        return [_evaluate(i, context) for i in expr.items]
    if isinstance(expr, Unary):
        return not _evaluate(expr.operand, context)
    if expr.op == "or":
        return bool(_evaluate(expr.left, context)) or bool(_evaluate(expr.right, context))
    if expr.op == "and":
        return bool(_evaluate(expr.left, context)) and bool(_evaluate(expr.right, context))
    left, right = _evaluate(expr.left, context), _evaluate(expr.right, context)
    return _compare(expr.op, left, right, expr.offset)


def _compare(op: str, left: Any, right: Any, offset: int) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op in ("in", "not in"):
        if (isinstance(right, str) and isinstance(left, str)) or isinstance(right, list):
            found = left in right
        else:
            raise ExpressionError(
                f"'{op}' needs a list or a string on the right, got {type_name(right)}", offset
            )
        return found if op == "in" else not found
    lt, rt = type_name(left), type_name(right)
    if lt != rt or lt not in ("number", "string"):
        raise ExpressionError(f"cannot compare {lt} {op} {rt}", offset)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)
