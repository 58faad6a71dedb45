"""The block structure of the sample-average plan LP, read off linopy's labels.

Columns and rows without a ``scenario`` dim are the first stage (the shared builds); every
other column and row belongs to one scenario row. Positions are those of ``lp.matrices``
(linopy's public matrix export). Used by :mod:`materiel.optimize.decompose`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import linopy
import numpy as np
import scipy.sparse as sp

from materiel.model.compiled import FloatArray, IntArray


@dataclass(frozen=True)
class Split:
    """Positions (in ``lp.matrices``' columns and rows) of the first stage and of each
    scenario row's own columns and rows."""

    first_cols: IntArray
    first_rows: IntArray
    cols: list[IntArray]
    rows: list[IntArray]


def _scenario_of(items: Any, positions: Callable[[IntArray], IntArray], size: int) -> IntArray:
    """(size,) the scenario row of each column or row (-1: no scenario dim)."""
    out = np.full(size, -1, dtype=np.int64)
    for item in items:
        lab = np.asarray(item.labels.values)
        if "scenario" not in item.labels.dims:
            continue
        axis = list(item.labels.dims).index("scenario")
        scen = np.broadcast_to(
            np.arange(lab.shape[axis]).reshape([-1 if i == axis else 1 for i in range(lab.ndim)]),
            lab.shape,
        )
        ok = lab >= 0
        out[positions(lab[ok])] = scen[ok]
    return out


def positions_in(all_labels: IntArray) -> Callable[[IntArray], IntArray]:
    """A function giving the positions of linopy labels (>= 0) among ``all_labels`` (the
    solver's columns or rows)."""
    order = np.argsort(all_labels)

    def find(wanted: IntArray) -> IntArray:
        return np.asarray(order[np.searchsorted(all_labels, wanted, sorter=order)])

    return find


def solver_labels(lp: linopy.Model) -> tuple[IntArray, IntArray]:
    """The linopy labels of the solver's columns and rows, in ``lp.matrices``' order (without
    building the matrix, as ``lp.matrices`` does on every access)."""
    return (
        np.asarray(lp.variables.label_index.vlabels),
        np.asarray(lp.constraints.label_index.clabels),
    )


def split(lp: linopy.Model, mat: Any = None) -> Split:
    """The block structure of the plan LP: columns and rows without a ``scenario`` dim are
    the first stage; every other column and row belongs to one scenario row. ``mat``:
    ``lp.matrices`` if already at hand."""
    mat = mat if mat is not None else lp.matrices
    vlabels, clabels = np.asarray(mat.vlabels), np.asarray(mat.clabels)
    col_s = _scenario_of(lp.variables.data.values(), positions_in(vlabels), len(vlabels))
    row_s = _scenario_of(lp.constraints.data.values(), positions_in(clabels), len(clabels))
    n_s = int(max(col_s.max(initial=-1), row_s.max(initial=-1))) + 1
    c_order, r_order = np.argsort(col_s, kind="stable"), np.argsort(row_s, kind="stable")
    c_cut = np.searchsorted(col_s[c_order], np.arange(-1, n_s + 1))
    r_cut = np.searchsorted(row_s[r_order], np.arange(-1, n_s + 1))
    return Split(
        first_cols=c_order[c_cut[0] : c_cut[1]],
        first_rows=r_order[r_cut[0] : r_cut[1]],
        cols=[c_order[c_cut[s + 1] : c_cut[s + 2]] for s in range(n_s)],
        rows=[r_order[r_cut[s + 1] : r_cut[s + 2]] for s in range(n_s)],
    )


def row_bounds(sense: np.ndarray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bounds of rows given as ``sense`` ('<', '>', '=') and right-hand side."""
    lower = np.where(sense != "<", b, -np.inf)
    upper = np.where(sense != ">", b, np.inf)
    return lower, upper


def columns(m: sp.csr_array, keep: np.ndarray, local: IntArray, width: int) -> sp.csr_array:
    """The columns of ``m`` where ``keep`` (over all columns) is True, renumbered by
    ``local`` into ``width`` columns (one pass over the entries: scipy's column indexing
    would scan every column of the whole LP for each row)."""
    take = keep[m.indices]
    row = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row[take], minlength=m.shape[0]))])
    out = sp.csr_array((m.data[take], local[m.indices[take]], indptr), shape=(m.shape[0], width))
    return out


def owners(parts: list[IntArray], first: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """(size,) the scenario row owning each position (-1: first stage) and its position
    within its owner."""
    owner = np.full(size, -1, dtype=np.int64)
    local = np.zeros(size, dtype=np.int64)
    local[first] = np.arange(len(first))
    for s, positions in enumerate(parts):
        owner[positions] = s
        local[positions] = np.arange(len(positions))
    return owner, local
