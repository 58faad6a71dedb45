"""materiel: open planning toolkit for European defence-industrial mobilisation.

The public API, for scripts and notebooks:

    import materiel

    model = materiel.load_model()                                    # bundled dataset
    result = materiel.simulate(model, "imposed-deal", draws=500)     # xarray.Dataset
    materiel.summarize(result)                                       # pandas, per item
    best = materiel.plan(model, "imposed-deal", budget=20e9)         # EUR per year
    materiel.chokepoints(model, materiel.load_scenario("imposed-deal"))

Units: quantities in each item's own unit, rates per month, money in EUR, months counted
from the dataset's start. Names are imported on first use (PEP 562), so ``import materiel``
and the command line stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any


def _installed_version() -> str:
    """The installed package's version (importlib.metadata costs 30 ms: asked on first use
    of ``materiel.__version__``, so ``materiel --help`` does not pay it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("materiel")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+unknown"


if TYPE_CHECKING:
    __version__: str
    from materiel.analysis.dependencies import dependency_summary
    from materiel.analysis.gap import gap_totals
    from materiel.analysis.outlook import outlook_totals
    from materiel.api import (
        as_scenario,
        chokepoints,
        coordination,
        dependencies,
        deterrence,
        efficiency,
        gap,
        load_model,
        outlook,
        plan,
        plot,
        report,
        sead,
        simulate,
        sources,
        with_events,
    )
    from materiel.io.dataset import Dataset, load_dataset
    from materiel.io.results import load_result, save_result
    from materiel.model.compiled import Model, compile_model
    from materiel.model.plan import Plan
    from materiel.optimize import PlanError, PlanResult
    from materiel.reporting import Report
    from materiel.scenario import Scenario, available_scenarios, load_scenario, parse_scenario
    from materiel.schema.validate import DataIssue, DatasetError
    from materiel.simulation.summary import by_month, fire_ratio, summarize

_EXPORTS: dict[str, str] = {
    # data and scenarios
    "load_model": "materiel.api",
    "load_dataset": "materiel.io.dataset",
    "compile_model": "materiel.model.compiled",
    "sources": "materiel.api",
    "Dataset": "materiel.io.dataset",
    "Model": "materiel.model.compiled",
    "DataIssue": "materiel.schema.validate",
    "DatasetError": "materiel.schema.validate",
    "Scenario": "materiel.scenario",
    "available_scenarios": "materiel.scenario",
    "load_scenario": "materiel.scenario",
    "parse_scenario": "materiel.scenario",
    "as_scenario": "materiel.api",
    "with_events": "materiel.api",
    # the simulator
    "simulate": "materiel.api",
    "summarize": "materiel.simulation.summary",
    "by_month": "materiel.simulation.summary",
    "fire_ratio": "materiel.simulation.summary",
    "save_result": "materiel.io.results",
    "load_result": "materiel.io.results",
    # the optimiser
    "plan": "materiel.api",
    "Plan": "materiel.model.plan",
    "PlanResult": "materiel.optimize",
    "PlanError": "materiel.optimize",
    # analyses and the report
    "gap": "materiel.api",
    "gap_totals": "materiel.analysis",
    "outlook": "materiel.api",
    "outlook_totals": "materiel.analysis",
    "chokepoints": "materiel.api",
    "dependencies": "materiel.api",
    "dependency_summary": "materiel.analysis",
    "coordination": "materiel.api",
    "deterrence": "materiel.api",
    "sead": "materiel.api",
    "efficiency": "materiel.api",
    "plot": "materiel.api",
    "report": "materiel.api",
    "Report": "materiel.reporting",
}

__all__ = [
    "DataIssue",
    "Dataset",
    "DatasetError",
    "Model",
    "Plan",
    "PlanError",
    "PlanResult",
    "Report",
    "Scenario",
    "as_scenario",
    "available_scenarios",
    "by_month",
    "chokepoints",
    "compile_model",
    "coordination",
    "dependencies",
    "dependency_summary",
    "deterrence",
    "efficiency",
    "fire_ratio",
    "gap",
    "gap_totals",
    "load_dataset",
    "load_model",
    "load_result",
    "load_scenario",
    "outlook",
    "outlook_totals",
    "parse_scenario",
    "plan",
    "plot",
    "report",
    "save_result",
    "sead",
    "simulate",
    "sources",
    "summarize",
    "with_events",
]


def __getattr__(name: str) -> Any:
    """Import a public name (or compute ``__version__``) on first use (PEP 562)."""
    if name == "__version__":
        globals()[name] = value = _installed_version()
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'materiel' has no attribute '{name}'")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
