"""Linear terms assembled with NumPy, handed to linopy as one expression per family.

linopy's arithmetic aligns xarray objects on every ``+`` / ``isel`` / ``groupby``; at this
model's size that fixed cost dominates the build. A constraint family is instead written as
a few :class:`Terms` (variable labels and coefficients on the constraint's row grid plus a
trailing term axis), concatenated once and passed to linopy's public
``LinearExpression(data, model)`` constructor: a Dataset of ``coeffs`` and ``vars`` over the
row dims and linopy's term dim (``linopy.constants.TERM_DIM``). No global linopy option is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import linopy
import numpy as np
import pandas as pd
import xarray as xr
from linopy import LinearExpression
from linopy.constants import TERM_DIM

from materiel.model.compiled import FloatArray, IntArray


@dataclass(frozen=True)
class Terms:
    """Labels and coefficients, each broadcastable to ``rows + (k,)``; label -1 = no term."""

    vars: IntArray
    coeffs: FloatArray

    def scaled(self, factor: FloatArray | float) -> Terms:
        """Multiply the coefficients by ``factor`` (a scalar or an array on the rows)."""
        f = np.asarray(factor, dtype=float)
        return Terms(self.vars, self.coeffs * (f[..., None] if f.ndim else f))


def labels(m: linopy.Model, name: str) -> IntArray:
    """The label array of variable ``name`` in its declared dim order."""
    return np.asarray(m.variables[name].labels.values)


def own(m: linopy.Model, name: str, coeff: float = 1.0) -> Terms:
    """Each row's own variable: one term per row."""
    return Terms(labels(m, name)[..., None], np.full((1,), coeff))


def lagged(m: linopy.Model, name: str, axis: int, coeff: float = 1.0) -> Terms:
    """The variable one step earlier along ``axis`` (no term in the first step)."""
    lab = labels(m, name)
    prev = np.roll(lab, 1, axis=axis)
    first = [slice(None)] * lab.ndim
    first[axis] = slice(0, 1)
    prev[tuple(first)] = -1
    return Terms(prev[..., None], np.full((1,), coeff))


def pair_index(
    source: IntArray, target: IntArray, n_new: int, coeff: FloatArray | None = None
) -> tuple[IntArray, FloatArray]:
    """Pairs (source[p] -> target[p]) as a padded table: ``index[k, j]`` is the j-th source of
    target k (-1 = padding) and ``weight[k, j]`` its coefficient; shapes (n_new, max count)."""
    source, target = np.asarray(source), np.asarray(target)
    counts = np.bincount(target, minlength=n_new)
    k = max(int(counts.max(initial=0)), 1)
    order = np.argsort(target, kind="stable")
    slot = np.arange(len(order)) - (np.cumsum(counts) - counts)[target[order]]
    index = np.full((n_new, k), -1)
    index[target[order], slot] = source[order]
    weight = np.zeros((n_new, k))
    weight[target[order], slot] = 1.0 if coeff is None else np.asarray(coeff)[order]
    return index, weight


def regrouped(
    lab: IntArray,
    axis: int,
    source: IntArray,
    target: IntArray,
    n_new: int,
    coeff: FloatArray | None = None,
) -> Terms | None:
    """Sparse re-indexing along ``axis``: row ``k`` of the new axis gets one term
    ``coeff[p] x lab[..., source[p], ...]`` for every pair p with ``target[p] == k``.

    None when there are no pairs.
    """
    if len(source) == 0:
        return None
    index, weight = pair_index(source, target, n_new, coeff)
    k = index.shape[1]
    moved = np.moveaxis(lab, axis, -1)
    gathered = np.where(index >= 0, moved[..., np.maximum(index, 0)], -1)
    shape = [1] * lab.ndim + [k]
    shape[axis] = n_new
    return Terms(np.moveaxis(gathered, -2, axis), weight.reshape(shape))


def expression(m: linopy.Model, coords: list[pd.Index], *parts: Terms | None) -> LinearExpression:
    """One linopy expression on the row grid ``coords`` from the given terms."""
    rows = tuple(len(c) for c in coords)
    present = [p for p in parts if p is not None]
    vars_ = np.concatenate(
        [np.broadcast_to(p.vars, (*rows, p.vars.shape[-1])) for p in present], axis=-1
    )
    coeffs = np.concatenate(
        [np.broadcast_to(p.coeffs, (*rows, p.vars.shape[-1])) for p in present], axis=-1
    )
    coeffs = np.where(vars_ >= 0, coeffs, 0.0)
    dims = [str(c.name) for c in coords] + [TERM_DIM]
    data = xr.Dataset(
        {"coeffs": (dims, coeffs), "vars": (dims, vars_)},
        coords={str(c.name): c for c in coords},
    )
    return LinearExpression(data, m)


def flat_expression(m: linopy.Model, *parts: Terms) -> LinearExpression:
    """A scalar expression: the sum of every term of ``parts`` (e.g. an objective)."""
    vars_, coeffs = [], []
    for p in parts:
        shape = np.broadcast_shapes(p.vars.shape, p.coeffs.shape)
        vars_.append(np.broadcast_to(p.vars, shape).ravel())
        coeffs.append(np.broadcast_to(p.coeffs, shape).ravel())
    v, c = np.concatenate(vars_), np.concatenate(coeffs)
    keep = (v >= 0) & (c != 0)
    data = xr.Dataset({"coeffs": (TERM_DIM, c[keep]), "vars": (TERM_DIM, v[keep])})
    return LinearExpression(data, m)
