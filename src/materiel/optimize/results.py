"""Tidy tables from a solved LP: investments, production, shortfall and duals.

Units: quantities in the item's unit, rates per month, money in EUR. Duals are in units of the
objective (probability-weighted costs in EUR plus the shortfall weighted by item weight (EUR
per unit short) x the priority factor x the decay) per unit of the resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import linopy
import numpy as np
import pandas as pd

from materiel.model import rules
from materiel.model.compiled import FloatArray, month_labels
from materiel.model.plan import Plan
from materiel.optimize.blocks import positions_in, solver_labels
from materiel.optimize.data import PlanData
from materiel.optimize.resolve import HighsResolver, Resolver

BUILD_TOL = 1e-9
"""Builds below this share of an option are dropped from plans."""
REPORT_TOL = 1e-6
"""Builds below this share are left out of the investment table."""


def dates(start: str, months: np.ndarray | pd.Series) -> np.ndarray:
    """YYYY-MM of each month index (>= 0) counted from ``start``."""
    index = np.asarray(months, dtype=int)
    if index.size == 0:
        return np.array([], dtype=str)
    labels: np.ndarray = np.asarray(month_labels(start, int(index.max()) + 1))[index]
    return labels


@dataclass
class PlanResult:
    """A solved plan. Tables are tidy pandas DataFrames (see :func:`collect`)."""

    data: PlanData
    lp: linopy.Model
    objective: float
    """Optimal objective, EUR (expected costs plus the shortfall penalty)."""
    investments: pd.DataFrame
    production: pd.DataFrame
    shortfall: pd.DataFrame
    capacity_duals: pd.DataFrame
    budget_duals: pd.DataFrame
    claims: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: dict[str, float] = field(default_factory=dict)
    decomposition: Resolver | None = None
    """The scenario decomposition the plan was solved by, if it was (it re-solves for the
    finite-difference values); None when the LP was solved whole."""

    @property
    def scenarios(self) -> list[str]:
        return list(self.data.coords["scenario"])

    def shortfall_by_item(self) -> pd.DataFrame:
        """Probability-weighted wanted and unmet over the horizon per actor and item."""
        w = pd.Series(self.data.weight.to_numpy(), index=self.scenarios)
        frame = self.shortfall.assign(weight=self.shortfall["scenario"].map(w))
        for col in ("wanted", "fired", "unmet"):
            frame[col] = frame[col] * frame["weight"]
        table = frame.groupby(["actor", "item", "unit"], as_index=False)[
            ["wanted", "fired", "unmet"]
        ].sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            table["unmet_share"] = np.where(
                table["wanted"] > 0, table["unmet"] / table["wanted"], 0.0
            )
        return table

    @property
    def futures(self) -> list[str]:
        """The futures (scenario names) planned over, each once."""
        return list(dict.fromkeys(self.data.future or self.scenarios))

    def rows_of(self, future: str) -> np.ndarray:
        """(S,) True for the scenario rows of ``future`` (its draws; or the row itself)."""
        rows = np.asarray(self.data.future or self.scenarios)
        return np.asarray((rows == future) | (np.asarray(self.scenarios) == future))

    def orders_for(self, future: str) -> FloatArray:
        """The LP's production of ``future`` per month and facility (units/month), averaged
        over its draws: for reference only, a plan's replay reacts to each draw instead."""
        made = self.lp.solution["production"].to_numpy()[self.rows_of(future)]
        out: FloatArray = np.maximum(made.mean(axis=0), 0.0)
        return out

    def plan_for(self, scenario: str | None = None) -> Plan:
        """The builds and ``scenario``'s orders (a future or a scenario row; default: the
        first future) as a :class:`Plan` for the simulator."""
        name = scenario or self.futures[0]
        if name not in self.scenarios and name not in self.futures:
            raise ValueError(f"scenario '{name}' is not in this plan: {', '.join(self.futures)}")
        build = self.lp.solution["build"].fillna(0.0).to_numpy()
        e, t = np.nonzero(build > BUILD_TOL)
        # a build of several modules becomes whole modules plus the remainder (scale <= 1)
        count = np.ceil(build[e, t] - BUILD_TOL).astype(int)
        e, t = np.repeat(e, count), np.repeat(t, count)
        module = np.arange(len(e)) - np.repeat(np.cumsum(count) - count, count)
        scale = np.minimum(build[e, t] - module, 1.0)
        return Plan(
            expansion=self.data.options[e],
            month=t.astype(float),
            scale=scale,
            orders=self.orders_for(name),
        )

    def builds(self) -> Plan:
        """The builds alone: the plan as a policy (production follows the simulator's rule)."""
        p = self.plan_for()
        return Plan(p.expansion, p.month, p.scale)

    def binding(self) -> pd.DataFrame:
        """Which constraint binds for each item's shortfall (see
        :func:`materiel.optimize.binding.binding_table`)."""
        from materiel.optimize.binding import binding_table

        return binding_table(self)


def added_by_builds(d: PlanData, build: FloatArray) -> FloatArray:
    """Capacity added per month and facility by a build solution (E, M), shape (M, F)."""
    per_option = np.einsum("edt,ed->te", d.added.to_numpy(), build)
    out = np.zeros((len(d.coords["month"]), len(d.coords["facility"])))
    np.add.at(out.T, d.expansion_facility, per_option.T)
    return out


def investments(d: PlanData, build: FloatArray) -> pd.DataFrame:
    """One row per build: what, where, when, cost and when it delivers."""
    model = d.model
    e, t = np.nonzero(build > REPORT_TOL)
    opt = d.options[e]
    online = t + model.lead_time.central[opt]
    first = np.floor(online).astype(int)
    full = np.ceil(online + model.ramp_time.central[opt]).astype(int)
    fac = model.expansion_facility[opt]
    item = model.items[model.facility_item[fac]]
    scale = build[e, t]
    return pd.DataFrame(
        {
            "expansion": model.expansions[opt],
            "facility": model.facilities[fac],
            "item": item,
            "unit": model.item_unit[item].to_numpy(),
            "month": t,
            "date": dates(model.start, t),
            "scale": scale,
            "capex_eur": model.capex.central[opt] * scale,
            "first_output_month": first,
            "first_output_date": dates(model.start, first),
            "full_rate_month": full,
            "added_capacity": model.added_capacity.central[opt] * scale,
        }
    )


def _frame(values: FloatArray, d: PlanData, dims: tuple[str, ...], name: str) -> pd.DataFrame:
    index = pd.MultiIndex.from_product([d.coords[k] for k in dims], names=list(dims))
    return pd.DataFrame({name: np.asarray(values).ravel()}, index=index)


def production_table(d: PlanData, lp: linopy.Model) -> pd.DataFrame:
    """Production, working capacity and purchases per scenario, month and facility."""
    sol = lp.solution
    build = sol["build"].fillna(0.0).to_numpy()
    capacity = d.capacity.to_numpy() + d.availability.to_numpy() * added_by_builds(d, build)[None]
    made = sol["production"].to_numpy()
    dims = ("scenario", "month", "facility")
    table = _frame(made, d, dims, "production")
    table["capacity"] = capacity.ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["utilisation"] = np.where(capacity > 0, made / capacity, 0.0).ravel()
    table["purchases_eur"] = (made * d.price.to_numpy()).ravel()
    table = table.reset_index()
    model = d.model
    item = model.items[np.tile(model.facility_item, len(table) // len(model.facilities))]
    table.insert(3, "item", item)
    table.insert(4, "unit", model.item_unit[item].to_numpy())
    table.insert(2, "date", dates(model.start, table["month"]))
    return table


def shortfall_table(d: PlanData, lp: linopy.Model) -> pd.DataFrame:
    """Wanted, fired, unmet and stock of each penalised demand per scenario and month."""
    sol = lp.solution
    dims = ("scenario", "month", "demand")
    table = _frame(d.wanted.to_numpy(), d, dims, "wanted")
    for name in ("fired", "unmet"):
        table[name] = sol[name].to_numpy().ravel()
    table["stock"] = sol["stock"].to_numpy()[..., d.demand_pair].ravel()
    table["weighted"] = (sol["unmet"] * d.shortfall_weight).to_numpy().ravel()
    table = table.reset_index()
    split = table["demand"].str.split("/", n=1, expand=True)
    table.insert(2, "date", dates(d.model.start, table["month"]))
    table.insert(3, "actor", split[0] if len(table) else [])
    table.insert(4, "item", split[1] if len(table) else [])
    table.insert(5, "unit", d.model.item_unit.reindex(table["item"]).to_numpy())
    return table.drop(columns="demand")


def claims_table(d: PlanData, lp: linopy.Model) -> pd.DataFrame:
    """Per scenario, month and claim: fixed orders (units/month), what the lines shipped and
    the fixed orders left unserved."""
    sol = lp.solution
    dims = ("scenario", "month", "claim")
    n_q = len(d.coords["claim"])
    ship = sol["shipment"].to_numpy()
    served = np.zeros((*ship.shape[:2], n_q))
    np.add.at(served.transpose(2, 0, 1), d.link_claim, ship.transpose(2, 0, 1))
    table = _frame(d.claim_rate.to_numpy(), d, dims, "orders")
    table["served"] = served.ravel()
    table["short"] = sol["short"].to_numpy().ravel()
    table = table.reset_index()
    table.insert(2, "date", dates(d.model.start, table["month"]))
    return table


def capacity_duals(d: PlanData, lp: linopy.Model) -> pd.DataFrame:
    """Marginal value of one more unit/month of base capacity at each facility over the
    horizon: -sum over scenarios and months of dual x availability (EUR per unit/month)."""
    dual = lp.constraints["capacity"].dual.fillna(0.0).to_numpy()  # (S, M, F)
    avail = d.availability.to_numpy()
    value = -(dual * avail).sum(axis=(0, 1))
    model = d.model
    item = model.items[model.facility_item]
    return pd.DataFrame(
        {
            "facility": model.facilities,
            "item": item,
            "unit": model.item_unit[item].to_numpy(),
            "value_eur_per_unit_month": value,
            "months_binding": (dual < -1e-9).any(axis=0).sum(axis=0),
        }
    ).sort_values("value_eur_per_unit_month", ascending=False, ignore_index=True)


def budget_duals(d: PlanData, lp: linopy.Model) -> pd.DataFrame:
    """Budget per scenario and year, money spent, and the marginal value of one more euro
    (EUR of objective per EUR of budget; 0 when the budget is not binding)."""
    columns = ["scenario", "year", "months", "budget_eur", "spent_eur", "value_eur_per_eur"]
    if "budget" not in lp.constraints:
        return pd.DataFrame(columns=columns)
    con = lp.constraints["budget"]
    dual = con.dual.to_numpy()
    rhs = con.rhs.to_numpy()
    spent_v = np.nan_to_num(con.lhs.solution.to_numpy())  # purchases + capex paid that year
    scen, year = np.meshgrid(
        np.arange(len(d.coords["scenario"])), np.arange(len(d.coords["year"])), indexing="ij"
    )
    keep = d.budget.notnull().to_numpy()[scen.ravel()]
    return pd.DataFrame(
        {
            "scenario": np.asarray(d.coords["scenario"])[scen.ravel()],
            "year": year.ravel(),
            "months": (d.year_share.to_numpy() * 12).astype(int)[year.ravel()],
            "budget_eur": rhs.ravel(),
            "spent_eur": spent_v.ravel(),
            "value_eur_per_eur": -np.nan_to_num(dual.ravel()),
        }
    )[keep].reset_index(drop=True)


def collect(
    d: PlanData, lp: linopy.Model, objective: float, decomposition: Resolver | None = None
) -> PlanResult:
    """All tables of a solved LP (``decomposition``: the one it was solved by, if any)."""
    sol = lp.solution
    build = sol["build"].fillna(0.0).to_numpy()
    w = d.weight.to_numpy()
    purchases = (sol["production"].to_numpy() * d.price.to_numpy()).sum(axis=(1, 2))
    unmet = sol["unmet"].to_numpy()
    weighted = (unmet * d.shortfall_weight.to_numpy()).sum(axis=(1, 2))
    summary = {
        "objective": objective,
        "capex_eur": float((build.sum(axis=1) * d.capex.to_numpy()).sum()),
        "expected_purchases_eur": float(w @ purchases),
        "expected_penalty_eur": float(w @ (unmet * d.penalty.to_numpy()).sum(axis=(1, 2))),
        "expected_weighted_shortfall_eur": float(w @ weighted),
    }
    return PlanResult(
        data=d,
        lp=lp,
        objective=objective,
        investments=investments(d, build),
        production=production_table(d, lp),
        shortfall=shortfall_table(d, lp),
        capacity_duals=capacity_duals(d, lp),
        budget_duals=budget_duals(d, lp),
        claims=claims_table(d, lp),
        summary=summary,
        decomposition=decomposition,
    )


def _positions(all_labels: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions of linopy labels ``wanted`` (>= 0) among the solver's rows or columns."""
    return positions_in(all_labels)(wanted)


def dual_check(result: PlanResult, top: int = 3, step: float = 1e-3) -> pd.DataFrame:
    """The value of capacity in planner units for the ``top`` facilities by LP dual, by
    one-sided finite differences on the solved LP (HiGHS warm-started from the optimal basis).

    For each facility, base capacity is raised (and, where it is positive, lowered) by
    ``step`` x its mean capacity (at least 1 unit/month) in every month and scenario row; the
    re-solved LP gives the expected weighted shortfall avoided, with unserved fixed orders at
    their item weight (EUR-equivalent over the horizon), and the extra expected cost (EUR) per
    unit/month. The LP's dual is unique when
    the two one-sided slopes of the objective agree (0.5 % tolerance); otherwise the value is
    a range between them (at a line with no capacity only the upward side exists, and the
    range runs from it to the dual). Columns: facility, item, unit, value_eur_per_unit_month
    (the upward value), value_low, value_high, cost_eur_per_unit_month, unique.
    """
    d, lp = result.data, result.lp
    h = resolver(result)
    columns = [
        "facility",
        "item",
        "unit",
        "value_eur_per_unit_month",
        "value_low",
        "value_high",
        "cost_eur_per_unit_month",
        "unique",
    ]
    if h is None or top <= 0:
        return pd.DataFrame(columns=columns)
    rows_all = solver_labels(lp)[1]
    con = lp.constraints["capacity"]
    labels = con.labels.to_numpy()  # (S, M, F)
    rhs = con.rhs.to_numpy()
    measure = _measure(result)

    obj0, ws0, cost0 = measure()
    table = result.capacity_duals
    duals = dict(zip(map(str, table["facility"]), table["value_eur_per_unit_month"], strict=True))
    fac = [str(f) for f in table["facility"].head(top)]
    out = []
    for name in fac:
        f = d.coords["facility"].get_loc(name)
        ok = labels[..., f] >= 0
        rows = _positions(rows_all, labels[..., f][ok])
        avail = d.availability.to_numpy()[..., f][ok]
        base = rhs[..., f][ok]
        delta = max(1.0, step * float(np.mean(d.capacity.to_numpy()[..., f])))
        sides = {}
        for sign in (1.0, -1.0):
            if sign < 0 and np.any(base - delta * avail < 0):
                continue
            new = base + sign * delta * avail
            h.set_row_bounds(rows, np.full(len(rows), -np.inf), new)
            h.run()
            obj, ws, cost = measure()
            sides[sign] = ((obj0 - obj) * sign, (ws0 - ws) * sign, (cost - cost0) * sign)
            h.set_row_bounds(rows, np.full(len(rows), -np.inf), base)
        up_obj, up_ws, up_cost = (x / delta for x in sides[1.0])
        dual = duals[name]
        if -1.0 in sides:
            down_obj, down_ws = sides[-1.0][0] / delta, sides[-1.0][1] / delta
        else:  # convert the dual with the upward exchange rate of objective to shortfall
            down_obj = dual
            down_ws = up_ws * dual / up_obj if up_obj > 0 else up_ws
        unique = abs(down_obj - up_obj) <= 5e-3 * max(abs(up_obj), abs(down_obj), 1e-9)
        item = d.model.items[d.model.facility_item[f]]
        out.append(
            {
                "facility": name,
                "item": item,
                "unit": str(d.model.item_unit[item]),
                "value_eur_per_unit_month": up_ws,
                "value_low": min(up_ws, down_ws),
                "value_high": max(up_ws, down_ws),
                "cost_eur_per_unit_month": up_cost,
                "unique": bool(unique),
            }
        )
    h.run()  # back at the plan (each change above was solved from the previous one's optimum)
    return pd.DataFrame(out, columns=columns)


def budget_value(result: PlanResult, step: float = 1e6) -> dict[str, float | bool]:
    """Weighted shortfall avoided (with unserved fixed orders at item weight, EUR-equivalent)
    per EUR m more budget in every scenario row and year, by a one-sided finite difference of
    ``step`` EUR on the solved LP (HiGHS warm start). ``binding``: some budget row has a
    non-zero dual."""
    lp = result.lp
    h = resolver(result)
    if "budget" not in lp.constraints or h is None:
        return {"binding": False, "shortfall_avoided_eur_per_eur_m": 0.0, "extra_cost_eur": 0.0}
    con = lp.constraints["budget"]
    labels = con.labels.to_numpy()
    ok = labels >= 0
    dual = np.nan_to_num(con.dual.to_numpy()[ok])
    rows = _positions(solver_labels(lp)[1], labels[ok])
    base = con.rhs.to_numpy()[ok]
    measure = _measure(result)
    _, ws0, cost0 = measure()
    h.set_row_bounds(rows, np.full(len(rows), -np.inf), base + step)
    h.run()
    _, ws1, cost1 = measure()
    h.set_row_bounds(rows, np.full(len(rows), -np.inf), base)
    h.run()
    return {
        "binding": bool(np.any(np.abs(dual) > 1e-12)),
        "shortfall_avoided_eur_per_eur_m": (ws0 - ws1) * 1e6 / step,
        "extra_cost_eur": cost1 - cost0,
    }


def capacity_change_values(
    result: PlanResult, changes: Sequence[FloatArray], fix_builds: bool = False
) -> list[tuple[float, float]]:
    """For each change (S, M, F) of the capacity rows' right-hand sides (units/month), the
    expected weighted shortfall avoided (unserved fixed orders at item weight, EUR-equivalent
    over the horizon) and the extra expected cost (EUR), re-solving the solved LP warm from
    its optimal basis (``fix_builds``: with the plan's builds held); the LP is restored
    afterwards."""
    lp = result.lp
    h = resolver(result)
    if h is None:
        raise ValueError("the plan's LP has no solver instance to re-solve")
    build = lp.variables["build"]
    held = build.labels.to_numpy() >= 0
    cols = _positions(solver_labels(lp)[0], build.labels.to_numpy()[held])
    if fix_builds and len(cols):
        x = h.col_value()[cols]
        h.set_col_bounds(cols, x, x)
    con = lp.constraints["capacity"]
    labels = con.labels.to_numpy()
    ok = labels >= 0
    rows = _positions(solver_labels(lp)[1], labels[ok])
    base = con.rhs.to_numpy()[ok]
    lower = np.full(len(rows), -np.inf)
    measure = _measure(result)
    out = []
    _, ws0, cost0 = measure()
    for change in changes:
        delta = np.asarray(change, dtype=float)[ok]
        if not np.any(delta):
            out.append((0.0, 0.0))
            continue
        h.set_row_bounds(rows, lower, base + delta)
        h.run()
        _, ws, cost = measure()
        out.append((ws0 - ws, cost - cost0))
    h.set_row_bounds(rows, lower, base)
    if fix_builds and len(cols):
        upper = np.broadcast_to(build.upper.to_numpy(), held.shape)[held]
        h.set_col_bounds(cols, np.zeros(len(cols)), upper.astype(float))
    h.run()
    return out


def _measure(result: PlanResult) -> Any:
    """A function returning (objective, expected weighted shortfall with unserved fixed
    orders at item weight, expected cost) of the solver's current solution."""
    d, lp = result.data, result.lp
    h = resolver(result)
    if h is None:
        raise ValueError("the plan's LP has no solver instance to re-solve")
    cols_all = solver_labels(lp)[0]
    w = d.weight.to_numpy()
    weight = d.shortfall_weight.to_numpy()
    price = d.price.to_numpy()
    model = d.model
    enemy = rules.region_of(model, model.claim_recipient) == "russia"
    order_weight = np.where(enemy, 0.0, model.item_weight[model.claim_item])

    def cols(name: str) -> np.ndarray:
        lab = lp.variables[name].labels.to_numpy()
        return _positions(cols_all, lab.ravel()).reshape(lab.shape)

    unmet_col, short_col, prod_col = cols("unmet"), cols("short"), cols("production")
    build_lab = lp.variables["build"].labels.to_numpy()
    build_ok = build_lab >= 0
    build_col = _positions(cols_all, build_lab[build_ok])
    capex = np.broadcast_to(d.capex.to_numpy()[:, None], build_lab.shape)[build_ok]

    def measure() -> tuple[float, float, float]:
        x = h.col_value()
        ws = float(w @ (x[unmet_col] * weight).sum(axis=(1, 2)))
        ws += float(w @ (x[short_col] * order_weight).sum(axis=(1, 2)))
        cost = float(w @ (x[prod_col] * price).sum(axis=(1, 2)) + x[build_col] @ capex)
        return h.objective(), ws, cost

    return measure


def resolver(result: PlanResult) -> Resolver | None:
    """How to re-solve the plan's LP: its decomposition, or its HiGHS instance (None if it
    has neither)."""
    if result.decomposition is not None:
        return result.decomposition
    h = result.lp.solver_model
    return HighsResolver(h) if h is not None else None
