"""The scenario editor's form: a scenario split into simple fields and back, with every
validation message mapped to the field that caused it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from materiel.scenario import (
    EVENT_TYPES,
    Budget,
    Ceasefire,
    Intensity,
    Scenario,
    USSupplyStops,
    parse_scenario,
)
from materiel.schema.validate import DatasetError
from materiel.service.safe_yaml import YamlLimitError, load_bounded
from materiel.service.scenarios import check_name

STEPS = 4
"""Rows of the intensity profile in the form."""
Errors = dict[str, list[str]]


def to_form(scenario: Scenario) -> dict[str, str]:
    """Form values of ``scenario``: the common events get their own fields, the rest YAML."""
    form = {
        "name": scenario.name,
        "description": scenario.description.strip(),
        "months": str(scenario.months),
        "probability": f"{scenario.probability:g}",
        "budget_bn": "",
        "us_stop_month": "",
        "ceasefire_month": "",
        "ceasefire_intensity": "",
        "other_events": "",
    }
    for j in range(STEPS):
        form[f"int_month_{j}"] = form[f"int_factor_{j}"] = ""
    other = []
    seen: set[str] = set()
    for event in scenario.events:
        if isinstance(event, USSupplyStops) and "us" not in seen:
            form["us_stop_month"] = str(event.month)
            seen.add("us")
        elif isinstance(event, Ceasefire) and "cf" not in seen:
            form["ceasefire_month"] = str(event.month)
            form["ceasefire_intensity"] = f"{event.intensity:g}"
            seen.add("cf")
        elif (
            isinstance(event, Intensity)
            and event.actors is None
            and len(event.profile) <= STEPS
            and "int" not in seen
        ):
            for j, step in enumerate(event.profile):
                form[f"int_month_{j}"] = str(step.month)
                form[f"int_factor_{j}"] = f"{step.factor:g}"
            seen.add("int")
        elif isinstance(event, Budget):
            form["budget_bn"] = f"{event.eur_per_year / 1e9:g}"
        else:
            other.append(event.model_dump(mode="json", exclude_none=True))
    if other:
        form["other_events"] = yaml.safe_dump(other, sort_keys=False).strip()
    return form


def _blank(value: str | None) -> bool:
    return value is None or value.strip() == ""


def from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], list[str], list[int], Errors]:
    """Scenario content from form values; also where each event came from, which form row
    each intensity step came from, and errors found before validation."""
    errors: Errors = {}
    events: list[dict[str, Any]] = []
    origins: list[str] = []
    if not _blank(form.get("us_stop_month")):
        events.append({"type": "us_supply_stops", "month": form["us_stop_month"].strip()})
        origins.append("us_stop")
    if not _blank(form.get("ceasefire_month")):
        event: dict[str, Any] = {"type": "ceasefire", "month": form["ceasefire_month"].strip()}
        if not _blank(form.get("ceasefire_intensity")):
            event["intensity"] = form["ceasefire_intensity"].strip()
        events.append(event)
        origins.append("ceasefire")
    elif not _blank(form.get("ceasefire_intensity")):
        errors["ceasefire_month"] = ["give the month the ceasefire starts"]
    steps, rows = [], []
    for j in range(STEPS):
        month, factor = form.get(f"int_month_{j}", ""), form.get(f"int_factor_{j}", "")
        if _blank(month) and _blank(factor):
            continue
        step = {}
        if not _blank(month):
            step["month"] = month.strip()
        if not _blank(factor):
            step["factor"] = factor.strip()
        steps.append(step)
        rows.append(j)
    if steps:
        events.append({"type": "intensity", "profile": steps})
        origins.append("intensity")
    if not _blank(form.get("budget_bn")):
        try:
            budget = float(form["budget_bn"]) * 1e9
            events.append({"type": "budget", "eur_per_year": budget})
            origins.append("budget")
        except ValueError:
            errors["budget_bn"] = ["a number of billion euros per year, e.g. 20"]
    text = form.get("other_events", "")
    if not _blank(text):
        try:
            other = load_bounded(text, "the events YAML")
        except YamlLimitError as e:
            other = None
            errors["other_events"] = [str(e)]
        except yaml.YAMLError as e:
            other = None
            errors["other_events"] = [f"not valid YAML: {str(e).splitlines()[0]}"]
        if other is not None and not isinstance(other, list):
            errors["other_events"] = ["a YAML list of events, each starting with '- type: ...'"]
        elif isinstance(other, list):
            events += other
            origins += [f"other:{k}" for k in range(len(other))]
    content = {
        "name": (form.get("name") or "").strip(),
        "description": form.get("description") or "",
        "months": (form.get("months") or "").strip() or 36,
        "probability": (form.get("probability") or "").strip() or 1.0,
        "events": events,
    }
    return content, origins, rows, errors


def _field_for(path: list[str], origins: list[str], rows: list[int]) -> tuple[str, str]:
    """Form field and message prefix for an issue at ``path`` (e.g. events.1.month)."""
    if not path or path[0] != "events" or len(path) < 2 or not path[1].isdigit():
        return (path[0] if path else "_form"), ""
    index = int(path[1])
    rest = [p for p in path[2:] if p not in EVENT_TYPES]
    origin = origins[index] if index < len(origins) else "other:0"
    if origin == "us_stop":
        return "us_stop_month", ""
    if origin == "ceasefire":
        return ("ceasefire_intensity" if rest[:1] == ["intensity"] else "ceasefire_month"), ""
    if origin == "intensity":
        if len(rest) >= 3 and rest[0] == "profile" and rest[1].isdigit():
            row = rows[int(rest[1])] if int(rest[1]) < len(rows) else 0
            return (f"int_factor_{row}" if rest[2] == "factor" else f"int_month_{row}"), ""
        return "int_month_0", ""
    if origin == "budget":
        return "budget_bn", ""
    k = int(origin.split(":")[1]) + 1
    where = ".".join(rest)
    return "other_events", f"event {k}" + (f", {where}" if where else "") + ": "


def validate_form(form: Mapping[str, str]) -> tuple[Scenario | None, dict[str, Any], Errors]:
    """The scenario, its content and errors by form field (empty if valid)."""
    content, origins, rows, errors = from_form(form)
    scenario = None
    try:
        scenario = parse_scenario(content, "scenario")
    except DatasetError as e:
        for issue in e.issues:
            field, prefix = _field_for((issue.field or "").split("."), origins, rows)
            text = (
                prefix + issue.message + (f" (allowed: {issue.allowed})" if issue.allowed else "")
            )
            errors.setdefault(field, []).append(text)
    try:
        check_name(str(content["name"]))
    except DatasetError as e:
        errors.setdefault("name", []).append(e.issues[0].message)
    return (scenario if not errors else None), content, errors
