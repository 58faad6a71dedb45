"""The questions planners ask, each one function with the same signature::

    table = gap(model, scenario, draws=200, seed=0, stop_month=2)

``name(model, scenario, *, draws, seed, **options) -> pandas.DataFrame`` (a tidy table; units
in each docstring). Pure functions over the compiled model: no file I/O. ``REGISTRY`` maps
command names to the function, its default scenario and its plots; ``ANALYSES`` to the
function alone. See docs/analyses.md.
"""

from typing import Any

from materiel.analysis.chokepoints import chokepoints
from materiel.analysis.coordination import coordination
from materiel.analysis.dependencies import dependencies, dependency_summary
from materiel.analysis.deterrence import deterrence, sead
from materiel.analysis.efficiency import efficiency
from materiel.analysis.gap import gap, gap_totals
from materiel.analysis.outlook import outlook, outlook_totals

__all__ = [
    "ANALYSES",
    "REGISTRY",
    "AnalysisSpec",
    "chokepoints",
    "coordination",
    "dependencies",
    "dependency_summary",
    "deterrence",
    "efficiency",
    "gap",
    "gap_totals",
    "outlook",
    "outlook_totals",
    "sead",
]


def __getattr__(name: str) -> Any:
    """``REGISTRY``, ``ANALYSES`` and ``AnalysisSpec`` from :mod:`materiel.analysis.registry`,
    imported on first use (the registry imports the plotting modules, which import these
    analyses' helpers)."""
    if name in ("ANALYSES", "REGISTRY", "AnalysisSpec"):
        from materiel.analysis import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'materiel.analysis' has no attribute '{name}'")
