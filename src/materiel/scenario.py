"""Scenarios: a small YAML file of typed events applied on top of a dataset.

Months count from the dataset start (month 0 = ``dataset.yaml`` ``start``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic

from materiel.errors import DataIssue, ScenarioError
from materiel.io.textfile import load_yaml

SCENARIO_DIR = Path(str(resources.files("materiel") / "data" / "scenarios"))

MONTH_TEXT = r"^\d{4}-(0[1-9]|1[0-2])$"
Month = Annotated[
    Annotated[int, pydantic.Field(ge=0)] | Annotated[str, pydantic.Field(pattern=MONTH_TEXT)],
    pydantic.Field(
        description="a calendar month 'YYYY-MM' or a month index from the dataset start (0 = start)"
    ),
]
Fraction = Annotated[float, pydantic.Field(ge=0.0, le=1.0)]
Factor = Annotated[float, pydantic.Field(ge=0.0, le=1e3, allow_inf_nan=False)]
"""A multiplier on a rate: 0 stops it, 1 keeps it, 2 doubles it."""
Rate = Annotated[float, pydantic.Field(ge=0.0, le=1e12, allow_inf_nan=False)]
"""An absolute rate in the item's unit per month."""
Quantity = Annotated[float, pydantic.Field(ge=0.0, le=1e13, allow_inf_nan=False)]
Months = Annotated[int, pydantic.Field(ge=1, le=240)]


class _Event(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True)


class _Window(_Event):
    """An event that holds from ``month`` for ``months`` months (to the horizon if omitted)."""

    month: Month = 0
    months: Months | None = None


class _Scaled(_Window):
    """A rate changed by a ``factor`` (>= 0, no cap) or set to an absolute ``rate``."""

    factor: Factor | None = None
    rate: Rate | None = None

    @pydantic.model_validator(mode="after")
    def _one_of(self) -> _Scaled:
        if (self.factor is None) == (self.rate is None):
            raise ValueError("give exactly one of 'factor' (a multiplier >= 0) or 'rate'")
        return self


class USSupplyStops(_Event):
    """From ``month`` on, the US sends nothing outside the US: its flows, its lines' claims by
    other countries and its transfers stop (other events may restart them later)."""

    type: Literal["us_supply_stops"]
    month: Month


class Ceasefire(_Event):
    """Fighting drops to ``intensity`` x the reference for every actor from ``month`` on."""

    type: Literal["ceasefire"]
    month: Month
    intensity: Annotated[float, pydantic.Field(ge=0.0, le=100.0, allow_inf_nan=False)] = 0.1


class IntensityStep(_Event):
    month: Month
    factor: Annotated[float, pydantic.Field(ge=0.0, le=100.0, allow_inf_nan=False)]


class Intensity(_Event):
    """Piecewise-constant intensity: each step's factor holds from its month on."""

    type: Literal["intensity"]
    profile: list[IntensityStep] = pydantic.Field(min_length=1, max_length=1000)
    actors: list[str] | None = None
    """Actors affected (default: all)."""


class Consumption(_Scaled):
    """An actor's wanted use of ``item`` (or of every item) scaled or set over a window."""

    type: Literal["consumption"]
    actor: str
    item: str | None = None


class Flow(_Scaled):
    """Deliveries from ``supplier`` to ``recipient`` of ``item`` (or of every item) scaled or
    set over a window: flows outside the modelled lines and the recipient's claims on the
    supplier's lines. ``supplier`` is a country or a region (e.g. ``us``)."""

    type: Literal["flow"]
    supplier: str
    recipient: str
    item: str | None = None


class Transfer(_Window):
    """``from`` gives ``to`` a total ``quantity`` of ``item`` spread evenly over the window, or
    each month ``share`` of its stock above its floor; never below the floor."""

    type: Literal["transfer"]
    giver: str = pydantic.Field(alias="from")
    to: str
    item: str
    quantity: Quantity | None = None
    share: Fraction | None = None
    months: Months = 1

    @pydantic.model_validator(mode="after")
    def _one_of(self) -> Transfer:
        if (self.quantity is None) == (self.share is None):
            raise ValueError("give exactly one of 'quantity' (total) or 'share' (per month)")
        return self


class Capacity(_Scaled):
    """Working capacity of a facility (or of every line in a country) scaled, or a facility's
    capacity set to ``rate`` units/month, over a window."""

    type: Literal["capacity"]
    node: str


class SupplierOutage(_Event):
    """A facility, or an actor's lines and outgoing flows, lose ``fraction`` of output for
    ``months``."""

    type: Literal["supplier_outage"]
    node: str
    month: Month
    months: Months | None = None
    fraction: Fraction = 1.0


class DeepStrike(_Event):
    """Strikes cut the target actor's own production by ``fraction`` from ``month`` on and
    destroy ``stock_fraction`` of its stocks at ``month``."""

    type: Literal["deep_strike"]
    target: str
    month: Month = 0
    fraction: Fraction
    months: Months | None = None
    stock_fraction: Fraction = 0.0


class Orders(_Window):
    """Lines (of ``supplier``, default Europe; optionally only those making ``items``) produce
    at least ``level`` x capacity over the window, whether or not anyone claims the output
    (what nobody takes goes to the producer country's stock)."""

    type: Literal["orders"]
    level: Annotated[float, pydantic.Field(ge=0.0, le=10.0, allow_inf_nan=False)]
    items: list[str] | None = None
    supplier: str = "europe"


class Allocation(_Window):
    """``recipient`` claims ``share`` of its need of ``item`` (default: of every item it has a
    claim on) from the lines of ``supplier`` (default: every supplier) over the window."""

    type: Literal["allocation"]
    recipient: str
    share: Annotated[float, pydantic.Field(ge=0.0, le=10.0, allow_inf_nan=False)]
    item: str | None = None
    supplier: str | None = None


class Budget(_Event):
    """Money available to the optimiser for orders and investments."""

    type: Literal["budget"]
    eur_per_year: Annotated[float, pydantic.Field(ge=0.0, le=1e13, allow_inf_nan=False)]


Event = Annotated[
    USSupplyStops
    | Ceasefire
    | Intensity
    | Consumption
    | Flow
    | Transfer
    | Capacity
    | SupplierOutage
    | DeepStrike
    | Orders
    | Allocation
    | Budget,
    pydantic.Field(discriminator="type"),
]
EVENT_TYPES = (
    "us_supply_stops",
    "ceasefire",
    "intensity",
    "consumption",
    "flow",
    "transfer",
    "capacity",
    "supplier_outage",
    "deep_strike",
    "orders",
    "allocation",
    "budget",
)


class Scenario(pydantic.BaseModel):
    """A future to simulate or plan for."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str
    description: str = ""
    probability: Annotated[float, pydantic.Field(gt=0.0, le=1.0)] = 1.0
    """Weight in a multi-scenario plan."""
    months: Annotated[int, pydantic.Field(ge=1, le=240)] = 36
    events: list[Event] = []

    @property
    def budget(self) -> float | None:
        """Budget in EUR per year, if the scenario sets one."""
        budgets = [e.eur_per_year for e in self.events if isinstance(e, Budget)]
        return budgets[-1] if budgets else None


def available_scenarios() -> list[str]:
    """Names of the bundled scenarios."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a bundled scenario by name, or a scenario YAML file by path."""
    path = Path(name_or_path)
    if not path.exists():
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise ScenarioError(
            [
                DataIssue(
                    str(name_or_path),
                    None,
                    None,
                    "no such scenario",
                    ", ".join(available_scenarios()) + " or a .yaml path",
                )
            ]
        )
    content: Any = load_yaml(path, label=path.name)
    return parse_scenario(content, path.name)


def parse_scenario(content: Any, filename: str = "scenario") -> Scenario:
    """Validate a scenario given as plain data (e.g. parsed YAML or JSON)."""
    try:
        return Scenario.model_validate(content)
    except pydantic.ValidationError as e:
        issues: list[DataIssue] = []
        seen: set[tuple[str, str]] = set()
        for err in e.errors():
            # drop pydantic's union branch names (event types, constrained-int/str)
            raw = [str(x) for x in err["loc"]]
            if len(raw) > 2 and raw[0] == "events" and raw[2] in EVENT_TYPES:
                del raw[2]  # pydantic's union branch: the event type, not a field
            loc = [x for x in raw if not x.startswith("constrained-")]
            where = ".".join(loc)
            message, allowed = err["msg"], None
            if err["type"] == "union_tag_invalid":
                allowed = ", ".join(EVENT_TYPES)
            if any(str(x).startswith("constrained-") for x in err["loc"]):
                message = f"not a month; got {err.get('input')!r}"
                allowed = "a month index >= 0 or a calendar month 'YYYY-MM'"
            if (where, message) not in seen:
                seen.add((where, message))
                issues.append(DataIssue(filename, None, where, message, allowed))
        raise ScenarioError(issues) from None
