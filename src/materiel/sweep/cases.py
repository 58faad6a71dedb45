"""Expand a sweep spec into cases: (stable case id, parameter values, scenario).

Parameter paths address fields of the scenario as plain data: ``months``,
``events[2].level`` (by position), ``events[type=orders].level`` (every event matching all
``key=value`` conditions, e.g. ``events[type=supplier_outage,node=tnt_plant].fraction``),
``events[type=intensity].profile[0].factor``. ``budget`` is shorthand for
``events[type=budget].eur_per_year`` and adds a budget event if the scenario has none.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import qmc

from materiel.scenario import Scenario, load_scenario, parse_scenario
from materiel.schema.validate import DataIssue, DatasetError
from materiel.sweep.spec import Parameter, SweepSpec, Value

_STEP = re.compile(r"\.?([A-Za-z_]\w*)|\[([^\]]*)\]")

Step = str | int | dict[str, str]
"""A path step: a mapping key, a list position, or conditions selecting list elements."""


class PathError(ValueError):
    """A parameter path that does not parse or does not match the scenario."""


@dataclass(frozen=True)
class Case:
    """One point of the sweep. ``values`` maps parameter labels to the values set."""

    id: str
    index: int
    values: dict[str, Value]
    scenario: Scenario


def parse_path(path: str) -> list[Step]:
    """Split ``events[type=orders].level`` into steps: ["events", {"type": "orders"}, "level"]."""
    steps: list[Step] = []
    pos = 0
    for match in _STEP.finditer(path):
        if match.start() != pos or (match.group(0).startswith(".") and not steps):
            break
        pos = match.end()
        key, selector = match.group(1), match.group(2)
        if key is not None:
            steps.append(key)
        elif selector is not None and re.fullmatch(r"\s*-?\d+\s*", selector):
            steps.append(int(selector))
        elif selector is not None:
            conds = [c.split("=", 1) for c in selector.split(",")]
            if any(len(c) != 2 or not c[0].strip() for c in conds):
                raise PathError(f"cannot read selector '[{selector}]': use [N] or [key=value]")
            steps.append({k.strip(): v.strip() for k, v in conds})
    if pos != len(path) or not steps or not isinstance(steps[0], str):
        raise PathError(
            f"cannot read path '{path}' from character {pos + 1}: use e.g. "
            "'events[type=us_supply_stops].month', 'events[0].level', 'months' or 'budget'"
        )
    return steps


def _targets(node: Any, steps: list[Step], where: str) -> list[tuple[Any, str | int]]:
    """(container, key) pairs the path reaches in ``node``; raises if it reaches none."""
    *head, last = steps
    nodes = [node]
    for step in head:
        nodes = _descend(nodes, step, where)
        where += _show(step)
    found = []
    for n in nodes:
        if isinstance(last, dict):
            raise PathError(f"'{where}' must end in a field name, not a selector")
        if _has(n, last):
            found.append((n, last))
    if not found:
        raise PathError(f"the scenario has no field '{where}{_show(last)}'")
    return found


def _descend(nodes: list[Any], step: Step, where: str) -> list[Any]:
    out: list[Any] = []
    for n in nodes:
        if not isinstance(step, dict) and _has(n, step):
            out.append(n[step])
        elif isinstance(step, dict) and isinstance(n, list):
            out += [
                e
                for e in n
                if isinstance(e, dict) and all(str(e.get(k)) == v for k, v in step.items())
            ]
    if not out:
        raise PathError(f"the scenario has nothing at '{where}{_show(step)}'")
    return out


def _has(node: Any, key: str | int) -> bool:
    """Whether ``node[key]`` exists (a mapping key, or a position in a list)."""
    if isinstance(key, str):
        return isinstance(node, dict) and key in node
    return isinstance(node, list) and -len(node) <= key < len(node)


def _show(step: Step) -> str:
    if isinstance(step, str):
        return f".{step}"
    if isinstance(step, int):
        return f"[{step}]"
    return "[" + ",".join(f"{k}={v}" for k, v in step.items()) + "]"


def _expand_shorthand(path: str, data: dict[str, Any]) -> list[Step]:
    if path.strip() == "budget":
        if not any(e.get("type") == "budget" for e in data["events"]):
            data["events"].append({"type": "budget", "eur_per_year": 0.0})
        return ["events", {"type": "budget"}, "eur_per_year"]
    return parse_path(path)


def set_value(data: dict[str, Any], path: str, value: Value) -> None:
    """Set every field ``path`` reaches in scenario ``data`` (plain dict) to ``value``."""
    for container, key in _targets(data, _expand_shorthand(path, data), ""):
        container[key] = value


def get_value(data: dict[str, Any], path: str) -> Any:
    """The value at the first field ``path`` reaches in scenario ``data``."""
    data = json.loads(json.dumps(data))
    container, key = _targets(data, _expand_shorthand(path, data), "")[0]
    return container[key]


def _is_integer(param: Parameter, base: dict[str, Any]) -> bool:
    if param.integer is not None:
        return param.integer
    current = get_value(base, param.path)
    return isinstance(current, int) and not isinstance(current, bool)


def _from_unit(param: Parameter, u: float, integer: bool) -> Value:
    """Map u in [0, 1) to a value: a pick from ``values`` or a point of [low, high]."""
    if param.values is not None:
        return param.values[min(int(u * len(param.values)), len(param.values) - 1)]
    assert param.low is not None and param.high is not None
    x = param.low + u * (param.high - param.low)
    return round(x) if integer else float(x)


def _grid_values(param: Parameter, integer: bool) -> list[Value]:
    if param.values is not None:
        return list(param.values)
    assert param.low is not None and param.high is not None and param.steps is not None
    xs = np.linspace(param.low, param.high, param.steps)
    return sorted({round(x) for x in xs}) if integer else [float(x) for x in xs]


def design(spec: SweepSpec, base: dict[str, Any]) -> list[dict[str, Value]]:
    """The parameter values of every case, in a fixed order (grid: row-major in spec order)."""
    integer = [_is_integer(p, base) for p in spec.parameters]
    labels = [p.label for p in spec.parameters]
    if spec.method == "grid":
        axes = [_grid_values(p, i) for p, i in zip(spec.parameters, integer, strict=True)]
        return [dict(zip(labels, combo, strict=True)) for combo in itertools.product(*axes)]
    assert spec.samples is not None
    d = len(spec.parameters)
    if spec.method == "lhs":
        u = qmc.LatinHypercube(d=d, rng=np.random.default_rng(spec.seed)).random(spec.samples)
    else:
        with warnings.catch_warnings():  # balance warning when samples is not a power of 2
            warnings.simplefilter("ignore", UserWarning)
            sobol = qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng(spec.seed))
            u = sobol.random(spec.samples)
    return [
        {p.label: _from_unit(p, float(row[j]), integer[j]) for j, p in enumerate(spec.parameters)}
        for row in u
    ]


def case_id(values: dict[str, Value], salt: str, index: int | None = None) -> str:
    """Stable id: a hash of the parameter values, the run settings (``salt``) and, for
    sampled designs, the sample position."""
    payload = json.dumps({"v": values, "s": salt, "i": index}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def base_scenario(spec: SweepSpec) -> Scenario:
    """The spec's base scenario, with the spec's ``months`` applied."""
    scenario = load_scenario(spec.scenario)
    if spec.months is not None:
        scenario = scenario.model_copy(update={"months": spec.months})
    return scenario


def settings_salt(spec: SweepSpec, base: Scenario, extra: str = "") -> str:
    """Everything besides the parameter values that changes a case's result."""
    return json.dumps(
        {
            "scenario": base.model_dump(mode="json"),
            "engine": spec.engine,
            "draws": spec.draws,
            "seed": spec.seed,
            "actor": spec.actor,
            "extra": extra,
        },
        sort_keys=True,
    )


def expand(spec: SweepSpec, extra_salt: str = "") -> list[Case]:
    """Every case of ``spec``, each scenario validated; errors name the spec file and field.

    ``extra_salt`` (e.g. the dataset digest) enters the case ids, so a changed dataset or
    setting never reuses stale case files.
    """
    base_obj = base_scenario(spec)
    base = base_obj.model_dump(mode="json")
    issues: list[DataIssue] = []
    for i, p in enumerate(spec.parameters):
        try:
            get_value(base, p.path)
        except PathError as e:
            issues.append(DataIssue(spec.file, None, f"parameters.{i}.path", str(e)))
    if issues:
        raise DatasetError(issues)
    salt = settings_salt(spec, base_obj, extra_salt)
    sampled = spec.method != "grid"
    cases: list[Case] = []
    for index, values in enumerate(design(spec, base)):
        data = json.loads(json.dumps(base))
        for p in spec.parameters:
            set_value(data, p.path, values[p.label])
        try:
            scenario = parse_scenario(data, spec.name)
        except DatasetError as e:
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            for issue in e.issues:
                text = f"case ({shown}) makes the scenario invalid at '{issue.field}': "
                issues.append(DataIssue(spec.file, None, "parameters", text + issue.message))
            continue
        cid = case_id(values, salt, index if sampled else None)
        cases.append(Case(cid, index, values, scenario))
    if issues:
        raise DatasetError(_unique(issues))
    return cases


def _unique(issues: list[DataIssue]) -> list[DataIssue]:
    seen: dict[str, DataIssue] = {}
    for issue in issues:
        seen.setdefault(str(issue), issue)
    return list(seen.values())[:20]
