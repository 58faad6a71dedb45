"""The one registry of analyses: name, question, parameters (types, defaults, units), whether
it is stochastic, its tidy output, and exactly one interactive (Plotly) and one static
(matplotlib) plot function.

The CLI (``materiel gap`` ...), the HTML report and the web service all read ``REGISTRY``:

>>> spec = REGISTRY["outlook"]
>>> [p.name for p in spec.parameters]
['months', 'start', 'stock_release']
>>> table = spec.run(model, scenario, draws=50, months=6)   # doctest: +SKIP
>>> spec.figure(table), spec.static(table)                  # doctest: +SKIP

Every function has the signature ``f(model, scenario, *, draws, seed, **parameters) ->
pandas.DataFrame``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from materiel.analysis.chokepoints import chokepoints
from materiel.analysis.coordination import coordination
from materiel.analysis.dependencies import dependencies, dependency_summary
from materiel.analysis.deterrence import deterrence, sead
from materiel.analysis.efficiency import efficiency
from materiel.analysis.gap import gap, gap_totals
from materiel.analysis.outlook import outlook, outlook_totals
from materiel.reporting import plots, static

AnalysisFunction = Callable[..., pd.DataFrame]
PlotFunction = Callable[[pd.DataFrame], Any]
MAX_DRAWS = 1000
"""Most Monte Carlo draws an interactive caller (the web service) may ask of an analysis."""


def parse_weights(text: str) -> str | dict[str, float]:
    """'equal', 'capacity' or 'DEU=0.3,FRA=0.2' (demand shares by country)."""
    if text in ("equal", "capacity"):
        return text
    try:
        pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
        weights = {k.strip(): float(v) for k, v in pairs}
    except ValueError:
        weights = {}
    if not weights:
        raise ValueError(f"must be 'equal', 'capacity' or like 'DEU=0.3,FRA=0.2', got '{text}'")
    return weights


@dataclass(frozen=True)
class Parameter:
    """One option of an analysis, as its function takes it (keyword ``name``)."""

    name: str
    type: type
    """int, float, bool or str."""
    default: Any
    """None: the function decides (``default_text`` says how)."""
    help: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    default_text: str = ""
    """How a None default is resolved, e.g. "scenario's, else 2"."""
    convert: Callable[[str], Any] | None = None
    """Text -> value for types a form cannot hold directly (e.g. weights)."""

    @property
    def label(self) -> str:
        """'stock release (0-1)': the name in words, with its unit."""
        words = self.name.replace("_", " ")
        return f"{words} ({self.unit})" if self.unit else words

    def parse(self, text: str | None) -> Any:
        """The value of ``text`` from a form or query string ('' or None: the default).
        Raises ValueError naming the parameter and what is allowed."""
        if text is None or str(text).strip() == "":
            return False if self.type is bool and text is not None else self.default
        raw = str(text).strip()
        if self.type is bool:
            if raw.lower() in ("1", "true", "on", "yes"):
                return True
            if raw.lower() in ("0", "false", "off", "no"):
                return False
            raise ValueError(f"{self.name}: expected true or false, got '{raw}'")
        if self.convert is not None:
            try:
                return self.convert(raw)
            except ValueError as e:
                raise ValueError(f"{self.name}: {e}") from None
        if self.choices and raw not in self.choices:
            raise ValueError(f"{self.name}: '{raw}' is not one of {', '.join(self.choices)}")
        if self.type is str:
            return raw
        try:
            value = self.type(raw) if self.type is float else int(raw)
        except ValueError:
            kind = "a whole number" if self.type is int else "a number"
            raise ValueError(f"{self.name}: expected {kind}, got '{raw}'") from None
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{self.name}: must be at least {self.minimum:g}, got {raw}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{self.name}: must be at most {self.maximum:g}, got {raw}")
        return value


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: what it answers, its options, how to compute, summarise and draw it."""

    name: str
    title: str
    question: str
    function: AnalysisFunction
    scenario: str
    """Bundled scenario used when none is given."""
    stochastic: bool
    """True: Monte Carlo over ``draws`` draws; False: central values (draws, seed unused)."""
    draws: int
    """Default Monte Carlo draws (1 for deterministic analyses)."""
    parameters: tuple[Parameter, ...]
    figure: PlotFunction
    """The interactive Plotly figure of the table (the one used by the report and the web)."""
    static: PlotFunction
    """The static matplotlib figure of the table (PNG files and papers)."""
    summary: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    """Condensed table for the terminal and the report (default: the table itself)."""
    terminal: dict[str, str] | None = None
    """Columns of the condensed table shown in a terminal, with their short headers."""

    def run(self, model: Any, scenario: Any, **options: Any) -> pd.DataFrame:
        """The tidy table; ``options`` are ``draws``, ``seed`` and the parameters."""
        if not self.stochastic:
            options["draws"] = 1
        return self.function(model, scenario, **options)

    def condensed(self, table: pd.DataFrame) -> pd.DataFrame:
        return self.summary(table) if self.summary is not None else table

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(f"{self.name} has no parameter '{name}'")

    def parse(self, values: Mapping[str, str]) -> dict[str, Any]:
        """Parameters from text (a form or a query string); missing ones take their default.
        Raises ValueError listing every bad value."""
        unknown = sorted(set(values) - {p.name for p in self.parameters})
        problems = [f"unknown parameter '{u}'" for u in unknown]
        parsed: dict[str, Any] = {}
        for p in self.parameters:
            try:
                parsed[p.name] = p.parse(values.get(p.name))
            except ValueError as e:
                problems.append(str(e))
        if problems:
            raise ValueError("; ".join(problems))
        return parsed


STOCK_RELEASE = Parameter(
    "stock_release",
    float,
    1.0,
    "share of donors' stocks above their floors handed over",
    unit="0-1",
    minimum=0.0,
    maximum=1.0,
)

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
            True,
            200,
            (
                Parameter(
                    "stop_month",
                    int,
                    None,
                    "month US deliveries stop",
                    unit="month",
                    minimum=0,
                    default_text="scenario's, else 2",
                ),
                STOCK_RELEASE,
            ),
            plots.plot_gap,
            static.png_gap,
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
            True,
            200,
            (
                Parameter(
                    "months", int, 4, "length of the window", unit="months", minimum=1, maximum=240
                ),
                Parameter(
                    "start", int, 0, "first month of the window (0 = dataset start)", minimum=0
                ),
                STOCK_RELEASE,
            ),
            plots.plot_outlook,
            static.png_outlook,
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
            True,
            20,
            (
                Parameter(
                    "fraction",
                    float,
                    1.0,
                    "share of a node's capacity removed",
                    unit="0-1",
                    minimum=1e-9,
                    maximum=1.0,
                ),
                Parameter("duals", bool, True, "also LP capacity duals (EUR per unit/month)"),
                Parameter(
                    "dual_draws",
                    int,
                    0,
                    "draws on which the LP duals are also ranked (0: central values only)",
                    unit="draws",
                    minimum=0,
                    maximum=100,
                ),
            ),
            plots.plot_chokepoints,
            static.png_chokepoints,
            None,
            {
                "node_type": "type",
                "node": "node",
                "rank": "rank",
                "rank_low": "rank p10",
                "rank_high": "rank p90",
                "lost_share": "lost",
                "lost_share_half": "lost (half)",
                "capacity_value": "capacity value",
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
            False,
            1,
            (
                Parameter("month", int, 0, "month whose capacity sets the shares", minimum=0),
                Parameter(
                    "basis",
                    str,
                    "output",
                    "weigh suppliers by capacity x utilisation (output) or by capacity",
                    choices=("output", "capacity"),
                ),
            ),
            plots.plot_dependencies,
            static.png_dependencies,
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
            False,
            1,
            (
                Parameter(
                    "weights",
                    str,
                    "equal",
                    "demand shares: equal, capacity or DEU=0.3,FRA=0.2,...",
                    convert=parse_weights,
                ),
                Parameter(
                    "budget",
                    float,
                    None,
                    "budget for orders and investments",
                    unit="EUR/year",
                    minimum=0.0,
                    default_text="scenario's",
                ),
            ),
            plots.plot_coordination,
            static.png_coordination,
            None,
            {
                "structure": "structure",
                "item": "item",
                "unit": "unit",
                "unmet_share": "unmet",
                "cost_eur": "cost EUR",
                "extra_unmet": "+unmet",
                "extra_weighted_shortfall": "+weighted shortfall",
                "extra_cost_eur": "+cost EUR",
            },
        ),
        AnalysisSpec(
            "deterrence",
            "Deterrence balance after a ceasefire",
            "After a ceasefire, how do Russia's artillery stocks compare with Ukraine's and "
            "Europe's as Russia restocks, and when, if ever, is a balance threshold crossed?",
            deterrence,
            "fragile-ceasefire",
            True,
            200,
            (
                Parameter(
                    "ceasefire_month",
                    int,
                    None,
                    "month the ceasefire starts",
                    unit="month",
                    minimum=0,
                    default_text="scenario's, else 6",
                ),
                Parameter(
                    "threshold",
                    float,
                    3.0,
                    "alarm level of the Russia:West stock ratio",
                    unit="ratio",
                    minimum=0.0,
                ),
                Parameter(
                    "months",
                    int,
                    None,
                    "horizon",
                    unit="months",
                    minimum=1,
                    maximum=240,
                    default_text="scenario's",
                ),
            ),
            plots.plot_deterrence,
            static.png_deterrence,
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
            True,
            200,
            (
                Parameter(
                    "month",
                    int,
                    None,
                    "month the campaign starts",
                    unit="month",
                    minimum=0,
                    default_text="the ceasefire's, else 6",
                ),
                Parameter(
                    "campaign_months",
                    int,
                    3,
                    "length of the campaign",
                    unit="months",
                    minimum=1,
                    maximum=120,
                ),
            ),
            plots.plot_sead,
            static.png_sead,
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
            False,
            1,
            (
                Parameter(
                    "decide_month", int, 0, "month the options are decided", unit="month", minimum=0
                ),
                Parameter("lp", bool, True, "also the LP value of each option (EUR per EUR)"),
            ),
            plots.plot_efficiency,
            static.png_efficiency,
            None,
            {
                "expansion": "option",
                "unit": "unit",
                "eur_per_unit_month": "EUR per unit/month",
                "first_output_month": "first output",
                "end_item": "end item",
                "end_gain_per_month": "gain/month",
                "eur_per_end_unit_month": "EUR per end/month",
                "lp_avoided_per_eur": "avoided/EUR",
            },
        ),
    )
}

ANALYSES: dict[str, AnalysisFunction] = {name: spec.function for name, spec in REGISTRY.items()}
"""Analysis name -> function (a view of ``REGISTRY``)."""
