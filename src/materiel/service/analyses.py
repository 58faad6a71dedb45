"""Run an analysis of :data:`materiel.analysis.registry.REGISTRY` from a web request.

There is no registry here: the analyses, their parameters and their plots are the registry's.
This module only turns query text into a call (scenario, draws, seed and the analysis's own
parameters, parsed by the registry) and the result into what pages and exports show.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from materiel.analysis.registry import MAX_DRAWS, REGISTRY, AnalysisSpec
from materiel.scenario import Scenario

COMMON = ("name", "scenario", "draws", "seed", "run")
"""Query keys that are not parameters of the analysis."""


class AnalysisRequestError(ValueError):
    """Query text that does not fit the analysis (names the parameter and what is allowed)."""


@dataclass(frozen=True)
class AnalysisRun:
    """One analysis computed for a request: its inputs and its tidy table."""

    spec: AnalysisSpec
    scenario: Scenario
    scenario_version: int
    draws: int
    seed: int
    parameters: dict[str, Any]
    table: pd.DataFrame

    def inputs(self) -> dict[str, Any]:
        """What the table depends on, for exports and provenance."""
        return {
            "analysis": self.spec.name,
            "scenario": f"{self.scenario.name}@{self.scenario_version}",
            "draws": self.draws if self.spec.stochastic else "central values",
            "seed": self.seed if self.spec.stochastic else "",
            **{k: json.dumps(v) if isinstance(v, dict) else v for k, v in self.parameters.items()},
        }


def spec_or_error(name: str) -> AnalysisSpec:
    if name not in REGISTRY:
        raise LookupError(f"no analysis '{name}' (available: {', '.join(REGISTRY)})")
    return REGISTRY[name]


def last_values(query: Any) -> dict[str, str]:
    """Query or form values, the last one of each key (a checkbox follows its hidden 'false')."""
    if hasattr(query, "multi_items"):
        out: dict[str, str] = {}
        for key, value in query.multi_items():
            if isinstance(value, str):
                out[key] = value
        return out
    return {str(k): str(v) for k, v in dict(query).items()}


def parse_request(spec: AnalysisSpec, values: Mapping[str, str]) -> tuple[int, int, dict[str, Any]]:
    """Draws, seed and the analysis's parameters from query text."""
    problems = []
    draws, seed = spec.draws, 0
    try:
        if values.get("draws", "").strip():
            draws = int(values["draws"])
            if not 1 <= draws <= MAX_DRAWS:
                problems.append(f"draws: from 1 to {MAX_DRAWS:,}, got {draws}")
        if values.get("seed", "").strip():
            seed = int(values["seed"])
            if seed < 0:
                problems.append(f"seed: 0 or more, got {seed}")
    except ValueError:
        problems.append("draws and seed are whole numbers")
    try:
        parameters = spec.parse({k: v for k, v in values.items() if k not in COMMON})
    except ValueError as e:
        problems.append(str(e))
        parameters = {}
    if problems:
        raise AnalysisRequestError("; ".join(problems))
    return draws, seed, parameters


def run_analysis(
    spec: AnalysisSpec,
    model: Any,
    scenario: Scenario,
    version: int,
    values: Mapping[str, str],
) -> AnalysisRun:
    """Parse ``values`` and run the analysis (raises AnalysisRequestError, or ValueError
    from the analysis itself for inputs that do not fit the data)."""
    draws, seed, parameters = parse_request(spec, values)
    table = spec.run(model, scenario, draws=draws, seed=seed, **parameters)
    return AnalysisRun(spec, scenario, version, draws, seed, parameters, table)


def figure_json(figure: Any) -> dict[str, Any]:
    """A Plotly figure as a plain JSON-ready dict (what the browser's Plotly draws)."""
    spec: dict[str, Any] = json.loads(figure.to_json())
    return spec


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook with one formatted sheet per frame (see :func:`format_sheet`)."""
    from materiel.service.export import format_sheet

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            format_sheet(writer.sheets[name[:31]], frame)
    return buffer.getvalue()


def export_bytes(result: AnalysisRun, fmt: str) -> tuple[bytes, str]:
    """The full table as CSV, or as Excel with the inputs on a second sheet; and a file name."""
    stem = f"materiel-{result.spec.name}-{result.scenario.name}"
    if fmt == "csv":
        return result.table.to_csv(index=False).encode(), f"{stem}.csv"
    inputs = pd.DataFrame(list(result.inputs().items()), columns=["input", "value"])
    inputs["value"] = inputs["value"].astype(str)
    return xlsx_bytes({result.spec.name: result.table, "inputs": inputs}), f"{stem}.xlsx"
