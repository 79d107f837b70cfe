"""A pure DAG over step ids: ordering, cycles, reachability. No business logic."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping


class CycleError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(cycle))
        self.cycle = cycle


def topological_order(needs: Mapping[str, Iterable[str]]) -> list[str]:
    """Kahn's algorithm, stable: among ready nodes the one declared first comes first."""
    position = {node: i for i, node in enumerate(needs)}
    indegree = {node: 0 for node in needs}
    downstream: dict[str, list[str]] = {node: [] for node in needs}
    for node, ups in needs.items():
        for up in ups:
            indegree[node] += 1
            downstream[up].append(node)
    ready = deque(node for node in needs if indegree[node] == 0)
    order: list[str] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        released = []
        for down in downstream[node]:
            indegree[down] -= 1
            if indegree[down] == 0:
                released.append(down)
        ready.extend(sorted(released, key=position.__getitem__))
    if len(order) != len(needs):
        raise CycleError(find_cycle({n: list(u) for n, u in needs.items() if n not in set(order)}))
    return order


def find_cycle(needs: Mapping[str, Iterable[str]]) -> list[str]:
    """One cycle as a closed path, e.g. ``[a, b, a]``; empty when there is none."""
    graph = {node: list(ups) for node, ups in needs.items()}
    color: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        color[node] = 1
        stack.append(node)
        for up in graph.get(node, []):
            if color.get(up) == 1:
                return [*stack[stack.index(up) :], up]
            if up in graph and up not in color and (found := visit(up)):
                return found
        stack.pop()
        color[node] = 2
        return []

    for node in graph:
        if node not in color and (found := visit(node)):
            return found
    return []


def downstream_closure(needs: Mapping[str, Iterable[str]], roots: Iterable[str]) -> set[str]:
    """The roots and every node that depends on them, directly or not."""
    downstream: dict[str, list[str]] = {node: [] for node in needs}
    for node, ups in needs.items():
        for up in ups:
            downstream.setdefault(up, []).append(node)
    seen = set(roots)
    todo = deque(seen)
    while todo:
        for down in downstream.get(todo.popleft(), []):
            if down not in seen:
                seen.add(down)
                todo.append(down)
    return seen
