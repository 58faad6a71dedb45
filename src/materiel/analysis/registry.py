"""The analyses by command name: function, default scenario, title, question and plots.

Every function has the signature ``f(model, scenario, *, draws, seed, **options) ->
pandas.DataFrame``; plots are looked up lazily so importing the registry stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import pandas as pd

from materiel.analysis.chokepoints import chokepoints
from materiel.analysis.coordination import coordination
from materiel.analysis.dependencies import dependencies, dependency_summary
from materiel.analysis.deterrence import deterrence, sead
from materiel.analysis.efficiency import efficiency
from materiel.analysis.gap import gap, gap_totals
from materiel.analysis.outlook import outlook, outlook_totals

AnalysisFunction = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: what it answers and how to compute, summarise and draw it."""

    name: str
    title: str
    question: str
    function: AnalysisFunction
    scenario: str
    """Bundled scenario used when none is given."""
    draws: int
    """Default Monte Carlo draws (1 for deterministic analyses)."""
    summary: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    """Condensed table for the terminal and the report (default: the table itself)."""
    terminal: dict[str, str] | None = None
    """Columns of the condensed table shown in a terminal, with their short headers."""

    def run(self, model: Any, scenario: Any, **options: Any) -> pd.DataFrame:
        return self.function(model, scenario, **options)

    def condensed(self, table: pd.DataFrame) -> pd.DataFrame:
        return self.summary(table) if self.summary is not None else table

    def figure(self, table: pd.DataFrame) -> Any:
        """Interactive Plotly figure."""
        return getattr(import_module("materiel.reporting.plots"), f"plot_{self.name}")(table)

    def static(self, table: pd.DataFrame) -> Any:
        """Static matplotlib figure (for PNG files and papers)."""
        return getattr(import_module("materiel.reporting.static"), f"png_{self.name}")(table)


REGISTRY: dict[str, AnalysisSpec] = {
    spec.name: spec
    for spec in (
        AnalysisSpec(
            "gap",
            "Gap after a US stop",
            "If US deliveries stop in month k, what is Ukraine short of, by item and month; "
            "how much can Europe fill from stocks, idle capacity and expansions; what is left "
            "and with what probability?",
            gap,
            "imposed-deal",
            200,
            gap_totals,
            {
                "item": "item",
                "unit": "unit",
                "gap": "gap",
                "from_stocks_share": "stocks",
                "from_idle_capacity_share": "idle cap.",
                "from_expansions_share": "expansions",
                "residual_share": "residual",
                "p_residual_any": "P(residual)",
            },
        ),
        AnalysisSpec(
            "outlook",
            "Four-month outlook",
            "What can Europe deliver to Ukraine in the next months from donor stocks above "
            "their floors and from capacity that needs only orders, against Ukraine's need?",
            outlook,
            "imposed-deal",
            200,
            outlook_totals,
            {
                "item": "item",
                "unit": "unit",
                "need": "need",
                "arriving": "arriving",
                "from_stocks": "stocks",
                "from_idle_capacity": "idle cap.",
                "short": "short",
                "covered_share": "covered",
            },
        ),
        AnalysisSpec(
            "chokepoints",
            "Chokepoints",
            "Which facilities, items and source countries cost the most end-item output when "
            "removed, what is their capacity worth to the optimiser, and which inputs have a "
            "single source?",
            chokepoints,
            "imposed-deal",
            20,
            None,
            {
                "node_type": "type",
                "node": "node",
                "rank": "rank",
                "rank_low": "rank p10",
                "rank_high": "rank p90",
                "lost_share": "lost",
                "lost_share_half": "lost (half)",
                "dual_value_eur": "dual EUR",
                "single_source": "single",
                "worst_item": "worst hit",
            },
        ),
        AnalysisSpec(
            "dependencies",
            "Dependencies outside Europe",
            "For each end item, what share of its inputs, through the whole bill of "
            "materials, comes from outside Europe, and from which countries?",
            dependencies,
            "imposed-deal",
            1,
            dependency_summary,
            {
                "end_item": "end item",
                "outside_value_share": "outside (value)",
                "most_dependent_input": "most dependent input",
                "its_outside_share": "its outside share",
                "outside_countries": "outside countries (value)",
            },
        ),
        AnalysisSpec(
            "coordination",
            "Cost of fragmentation",
            "The same demand served by pooled European procurement or by each nation buying "
            "only from its own industry: shortfall and cost of each, and the difference.",
            coordination,
            "imposed-deal",
            1,
            None,
            {
                "structure": "structure",
                "item": "item",
                "unit": "unit",
                "unmet_share": "unmet",
                "cost_eur": "cost EUR",
                "extra_unmet": "+unmet",
                "extra_objective_eur": "+objective EUR",
            },
        ),
        AnalysisSpec(
            "deterrence",
            "Deterrence balance after a ceasefire",
            "After a ceasefire, how do Russia's artillery stocks compare with Ukraine's and "
            "Europe's as Russia restocks, and when, if ever, is a balance threshold crossed?",
            deterrence,
            "fragile-ceasefire",
            200,
            None,
            {
                "date": "date",
                "phase": "phase",
                "russia_stock": "Russia stock",
                "west_stock": "West stock",
                "ratio_p50": "ratio p50",
                "ratio_p90": "ratio p90",
                "p_above": "P(≥ threshold)",
                "first_crossing": "crossed",
            },
        ),
        AnalysisSpec(
            "sead",
            "Air campaign against air defences",
            "What would a European campaign to suppress air defences need in munitions, "
            "against the stock and production of those munitions?",
            sead,
            "fragile-ceasefire",
            200,
            None,
            {
                "item": "item",
                "need": "need",
                "stock": "stock",
                "production_per_month": "made/month",
                "available": "available",
                "coverage": "coverage",
                "months_to_need": "months to need",
                "need_basis": "need basis",
            },
        ),
        AnalysisSpec(
            "efficiency",
            "Investment efficiency",
            "What does each expansion option cost per unit of added monthly capacity and per "
            "end item gained, and when does its first output arrive?",
            efficiency,
            "imposed-deal",
            1,
            None,
            {
                "expansion": "option",
                "unit": "unit",
                "eur_per_unit_month": "EUR per unit/month",
                "first_output_month": "first output",
                "end_item": "end item",
                "end_gain_per_month": "gain/month",
                "eur_per_end_unit_month": "EUR per end/month",
                "lp_value_per_eur": "LP value/EUR",
            },
        ),
    )
}

ANALYSES: dict[str, AnalysisFunction] = {name: spec.function for name, spec in REGISTRY.items()}
"""Analysis name -> function. The web service (materiel.service.analyses) reads ``REGISTRY``
(name, title, question, function, scenario, draws) and this mapping."""
