"""Score a historical replay against published facts (the dataset's ``targets`` table).

Each target names a model quantity as ``<kind>:<what>[@<who>][><recipient>]``:

* ``what``: an item id or an item category (``artillery`` = 155, 152 and 122 mm rounds);
* ``who``: countries (upper case) or regions (lower case) joined by ``+``; ``<region>_lines``
  means only the output of that region's (or country's) lines served to claims; ``a/b`` gives
  the numerator and denominator of a ``ratio`` or ``share``.

Kinds (monthly series per draw, then aggregated over the target's period by its unit):

* ``capacity`` / ``production``: working capacity / output of ``who``'s lines making ``what``;
* ``delivered``: what ``who`` sent ``recipient`` (flows, transfers and claims served);
* ``fired`` / ``stock``: what actor ``who`` fired / held of ``what``;
* ``ratio``: fired by ``a`` over fired by ``b``, summed over the period;
* ``share``: delivered by ``a`` over delivered by ``b`` to ``recipient``, summed over the period.

Units: ``.../year`` = mean monthly rate x 12, ``.../month`` = mean monthly rate, ``.../day`` =
mean monthly rate / 30.44; ``ratio`` and ``share`` as above; any other unit = total over the
period (a stock: its level in the period's last month). A target is *inside* when the model's
median lies in the published [low, high]. Pure functions: no I/O.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from materiel.model.compiled import FloatArray, Model, month_index
from materiel.model.events import ScenarioArrays
from materiel.model.sampling import sample
from materiel.schema.validate import DataIssue, DatasetError

KINDS = ("capacity", "production", "delivered", "fired", "stock", "ratio", "share")
DAYS_PER_MONTH = 365.25 / 12
SPEC = re.compile(
    r"^(?P<kind>[a-z_]+):(?P<what>[a-z0-9_]+)(@(?P<who>[A-Za-z0-9_+/]+))?(>(?P<to>[A-Z0-9_]+))?$"
)


@dataclass(frozen=True)
class Quantity:
    """A parsed target quantity."""

    kind: str
    what: str
    who: tuple[str, ...]
    of: tuple[str, ...]
    """Denominator group of a ratio or share (empty otherwise)."""
    recipient: str | None


@dataclass(frozen=True)
class Score:
    """One target against the model: the published range and the model's p10/median/p90."""

    id: str
    role: str
    quantity: str
    period: str
    unit: str
    source: str
    low: float
    high: float
    p10: float
    median: float
    p90: float
    first: int
    last: int
    band: FloatArray
    """(3, M) p10 / median / p90 of the running quantity month by month (for charts)."""

    @property
    def inside(self) -> bool:
        tol = 1e-6 * max(abs(self.low), abs(self.high))  # float32 results
        return bool(self.low - tol <= self.median <= self.high + tol)

    def record(self) -> dict[str, object]:
        """JSON-ready dict (without the band)."""
        return {
            "id": self.id,
            "role": self.role,
            "quantity": self.quantity,
            "period": self.period,
            "unit": self.unit,
            "source": self.source,
            "low": self.low,
            "high": self.high,
            "p10": self.p10,
            "median": self.median,
            "p90": self.p90,
            "inside": self.inside,
        }


def parse_quantity(text: str, where: str = "targets.csv") -> Quantity:
    """Parse ``<kind>:<what>[@<who>][><recipient>]``; raise DatasetError if malformed."""
    match = SPEC.match(text)
    if match is None or match["kind"] not in KINDS:
        raise DatasetError(
            [
                DataIssue(
                    where,
                    None,
                    "quantity",
                    f"cannot read '{text}'",
                    "<kind>:<item|category>[@<who>][><recipient>], kind one of " + ", ".join(KINDS),
                )
            ]
        )
    who, _, of = (match["who"] or "").partition("/")

    def split(s: str) -> tuple[str, ...]:
        return tuple(x for x in s.split("+") if x)

    return Quantity(match["kind"], match["what"], split(who), split(of), match["to"])


def period_bounds(period: str, start: str, months: int) -> tuple[int, int]:
    """First and last month index (inclusive) of 'YYYY', 'YYYY-MM' or 'YYYY-MM/YYYY-MM',
    clipped to the run; ValueError if the period lies outside it."""
    lo, _, hi = period.partition("/")
    if len(lo) == 4:
        lo, hi = f"{lo}-01", f"{lo}-12"
    first = max(0, month_index(start, lo))
    last = min(months - 1, month_index(start, hi or lo))
    if first > last:
        raise ValueError(f"period {period} is outside the run ({start}, {months} months)")
    return first, last


@dataclass(frozen=True)
class Replay:
    """A simulated replay and what is needed to attribute deliveries to suppliers."""

    model: Model
    scenario: ScenarioArrays
    result: xr.Dataset
    flow_rate: FloatArray
    """(D, M, L) flow rates actually applied, units/month."""

    @classmethod
    def of(cls, model: Model, sc: ScenarioArrays, result: xr.Dataset, seed: int) -> Replay:
        draws = result.sizes["draw"]
        first = int(result["draw"].values[0]) if draws else 0
        base = sample(model, draws, seed, start=first)["flow_rate"]  # same draws as the run
        rate = np.where(
            np.isnan(sc.flow_rate)[None],
            base[:, None, :] * sc.flow_factor[None],
            sc.flow_rate[None],
        )
        return cls(model, sc, result, rate)

    # --- masks ----------------------------------------------------------------------------

    def items(self, what: str) -> np.ndarray:
        """(I,) items named ``what`` (an item id or a category)."""
        m = self.model
        mask = np.asarray((m.items == what) | (m.item_category == what).to_numpy())
        if not mask.any():
            raise ValueError(f"'{what}' is neither an item nor a category of the dataset")
        return mask

    def _countries(self, token: str) -> np.ndarray:
        """(A,) actors a token names: a country, or the countries of a region."""
        m = self.model
        mask = np.asarray((m.actors == token) | (m.actor_region == token).to_numpy())
        if not mask.any():
            raise ValueError(f"'{token}' is neither a country nor a region of the dataset")
        return mask

    def facilities(self, who: tuple[str, ...], what: str) -> np.ndarray:
        """(F,) lines of ``who`` making ``what`` (every line if ``who`` is empty)."""
        m = self.model
        mask = np.zeros(len(m.facilities), bool)
        for token in who or tuple(m.actors):
            mask |= self._countries(token.removesuffix("_lines"))[m.facility_country]
        out: np.ndarray = mask & self.items(what)[m.facility_item]
        return out

    # --- monthly series (D, M) ------------------------------------------------------------

    def _facility_series(self, variable: str, q: Quantity) -> FloatArray:
        values = self.result[variable].values  # (D, M, F)
        out: FloatArray = values[:, :, self.facilities(q.who, q.what)].sum(axis=-1)
        return out

    def _pair_series(self, variable: str, actors: tuple[str, ...], what: str) -> FloatArray:
        pair = self.result.indexes["pair"]
        actor = pair.get_level_values("actor").to_numpy()
        item = pair.get_level_values("item").to_numpy()
        wanted_items = set(self.model.items[self.items(what)])
        chosen = np.zeros(len(pair), bool)
        for token in actors:
            names = set(self.model.actors[self._countries(token)])
            chosen |= np.isin(actor, list(names))
        chosen &= np.isin(item, list(wanted_items))
        out: FloatArray = self.result[variable].values[:, :, chosen].sum(axis=-1)
        return out

    def delivered(self, who: tuple[str, ...], what: str, recipient: str) -> FloatArray:
        """(D, M) what ``who`` sent ``recipient`` of ``what`` each month, units/month."""
        m = self.model
        if recipient not in m.actors:
            raise ValueError(f"unknown recipient '{recipient}'")
        r = m.actors.get_loc(recipient)
        items = self.items(what)
        flows = np.zeros(len(m.flow_supplier), bool)
        claims = np.zeros(len(m.claim_supplier), bool)
        x = self.scenario.transfers
        gives = np.zeros(len(x), bool)
        regions = dict(zip(m.actors, m.actor_region, strict=True))
        claim_region = np.array([regions.get(str(s), str(s)) for s in m.claim_supplier])
        for token in who:
            lines_only = token.endswith("_lines")
            name = token.removesuffix("_lines")
            claims |= (m.claim_supplier == name) | (claim_region == name)
            if not lines_only:
                countries = self._countries(name)
                flows |= countries[m.flow_supplier]
                gives |= countries[x.giver] if len(x) else gives
        flows &= (m.flow_recipient == r) & items[m.flow_item]
        claims &= (m.claim_recipient == r) & items[m.claim_item]
        total = self.flow_rate[:, :, flows].sum(axis=-1)
        total = total + self.result["served"].values[:, :, claims].sum(axis=-1)
        if len(x):
            gives &= (x.taker == r) & items[x.item]
            total = total + np.nan_to_num(x.quantity[:, gives]).sum(axis=-1)[None]
        out: FloatArray = np.asarray(total, dtype=float)
        return out

    def series(self, q: Quantity) -> FloatArray:
        """(D, M) monthly values of a non-ratio quantity."""
        if q.kind in ("capacity", "production"):
            return self._facility_series(q.kind, q)
        if q.kind in ("fired", "stock"):
            return self._pair_series(q.kind, q.who, q.what)
        if q.kind == "delivered":
            return self.delivered(q.who, q.what, q.recipient or "UKR")
        raise ValueError(f"no monthly series for kind '{q.kind}'")

    def parts(self, q: Quantity) -> tuple[FloatArray, FloatArray]:
        """(numerator, denominator) monthly series of a ratio or share."""
        if not q.of:
            raise ValueError(f"a {q.kind} needs 'a/b' after @")
        if q.kind == "ratio":
            return self._pair_series("fired", q.who, q.what), self._pair_series(
                "fired", q.of, q.what
            )
        r = q.recipient or "UKR"
        return self.delivered(q.who, q.what, r), self.delivered(q.of, q.what, r)


def _per_unit(unit: str) -> float | None:
    """Factor from units/month to the target's rate unit; None for a total."""
    return {"year": 12.0, "month": 1.0, "day": 1.0 / DAYS_PER_MONTH}.get(unit.rpartition("/")[2])


def _divide(a: FloatArray, b: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)
    return out


def evaluate(replay: Replay, q: Quantity, unit: str, first: int, last: int) -> FloatArray:
    """(D,) value of ``q`` over months ``first..last`` in the target's unit."""
    window = slice(first, last + 1)
    if q.kind in ("ratio", "share"):
        num, den = replay.parts(q)
        return _divide(num[:, window].sum(axis=1), den[:, window].sum(axis=1))
    values = replay.series(q)
    if q.kind == "stock":
        return values[:, last]
    factor = _per_unit(unit) if "/" in unit else None
    if factor is None:
        out: FloatArray = values[:, window].sum(axis=1)
        return out
    mean: FloatArray = values[:, window].mean(axis=1) * factor
    return mean


def running(replay: Replay, q: Quantity, unit: str, first: int) -> FloatArray:
    """(D, M) the quantity month by month for charts: rates and stocks per month, totals,
    ratios and shares accumulated from the period's first month (NaN before it)."""
    m = replay.scenario.months
    if q.kind in ("ratio", "share"):
        num, den = replay.parts(q)
        if q.kind == "ratio":
            return _divide(num, den)
        out = _divide(np.cumsum(num[:, first:], axis=1), np.cumsum(den[:, first:], axis=1))
    else:
        values = replay.series(q)
        factor = _per_unit(unit) if "/" in unit else None
        if q.kind == "stock":
            return values
        if factor is not None:
            return values * factor
        out = np.cumsum(values[:, first:], axis=1)
    full = np.full((out.shape[0], m), np.nan)
    full[:, first:] = out
    return full


def score(replay: Replay, targets: pd.DataFrame) -> list[Score]:
    """Score every target row (columns of the ``targets`` table)."""
    scores: list[Score] = []
    issues: list[DataIssue] = []
    months, start = replay.scenario.months, replay.model.start
    for line, t in targets.iterrows():
        try:
            q = parse_quantity(str(t["quantity"]))
            first, last = period_bounds(str(t["period"]), start, months)
            values = evaluate(replay, q, str(t["unit"]), first, last)
            band = running(replay, q, str(t["unit"]), first)
        except DatasetError as e:
            issues += [
                DataIssue("targets.csv", int(str(line)), i.field, i.message, i.allowed)
                for i in e.issues
            ]
            continue
        except ValueError as e:
            issues.append(DataIssue("targets.csv", int(str(line)), "quantity", str(e)))
            continue
        p10, median, p90 = (float(x) for x in np.nanpercentile(values, [10, 50, 90]))
        with warnings.catch_warnings():  # months before the period are NaN in every draw
            warnings.simplefilter("ignore", RuntimeWarning)
            bands = np.nanpercentile(band, [10, 50, 90], axis=0)
        scores.append(
            Score(
                id=str(t["id"]),
                role=str(t["role"]),
                quantity=str(t["quantity"]),
                period=str(t["period"]),
                unit=str(t["unit"]),
                source=str(t["source"]),
                low=float(t["low"]),
                high=float(t["high"]),
                p10=p10,
                median=median,
                p90=p90,
                first=first,
                last=last,
                band=np.asarray(bands, dtype=float),
            )
        )
    if issues:
        raise DatasetError(issues)
    return scores


def summary(scores: list[Score]) -> dict[str, dict[str, int]]:
    """Targets inside / total, by role."""
    out: dict[str, dict[str, int]] = {}
    for s in scores:
        row = out.setdefault(s.role, {"inside": 0, "total": 0})
        row["total"] += 1
        row["inside"] += int(s.inside)
    return out


def per_unit(model: Model, item: str) -> dict[str, float]:
    """Central quantity of every limited upstream item in one unit of ``item`` (the bill of
    materials multiplied out), item units per unit."""
    need: dict[str, float] = {}
    todo = [(model.items.get_loc(item), 1.0)]
    limited = model.item_limited
    while todo:
        i, scale = todo.pop()
        for r in np.flatnonzero(model.recipe_item == i):
            j = int(model.recipe_input[r])
            q = scale * float(model.recipe_quantity.central[r])
            if limited[j]:
                name = str(model.items[j])
                need[name] = need.get(name, 0.0) + q
                todo.append((j, q))
    return need


def limits(replay: Replay, item: str, who: str, months: list[int]) -> pd.DataFrame:
    """What ``who``'s lines could make of ``item`` in each month, units/year (median over
    draws): the assembly lines' capacity, what each limited input's capacity would support
    (its capacity / its central quantity per unit) and what was actually produced. The lowest
    row after 'assembly capacity' is the binding stage; rows: stages, columns: dates."""
    model, result = replay.model, replay.result
    region = (who,)
    cap = result["capacity"].values
    prod = result["production"].values
    rows: dict[str, FloatArray] = {
        f"{item} assembly capacity": cap[:, :, replay.facilities(region, item)].sum(-1),
    }
    for name, q in per_unit(model, item).items():
        mask = replay.facilities(region, name)
        if mask.any() and q > 0:
            rows[f"{name} capacity / {q:.4g} per unit"] = cap[:, :, mask].sum(-1) / q
    rows[f"{item} produced"] = prod[:, :, replay.facilities(region, item)].sum(-1)
    dates = list(result["date"].values)
    table = {name: [float(np.median(v[:, t])) * 12.0 for t in months] for name, v in rows.items()}
    return pd.DataFrame(table, index=[dates[t] for t in months]).T
