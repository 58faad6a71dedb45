"""Every column a command prints, with its header and what it means.

One :class:`View` per printed table: the columns shown (in order), a header in words for
each, and its meaning. The terminal, the report and the ``--help`` epilogs read these
views, and ``docs/glossary.md`` lists them all (a test checks the page matches).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Col:
    """One shown column: the table's column name, its header and its meaning."""

    key: str
    header: str
    meaning: str
    kind: str | None = None
    """How to show it, if not guessed from the name (see ``tables.format_frame``)."""


@dataclass(frozen=True)
class View:
    """A printed table: its columns and, if the tidy table needs condensing, how."""

    name: str
    title: str
    columns: tuple[Col, ...]
    condense: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    note: str = ""
    """Printed under the table (e.g. how its columns add up)."""

    @property
    def headers(self) -> dict[str, str]:
        """Column -> header, in display order."""
        return {c.key: c.header for c in self.columns}

    @property
    def kinds(self) -> dict[str, str]:
        """Column -> display kind, where set."""
        return {c.key: c.kind for c in self.columns if c.kind}

    def epilog(self) -> str:
        """The columns explained, for a command's ``--help``."""
        parts = [f"{c.header}: {c.meaning}" for c in self.columns]
        text = f"Columns of '{self.title}': " + "; ".join(parts) + "."
        return f"{text} {self.note}" if self.note else text


VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        View(
            "simulate",
            "Shortfall over the horizon",
            (
                Col("item", "item", "item the actor uses (its name; --ids for the id)"),
                Col("wanted", "need", "what the actor wants to fire over the horizon (mean)"),
                Col(
                    "shortfall_p50",
                    "short p50",
                    "shortfall (need - fired) over the horizon, median across draws",
                ),
                Col("shortfall_p5", "p5", "its 5th percentile"),
                Col("shortfall_p95", "p95", "its 95th percentile"),
                Col("shortfall_share", "unmet", "mean shortfall as a share of the need"),
                Col(
                    "p_short",
                    "P(short)",
                    "probability of at least one month short (more than "
                    "1 % of the month's need unmet)",
                ),
                Col(
                    "sustained_p50",
                    "sustained p50",
                    "months from the start before the first "
                    "short month, median across draws (the horizon if none)",
                    "quantity:month",
                ),
                Col("sustained_p10", "p10", "its 10th percentile", "quantity:month"),
            ),
        ),
        View(
            "gap",
            "Gap after a US stop",
            (
                Col("item", "item", "end item"),
                Col(
                    "gap",
                    "gap",
                    "what Ukraine loses when US deliveries stop, summed over "
                    "the months (item units)",
                ),
                Col("from_stocks_share", "stocks", "share of the gap European stocks fill"),
                Col(
                    "from_idle_capacity_share",
                    "idle cap.",
                    "share filled by European capacity that needs only orders",
                ),
                Col("from_expansions_share", "expansions", "share filled by new capacity"),
                Col("residual_share", "residual", "share of the gap left unfilled"),
                Col(
                    "p_residual_any",
                    "P(residual)",
                    "probability of at least one month with a residual gap",
                ),
            ),
        ),
        View(
            "outlook",
            "Four-month outlook",
            (
                Col("item", "item", "end item"),
                Col("need", "need", "what Ukraine asks its suppliers for in the window"),
                Col(
                    "arriving",
                    "- arriving",
                    "delivered under the scenario as it is (flows, transfers, claims served), "
                    "up to the need",
                ),
                Col(
                    "from_stocks",
                    "- EU stock",
                    "used from European donors' stocks above their floors",
                ),
                Col(
                    "from_idle_capacity",
                    "- idle cap",
                    "used from the output of idle European capacity, ordered now",
                ),
                Col("short", "= short", "need left unmet after all of the above"),
                Col("covered_share", "covered", "share of the need met (1 - short / need)"),
            ),
            note="Each row adds up: need - arriving - EU stock - idle cap = short (window "
            "totals, item units); --csv has what stocks and idle capacity offered, used or not.",
        ),
        View(
            "chokepoints",
            "Chokepoints",
            (
                Col("node_type", "type", "facility, item or country"),
                Col("node", "node", "the node removed (name; --ids for the id)"),
                Col("rank", "rank", "rank by output lost within its type (1 = worst)"),
                Col(
                    "lost_share",
                    "lost",
                    "share of end-item output value lost when the node is removed",
                ),
                Col("lost_share_half", "half cut", "the same when half its capacity is cut"),
                Col(
                    "capacity_value",
                    "capacity value",
                    "weighted shortfall its capacity avoids at the margin over the horizon "
                    "(EUR-equivalent; optimiser, finite differences)",
                ),
                Col("single_source", "single", "yes if it is the only source of an input"),
                Col("worst_item", "worst hit", "end item that loses the largest share"),
            ),
        ),
        View(
            "dependencies",
            "Dependencies outside Europe",
            (
                Col("end_item", "end item", "end item"),
                Col(
                    "outside_value_share",
                    "outside",
                    "share of the input value (through the "
                    "whole bill of materials) from outside Europe; blank if not modelled",
                ),
                Col(
                    "most_dependent_input",
                    "top input",
                    "most dependent input: the one with the largest share of supply outside Europe",
                ),
                Col(
                    "its_outside_share",
                    "its outside",
                    "the top input's share of supply from outside Europe",
                ),
                Col(
                    "outside_countries",
                    "countries",
                    "countries outside Europe and their share of the end item's input value; "
                    "'not modelled' where the dataset has no bill of materials for the item "
                    "(its shares are then unknown and blank, not 0 %)",
                ),
            ),
        ),
        View(
            "coordination",
            "Cost of fragmentation",
            (
                Col(
                    "structure",
                    "structure",
                    "pooled (one European market) or national "
                    "(each nation buys only from its own industry)",
                ),
                Col("item", "item", "item demanded, or total"),
                Col("unmet_share", "unmet", "share of the demand left unmet"),
                Col("cost_eur", "cost", "purchases (EUR)"),
                Col("extra_unmet", "extra unmet", "unmet demand above pooled (item units)"),
                Col(
                    "extra_weighted_shortfall",
                    "extra weighted shortfall",
                    "priority-weighted shortfall above pooled (EUR-equivalent: unmet x "
                    "item weight)",
                ),
                Col("extra_cost_eur", "extra cost", "purchases and capex above pooled (EUR)"),
            ),
        ),
        View(
            "deterrence",
            "Deterrence balance after a ceasefire",
            (
                Col("month", "month", "calendar month"),
                Col("phase", "phase", "war or ceasefire"),
                Col(
                    "russia_stock",
                    "Russia stock",
                    "Russia's artillery rounds held (mean)",
                    "quantity:round",
                ),
                Col(
                    "west_stock",
                    "West stock",
                    "Ukraine's and Europe's rounds held (mean)",
                    "quantity:round",
                ),
                Col("ratio_p50", "ratio p50", "Russia:West stock ratio, median across draws"),
                Col("ratio_p90", "ratio p90", "its 90th percentile"),
                Col(
                    "p_above",
                    "P(>= threshold)",
                    "probability the ratio is at or above the threshold",
                ),
                Col("first_crossing", "crossed", "yes in the first month the median crosses"),
            ),
        ),
        View(
            "sead",
            "Air campaign against air defences",
            (
                Col("item", "item", "munition"),
                Col("need", "need", "munitions the campaign needs"),
                Col("stock", "stock", "European stock at the start"),
                Col("production_per_month", "made/month", "European production per month"),
                Col("available", "available", "stock plus production during the campaign"),
                Col("coverage", "coverage", "available / need"),
                Col(
                    "months_to_need",
                    "months to need",
                    "months of production to reach the need (∞: never)",
                    "quantity:month",
                ),
                Col("need_basis", "need basis", "where the need figure comes from"),
            ),
        ),
        View(
            "efficiency",
            "Investment efficiency",
            (
                Col("expansion", "option", "expansion option (id)"),
                Col(
                    "eur_per_unit_month",
                    "cost per unit/month",
                    "capex per unit of monthly capacity added (EUR)",
                ),
                Col(
                    "first_output_date",
                    "first output",
                    "calendar month of first output if decided now",
                ),
                Col("end_item", "end item", "end item the added capacity supports"),
                Col("end_gain_per_month", "gain/month", "end items per month gained"),
                Col(
                    "eur_per_end_unit_month",
                    "cost per end item/month",
                    "capex per end item per month gained (EUR)",
                ),
                Col(
                    "lp_avoided_per_eur",
                    "shortfall avoided per EUR",
                    "weighted shortfall (EUR-equivalent) the option avoids on top of the "
                    "optimal plan, per euro of capex",
                    "ratio",
                ),
            ),
        ),
        View(
            "investments",
            "Investments",
            (
                Col("expansion", "expansion", "expansion chosen (id)"),
                Col("facility", "facility", "where (name; --ids for the id)"),
                Col("date", "decided", "calendar month it is decided"),
                Col("scale", "scale", "share of the option built", "share"),
                Col("capex_eur", "capex", "capital cost (EUR)"),
                Col("first_output_date", "first output", "calendar month of first output"),
                Col("added", "adds per month", "capacity added per month (item units)"),
            ),
        ),
        View(
            "plan_shortfall",
            "Shortfall remaining",
            (
                Col("actor", "actor", "recipient"),
                Col("item", "item", "item"),
                Col("wanted", "need", "need over the horizon, probability-weighted"),
                Col("unmet", "unmet", "need the plan leaves unmet"),
                Col("unmet_share", "unmet %", "unmet as a share of the need"),
            ),
        ),
        View(
            "capacity_value",
            "Value of capacity",
            (
                Col("facility", "facility", "production line"),
                Col("item", "item", "what it makes"),
                Col(
                    "value",
                    "value per unit/month",
                    "weighted shortfall avoided (unserved fixed orders at item weight) by one "
                    "more unit per month of capacity, whole horizon (EUR-equivalent; finite "
                    "difference on the LP)",
                    "money",
                ),
                Col(
                    "range",
                    "range",
                    "'unique', or the range of that value where the LP's dual is not unique "
                    "(EUR-equivalent)",
                ),
                Col("cost", "extra cost", "extra expected cost of that capacity (EUR)", "money"),
            ),
        ),
        View(
            "budget",
            "Budget",
            (
                Col("scenario", "scenario", "scenario"),
                Col("year", "year", "budget year"),
                Col("budget_eur", "budget", "budget for orders and investments (EUR)"),
                Col("spent_eur", "spent", "what the plan spends (EUR; mean over draws)"),
            ),
        ),
        View(
            "sources",
            "Sources",
            (
                Col("source", "id", "source id (cited by the figures' *_source columns)"),
                Col("status", "status", "achieved, claimed, target, estimate or derived"),
                Col("date", "date", "date of the source"),
                Col("title", "title", "title, shortened (--full for the whole text and URL)"),
            ),
        ),
    )
}


EXTRA_VIEWS = (
    View(
        "sweep",
        "Sweep",
        (
            Col("case", "case", "case id (one combination of the swept parameters)"),
            Col(
                "unmet_share_mean",
                "unmet (mean over items)",
                "mean over items of the unmet share of the need",
            ),
            Col(
                "p_short_max",
                "P(short) worst item",
                "the highest probability of a short month over the items",
            ),
            Col("cost_mean_eur", "cost", "mean cost (EUR)"),
            Col(
                "weighted_shortfall_eur",
                "weighted shortfall",
                "expected priority-weighted shortfall (EUR-equivalent: unmet x item weight)",
            ),
            Col("capex_eur", "capex", "investment chosen by the LP (EUR)"),
            Col("fire_ratio_p50", "fire ratio p50", "Ukraine:Russia fire ratio, median"),
            Col("status", "status", "ok, or why the case failed"),
        ),
        note="The swept parameters come first, one column each, as named in the spec.",
    ),
    View(
        "sensitivity",
        "Sensitivity ranking",
        (
            Col("rank", "rank", "1 = the input that moves the shortfall most"),
            Col("input", "input", "an uncertain input group (a figure family, per item)"),
            Col("elements", "elements", "figures in the group"),
            Col(
                "mu_star",
                "mu_star",
                "Morris: mean absolute elementary effect on the metric; with Sobol this "
                "column is ST, the total-order share of the variance",
            ),
            Col("conf", "+/- 95% conf", "its 95 % confidence half-width"),
            Col(
                "sigma",
                "sigma",
                "Morris: spread of the effects (interactions, non-linearity); with Sobol "
                "this column is S1, the first-order share of the variance",
            ),
        ),
    ),
)
VIEWS.update({v.name: v for v in EXTRA_VIEWS})

COMMANDS = {
    "sead": "deterrence",
    "investments": "plan",
    "plan_shortfall": "plan",
    "capacity_value": "plan",
    "budget": "plan",
    "sources": "data sources",
}
"""The command printing each view, where it differs from the view's name."""


def glossary_markdown() -> str:
    """The glossary page: every printed table's columns and their meaning."""
    lines = [
        "# Glossary of output columns",
        "",
        "Every table `materiel` prints, with each column's header and meaning. Numbers are",
        "compact with a scale word and their unit: `k` = thousand, `M` = million, `bn` =",
        "billion, `tn` = trillion (`1.88 M rounds`, `EUR 2.4 bn`); shares and probabilities",
        "are percentages; months are calendar months (`YYYY-MM`). Names are shown where the",
        "dataset has them; `--ids` shows ids instead. `--json` and `--csv` give the full",
        "tables with the raw column names and numbers in base units (EUR, item units).",
        "",
        "A table that does not fit the terminal (80 columns when the output is piped) is",
        "printed as one block per row (`header: value` lines); no number is ever cut.",
        "",
    ]
    for view in VIEWS.values():
        command = COMMANDS.get(view.name, view.name)
        lines += [f"## {view.title} (`materiel {command}`)", ""]
        lines += ["| column | meaning |", "|---|---|"]
        lines += [f"| {c.header} | {c.meaning} |" for c in view.columns]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m materiel.reporting.columns: rewrite docs/glossary.md
    from pathlib import Path

    target = Path(__file__).resolve().parents[3] / "docs" / "glossary.md"
    target.write_text(glossary_markdown(), encoding="utf-8")
    print(f"wrote {target}")
