"""Sweep specifications: which scenario fields to vary, over what values, and how.

A spec is a YAML file::

    scenario: imposed-deal          # bundled name, or a path relative to the spec file
    dataset: null                   # dataset folder relative to the spec file (default: bundled)
    draws: 500                      # Monte Carlo draws per case
    seed: 0                         # same seed, same result
    months: 24                      # horizon override (default: the scenario's)
    engine: simulate                # simulate (Monte Carlo) | plan (the LP, central values)
    method: grid                    # grid | lhs | sobol
    samples: 32                     # number of cases for lhs / sobol
    parameters:
      - path: events[type=us_supply_stops].month
        values: [0, 3, 6, 12]       # grid values, or picked from by lhs / sobol
      - path: budget                # shorthand for events[type=budget].eur_per_year
        low: 1.0e10                 # sampled range (lhs / sobol), or with `steps` a grid
        high: 4.0e10

Errors name the spec file and the field, e.g. ``sweep.yaml, field 'parameters.0.path'``.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic

from materiel.errors import DataIssue, SpecError
from materiel.io.textfile import load_yaml

SWEEP_DIR = Path(str(resources.files("materiel") / "data" / "sweeps"))

Metric = Literal["shortfall", "p_short", "sustained", "fire_ratio", "cost"]
METRICS: tuple[Metric, ...] = ("shortfall", "p_short", "sustained", "fire_ratio", "cost")
"""Summary families a sweep can gather; see :mod:`materiel.sweep.montecarlo`."""

Value = int | float | str | bool


class Parameter(pydantic.BaseModel):
    """One swept scenario field.

    Either ``values`` (an explicit list) or ``low``/``high`` (a range: sampled by lhs/sobol,
    or ``steps`` evenly spaced values in a grid). ``integer`` rounds sampled values; by
    default it follows the type of the field in the base scenario.
    """

    model_config = pydantic.ConfigDict(extra="forbid")

    path: str = pydantic.Field(min_length=1)
    name: str | None = pydantic.Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    values: list[Value] | None = pydantic.Field(default=None, min_length=1)
    low: float | None = None
    high: float | None = None
    steps: Annotated[int, pydantic.Field(ge=2)] | None = None
    integer: bool | None = None

    @pydantic.model_validator(mode="after")
    def _one_kind(self) -> Parameter:
        ranged = self.low is not None or self.high is not None
        if self.values is not None and (ranged or self.steps is not None):
            raise ValueError("give either 'values' or 'low'/'high', not both")
        if self.values is None:
            if self.low is None or self.high is None:
                raise ValueError("give 'values' (a list) or both 'low' and 'high'")
            if not self.low < self.high:
                raise ValueError(f"'low' ({self.low:g}) must be below 'high' ({self.high:g})")
        return self

    @property
    def label(self) -> str:
        """The coordinate name in results: ``name`` or the path made identifier-safe."""
        if self.name:
            return self.name
        text = re.sub(r"\[type=([^\],]+)\]", r"_\1", self.path).removeprefix("events_")
        return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_") or "parameter"


class SweepSpec(pydantic.BaseModel):
    """A sweep over one base scenario. Paths in ``scenario``/``dataset`` are resolved
    relative to the spec file by :func:`load_spec`."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = ""
    scenario: str = pydantic.Field(min_length=1)
    dataset: str | None = None
    draws: Annotated[int, pydantic.Field(ge=1)] = 1000
    seed: Annotated[int, pydantic.Field(ge=0)] = 0
    months: Annotated[int, pydantic.Field(ge=1, le=240)] | None = None
    actor: str = "UKR"
    engine: Literal["simulate", "plan"] = "simulate"
    """simulate: Monte Carlo per case; plan: the LP per case (central values), re-solved in
    place where only budgets, demand, flows or costs change."""
    method: Literal["grid", "lhs", "sobol"] = "grid"
    samples: Annotated[int, pydantic.Field(ge=1)] | None = None
    metrics: list[Metric] = list(METRICS)
    parameters: list[Parameter] = pydantic.Field(min_length=1)
    file: str = pydantic.Field(default="sweep", exclude=True)
    """Name of the file the spec came from, for error messages (not part of the spec)."""

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        if self.method == "grid":
            for i, p in enumerate(self.parameters):
                if p.values is None and p.steps is None:
                    raise ValueError(
                        f"parameters.{i}: a grid needs 'values' or 'low'/'high' with 'steps'"
                    )
        elif self.samples is None:
            raise ValueError(f"method '{self.method}' needs 'samples' (the number of cases)")
        labels = [p.label for p in self.parameters]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"parameter names must be unique; repeated: {', '.join(dupes)}")
        return self


def available_sweeps() -> list[str]:
    """Names of the bundled sweep specs."""
    return sorted(p.stem for p in SWEEP_DIR.glob("*.yaml"))


def _resolve(value: str | None, base: Path) -> str | None:
    """A path relative to the spec file if it exists there, else ``value`` unchanged."""
    if value is None:
        return None
    candidate = base / value
    return str(candidate.resolve()) if candidate.exists() else value


def parse_spec(content: Any, filename: str = "sweep", base: Path | None = None) -> SweepSpec:
    """Validate a spec given as plain data; relative paths resolve against ``base``."""
    if not isinstance(content, dict):
        raise SpecError([DataIssue(filename, None, None, "a sweep spec must be a mapping")])
    try:
        spec = SweepSpec.model_validate({**content, "file": filename})
    except pydantic.ValidationError as e:
        issues = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            issues.append(DataIssue(filename, None, loc or None, msg))
        raise SpecError(issues) from None
    if base is not None:
        spec = spec.model_copy(
            update={
                "scenario": _resolve(spec.scenario, base),
                "dataset": _resolve(spec.dataset, base),
            }
        )
    if not spec.name:
        spec = spec.model_copy(update={"name": Path(filename).stem})
    return spec


def load_spec(name_or_path: str | Path) -> SweepSpec:
    """Load a sweep spec YAML by path, or a bundled spec by name (e.g. ``us-stop-month``)."""
    path = Path(name_or_path)
    if not path.exists():
        path = SWEEP_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        allowed = ", ".join(available_sweeps()) + " or a .yaml path"
        raise SpecError([DataIssue(str(name_or_path), None, None, "no such sweep", allowed)])
    content = load_yaml(path, label=path.name)
    return parse_spec(content, path.name, path.parent)
