"""Directed-graph helpers on plain edge lists, from the standard library (graphlib).

Used for the bill of materials: its topological order (tiers), its cycles and what an item
feeds (descendants).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Sequence
from graphlib import CycleError, TopologicalSorter
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def _predecessors(edges: Iterable[tuple[N, N]]) -> dict[N, list[N]]:
    """{node: nodes with an edge into it}, every node present (sources with no entry edges)."""
    preds: dict[N, list[N]] = {}
    for a, b in edges:
        preds.setdefault(a, [])
        preds.setdefault(b, []).append(a)
    return preds


def topological_order(edges: Iterable[tuple[N, N]]) -> list[N]:
    """Nodes of the graph ``edges`` (``a -> b`` means a before b) in topological order.

    Raises ValueError naming a cycle if there is one.
    """
    try:
        return list(TopologicalSorter(_predecessors(edges)).static_order())
    except CycleError as e:
        cycle = e.args[1]
        raise ValueError("the graph has a cycle: " + " -> ".join(map(str, cycle))) from None


def find_cycle(edges: Iterable[tuple[N, N]]) -> list[tuple[N, N]] | None:
    """A cycle of the graph as its edges ``[(a, b), (b, c), ..., (z, a)]``, or None."""
    try:
        TopologicalSorter(_predecessors(edges)).prepare()
    except CycleError as e:
        nodes: Sequence[N] = e.args[1]  # [n0, n1, ..., n0], each an input of the next
        return list(itertools.pairwise(nodes))
    return None


def descendants(edges: Iterable[tuple[N, N]], node: N) -> set[N]:
    """Every node reachable from ``node`` along ``edges`` (``node`` itself excluded)."""
    succ: dict[N, list[N]] = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    seen: set[N] = set()
    todo = list(succ.get(node, []))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(succ.get(n, []))
    seen.discard(node)
    return seen
