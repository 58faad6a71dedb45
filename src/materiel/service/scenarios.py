"""Scenarios the service knows: the bundled ones (version 0) and saved versions on top."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from materiel.scenario import Scenario, available_scenarios, load_scenario, parse_scenario
from materiel.schema.validate import DataIssue, DatasetError
from materiel.store import audit
from materiel.store import scenarios as saved
from materiel.store.db import Store

NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
NAME_RULE = "1-64 lower-case letters, digits, '_' or '-', starting with a letter or digit"


BOUNDS: dict[str, tuple[float, float]] = {
    "months": (1, 240),
    "month": (0, 240),
    "factor": (0, 100),
    "intensity": (0, 100),
    "eur_per_year": (0, 1e13),
}
"""Sane ranges of scenario numbers by field name (an intensity of 1e308 gives inf results)."""
MAX_ABS = 1e15
"""Any other number in a scenario must be finite and at most this large."""


class ScenarioNotFoundError(LookupError):
    pass


def check_bounds(content: object, file: str = "scenario") -> None:
    """Raise :class:`DatasetError` naming every number in ``content`` (a scenario as JSON)
    that is not finite or is outside :data:`BOUNDS` (numbers given as text are read too)."""
    issues: list[DataIssue] = []

    def visit(value: object, path: str, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                visit(v, f"{path}.{k}" if path else str(k), str(k))
        elif isinstance(value, list):
            for j, v in enumerate(value):
                visit(v, f"{path}.{j}", key)
        elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
            number = _number(value) if isinstance(value, str) and key in BOUNDS else value
            if isinstance(number, (int, float)):
                low, high = BOUNDS.get(key, (-MAX_ABS, MAX_ABS))
                if not math.isfinite(number) or not low <= number <= high:
                    issues.append(
                        DataIssue(file, None, path, "out of range", f"{low:g} to {high:g}")
                    )

    visit(content, "", "")
    if issues:
        raise DatasetError(issues[:50])


def parse_bounded(content: dict[str, Any], file: str = "scenario") -> Scenario:
    """:func:`parse_scenario`, then :func:`check_bounds` on the parsed values."""
    scen = parse_scenario(content, file)
    check_bounds(scen.model_dump(), file)
    return scen


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario at its latest version: the scenario itself (materiel.scenario's model, not a
    copy of its fields), its version and whether a bundled file of that name exists."""

    scenario: Scenario
    bundled: bool
    version: int
    """0 for the bundled file; saved versions count from 1."""

    @property
    def name(self) -> str:
        return self.scenario.name


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise DatasetError([DataIssue("scenario", None, "name", f"invalid name: {NAME_RULE}")])


def get_scenario(store: Store, name: str, version: int | None = None) -> tuple[Scenario, int]:
    """The scenario (latest saved version, else the bundled file) and its version."""
    if version != 0:
        row = saved.latest(store, name, version)
        if row is not None:
            return parse_scenario(row.content, name), row.version
    if version in (None, 0) and name in available_scenarios():
        return load_scenario(name), 0
    raise ScenarioNotFoundError(name if version is None else f"{name} version {version}")


def list_scenarios(store: Store) -> list[ScenarioInfo]:
    """Every scenario name, bundled and saved, at its latest version."""
    names = set(available_scenarios()) | set(saved.saved_names(store))
    infos = []
    for name in sorted(names):
        try:
            scen, version = get_scenario(store, name)
        except (ScenarioNotFoundError, DatasetError):
            continue
        infos.append(ScenarioInfo(scen, name in available_scenarios(), version))
    return infos


def save(
    store: Store, content: dict[str, Any], user: str, comment: str = ""
) -> tuple[Scenario, int]:
    """Validate and save a scenario as a new version; raises :class:`DatasetError`.
    Concurrent saves of one name get distinct versions (see :func:`saved.save_scenario`)."""
    scen = parse_bounded(content, "scenario")
    check_name(scen.name)
    content = scen.model_dump(mode="json")

    def write(s: Session) -> int:
        row = saved.save_scenario(s, scen.name, content, user, comment)
        previous = saved.previous_version(s, scen.name, row.version)
        audit.record(
            s,
            user,
            "scenario.save",
            "scenarios",
            f"{scen.name}@{row.version}",
            previous.content if previous else None,
            content,
        )
        return row.version

    return scen, saved.with_retry(store, write)
