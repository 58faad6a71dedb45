"""What the Compare page shows besides the charts: result rows with a difference column
against the first run, and the inputs that differ between the runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from materiel.store.models import Run


@dataclass(frozen=True)
class CompareRow:
    """One measure across runs; ``deltas[k]`` is run k+1 minus the first run."""

    label: str
    kind: str
    """How to format the values: 'eur', 'num' or 'share' (0-1)."""
    values: list[float | None]
    unit: str = ""
    shares: list[float | None] | None = None
    """Unmet share of need (0-1) beside each value, for shortfall rows."""

    @property
    def deltas(self) -> list[float | None]:
        first = self.values[0]
        return [None if first is None or v is None else v - first for v in self.values[1:]]

    @property
    def share_deltas(self) -> list[float | None]:
        """Change of the unmet share from the first run (0-1; None without shares)."""
        if not self.shares:
            return [None] * (len(self.values) - 1)
        first = self.shares[0]
        return [None if first is None or s is None else s - first for s in self.shares[1:]]

    @property
    def relative(self) -> list[float | None]:
        """Each difference as a share of the first run's value (None where it is 0)."""
        first = self.values[0]
        return [None if d is None or not first else d / abs(first) for d in self.deltas]


def compare_rows(runs: Sequence[Run], items: Sequence[str]) -> list[CompareRow]:
    """Cost, fire ratio and per item the shortfall with its unmet share, one row each."""
    summaries = [r.summary or {} for r in runs]

    def get(key: str) -> list[float | None]:
        return [s.get(key) for s in summaries]

    rows = [
        CompareRow("Cost over the horizon", "eur", get("cost_eur")),
        CompareRow("Fire ratio UKR:RUS (mean of monthly median)", "num", get("fire_ratio_p50")),
        CompareRow("Fire ratio, final month", "num", get("fire_ratio_final_p50")),
    ]
    for item in items:
        unit = next(
            (str(s.get("units", {}).get(item)) for s in summaries if s.get("units", {}).get(item)),
            "",
        )
        rows.append(
            CompareRow(
                f"Shortfall {item}",
                "num",
                [(s.get("shortfall") or {}).get(item) for s in summaries],
                unit,
                [(s.get("shortfall_share") or {}).get(item) for s in summaries],
            )
        )
    if any(r.kind == "plan" for r in runs):
        rows.append(CompareRow("Plan capex", "eur", get("capex_eur")))
    return rows


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Dotted paths to leaf values; events are keyed by their type (and count), not position."""
    if isinstance(value, dict):
        for key in sorted(value):
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    elif (
        isinstance(value, list)
        and all(isinstance(v, dict) and "type" in v for v in value)
        and value
    ):
        seen: dict[str, int] = {}
        for event in value:
            n = seen[event["type"]] = seen.get(event["type"], 0) + 1
            tag = event["type"] if n == 1 else f"{event['type']}#{n}"
            _flatten({k: v for k, v in event.items() if k != "type"}, f"{prefix}[{tag}]", out)
    elif isinstance(value, str):
        out[prefix] = " ".join(value.split())  # line breaks and padding are not a difference
    else:
        out[prefix] = value


def run_inputs(run: Run) -> dict[str, Any]:
    """Every input of a run as dotted paths: scenario content, parameters, data, seed."""
    out: dict[str, Any] = {
        "scenario version": run.scenario_version or run.scenario,
        "input digest": run.inputs_hash[:12],
        "dataset": f"{run.dataset_name} {run.dataset_version} ({run.dataset_digest[:8]})",
        "kind": run.kind,
    }
    params = {k: v for k, v in run.parameters.items() if k not in ("draws", "seed", "months")}
    _flatten(params, "parameters", out)
    out.update({"draws": run.draws, "seed": run.seed, "months": run.months})
    scenarios = (run.scenario_json or {}).get("scenarios", [])
    for k, scen in enumerate(scenarios):
        prefix = "scenario" if len(scenarios) == 1 else f"scenario {k + 1}"
        _flatten({key: v for key, v in scen.items() if key != "name"}, prefix, out)
    return out


def input_diff(runs: Sequence[Run]) -> list[tuple[str, list[Any]]]:
    """The inputs whose values differ between runs: (path, value in each run; None = unset)."""
    inputs = [run_inputs(r) for r in runs]
    keys = list(dict.fromkeys(k for i in inputs for k in i))
    rows = []
    for key in keys:
        values = [i.get(key) for i in inputs]
        if len({repr(v) for v in values}) > 1:
            rows.append((key, values))
    return rows
