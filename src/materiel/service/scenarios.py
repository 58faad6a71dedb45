"""Scenarios the service knows: the bundled ones (version 0) and saved versions on top."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from materiel.scenario import Scenario, available_scenarios, load_scenario, parse_scenario
from materiel.schema.validate import DataIssue, DatasetError
from materiel.store import audit
from materiel.store import scenarios as saved
from materiel.store.db import Store

NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
NAME_RULE = "1-64 lower-case letters, digits, '_' or '-', starting with a letter or digit"


class ScenarioNotFoundError(LookupError):
    pass


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
    """Validate and save a scenario as a new version; raises :class:`DatasetError`."""
    scen = parse_scenario(content, "scenario")
    check_name(scen.name)
    previous = saved.latest(store, scen.name)
    content = scen.model_dump(mode="json")
    with store.session() as s:
        row = saved.save_scenario(s, scen.name, content, user, comment)
        version = row.version
        audit.record(
            s,
            user,
            "scenario.save",
            "scenarios",
            f"{scen.name}@{version}",
            previous.content if previous else None,
            content,
        )
    return scen, version
