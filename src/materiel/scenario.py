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

Month = Annotated[int, pydantic.Field(ge=0, description="month index from the dataset start")]
Fraction = Annotated[float, pydantic.Field(ge=0.0, le=1.0)]


class _Event(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class USSupplyStops(_Event):
    """All flows from actors on the US side stop from ``month`` on."""

    type: Literal["us_supply_stops"]
    month: Month


class Ceasefire(_Event):
    """Fighting drops to ``intensity`` x the reference for every actor from ``month`` on."""

    type: Literal["ceasefire"]
    month: Month
    intensity: Annotated[float, pydantic.Field(ge=0.0)] = 0.1


class IntensityStep(_Event):
    month: Month
    factor: Annotated[float, pydantic.Field(ge=0.0)]


class Intensity(_Event):
    """Piecewise-constant intensity: each step's factor holds from its month on."""

    type: Literal["intensity"]
    profile: list[IntensityStep] = pydantic.Field(min_length=1)
    actors: list[str] | None = None
    """Actors affected (default: all)."""


class SupplierOutage(_Event):
    """A facility, or an actor's outgoing flows, lose ``fraction`` of output for ``months``."""

    type: Literal["supplier_outage"]
    node: str
    month: Month
    months: Annotated[int, pydantic.Field(ge=1)] | None = None
    fraction: Fraction = 1.0


class DeepStrike(_Event):
    """Strikes cut the target actor's own production by ``fraction`` from ``month`` on and
    destroy ``stock_fraction`` of its stocks at ``month``."""

    type: Literal["deep_strike"]
    target: str
    month: Month = 0
    fraction: Fraction
    months: Annotated[int, pydantic.Field(ge=1)] | None = None
    stock_fraction: Fraction = 0.0


class Orders(_Event):
    """European facilities (optionally only those making ``items``) are ordered at ``level``
    x capacity from ``month`` on."""

    type: Literal["orders"]
    month: Month = 0
    level: Fraction
    items: list[str] | None = None


class Allocation(_Event):
    """From ``month`` on, ``share`` of European output of ``item`` goes to ``recipient``."""

    type: Literal["allocation"]
    recipient: str
    item: str
    share: Fraction
    month: Month = 0


class Budget(_Event):
    """Money available to the optimiser for orders and investments."""

    type: Literal["budget"]
    eur_per_year: Annotated[float, pydantic.Field(ge=0.0)]


Event = Annotated[
    USSupplyStops
    | Ceasefire
    | Intensity
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
        issues = []
        for err in e.errors():
            loc = [str(x) for x in err["loc"]]
            allowed = ", ".join(EVENT_TYPES) if err["type"] == "union_tag_invalid" else None
            issues.append(DataIssue(filename, None, ".".join(loc), err["msg"], allowed))
        raise ScenarioError(issues) from None
