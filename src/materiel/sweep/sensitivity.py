"""Global sensitivity of the shortfall to the model's uncertain figures (SALib).

Inputs are grouped so the count stays manageable: one factor per figure family and item
(e.g. "capacity: tnt" moves every TNT line's capacity together), per actor and item for
stocks and consumption, per supplier, recipient and item for flows. A factor u in [0, 1] is
the quantile of each grouped figure's triangular (low, central, high) distribution, so
u = 0 sets every member to its low value and u = 1 to its high value. Cost-only figures
(unit_cost, capex) cannot move the shortfall and are left at their central values.

Methods: Morris elementary effects (screening; ranks by mu*) or Sobol indices (variance
decomposition; ranks by the total index ST). All evaluations of the design run as one
vectorised batch of draws in the simulator.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from materiel.model.compiled import FloatArray, IntArray, Model, Uncertain
from materiel.model.events import compile_scenario
from materiel.model.sampling import triangular
from materiel.scenario import Scenario
from materiel.simulation.engine import run

METHODS = ("morris", "sobol")
COST_ONLY = ("unit_cost", "capex")
BATCH = 2048
"""Design points simulated at once (bounds memory)."""


@dataclass(frozen=True)
class Group:
    """One sensitivity factor: elements ``columns`` of figure ``family`` moved together."""

    family: str
    element: str
    columns: IntArray

    @property
    def name(self) -> str:
        return f"{self.family}: {self.element}"


def _join(fmt: str, *columns: Any) -> list[str]:
    return [fmt.format(*row) for row in zip(*columns, strict=True)]


def _labels(model: Model, family: str) -> list[str]:
    """A label per element of a figure family: what the element is about."""
    it, ac = model.items, model.actors
    fac_item = it[model.facility_item]
    if family in ("capacity", "utilisation", "unit_cost"):
        return list(fac_item)
    if family in ("added_capacity", "capex", "lead_time", "ramp_time"):
        return list(fac_item[model.expansion_facility])
    pairs = {
        "recipe_quantity": ("{} <- {}", it[model.recipe_item], it[model.recipe_input]),
        "stock_quantity": ("{} {}", ac[model.stock_actor], it[model.stock_item]),
        "consumption_rate": ("{} {}", ac[model.consumption_actor], it[model.consumption_item]),
        "stock_floor": ("{} {}", ac[model.stock_actor], it[model.stock_item]),
        "claim_share": (
            "{}->{} {}",
            model.claim_supplier,
            ac[model.claim_recipient],
            it[model.claim_item],
        ),
        "claim_rate": (
            "{}->{} {}",
            model.claim_supplier,
            ac[model.claim_recipient],
            it[model.claim_item],
        ),
        "flow_rate": (
            "{}->{} {}",
            ac[model.flow_supplier],
            ac[model.flow_recipient],
            it[model.flow_item],
        ),
    }
    if family == "sustain_months":
        return [str(a) for a in ac]
    if family not in pairs:
        raise KeyError(f"no labels for figure family '{family}'")
    fmt, *columns = pairs[family]
    return _join(str(fmt), *columns)


GROUPINGS = ("item", "family")


def input_groups(model: Model, skip: tuple[str, ...] = COST_ONLY, by: str = "item") -> list[Group]:
    """The factors: uncertain elements (high > low) grouped by family and label (``by``
    "item"), or one factor per figure family (``by`` "family", a coarse first screen)."""
    if by not in GROUPINGS:
        raise ValueError(f"grouping must be one of {', '.join(GROUPINGS)}, got '{by}'")
    groups = []
    for family, fig in model.uncertain().items():
        if family in skip:
            continue
        if by == "family":
            labels = np.full(len(fig), "all", dtype=object)
        else:
            labels = np.array(_labels(model, family), dtype=object)
        uncertain = fig.high > fig.low
        for label in dict.fromkeys(labels[uncertain]):
            groups.append(Group(family, str(label), np.flatnonzero(uncertain & (labels == label))))
    return groups


def parameters_at(model: Model, groups: list[Group], u: FloatArray) -> dict[str, FloatArray]:
    """Sampled-parameter arrays (each (N, n)) for design points ``u`` (N, factors)."""
    n = u.shape[0]
    p = {k: np.broadcast_to(f.central, (n, len(f))).copy() for k, f in model.uncertain().items()}
    for j, g in enumerate(groups):
        fig = model.uncertain()[g.family]
        sub = Uncertain(fig.central[g.columns], fig.low[g.columns], fig.high[g.columns])
        p[g.family][:, g.columns] = triangular(np.repeat(u[:, j : j + 1], len(g.columns), 1), sub)
    return p


def shortfall_metric(
    model: Model,
    scenario: Scenario,
    u: FloatArray,
    groups: list[Group],
    item: str | None = None,
    actor: str = "UKR",
    months: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> FloatArray:
    """The metric at each design point, shape (N,): ``item``'s total shortfall of ``actor``
    over the horizon (item units), or without ``item`` the unmet share of need averaged over
    the items ``actor`` uses (0..1)."""
    sc = compile_scenario(model, scenario, months)
    users = sorted(set(model.actors[model.consumption_actor]))
    if actor not in users:
        raise ValueError(f"actor '{actor}' uses nothing; choose one of {', '.join(users)}")
    if item is not None and item not in model.items:
        raise ValueError(f"unknown item '{item}'; choose one of {', '.join(model.items)}")
    rows = np.flatnonzero(model.actors[model.consumption_actor] == actor)
    row_items = model.consumption_item[rows]
    out = []
    for lo in range(0, len(u), BATCH):
        res = run(model, sc, parameters_at(model, groups, u[lo : lo + BATCH]))
        wanted = np.zeros((len(res["wanted"]), len(model.items)))
        short = np.zeros_like(wanted)
        wanted[:, row_items] = res["wanted"][:, :, rows].sum(axis=1, dtype=float)
        short[:, row_items] = wanted[:, row_items] - res["fired"][:, :, rows].sum(
            axis=1, dtype=float
        )
        if item is not None:
            out.append(short[:, model.items.get_loc(item)])
        else:
            used = wanted.sum(axis=0) > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(wanted[:, used] > 0, short[:, used] / wanted[:, used], 0.0)
            out.append(share.mean(axis=1) if used.any() else np.zeros(len(short)))
        if progress is not None:
            progress(len(short))
    return np.concatenate(out)


def sensitivity_analysis(
    model: Model,
    scenario: Scenario,
    method: str = "morris",
    draws: int = 64,
    seed: int = 0,
    item: str | None = None,
    actor: str = "UKR",
    months: int | None = None,
    progress: Callable[[int], None] | None = None,
    by: str = "item",
) -> pd.DataFrame:
    """Rank input groups by their effect on the shortfall; one row per group, best first.

    ``draws``: Morris trajectories (runs: draws x (factors + 1)) or Sobol base samples, a
    power of 2 (runs: draws x (factors + 2)). Columns: rank, input, family, element,
    elements, then mu_star, mu_star_conf, sigma, mu (Morris; units of the metric) or ST,
    ST_conf, S1, S1_conf (Sobol; shares of variance). ``by`` groups inputs per family and
    item ("item") or per family ("family"). ``attrs`` has the metric, method and number of
    model runs.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got '{method}'")
    if method == "sobol" and draws & (draws - 1):
        raise ValueError(f"Sobol needs draws to be a power of 2 (e.g. 64, 128), got {draws}")
    groups = input_groups(model, by=by)
    if len(groups) < 2:
        raise ValueError("fewer than two uncertain inputs: nothing to rank")
    problem = {
        "num_vars": len(groups),
        "names": [g.name for g in groups],
        "bounds": [[0.0, 1.0]] * len(groups),
    }
    if method == "morris":
        x = morris_sample.sample(problem, draws, num_levels=4, seed=seed)
    else:
        x = sobol_sample.sample(problem, draws, calc_second_order=False, seed=seed)
    y = shortfall_metric(model, scenario, x, groups, item, actor, months, progress)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "morris":
            res = morris_analyze.analyze(problem, x, y, num_levels=4, seed=seed)
            cols = {k: res[k] for k in ("mu_star", "mu_star_conf", "sigma", "mu")}
            key = "mu_star"
        else:
            res = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
            cols = {k: res[k] for k in ("ST", "ST_conf", "S1", "S1_conf")}
            key = "ST"
    table = pd.DataFrame(
        {
            "input": [g.name for g in groups],
            "family": [g.family for g in groups],
            "element": [g.element for g in groups],
            "elements": [len(g.columns) for g in groups],
            **{k: np.nan_to_num(np.asarray(v, dtype=float)) for k, v in cols.items()},
        }
    )
    table = table.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    unit = model.item_unit[item] if item is not None else "0-1"
    what = f"{actor} {item} shortfall" if item else f"{actor} mean unmet share"
    table.attrs = {
        "metric": f"{what} ({unit})",
        "method": method,
        "index": key,
        "evaluations": len(y),
        "scenario": scenario.name,
        "metric_mean": float(np.mean(y)),
        "metric_std": float(np.std(y)),
    }
    return table


def plot_ranking(table: pd.DataFrame, path: Path, top: int = 15) -> Path:
    """Horizontal bar plot of the ``top`` inputs (PNG), with confidence intervals."""
    from matplotlib.figure import Figure as MplFigure

    rows = table.head(top).iloc[::-1]
    key = str(table.attrs.get("index", "mu_star"))
    fig = MplFigure(figsize=(8, 0.35 * len(rows) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    pos = np.arange(len(rows))
    if key == "ST":
        ax.barh(pos + 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], label="total (ST)")
        ax.barh(pos - 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], label="first order (S1)")
        ax.set_xlabel("Sobol index (share of variance)")
        ax.legend(loc="lower right")
    else:
        ax.barh(pos, rows["mu_star"], xerr=rows["mu_star_conf"], color="tab:red")
        ax.set_xlabel(f"Morris mu* ({table.attrs.get('metric', '')})")
    ax.set_yticks(pos, rows["input"])
    ax.set_title(
        f"{table.attrs.get('scenario', '')}: what drives "
        f"{table.attrs.get('metric', 'the shortfall')}",
        fontsize=10,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
