"""The supply-chain rules, in one place: regions and sides, who serves whom, capacity paths,
demand pull, rationing by priority, the consumption policy and the weighted shortfall.

The simulator, the optimiser and the analyses call these functions; none of them re-states a
rule. Every function is pure (NumPy in, NumPy out) and vectorised over a leading draw axis
``D`` where it takes per-draw values. Units: item units, item units per month, months, EUR.
The equations are in docs/methodology.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from materiel.model.compiled import FloatArray, IntArray, Model

EUROPEAN_REGIONS = ("europe", "ukraine")
"""Regions that count as European (facilities, stocks and users)."""
WESTERN_REGIONS = ("europe", "ukraine", "us", "allied")
"""Regions on Ukraine's side of the war."""
FIRE_RATIO_CATEGORY = "artillery"
"""Items counted in the Ukraine:Russia fire ratio, for both sides: tube artillery rounds
(items of this category: 155 mm, 152 mm and 122 mm). Mortars, rockets and drones are not."""


# --- regions and groups ---------------------------------------------------------------


def region_of(model: Model, actors: IntArray) -> np.ndarray:
    """Region of each actor position (``europe``, ``ukraine``, ``us``, ``allied``,
    ``russia``, ``other``)."""
    regions: np.ndarray = model.actor_region.to_numpy()[np.asarray(actors, dtype=np.int64)]
    return regions


def facility_region(model: Model) -> np.ndarray:
    """(F,) region of each facility's country."""
    return region_of(model, model.facility_country)


def european_facilities(model: Model) -> np.ndarray:
    """(F,) True where a facility stands in a European country (Ukraine included)."""
    return np.isin(facility_region(model), EUROPEAN_REGIONS)


def supplier_groups(model: Model) -> dict[str, np.ndarray]:
    """Every name a claim or event may use as a supplier -> (F,) mask of its facilities:
    each country id (its facilities) and each region (the facilities of its countries)."""
    country = model.actors[model.facility_country].to_numpy()
    region = facility_region(model)
    groups = {str(a): country == a for a in model.actors}
    groups |= {str(r): region == r for r in model.actor_region.unique()}
    return groups


def node_facilities(model: Model, node: str) -> np.ndarray | None:
    """(F,) mask of a facility id, a country's facilities or a region's; None if unknown."""
    if node in model.facilities:
        return np.asarray(model.facilities == node)
    return supplier_groups(model).get(node)


def claim_links(model: Model) -> tuple[IntArray, IntArray]:
    """(facility, claim) pairs: the lines that can serve each claim (they make the claimed
    item and stand in the claim's supplier country or region), each shape (N,)."""
    groups = supplier_groups(model)
    facility: list[IntArray] = []
    claim: list[IntArray] = []
    for q, (name, item) in enumerate(zip(model.claim_supplier, model.claim_item, strict=True)):
        lines = np.flatnonzero(
            groups.get(str(name), np.zeros(0, bool)) & (model.facility_item == item)
        )
        facility.append(lines)
        claim.append(np.full(len(lines), q))
    if not facility:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(facility).astype(np.int64), np.concatenate(claim).astype(np.int64)


def _supplier_region(model: Model, names: np.ndarray) -> np.ndarray:
    regions = dict(zip(model.actors, model.actor_region, strict=True))
    return np.array([regions.get(str(n), str(n)) for n in names], dtype=object)


def us_outbound(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """(flow mask, claim mask) of US supply to countries outside the US: the US gap."""
    flows = (region_of(model, model.flow_supplier) == "us") & (
        region_of(model, model.flow_recipient) != "us"
    )
    claims = (_supplier_region(model, model.claim_supplier) == "us") & (
        region_of(model, model.claim_recipient) != "us"
    )
    return flows, claims


def flow_rows(
    model: Model, supplier: str, recipient: int, item: int
) -> tuple[np.ndarray, np.ndarray]:
    """(flow mask, claim mask) of deliveries from ``supplier`` (a country or a region) to
    the actor position ``recipient`` of item position ``item`` (-1: every item)."""
    flow_supplier = model.actors[model.flow_supplier].to_numpy()
    flows = ((flow_supplier == supplier) | (region_of(model, model.flow_supplier) == supplier)) & (
        model.flow_recipient == recipient
    )
    claims = (
        (model.claim_supplier == supplier)
        | (_supplier_region(model, model.claim_supplier) == supplier)
    ) & (model.claim_recipient == recipient)
    if item >= 0:
        flows &= model.flow_item == item
        claims &= model.claim_item == item
    return flows, claims


def flow_labels(model: Model) -> list[str]:
    """'supplier->recipient item' of every flow and claim (for error messages)."""
    a, i = model.actors, model.items
    flows = [
        f"{a[s]}->{a[r]} {i[t]}"
        for s, r, t in zip(model.flow_supplier, model.flow_recipient, model.flow_item, strict=True)
    ]
    return flows + claim_labels(model)


def claim_labels(model: Model) -> list[str]:
    """'supplier->recipient item' of every claim."""
    a, i = model.actors, model.items
    return [
        f"{s}->{a[r]} {i[t]}"
        for s, r, t in zip(
            model.claim_supplier, model.claim_recipient, model.claim_item, strict=True
        )
    ]


# --- capacity --------------------------------------------------------------------------


def ramp_fraction(months: int, online: FloatArray, ramp_time: FloatArray) -> FloatArray:
    """Share of added capacity working in each month, shape online.shape[:-1] + (M, E).

    Output starts in month ``online`` at 1/(ramp+1) and rises linearly to full rate at month
    ``online + ramp``; a build never made has ``online = inf``.
    """
    t = np.arange(months, dtype=float)[:, None]
    frac = (t - online[..., None, :] + 1.0) / (ramp_time[..., None, :] + 1.0)
    fraction: FloatArray = np.clip(np.nan_to_num(frac, nan=0.0, neginf=0.0), 0.0, 1.0)
    return fraction


def ramp_at(t: int, online: FloatArray, ramp_time: FloatArray) -> FloatArray:
    """:func:`ramp_fraction` for one month ``t`` (same shape as ``online``; scalars too)."""
    fraction: FloatArray = np.minimum(1.0, np.maximum(0.0, (t - online + 1.0) / (ramp_time + 1.0)))
    return fraction


def working_capacity(
    built: FloatArray, availability: FloatArray, absolute: FloatArray
) -> FloatArray:
    """Capacity that works: base + builds, times availability, unless an event sets an
    absolute capacity (``absolute`` not NaN), units/month."""
    return override(built * availability, absolute)


def override(value: FloatArray, absolute: FloatArray) -> FloatArray:
    """An event's absolute value where it sets one (``absolute`` not NaN), else ``value``."""
    out: FloatArray = np.where(np.isnan(absolute), value, absolute)
    return out


def scaled_rate(base: FloatArray, factor: FloatArray, absolute: FloatArray) -> FloatArray:
    """A rate in a month: the base rate times the month's factor, or the month's absolute
    rate where an event sets one (``absolute`` not NaN), units/month. Flows, wanted
    consumption, claim shares (factor 1) and fixed orders follow it."""
    return override(base * factor, absolute)


def claimed(
    share: FloatArray, need_: FloatArray, rate: FloatArray, factor: FloatArray
) -> FloatArray:
    """Units a claim asks its lines for in a month: ``(share x need + rate) x factor``."""
    out: FloatArray = (share * need_ + rate) * factor
    return out


# --- priorities ------------------------------------------------------------------------


def line_classes(model: Model) -> IntArray:
    """(F,) input rationing class of each line: its item's priority for end items; for an
    intermediate, the best class of the items it goes into (directly or further up)."""
    cls = model.item_priority.copy()
    kind = model.item_kind.to_numpy()
    cls[kind != "end"] = 9
    cls[kind == "service"] = model.item_priority[kind == "service"]
    for item in np.argsort(-model.item_depth, kind="stable"):  # consumers before inputs
        users = model.recipe_item[model.recipe_input == item]
        if len(users) and kind[item] != "end":
            cls[item] = min(int(cls[item]), int(cls[users].min()))
    out: IntArray = cls[model.facility_item]
    return out


@dataclass(frozen=True)
class Groups:
    """Columns grouped by class (ascending): ``members[k]`` are the positions in class
    ``classes[k]``."""

    classes: IntArray
    members: tuple[IntArray, ...]

    @classmethod
    def of(cls, labels: IntArray) -> Groups:
        classes = np.unique(labels)
        return cls(classes, tuple(np.flatnonzero(labels == c) for c in classes))


@dataclass(frozen=True)
class SumInto:
    """Row sums by target, ``out[target[n]] += values[n]`` in the order of ``n`` (so sums
    round exactly as a sequential loop does); arrays are laid out (rows, D), draws last.

    ``layers[r]`` holds the r-th row of every target: adding layer by layer is one
    vectorised step per row of the largest target."""

    layers: tuple[tuple[IntArray, IntArray], ...]  # (rows, their targets), targets unique
    width: int

    @classmethod
    def of(cls, target: IntArray, width: int) -> SumInto:
        target = np.asarray(target, dtype=np.int64)
        order = np.argsort(target, kind="stable")
        ordered = target[order]
        first = np.r_[True, ordered[1:] != ordered[:-1]] if len(order) else order.astype(bool)
        starts = np.flatnonzero(first)
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        layers = tuple(
            (order[rank == r], ordered[rank == r]) for r in range(int(rank.max(initial=-1)) + 1)
        )
        return cls(layers, width)

    def __call__(self, values: FloatArray) -> FloatArray:
        out = np.zeros((self.width, *values.shape[1:]), values.dtype)
        for rows, targets in self.layers:
            out[targets] += values[rows]
        return out


@dataclass(frozen=True)
class PriorityFill:
    """Share supplies among requests by priority: request ``n`` draws on supply row
    ``source[n]``; classes are served in ascending order, each in full before the next gets
    anything, and within a class in proportion to the requests. Arrays are (rows, D)."""

    source: IntArray
    slot: IntArray  # (N,) position of each request's (class, source) in the fill table
    classes: int
    width: int
    asked: SumInto  # (N, D) -> (classes * width, D)

    @classmethod
    def of(cls, source: IntArray, priority: IntArray, width: int) -> PriorityFill:
        source = np.asarray(source, dtype=np.int64)
        rank = np.searchsorted(np.unique(priority), priority)
        slot = rank * width + source
        n_classes = int(rank.max()) + 1 if len(rank) else 0
        return cls(source, slot, n_classes, width, SumInto.of(slot, n_classes * width))

    def __call__(self, supply: FloatArray, requests: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(served (N, D), supply left (S, D)) for ``supply`` (S, D), ``requests`` (N, D)."""
        asked = self.asked(requests)  # (classes * S, D)
        fill = np.empty_like(asked)
        remaining = supply.copy()
        for c in range(self.classes):
            rows = slice(c * self.width, (c + 1) * self.width)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                fill[rows] = np.where(
                    asked[rows] > 0, np.minimum(1.0, remaining / asked[rows]), 0.0
                )
            remaining -= np.minimum(remaining, asked[rows])
        return requests * fill[self.slot], remaining


# --- demand and consumption ------------------------------------------------------------


def need(sustain: FloatArray, wanted: FloatArray, stock: FloatArray) -> FloatArray:
    """What a user asks its suppliers for, units: enough stock to fire ``wanted`` under its
    policy, ``max(0, sustain x wanted - stock)``."""
    out: FloatArray = np.maximum(0.0, sustain * wanted - stock)
    return out


def fired(sustain: FloatArray, wanted: FloatArray, stock: FloatArray) -> FloatArray:
    """The consumption policy: fire ``min(wanted, stock / sustain)`` (units/month); with
    ``sustain = 1`` a user fires all it has."""
    out: FloatArray = np.minimum(wanted, np.maximum(stock, 0.0) / sustain)
    return out


def above_floor(stock: FloatArray, floor: FloatArray) -> FloatArray:
    """Stock a holder can give away: ``max(0, stock - floor)``."""
    out: FloatArray = np.maximum(0.0, stock - floor)
    return out


def weighted_rows(model: Model) -> FloatArray:
    """(C,) weight of each consumption row in the weighted shortfall: the item's weight for
    users on Ukraine's side (Europe, Ukraine, the US, allies), 0 for Russia's side."""
    western = np.isin(region_of(model, model.consumption_actor), WESTERN_REGIONS)
    out: FloatArray = np.where(western, model.item_weight[model.consumption_item], 0.0)
    return out


def fire_ratio_items(model: Model) -> np.ndarray:
    """(I,) True for the items counted in the fire ratio (see ``FIRE_RATIO_CATEGORY``)."""
    return np.asarray(model.item_category == FIRE_RATIO_CATEGORY)
