"""Monte Carlo stock-flow simulator (see docs/methodology.md): what runs, in what order.

Each month: stock losses -> flows and transfers arrive -> users state their needs -> claims
on lines -> requirements pulled down the bill of materials -> production tier by tier (scarce
inputs rationed by priority class, then in proportion to need; Leontief) -> end items served
to claims by recipient priority (what nobody takes stays with the producer country) -> users
fire under their sustainment policy. The rules are in :mod:`materiel.model.rules`; this
module lays a model and scenario out as index arrays (:class:`Layout`, :func:`tiers`,
:func:`steps`) and :func:`run` hands them to the compiled kernel
(:mod:`materiel.simulation.kernel`), blocks of draws in parallel threads.

Stocks are tracked per (actor, item) *pair*: users' stocks, donors' stocks and the producer
countries' holdings of what their lines made.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from materiel.model import rules
from materiel.model.compiled import FloatArray, IntArray, Model
from materiel.model.events import ScenarioArrays
from materiel.model.plan import Plan, builds
from materiel.model.sampling import sample

if TYPE_CHECKING:
    from materiel.simulation import kernel

Scatter = rules.SumInto
MIN_FIRE = 1.0
"""Rounds/month Russia must fire for the fire ratio to be defined (NaN below)."""


@dataclass(frozen=True)
class Layout:
    """Static positions of one model + scenario: which (actor, item) pairs are tracked and
    where each table's rows, each claim link and each transfer land among them."""

    pair_actor: IntArray
    pair_item: IntArray
    stock_pair: IntArray  # (S,)
    use_pair: IntArray  # (C,)
    flow_pair: IntArray  # (L,)
    claim_pair: IntArray  # (Q,)
    line_pair: IntArray  # (F,) the producer country's holding of the line's item
    giver_pair: IntArray  # (X,)
    taker_pair: IntArray  # (X,)
    claim_use: IntArray  # (Q,) the recipient's consumption row, -1 if it has none
    link_facility: IntArray  # (N,)
    link_claim: IntArray  # (N,)

    @property
    def pairs(self) -> int:
        return len(self.pair_actor)

    @classmethod
    def of(cls, model: Model, sc: ScenarioArrays) -> Layout:
        n_i = len(model.items)
        x = sc.transfers
        keys = np.concatenate(
            [
                model.stock_actor * n_i + model.stock_item,
                model.consumption_actor * n_i + model.consumption_item,
                model.flow_recipient * n_i + model.flow_item,
                model.claim_recipient * n_i + model.claim_item,
                model.facility_country * n_i + model.facility_item,
                x.giver * n_i + x.item,
                x.taker * n_i + x.item,
            ]
        ).astype(np.int64)
        unique = np.unique(keys)
        pos = pd.Index(unique)

        def at(actor: IntArray, item: IntArray) -> IntArray:
            return np.asarray(pos.get_indexer(np.asarray(actor) * n_i + np.asarray(item)))

        uses = pd.Index(model.consumption_actor * n_i + model.consumption_item)
        links = rules.claim_links(model)
        return cls(
            pair_actor=unique // n_i,
            pair_item=unique % n_i,
            stock_pair=at(model.stock_actor, model.stock_item),
            use_pair=at(model.consumption_actor, model.consumption_item),
            flow_pair=at(model.flow_recipient, model.flow_item),
            claim_pair=at(model.claim_recipient, model.claim_item),
            line_pair=at(model.facility_country, model.facility_item),
            giver_pair=at(x.giver, x.item),
            taker_pair=at(x.taker, x.item),
            claim_use=np.asarray(uses.get_indexer(model.claim_recipient * n_i + model.claim_item)),
            link_facility=links[0],
            link_claim=links[1],
        )


@dataclass(frozen=True)
class Tier:
    """Lines of one bill-of-materials depth, with their modelled inputs in K slots."""

    facilities: IntArray  # (Fk,)
    inputs: IntArray  # (Fk, K) item of each input slot; I = no input (padding, unlimited, own)
    slot_row: IntArray  # (Fk, K) recipe row of each slot, -1 for padding
    groups: rules.Groups  # the tier's lines by rationing class
    class_inputs: tuple[Scatter, ...]  # per class: (Fc*K, D) slot uses -> (I+1, D)
    scatter_inputs: Scatter  # (Fk*K, D) -> (I+1, D)

    def quantity(self, recipe_quantity: FloatArray) -> FloatArray:
        """(Fk, K, D) input per unit of output of each slot (0 for padding)."""
        return np.ascontiguousarray(_at(recipe_quantity, self.slot_row, 0.0))


def _at(values: np.ndarray, index: IntArray, fill: float) -> np.ndarray:
    """``values[index]`` (along the first axis) where ``index`` >= 0, else ``fill``; also
    when ``values`` is empty (a dataset without recipes)."""
    shape = index.shape + values.shape[1:]
    if len(values) == 0:
        return np.full(shape, fill, dtype=values.dtype)
    ok = (index >= 0).reshape(index.shape + (1,) * (values.ndim - 1))
    return np.where(ok, values[np.maximum(index, 0)], fill)


def tiers(model: Model) -> list[Tier]:
    n_items = len(model.items)
    depth = model.item_depth[model.facility_item]
    own = model.facility_inputs == "own"
    classes = rules.line_classes(model)
    tiers = []
    for level in np.unique(depth):
        fac = np.flatnonzero(depth == level)
        rows = [np.flatnonzero(model.recipe_item == model.facility_item[f]) for f in fac]
        k = max([len(r) for r in rows] + [1])
        slot_row = np.full((len(fac), k), -1)
        for j, r in enumerate(rows):
            if not own[fac[j]]:
                slot_row[j, : len(r)] = r
        pad = slot_row < 0
        inputs = _at(model.recipe_input, slot_row, n_items)
        limited = model.item_limited[np.minimum(inputs, n_items - 1)]
        inputs = np.where(pad | ~limited, n_items, inputs)
        slot_row = np.where(inputs == n_items, -1, slot_row)
        groups = rules.Groups.of(classes[fac])
        tiers.append(
            Tier(
                fac,
                inputs,
                slot_row,
                groups,
                tuple(Scatter.of(inputs[g].ravel(), n_items + 1) for g in groups.members),
                Scatter.of(inputs.ravel(), n_items + 1),
            )
        )
    return tiers


@dataclass(frozen=True)
class Lines:
    """Working capacity month by month (units/month), shape (F, D)."""

    base: FloatArray  # (F, D)
    online: FloatArray  # (K, D) month of first output of each build (inf: never)
    ramp: FloatArray  # (K, D) ramp time, months
    added: FloatArray  # (K, D) units/month at full rate, times the build's scale
    to_facility: Scatter

    @classmethod
    def of(cls, model: Model, p: dict[str, FloatArray], plan: Plan | None) -> Lines:
        """From parameters ``p`` laid out draws last, each (n, D)."""
        exp, month, scale = builds(model, plan)
        return cls(
            p["capacity"],
            month[:, None] + p["lead_time"][exp],
            p["ramp_time"][exp],
            p["added_capacity"][exp] * scale[:, None],
            Scatter.of(model.expansion_facility[exp], len(model.facilities)),
        )

    def at(self, t: int, sc: ScenarioArrays) -> FloatArray:
        built = self.base + self.to_facility(rules.ramp_at(t, self.online, self.ramp) * self.added)
        return rules.working_capacity(
            built, sc.availability[t][:, None], sc.capacity_rate[t][:, None]
        )


def draws_last(p: dict[str, FloatArray], dtype: type = np.float64) -> dict[str, FloatArray]:
    """Parameters (D, n) as contiguous (n, D) arrays: the engine's layout."""
    return {k: np.ascontiguousarray(v.T, dtype=dtype) for k, v in p.items()}


def capacity_path(
    model: Model, p: dict[str, FloatArray], sc: ScenarioArrays, plan: Plan | None
) -> FloatArray:
    """Working capacity per draw, month and facility (units/month), shape (D, M, F)."""
    lines = Lines.of(model, draws_last(p), plan)
    return np.stack([lines.at(t, sc).T for t in range(sc.months)], axis=1)


def order_share(model: Model, sc: ScenarioArrays, plan: Plan) -> FloatArray:
    """A plan's orders as shares of each line's central working capacity, shape (M, F);
    NaN where the plan gives no order. A draw's line then makes at least that share."""
    assert plan.orders is not None
    orders = plan.orders[: sc.months]
    central = capacity_path(model, sample(model, 1, 0, uncertain=False), sc, plan)[0]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        share = np.where(central > 0, np.minimum(1.0, orders / central), 0.0)
    return np.where(np.isnan(orders), np.nan, share)


@dataclass(frozen=True)
class Step:
    """The lines of one rationing class in one tier: production runs class by class (all
    tiers of class 1, then class 2...), each class up the bill of materials, so a scarce input
    goes by class whatever the depth of the lines asking for it."""

    tier: int
    members: IntArray  # positions in the tier
    to_inputs: Scatter  # (members*K, D) slot uses -> (I+1, D)
    mid: IntArray  # positions among members of intermediate lines
    mid_to_held: Scatter  # (len(mid), D) -> (H, D)
    mid_to_item: Scatter  # (len(mid), D) -> (I, D)


def steps(model: Model, tiers: list[Tier], held_pair: IntArray, line_pair: IntArray) -> list[Step]:
    n_i = len(model.items)
    end = np.isin(model.item_kind.to_numpy(), ("end", "service"))
    steps = []
    for cls in np.unique(np.concatenate([t.groups.classes for t in tiers])):
        for k, tier in enumerate(tiers):
            where = np.flatnonzero(tier.groups.classes == cls)
            if not len(where):
                continue
            members = tier.groups.members[where[0]]
            lines = tier.facilities[members]
            mid = np.flatnonzero(~end[model.facility_item[lines]])
            steps.append(
                Step(
                    k,
                    members,
                    tier.class_inputs[where[0]],
                    mid,
                    Scatter.of(np.searchsorted(held_pair, line_pair[lines[mid]]), len(held_pair)),
                    Scatter.of(model.facility_item[lines[mid]], n_i),
                )
            )
    return steps


BLOCK_DRAWS = 256
"""Draws per kernel call: the unit of progress reports and of work shared among threads."""


def threads() -> int:
    """Threads the simulator uses: ``OMP_NUM_THREADS`` when set (Dask sets 1 in its
    workers, which run one per core), else the cores this process may run on."""
    setting = os.environ.get("OMP_NUM_THREADS", "")
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def run(
    model: Model,
    sc: ScenarioArrays,
    p: dict[str, FloatArray],
    plan: Plan | None = None,
    progress: Callable[[int], None] | None = None,
    out: dict[str, FloatArray] | None = None,
) -> dict[str, FloatArray]:
    """Simulate sampled parameters ``p`` (each (D, n)); return arrays keyed by variable.

    ``out``: zeroed arrays from :func:`output_arrays` (or slices of them along the draw axis)
    to write into; by default they are allocated here. Shapes are in :func:`output_arrays`.
    ``progress`` is called with the number of draw-months done after each block of draws.
    """
    d = p["capacity"].shape[0]
    result = output_arrays(model, sc, d) if out is None else out
    prepared = prepare(model, sc, plan)

    def block(lo: int, hi: int) -> Callable[[], int]:
        part = {k: v[lo:hi] for k, v in p.items()}
        return lambda: simulate_block(prepared, part, {k: v[lo:hi] for k, v in result.items()})

    in_threads([block(lo, min(d, lo + BLOCK_DRAWS)) for lo in range(0, d, BLOCK_DRAWS)], progress)
    return result


@dataclass(frozen=True)
class Prepared:
    """The kernel's inputs for one model, scenario and plan (see :func:`compile_inputs`)."""

    index: kernel.Index
    constants: kernel.Constants
    monthly: kernel.Monthly

    @property
    def months(self) -> int:
        return int(self.monthly.intensity.shape[0])


def prepare(model: Model, sc: ScenarioArrays, plan: Plan | None) -> Prepared:
    """Lay a model, scenario and plan out for the kernel (once per run, not per block)."""
    return Prepared(*compile_inputs(model, sc, plan))


def simulate_block(prepared: Prepared, p: dict[str, FloatArray], out: dict[str, FloatArray]) -> int:
    """Simulate every draw of ``p`` (each (D, n)) into ``out`` (arrays with a leading draw
    axis of D, e.g. slices of :func:`output_arrays`); return the draw-months done."""
    from materiel.simulation import kernel

    d = int(p["capacity"].shape[0])
    draws = kernel.Draws(**{f: _float64(p[f]) for f in kernel.Draws._fields})
    empty = np.zeros((d, 0), np.float32)
    outputs = kernel.Outputs(**{f: out.get(f, empty) for f in kernel.Outputs._fields})
    ix, k, monthly = prepared.index, prepared.constants, prepared.monthly
    kernel.simulate(0, d, ix, k, draws, monthly, outputs)
    return d * prepared.months


def in_threads(tasks: list[Callable[[], int]], progress: Callable[[int], None] | None) -> None:
    """Run independent tasks on :func:`threads` threads (in order on one); report each
    task's count to ``progress`` as it finishes."""
    if threads() <= 1 or len(tasks) <= 1:
        for task in tasks:
            done = task()
            if progress is not None:
                progress(done)
        return
    for done in _pool(threads(), os.getpid()).map(lambda task: task(), tasks):
        if progress is not None:
            progress(done)


@functools.cache
def _pool(workers: int, pid: int) -> ThreadPoolExecutor:
    """The simulator's threads, started on first use and kept for the next runs (one pool
    per process: a forked child starts its own)."""
    return ThreadPoolExecutor(workers, thread_name_prefix="materiel-sim")


def _float64(a: FloatArray) -> FloatArray:
    return np.ascontiguousarray(a, dtype=np.float64)


def compile_inputs(
    model: Model, sc: ScenarioArrays, plan: Plan | None
) -> tuple[kernel.Index, kernel.Constants, kernel.Monthly]:
    """The kernel's static positions, constants and month-by-month scenario arrays."""
    from materiel.simulation import kernel

    n_i, n_f = len(model.items), len(model.facilities)
    lay = Layout.of(model, sc)
    layers = tiers(model)
    end_line = np.isin(model.item_kind.to_numpy()[model.facility_item], ("end", "service"))
    end_lines = np.flatnonzero(end_line)
    held_pair = np.unique(lay.line_pair[~end_line])
    held_item = np.sort(lay.pair_item[held_pair], kind="stable")
    facility_held = np.where(end_line, -1, np.searchsorted(held_pair, lay.line_pair))
    fill = rules.PriorityFill.of(
        np.searchsorted(end_lines, lay.link_facility),
        model.claim_priority[lay.link_claim],
        len(end_lines),
    )
    slots: list[list[tuple[int, int]]] = [[] for _ in range(n_f)]  # line -> (input, row)
    for t in layers:
        for j, f in enumerate(t.facilities):
            real = np.flatnonzero(t.slot_row[j] >= 0)
            slots[f] = [(int(t.inputs[j, r]), int(t.slot_row[j, r])) for r in real]
    slot_pairs = np.array([v for line in slots for v in line], dtype=np.int64).reshape(-1, 2)
    order = steps(model, layers, held_pair, lay.line_pair)
    step_lines = [layers[s.tier].facilities[s.members] for s in order]
    slot_of = [
        np.array([i for f in lines for i, _ in slots[f]], dtype=np.int64) for lines in step_lines
    ]
    step_inputs = [np.unique(i) for i in slot_of]
    step_held = [np.unique(facility_held[lines][facility_held[lines] >= 0]) for lines in step_lines]
    step_items = [np.unique(model.facility_item[lines][~end_line[lines]]) for lines in step_lines]
    exp, month, scale = builds(model, plan)
    plan = plan or Plan.empty()
    ratio_items = rules.fire_ratio_items(model)[model.consumption_item]
    user = model.actors[model.consumption_actor].to_numpy()
    side = np.where(
        ratio_items & (user == "UKR"), 1, np.where(ratio_items & (user == "RUS"), -1, 0)
    )

    def offsets(groups: list[IntArray]) -> IntArray:
        return np.cumsum([0, *[len(g) for g in groups]])

    def ints(a: IntArray) -> IntArray:
        return np.ascontiguousarray(a, dtype=np.int64)

    ix = kernel.Index(
        pair_actor=ints(lay.pair_actor),
        stock_pair=ints(lay.stock_pair),
        use_pair=ints(lay.use_pair),
        use_actor=ints(model.consumption_actor),
        flow_pair=ints(lay.flow_pair),
        claim_pair=ints(lay.claim_pair),
        claim_use=ints(lay.claim_use),
        giver_pair=ints(lay.giver_pair),
        taker_pair=ints(lay.taker_pair),
        link_facility=ints(lay.link_facility),
        link_claim=ints(lay.link_claim),
        link_slot=ints(fill.slot),
        end_lines=ints(end_lines),
        end_pair=ints(lay.line_pair[end_lines]),
        build_facility=ints(model.expansion_facility[exp]),
        build_option=ints(exp),
        plan_option=ints(plan.expansion),
        facility_item=ints(model.facility_item),
        facility_held=ints(facility_held),
        line_slots=ints(np.cumsum([0, *[len(line) for line in slots]])),
        slot_input=ints(slot_pairs[:, 0]),
        slot_row=ints(slot_pairs[:, 1]),
        tier_start=ints(offsets([t.facilities for t in layers])),
        tier_lines=ints(np.concatenate([t.facilities for t in layers])),
        step_start=ints(offsets(step_lines)),
        step_lines=ints(np.concatenate(step_lines)),
        step_input_start=ints(offsets(step_inputs)),
        step_inputs=ints(np.concatenate(step_inputs)),
        step_made_start=ints(offsets(step_held)),
        step_held=ints(np.concatenate(step_held)),
        step_item_start=ints(offsets(step_items)),
        step_items=ints(np.concatenate(step_items)),
        held_pair=ints(held_pair),
        held_item=ints(lay.pair_item[held_pair]),
        item_held_start=ints(np.searchsorted(held_item, np.arange(n_i + 1))),
        item_held=ints(np.argsort(lay.pair_item[held_pair], kind="stable")),
        ratio_side=ints(side),
    )
    consts = kernel.Constants(
        items=n_i,
        classes=fill.classes,
        buffer=float(model.buffer_months),
        min_fire=MIN_FIRE,
        ratio=bool({"UKR", "RUS"} <= set(user[ratio_items])),
        use_weight=_float64(rules.weighted_rows(model)),
        build_month=_float64(month),
        build_scale=_float64(scale),
        plan_month=_float64(plan.month),
        plan_scale=_float64(plan.scale),
    )
    level = sc.order_level
    if plan.orders is not None:
        level = rules.override(level, order_share(model, sc, plan))
    x = sc.transfers
    monthly = kernel.Monthly(
        intensity=_float64(sc.intensity),
        consumption_factor=_float64(sc.consumption_factor),
        consumption_rate=_float64(sc.consumption_rate),
        availability=_float64(sc.availability),
        capacity_rate=_float64(sc.capacity_rate),
        order_level=_float64(level),
        flow_factor=_float64(sc.flow_factor),
        flow_rate=_float64(sc.flow_rate),
        claim_factor=_float64(sc.claim_factor),
        claim_share=_float64(sc.claim_share),
        claim_rate=_float64(sc.claim_rate),
        stock_loss=_float64(sc.stock_loss),
        transfer_quantity=_float64(x.quantity.reshape(sc.months, len(x))),
        transfer_share=_float64(x.share.reshape(sc.months, len(x))),
    )
    return ix, consts, monthly


def warm_up() -> None:
    """Compile the kernel (or load it from the disk cache): one draw of one month of the
    bundled dataset. ``setup.sh`` calls it so a planner's first run does not wait."""
    from materiel.io.dataset import load_dataset
    from materiel.model.compiled import compile_model
    from materiel.model.events import compile_scenario
    from materiel.scenario import parse_scenario

    model = compile_model(load_dataset())
    sc = compile_scenario(model, parse_scenario({"name": "warm-up", "months": 1, "events": []}))
    run(model, sc, sample(model, 1, seed=0, uncertain=False))


def output_arrays(model: Model, sc: ScenarioArrays, draws: int) -> dict[str, FloatArray]:
    """Zeroed float32 result arrays for ``draws`` draws.

    Shapes: capacity, production (D, M, F); stock, delivered (D, M, P) over tracked (actor,
    item) pairs; served (D, M, Q) per claim; wanted, fired (D, M, C) per consumption row;
    weighted_shortfall, cost and fire_ratio (D, M). ``fire_ratio`` only when UKR and RUS
    both use items counted in it.
    """
    lay = Layout.of(model, sc)
    shapes = {
        "capacity": (len(model.facilities),),
        "production": (len(model.facilities),),
        "stock": (lay.pairs,),
        "delivered": (lay.pairs,),
        "served": (len(model.claim_share),),
        "wanted": (len(model.consumption_rate),),
        "fired": (len(model.consumption_rate),),
        "weighted_shortfall": (),
        "cost": (),
    }
    out = {k: np.zeros((draws, sc.months, *v), np.float32) for k, v in shapes.items()}
    counted = rules.fire_ratio_items(model)[model.consumption_item]
    users = set(model.actors[model.consumption_actor[counted]])
    if {"UKR", "RUS"} <= users:
        out["fire_ratio"] = np.zeros((draws, sc.months), np.float32)
    return out
