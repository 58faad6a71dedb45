"""Out-of-sample proof of a plan: the simulator on fresh draws, baseline against plan.

A plan is a policy: its builds are replayed and production follows the simulator's own
demand-pull rule (order to need within capacity), never the LP's central orders. Every figure
is an expectation over ``draws`` fresh parameter draws (a seed different from planning) and
over the futures weighted by probability, with a 90 % confidence interval of the mean (normal
approximation over draws; futures share each draw's uniforms). Units: weighted shortfall in
EUR-equivalent (the simulator's ``weighted_shortfall`` summed over the horizon), cost in EUR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from materiel.model import rules
from materiel.model.compiled import FloatArray, Model
from materiel.model.plan import Plan
from materiel.scenario import Scenario

Z90 = 1.6448536269514722
"""Two-sided 90 % normal quantile."""
EVAL_OFFSET = 1_000_003
"""Evaluation seed = planning seed + this: fresh draws, never the ones planned on."""
EVAL_DRAWS = 500
"""Default evaluation draws per future."""
EVPI_DRAWS = 2
"""Default evaluation draws on which the perfect-information LP is solved (a small sample)."""


@dataclass(frozen=True)
class Estimate:
    """Mean of per-draw values with a 90 % confidence interval of the mean."""

    mean: float
    ci90_low: float
    ci90_high: float

    @classmethod
    def of(cls, values: FloatArray) -> Estimate:
        v = np.asarray(values, dtype=float)
        mean = float(v.mean()) if v.size else 0.0
        half = Z90 * float(v.std(ddof=1)) / np.sqrt(v.size) if v.size > 1 else 0.0
        return cls(mean, mean - half, mean + half)

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "ci90_low": self.ci90_low, "ci90_high": self.ci90_high}


@dataclass(frozen=True)
class Outcome:
    """One policy simulated on the evaluation draws, futures weighted by probability."""

    weighted: FloatArray
    """(draws,) weighted shortfall over the horizon, EUR-equivalent."""
    cost: FloatArray
    """(draws,) purchases plus capex over the horizon, EUR."""
    by_item: pd.DataFrame
    """Per item (Ukraine's side): expected shortfall (item units) and weighted shortfall
    (EUR-equivalent) with 90 % intervals."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "weighted_shortfall": Estimate.of(self.weighted).as_dict(),
            "cost_eur": float(self.cost.mean()),
        }


def outcome(
    model: Model,
    scenarios: Sequence[Scenario],
    plan: Plan | None,
    draws: int,
    seed: int,
    months: int | None = None,
) -> Outcome:
    """Simulate ``plan`` (builds only; None = baseline) on ``draws`` draws of every future.

    Draws are simulated chunk by chunk and each chunk is reduced to per-draw totals at once,
    so memory does not grow with the months or the size of the model's results."""
    import xarray as xr

    from materiel.simulation import iter_chunks

    weights = np.array([s.probability for s in scenarios], dtype=float)
    weights = weights / weights.sum()
    weighted = np.zeros(draws)
    cost = np.zeros(draws)
    per_draw_units: list[pd.DataFrame] = []
    per_draw_eur: list[pd.DataFrame] = []
    policy = None if plan is None else Plan(plan.expansion, plan.month, plan.scale)
    for w, sc in zip(weights, scenarios, strict=True):
        totals = [
            (
                chunk["weighted_shortfall"].sum("month").to_numpy(),
                chunk["cost"].sum("month").to_numpy(),
                chunk["shortfall"].sum("month"),  # (draw, pair)
            )
            for chunk in iter_chunks(model, sc, draws, seed, months, policy)
        ]
        weighted += w * np.concatenate([t[0] for t in totals])
        cost += w * np.concatenate([t[1] for t in totals])
        short = xr.concat([t[2] for t in totals], "draw")
        actor = short["actor"].to_numpy()
        item = short["item"].to_numpy()
        ours = np.isin(
            rules.region_of(model, model.actors.get_indexer(pd.Index(actor))), rules.WESTERN_REGIONS
        )
        used = ours & np.isin(item, model.items[model.consumption_item])
        values = short.to_numpy()[:, used]
        frame = pd.DataFrame(values, columns=item[used]).T.groupby(level=0).sum().T
        item_weight = pd.Series(model.item_weight, index=model.items)
        per_draw_units.append(w * frame)
        per_draw_eur.append(w * frame * item_weight.reindex(frame.columns).to_numpy())
    rows = []
    if per_draw_units:
        units = pd.concat(per_draw_units).groupby(level=0).sum()
        eur = pd.concat(per_draw_eur).groupby(level=0).sum()
        for name in units.columns:
            est_u = Estimate.of(units[name].to_numpy())
            est_w = Estimate.of(eur[name].to_numpy())
            rows.append(
                {
                    "item": name,
                    "unit": str(model.item_unit[name]),
                    "shortfall": est_u.mean,
                    "weighted_shortfall": est_w.mean,
                    "ci90_low": est_w.ci90_low,
                    "ci90_high": est_w.ci90_high,
                }
            )
    return Outcome(weighted, cost, pd.DataFrame(rows))


@dataclass
class Evaluation:
    """Baseline (no new builds) against the plan on the same fresh draws."""

    draws: int
    seed: int
    baseline: Outcome
    plan: Outcome
    vss: dict[str, Any] = field(default_factory=dict)
    evpi: dict[str, Any] = field(default_factory=dict)

    @property
    def gain(self) -> Estimate:
        """Weighted shortfall avoided by the plan (baseline - plan, paired), EUR-equivalent."""
        return Estimate.of(self.baseline.weighted - self.plan.weighted)

    def beats_baseline(self) -> bool:
        """True when the plan's expected weighted shortfall is lower, beyond the 90 % interval
        of the paired difference."""
        return self.gain.ci90_low > 0.0

    def verdict(self, builds: int, arriving: int) -> str:
        """One sentence: does the plan beat the baseline out of sample, and if not, why."""
        g = self.gain
        if self.beats_baseline():
            return (
                f"The plan beats the baseline out of sample: it avoids EUR {g.mean:,.0f} of "
                f"weighted shortfall (90 % CI {g.ci90_low:,.0f} to {g.ci90_high:,.0f}) over "
                f"{self.draws} fresh draws."
            )
        if builds == 0:
            why = "the plan builds nothing, so it is the baseline"
        elif arriving == 0:
            why = "none of its builds delivers capacity within the horizon"
        elif g.mean <= 0:
            why = (
                "its builds add capacity where the simulator's allocation does not turn it into "
                "less shortfall (an input or a claim limits it)"
            )
        else:
            why = "the gain is within the noise of the evaluation draws (try more --eval-draws)"
        return (
            f"The plan does NOT beat the baseline out of sample (gain EUR {g.mean:,.0f}, 90 % CI "
            f"{g.ci90_low:,.0f} to {g.ci90_high:,.0f}): {why}."
        )

    def as_dict(self) -> dict[str, Any]:
        """``baseline`` and ``plan`` ({weighted_shortfall: {mean, ci90_low, ci90_high},
        cost_eur}), ``vss`` and ``evpi``: exactly the keys of ``materiel plan --json``."""
        return {
            "baseline": self.baseline.as_dict(),
            "plan": self.plan.as_dict(),
            "vss": self.vss,
            "evpi": self.evpi,
        }


def evaluate(
    model: Model,
    scenarios: Sequence[Scenario],
    plan: Plan,
    draws: int = EVAL_DRAWS,
    seed: int = EVAL_OFFSET,
    months: int | None = None,
    central: Plan | None = None,
) -> Evaluation:
    """Baseline and ``plan`` (and ``central``, the central-value plan, for the value of the
    stochastic solution) simulated on the same ``draws`` draws with ``seed``."""
    if draws < 2:
        raise ValueError(f"--eval-draws must be at least 2, got {draws}")
    base = outcome(model, scenarios, None, draws, seed, months)
    ours = outcome(model, scenarios, plan, draws, seed, months)
    ev = Evaluation(draws, seed, base, ours)
    if central is not None:
        other = outcome(model, scenarios, central, draws, seed, months)
        est = Estimate.of(other.weighted - ours.weighted)
        ev.vss = {
            **est.as_dict(),
            "cost_eur": float(ours.cost.mean() - other.cost.mean()),
            "note": "central-value plan minus this plan, expected weighted shortfall "
            "(EUR-equivalent) on the evaluation draws; cost_eur: this plan's extra cost",
        }
    return ev


def perfect_information(
    model: Model,
    scenarios: Sequence[Scenario],
    build: FloatArray,
    draws: int = EVPI_DRAWS,
    seed: int = EVAL_OFFSET,
    months: int | None = None,
    budget: float | None = None,
) -> dict[str, Any]:
    """Estimate of the expected value of perfect information: on each of the first ``draws``
    evaluation draws, the LP's expected weighted shortfall (EUR-equivalent) with the plan's
    builds ``build`` (expansion, month) fixed, minus the LP's with builds free (that draw
    known when deciding). A small sample: the interval says how rough it is."""
    import xarray as xr

    from materiel.model.events import compile_scenario
    from materiel.optimize.build import build_problem
    from materiel.optimize.data import prepare, sampled_params
    from materiel.optimize.solve import solve

    if draws <= 0:
        return {}
    horizon = months or scenarios[0].months
    arrays = [compile_scenario(model, s, horizon) for s in scenarios]
    params = sampled_params(model, draws, seed)
    gaps = []
    for p in params:
        d = prepare(model, arrays, budget, params=[p] * len(arrays))
        fixed = xr.DataArray(build, coords=[d.coords["expansion"], d.coords["month"]])

        def hold(lp: Any, _d: Any, fixed: xr.DataArray = fixed) -> None:
            lp.add_constraints(lp.variables["build"] == fixed, name="plan_builds")

        values = []
        for hooks in ((), (hold,)):
            lp = build_problem(d, hooks)
            solve(lp)
            unmet = lp.solution["unmet"].to_numpy()
            ws = (unmet * d.shortfall_weight.to_numpy()).sum(axis=(1, 2))
            values.append(float(d.weight.to_numpy() @ ws))
        gaps.append(values[1] - values[0])
    est = Estimate.of(np.array(gaps))
    return {
        **est.as_dict(),
        "draws": draws,
        "note": f"small sample ({draws} draws): LP weighted shortfall (EUR-equivalent) with "
        "the plan's builds minus with builds chosen knowing the draw",
    }
