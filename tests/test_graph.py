"""The standard-library graph helpers that replace networkx (materiel.model.graph)."""

from __future__ import annotations

import pytest

from materiel.model.graph import descendants, find_cycle, topological_order


def test_topological_order_puts_inputs_first() -> None:
    order = topological_order([("tnt", "shell"), ("cotton", "nc"), ("nc", "propellant"),
                               ("propellant", "shell")])  # fmt: skip
    assert set(order) == {"tnt", "shell", "cotton", "nc", "propellant"}
    for a, b in [("tnt", "shell"), ("cotton", "nc"), ("nc", "propellant"), ("propellant", "shell")]:
        assert order.index(a) < order.index(b)


def test_topological_order_names_a_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        topological_order([("a", "b"), ("b", "a")])


def test_find_cycle_returns_its_edges_in_order() -> None:
    assert find_cycle([("x", "a"), ("c", "a"), ("b", "c"), ("a", "b"), ("q", "r")]) in (
        [("a", "b"), ("b", "c"), ("c", "a")],
        [("b", "c"), ("c", "a"), ("a", "b")],
        [("c", "a"), ("a", "b"), ("b", "c")],
    )
    assert find_cycle([("a", "a")]) == [("a", "a")]
    assert find_cycle([("a", "b"), ("b", "c")]) is None
    assert find_cycle([]) is None


def test_descendants() -> None:
    edges = [("cotton", "nc"), ("nc", "propellant"), ("propellant", "shell"), ("tnt", "shell")]
    assert descendants(edges, "cotton") == {"nc", "propellant", "shell"}
    assert descendants(edges, "shell") == set()
    assert descendants([("a", "b"), ("b", "a")], "a") == {"b"}
