"""The compiled model: a dataset turned into indexed NumPy arrays in canonical units.

Quantities are in each item's unit, rates in item units per month, money in EUR, times in
months from the dataset start. Both engines read a :class:`Model`; neither reads files.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from graphlib import TopologicalSorter

import numpy as np
import pandas as pd
import xarray as xr

from materiel.io.dataset import Dataset
from materiel.schema.units import rate_factor, ratio_factor

FloatArray = np.ndarray
IntArray = np.ndarray


@dataclass(frozen=True)
class Uncertain:
    """An uncertain value per element, sampled from a triangular range: central, low, high (n,)."""

    central: FloatArray
    low: FloatArray
    high: FloatArray

    @classmethod
    def from_table(
        cls, frame: pd.DataFrame, name: str, factor: FloatArray | float = 1.0
    ) -> Uncertain:
        def col(c: str) -> FloatArray:
            return frame[c].to_numpy(dtype=float) * factor

        return cls(col(name), col(f"{name}_low"), col(f"{name}_high"))

    def __len__(self) -> int:
        return len(self.central)


def month_index(start: str, month: str) -> int:
    """Months from ``start`` (YYYY-MM) to ``month`` (YYYY-MM); negative if before."""
    y0, m0 = map(int, start.split("-"))
    y1, m1 = map(int, month.split("-"))
    return (y1 - y0) * 12 + (m1 - m0)


def month_labels(start: str, months: int) -> list[str]:
    y0, m0 = map(int, start.split("-"))
    return [f"{y0 + (m0 - 1 + t) // 12:04d}-{(m0 - 1 + t) % 12 + 1:02d}" for t in range(months)]


@dataclass(frozen=True)
class Model:
    """Indexed arrays of one dataset. Index arrays point into ``items``, ``actors`` etc."""

    dataset: Dataset
    items: pd.Index
    actors: pd.Index
    facilities: pd.Index
    expansions: pd.Index
    item_unit: pd.Series
    item_kind: pd.Series
    item_category: pd.Series
    item_limited: np.ndarray
    item_priority: IntArray
    """(I,) input rationing class of each item's lines (1 first; 9 where none is given)."""
    item_weight: FloatArray
    """(I,) EUR-equivalent weight of one unit short (0 where none is given)."""
    actor_region: pd.Series
    sustain_months: Uncertain
    """(A,) consumption policy: fire at most stock / sustain_months a month."""
    # facilities (F)
    facility_item: IntArray
    facility_country: IntArray
    facility_inputs: np.ndarray
    """(F,) 'chain' (inputs from the modelled lines) or 'own' (inputs outside the model)."""
    capacity: Uncertain
    utilisation: Uncertain
    unit_cost: Uncertain
    # recipes (R): input quantity per unit of output
    recipe_item: IntArray
    recipe_input: IntArray
    recipe_quantity: Uncertain
    # expansions (E)
    expansion_facility: IntArray
    added_capacity: Uncertain
    capex: Uncertain
    lead_time: Uncertain
    ramp_time: Uncertain
    decided: FloatArray
    """Month of decision relative to the start; NaN for an option."""
    # stocks (S), consumption (C), flows (L), allocations (Q)
    stock_actor: IntArray
    stock_item: IntArray
    stock_quantity: Uncertain
    stock_floor: Uncertain
    consumption_actor: IntArray
    consumption_item: IntArray
    consumption_rate: Uncertain
    flow_supplier: IntArray
    flow_recipient: IntArray
    flow_item: IntArray
    flow_rate: Uncertain
    claim_supplier: np.ndarray
    """(Q,) supplier group of each claim: a country id or a region name."""
    claim_recipient: IntArray
    claim_item: IntArray
    claim_priority: IntArray
    claim_share: Uncertain
    """(Q,) share of the recipient's need claimed from the supplier's lines."""
    claim_rate: Uncertain
    """(Q,) fixed orders, units/month."""
    item_depth: IntArray
    """Longest path from a raw input to the item in the bill of materials."""
    buffer_months: float
    """Intermediate stock lines aim to hold, months of downstream needs."""

    @property
    def start(self) -> str:
        return self.dataset.meta.start

    def uncertain(self) -> dict[str, Uncertain]:
        """Every uncertain figure, by attribute name, in a fixed order."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), Uncertain)
        }

    @property
    def holders(self) -> IntArray:
        """Actors that hold, use, make or receive items (those the simulator tracks)."""
        used = np.concatenate(
            [
                self.stock_actor,
                self.consumption_actor,
                self.flow_recipient,
                self.claim_recipient,
                self.facility_country,
            ]
        )
        return np.unique(used)

    def to_xarray(self) -> xr.Dataset:
        """Central/low/high figures on named dims, for inspection in a notebook."""
        bound = pd.Index(["low", "central", "high"], name="bound")

        def da(fig: Uncertain, dim: str, index: pd.Index) -> xr.DataArray:
            data = np.stack([fig.low, fig.central, fig.high], axis=-1)
            return xr.DataArray(data, coords={dim: index, "bound": bound}, dims=(dim, "bound"))

        fac = self.facilities.rename("facility")
        exp = self.expansions.rename("expansion")
        return xr.Dataset(
            {
                "capacity": da(self.capacity, "facility", fac),
                "utilisation": da(self.utilisation, "facility", fac),
                "unit_cost": da(self.unit_cost, "facility", fac),
                "added_capacity": da(self.added_capacity, "expansion", exp),
                "capex": da(self.capex, "expansion", exp),
                "lead_time": da(self.lead_time, "expansion", exp),
                "ramp_time": da(self.ramp_time, "expansion", exp),
                "facility_item": ("facility", self.items[self.facility_item].to_numpy()),
            }
        )


def _positions(index: pd.Index, values: pd.Series) -> IntArray:
    return np.asarray(index.get_indexer(pd.Index(values)), dtype=np.int64)


def _rate_factors(frame: pd.DataFrame, column: str, units: pd.Series) -> FloatArray:
    return np.array(
        [
            rate_factor(g, units.iloc[i])
            for g, i in zip(frame[f"{column}_unit"], frame["_item_pos"], strict=True)
        ]
    )


def compile_model(dataset: Dataset) -> Model:
    """Index and convert a validated dataset into a :class:`Model`."""
    t = dataset.tables
    items = pd.Index(t["items"]["item"], name="item")
    actors = pd.Index(t["countries"]["country"], name="actor")
    facilities = pd.Index(t["facilities"]["facility"], name="facility")
    expansions = pd.Index(t["expansions"]["expansion"], name="expansion")
    units = pd.Series(t["items"]["unit"].to_numpy(), index=items)

    fac = t["facilities"].assign(_item_pos=lambda f: _positions(items, f["item"]))
    exp = t["expansions"].assign(_fac_pos=lambda f: _positions(facilities, f["facility"]))
    exp["_item_pos"] = fac["_item_pos"].to_numpy()[exp["_fac_pos"].to_numpy()]
    rec = t["recipes"]
    recipe_factor = np.array(
        [
            ratio_factor(u, units[i], units[o])
            for u, i, o in zip(rec["unit"], rec["input"], rec["item"], strict=True)
        ]
    )
    con = t["consumption"].assign(_item_pos=lambda f: _positions(items, f["item"]))
    flo = t["flows"].assign(_item_pos=lambda f: _positions(items, f["item"]))

    depth = _depths(list(items), list(zip(rec["input"], rec["item"], strict=True)))
    alo = t["allocations"].assign(_item_pos=lambda f: _positions(items, f["item"]))
    pri = t["priorities"]
    priority = np.full(len(items), 9, dtype=np.int64)
    weight = np.zeros(len(items))
    priority[_positions(items, pri["item"])] = pri["priority"].to_numpy(dtype=np.int64)
    weight[_positions(items, pri["item"])] = pri["weight"].to_numpy(dtype=float)
    countries = t["countries"]

    start = dataset.meta.start
    decided = np.array(
        [month_index(start, d) if d else np.nan for d in exp["decided"]], dtype=float
    )
    return Model(
        dataset=dataset,
        items=items,
        actors=actors,
        facilities=facilities,
        expansions=expansions,
        item_unit=units,
        item_kind=pd.Series(t["items"]["kind"].to_numpy(), index=items),
        item_category=pd.Series(t["items"]["category"].to_numpy(), index=items),
        item_limited=t["items"]["limited"].to_numpy(dtype=bool),
        item_priority=priority,
        item_weight=weight,
        actor_region=pd.Series(countries["region"].to_numpy(), index=actors),
        sustain_months=Uncertain.from_table(countries, "sustain_months"),
        facility_item=fac["_item_pos"].to_numpy(),
        facility_country=_positions(actors, fac["country"]),
        facility_inputs=fac["inputs"].to_numpy(dtype=object),
        capacity=Uncertain.from_table(fac, "capacity", _rate_factors(fac, "capacity", units)),
        utilisation=Uncertain.from_table(fac, "utilisation"),
        unit_cost=Uncertain.from_table(fac, "unit_cost"),
        recipe_item=_positions(items, rec["item"]),
        recipe_input=_positions(items, rec["input"]),
        recipe_quantity=Uncertain.from_table(rec, "quantity", recipe_factor),
        expansion_facility=exp["_fac_pos"].to_numpy(),
        added_capacity=Uncertain.from_table(
            exp, "added_capacity", _rate_factors(exp, "added_capacity", units)
        ),
        capex=Uncertain.from_table(exp, "capex"),
        lead_time=Uncertain.from_table(exp, "lead_time"),
        ramp_time=Uncertain.from_table(exp, "ramp_time"),
        decided=decided,
        stock_actor=_positions(actors, t["stocks"]["actor"]),
        stock_item=_positions(items, t["stocks"]["item"]),
        stock_quantity=Uncertain.from_table(t["stocks"], "quantity"),
        stock_floor=Uncertain.from_table(t["stocks"], "floor"),
        consumption_actor=_positions(actors, con["actor"]),
        consumption_item=con["_item_pos"].to_numpy(),
        consumption_rate=Uncertain.from_table(con, "rate", _rate_factors(con, "rate", units)),
        flow_supplier=_positions(actors, flo["supplier"]),
        flow_recipient=_positions(actors, flo["recipient"]),
        flow_item=flo["_item_pos"].to_numpy(),
        flow_rate=Uncertain.from_table(flo, "rate", _rate_factors(flo, "rate", units)),
        claim_supplier=alo["supplier"].to_numpy(dtype=object),
        claim_recipient=_positions(actors, alo["recipient"]),
        claim_item=alo["_item_pos"].to_numpy(),
        claim_priority=alo["priority"].to_numpy(dtype=np.int64),
        claim_share=Uncertain.from_table(alo, "share"),
        claim_rate=Uncertain.from_table(alo, "rate", _rate_factors(alo, "rate", units)),
        item_depth=np.array([depth[i] for i in items], dtype=np.int64),
        buffer_months=dataset.meta.buffer_months,
    )


def _depths(items: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from a raw input to each item along (input, output) edges."""
    inputs: dict[str, set[str]] = {i: set() for i in items}
    for source, target in edges:
        inputs[target].add(source)
    depth = dict.fromkeys(items, 0)
    for node in TopologicalSorter(inputs).static_order():
        depth[node] = max((depth[i] + 1 for i in inputs[node]), default=0)
    return depth
