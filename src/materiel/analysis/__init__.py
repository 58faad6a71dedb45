"""The questions planners ask, each one function with the same signature::

    table = gap(model, scenario, draws=200, seed=0, stop_month=2)

``name(model, scenario, *, draws, seed, **options) -> pandas.DataFrame`` (a tidy table; units
in each docstring). Pure functions over the compiled model: no file I/O. ``REGISTRY`` maps
command names to the function, its default scenario and its plots; ``ANALYSES`` to the
function alone. See docs/analyses.md.
"""

from materiel.analysis.chokepoints import chokepoints
from materiel.analysis.coordination import coordination
from materiel.analysis.dependencies import dependencies, dependency_summary
from materiel.analysis.deterrence import deterrence, sead
from materiel.analysis.efficiency import efficiency
from materiel.analysis.gap import gap, gap_totals
from materiel.analysis.outlook import outlook, outlook_totals
from materiel.analysis.registry import ANALYSES, REGISTRY, AnalysisSpec

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
