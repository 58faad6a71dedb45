"""Linear terms for LP hooks written as NumPy label arithmetic (linopy's public
``LinearExpression(data, model)``), so extra constraint families cost no xarray alignment.

A term set is (vars, coeffs): variable labels and coefficients broadcastable to the
constraint's row grid plus a trailing term axis; label -1 means no term.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from materiel.model.compiled import FloatArray, IntArray

if TYPE_CHECKING:
    import linopy

Terms = tuple[IntArray, FloatArray]


def labels(m: linopy.Model, name: str) -> IntArray:
    """Label array of variable ``name`` in its declared dim order."""
    return np.asarray(m.variables[name].labels.values)


def own(lab: IntArray, coeff: float = 1.0) -> Terms:
    """Each row's own variable."""
    return lab[..., None], np.full((1,), coeff)


def lagged(lab: IntArray, axis: int, coeff: FloatArray | float = 1.0) -> Terms:
    """The variable one step earlier along ``axis`` (no term in the first step); ``coeff``
    may be an array on the rows."""
    prev = np.roll(lab, 1, axis=axis)
    first = [slice(None)] * lab.ndim
    first[axis] = slice(0, 1)
    prev[tuple(first)] = -1
    c = np.asarray(coeff, dtype=float)
    return prev[..., None], (c[..., None] if c.ndim else np.full((1,), float(c)))


def gather(
    lab: IntArray,
    source: IntArray,
    target: IntArray,
    n_new: int,
    coeff: FloatArray | None = None,
) -> Terms:
    """Regroup the last axis of ``lab`` (..., X): row ``k`` of a new last axis of length
    ``n_new`` gets ``coeff[..., p] x lab[..., source[p]]`` for every pair p with target[p] == k.
    ``coeff`` has shape (P,) or (..., P) (e.g. per scenario and month); default 1."""
    source, target = np.asarray(source, dtype=np.int64), np.asarray(target, dtype=np.int64)
    counts = np.bincount(target, minlength=n_new)
    k = max(int(counts.max(initial=0)), 1)
    order = np.argsort(target, kind="stable")
    slot = np.arange(len(order)) - (np.cumsum(counts) - counts)[target[order]]
    pair = np.full((n_new, k), -1)
    pair[target[order], slot] = order
    present = pair >= 0
    src = np.where(present, source[np.maximum(pair, 0)] if len(source) else 0, 0)
    vars_ = np.where(present, lab[..., src], -1)
    if coeff is None:
        coeffs = present.astype(float)
    else:
        c = np.asarray(coeff, dtype=float)
        coeffs = np.where(present, c[..., np.maximum(pair, 0)] if len(source) else 0.0, 0.0)
    return vars_, coeffs


def scaled(terms: Terms, factor: float) -> Terms:
    return terms[0], terms[1] * factor


def expression(m: linopy.Model, coords: list[pd.Index], *parts: Terms) -> linopy.LinearExpression:
    """One linopy expression on the row grid ``coords`` from the given term sets."""
    from linopy import LinearExpression

    rows = tuple(len(c) for c in coords)
    shapes = [np.broadcast_shapes(v.shape, c.shape) for v, c in parts]
    vars_ = np.concatenate(
        [np.broadcast_to(v, (*rows, s[-1])) for (v, _), s in zip(parts, shapes, strict=True)],
        axis=-1,
    )
    coeffs = np.concatenate(
        [np.broadcast_to(c, (*rows, s[-1])) for (_, c), s in zip(parts, shapes, strict=True)],
        axis=-1,
    )
    dims = [str(c.name) for c in coords] + ["_term"]
    data = xr.Dataset(
        {"coeffs": (dims, np.where(vars_ >= 0, coeffs, 0.0)), "vars": (dims, vars_)},
        coords={str(c.name): c for c in coords},
    )
    return LinearExpression(data, m)
