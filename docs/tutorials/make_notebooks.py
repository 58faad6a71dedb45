"""Write the tutorial notebooks of docs/tutorials/ from the cells below (the source of truth).

Edit the cells here, then run ``.venv/bin/python docs/tutorials/make_notebooks.py``. The
notebooks are stored without outputs, so the repository stays small; tests/test_tutorials.py
executes each one end to end on the bundled data and checks that they match this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

Cell = tuple[str, str]  # ("md" | "py", source)


def md(text: str) -> Cell:
    return ("md", text.strip("\n"))


def py(code: str) -> Cell:
    return ("py", code.strip("\n"))


US_STOP: list[Cell] = [
    md("""
# What if US deliveries stop in month 3?

This tutorial loads the bundled dataset, looks at where its numbers come from, builds a
scenario in which US deliveries to Ukraine stop in month 3, simulates it 300 times with every
uncertain figure drawn from its low/central/high range, and reads the shortfall: how much, of
what, when, and with what probability. Finally it asks how much of the gap Europe can fill.

Units throughout: quantities in each item's own unit (rounds, missiles, t, ...), rates per
month, money in EUR; month 0 is the dataset's start.

To run the tutorials, open `docs/tutorials/` with the project's `.venv` as the kernel, in VS
Code or in JupyterLab (`.venv/bin/pip install jupyterlab && .venv/bin/jupyter lab
docs/tutorials/`). Each one runs in well under a minute.
"""),
    py("""
%matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd

import materiel

pd.set_option("display.max_columns", 20)
pd.set_option("display.width", 160)
materiel.__version__
"""),
    md("""
## 1. Load the data

`load_model()` reads the bundled dataset (or your folder: `load_model("my-dataset/")`),
validates every table and compiles it into the model both engines read. Invalid data raises a
`DatasetError` that lists every problem by file, row and field.
"""),
    py("""
model = materiel.load_model()
model.dataset.meta.start, len(model.items), len(model.facilities)
"""),
    md("The tables are pandas DataFrames, as entered. The end items Ukraine fires or launches:"),
    py("""
items = model.dataset.tables["items"]
items[items["kind"] == "end"][["item", "name", "unit", "category"]]
"""),
    md("""
## 2. Where do the numbers come from?

Every figure has a source with a status (achieved, claimed, target, estimate, derived,
assumption) and a low/central/high range. `materiel.sources()` lists them all.
"""),
    py("""
figures = materiel.sources(model)
figures["status"].value_counts()
"""),
    py("""
capacity = figures.query("table == 'facilities' and field == 'capacity'")
capacity[["key", "central", "low", "high", "unit", "source", "status"]].head(8)
"""),
    md("""
The compiled model holds the same figures in canonical units (item units per month), on
named dimensions, with their range:
"""),
    py("""
ranges = model.to_xarray()
ranges["capacity"].to_pandas().head(8)
"""),
    md("""
## 3. The scenario

The bundled `imposed-deal` future stops US deliveries in month 2. `with_events` makes a copy
with the stop moved to month 3 (events of the same type are replaced). For comparison we also
build a counterfactual in which the US keeps delivering, from plain data, as a YAML file would
give it.
"""),
    py("""
base = materiel.load_scenario("imposed-deal")
stop3 = materiel.with_events(
    base, {"type": "us_supply_stops", "month": 3}, name="us-stop-month-3"
)
stop3.events
"""),
    py("""
continues = materiel.parse_scenario(
    {
        "name": "us-continues",
        "months": base.months,
        "events": [e.model_dump() for e in base.events if e.type != "us_supply_stops"],
    }
)
[e.type for e in continues.events]
"""),
    md("""
## 4. Simulate

300 Monte Carlo draws over the scenario's 36 months. The result is an `xarray.Dataset` with
dims `draw`, `month`, `facility`, `item`, `actor`; every variable carries its unit.
"""),
    py("""
result = materiel.simulate(model, stop3, draws=300, seed=1)
result["shortfall"]
"""),
    md("""
`summarize` gives one row per item Ukraine uses, totals over the horizon across draws:
`wanted` (mean total need, item units), the shortfall's mean and p5/p50/p95 (item units),
`shortfall_share` (mean share of the need not met), `p_short` (probability of at least one
month with more than 1 % of the need unmet) and `sustained_p50` / `sustained_p10` (months
before the first short month).
"""),
    py("""
summary = materiel.summarize(result)
summary[
    ["unit", "wanted", "shortfall_p5", "shortfall_p50", "shortfall_p95", "p_short", "sustained_p50"]
]
"""),
    md("""
## 5. Month by month: 155 mm rounds

The shortfall percentiles across draws, against the need:
"""),
    py("""
ukr = result.sel(actor="UKR", item="shell_155")
q = ukr["shortfall"].quantile([0.1, 0.5, 0.9], dim="draw")
months = result["month"].to_numpy()

fig, ax = plt.subplots(figsize=(8, 3.5))
ax.fill_between(months, q.sel(quantile=0.1), q.sel(quantile=0.9), alpha=0.3, label="p10-p90")
ax.plot(months, q.sel(quantile=0.5), label="median shortfall")
ax.plot(months, ukr["wanted"].mean("draw"), "k--", label="need (mean)")
ax.axvline(3, color="grey", lw=0.8)
ax.set_xlabel(f"month (0 = {model.start})")
ax.set_ylabel("rounds / month")
ax.set_title("155 mm: Ukraine's shortfall after a US stop in month 3")
ax.legend()
plt.show()
"""),
    md("`by_month` gives the same per item and month as a tidy table:"),
    py("""
monthly = materiel.by_month(result)
monthly[monthly["item"] == "shell_155"].head(8)
"""),
    md("## 6. What the US stop costs: the same future with the US still delivering"),
    py("""
with_us = materiel.simulate(model, continues, draws=300, seed=1)
compare = pd.DataFrame(
    {
        "US continues": materiel.summarize(with_us)["shortfall_share"],
        "US stops in month 3": summary["shortfall_share"],
    }
)
ax = compare.plot.barh(figsize=(7, 5), title="Share of the need not met over 36 months")
ax.set_xlabel("share of need unmet (0-1)")
plt.show()
"""),
    md("""
## 7. How much of the gap can Europe fill?

`gap` re-runs the stop with Europe releasing half its stocks, raising order books to full
capacity and deciding every expansion option at the stop, and splits the gap into what each
layer fills and the residual (item units per month).
"""),
    py("""
gap = materiel.gap(model, stop3, draws=100, seed=1)
totals = materiel.gap_totals(gap)
totals[["item", "unit", "gap", "from_stocks_share", "from_idle_capacity_share",
        "from_expansions_share", "residual_share", "p_residual_any"]]
"""),
    py("""
materiel.plot("gap", gap)
"""),
    md("""
Next: [Buying the most shells per euro](02-shells-per-euro.ipynb) plans investments within a
budget and replays the plan in the simulator.
"""),
]

SHELLS_PER_EURO: list[Cell] = [
    md("""
# Buying the most shells per euro

Which expansions add 155 mm rounds fastest per euro, what the optimiser buys within a budget,
what one more euro is worth, and whether the plan holds up once the uncertain figures are
drawn. Money is in EUR, capacity in item units per month, times in months from the dataset's
start.
"""),
    py("""
%matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd

import materiel

pd.set_option("display.max_columns", 20)
pd.set_option("display.width", 160)

model = materiel.load_model()
scenario = materiel.with_events(
    "imposed-deal", {"type": "us_supply_stops", "month": 3}, name="us-stop-month-3"
)
"""),
    md("""
## 1. What does each expansion option cost per round?

`efficiency` gives each option's euros per unit of added monthly capacity
(`eur_per_unit_month`), the month of its first output, the end items per month it adds when
built alone (`end_gain_per_month`) and so the euros per end item per month
(`eur_per_end_unit_month`). An option that adds an input nobody is short of gains nothing
alone.
"""),
    py("""
options = materiel.efficiency(model, scenario)
shells = options[options["end_item"] == "shell_155"].sort_values("eur_per_end_unit_month")
shells[["expansion", "item", "unit", "capex_eur", "added_capacity", "first_output_month",
        "end_gain_per_month", "eur_per_end_unit_month"]]
"""),
    py("""
materiel.plot("efficiency", options)
"""),
    md("""
## 2. Plan within a budget

`plan` solves the capacity-expansion LP on central values: which options to build and when
(shared by all scenarios), and what to order each month, to minimise cost plus a penalty on
every unmet unit. The scenario's `budget` event sets the money per year for orders and
investments (below, in EUR bn); `budget=` overrides it.
"""),
    py("""
scenario.budget / 1e9  # EUR bn per year
"""),
    py("""
best = materiel.plan(model, scenario)
pd.Series(best.summary) / 1e9  # EUR bn: capex, expected purchases, penalty, objective
"""),
    py("""
best.investments[["expansion", "item", "date", "scale", "capex_eur", "first_output_date",
                  "added_capacity", "unit"]]
"""),
    md("""
The duals price the constraints: the value of one more euro of budget in each year (EUR of
objective per EUR; above 1 means money is binding) and of one more unit per month of
capacity at each facility (EUR of objective per unit/month over the horizon).
"""),
    py("""
best.budget_duals
"""),
    py("""
best.capacity_duals.head(8)
"""),
    md("## 3. How much does more money buy?"),
    py("""
rows = []
for budget in [2.5e9, 5e9, 10e9, 25e9, 50e9]:
    result = materiel.plan(model, scenario, budget=budget)
    unmet = result.shortfall_by_item().set_index(["actor", "item"])["unmet_share"]
    rows.append(
        {
            "budget (EUR bn/year)": budget / 1e9,
            "capex (EUR bn)": result.summary["capex_eur"] / 1e9,
            "155 mm unmet share": unmet["UKR", "shell_155"],
            "mortar unmet share": unmet["UKR", "mortar_120"],
        }
    )
curve = pd.DataFrame(rows).set_index("budget (EUR bn/year)")
curve
"""),
    py("""
ax = curve[["155 mm unmet share", "mortar unmet share"]].plot(marker="o", logx=True,
                                                             figsize=(7, 3.5))
ax.set_ylabel("share of need unmet (0-1)")
ax.set_title("What the budget buys (optimiser, central values)")
plt.show()
"""),
    md("""
## 4. Does the plan hold under uncertainty?

The optimiser sees central values only. Replaying its builds and orders in the simulator
(`plan=best`) with central values reproduces the LP; with 300 Monte Carlo draws, capacities,
lead times, stocks and consumption are drawn from their ranges and the plan meets the world
it was not tuned for.
"""),
    py("""
without = materiel.simulate(model, scenario, draws=300, seed=1)
with_plan = materiel.simulate(model, scenario, draws=300, seed=1, plan=best)

def total_shortfall(result):
    return result["shortfall"].sel(actor="UKR", item="shell_155").sum("month") / 1e6

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.hist(total_shortfall(without), bins=30, alpha=0.6, label="no plan")
ax.hist(total_shortfall(with_plan), bins=30, alpha=0.6, label="with the plan")
ax.set_xlabel("155 mm shortfall over 36 months (million rounds)")
ax.set_ylabel("draws")
ax.legend()
plt.show()
"""),
    py("""
central = materiel.simulate(model, scenario, draws=1, plan=best, uncertain=False)
lp = best.shortfall_by_item().query("actor == 'UKR'").set_index("item")["unmet_share"]
pd.DataFrame(
    {
        "LP": lp,
        "plan, central values": materiel.summarize(central)["shortfall_share"],
        "no plan, 300 draws": materiel.summarize(without)["shortfall_share"],
        "plan, 300 draws": materiel.summarize(with_plan)["shortfall_share"],
    }
).round(3)
"""),
    md("""
The first two columns agree: the simulator replays the LP. Where the plan's Monte Carlo
shortfall is above the no-plan one, its lean order book, sized for central values, does not
cover the draws with a higher need or a smaller line, while the scenario's own order level
(90 % of capacity) does: test every plan under uncertainty before trusting it.
"""),
    md("""
Next: [Where the chain breaks](03-where-the-chain-breaks.ipynb) looks for the facilities and
inputs everything else depends on.
"""),
]

CHAIN: list[Cell] = [
    md("""
# Where the chain breaks

Which facilities, inputs and countries cost the most output when they fail, which inputs
have a single source, and what share of each end item depends on suppliers outside Europe.
Then a stress test: the worst chokepoint goes down for six months.
"""),
    py("""
%matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd

import materiel

pd.set_option("display.max_columns", 20)
pd.set_option("display.width", 160)

model = materiel.load_model()
scenario = materiel.load_scenario("imposed-deal")
"""),
    md("""
## 1. Chokepoints

`chokepoints` removes each facility, item and source country in turn, re-simulates with
central values and measures the end-item output lost (`lost_share`, 0-1, valued at unit cost;
`lost_share_half` for a half cut). It adds the optimiser's value of capacity
(`shortfall_avoided_per_unit_month`, weighted shortfall avoided per unit/month) and flags single sources.
"""),
    py("""
choke = materiel.chokepoints(model, scenario)
choke[choke["node_type"] == "facility"][
    ["node", "name", "item", "country", "lost_share", "lost_share_half", "worst_item",
     "single_source"]
].head(10)
"""),
    py("""
materiel.plot("chokepoints", choke)
"""),
    md("Inputs and end items made by a single facility:"),
    py("""
single = choke[(choke["node_type"] == "facility") & choke["single_source"]]
single[["node", "item", "country", "lost_share", "sole_source_of"]]
"""),
    md("""
## 2. Dependencies outside Europe

`dependencies` traces every end item's inputs through the whole bill of materials (the
Leontief inverse) and splits each input by the countries that supply it. The summary gives
the value share from outside Europe per end item.
"""),
    py("""
deps = materiel.dependencies(model, scenario)
materiel.dependency_summary(deps)
"""),
    py("""
shell = deps[deps["end_item"] == "shell_155"]
by_country = shell.pivot_table(
    index="input", columns="origin", values="input_share", aggfunc="sum", fill_value=0.0
)
by_country
"""),
    py("""
materiel.plot("dependencies", deps)
"""),
    md("""
## 3. Stress test: a single source goes down

A `supplier_outage` event takes a share of a facility's output away for some months. Here
the single-source facility whose half cut costs the most loses all output for six months
from month 3; `replace=False` keeps the scenario's other events.
"""),
    py("""
facilities = choke[choke["node_type"] == "facility"]
top = facilities[facilities["single_source"]].sort_values("lost_share_half").iloc[-1]
item = top["item"]
outage = materiel.with_events(
    scenario,
    {"type": "supplier_outage", "node": top["node"], "month": 3, "months": 6, "fraction": 1.0},
    name=f"outage-{top['node']}",
    replace=False,
)
normal = materiel.simulate(model, scenario, draws=200, seed=1)
broken = materiel.simulate(model, outage, draws=200, seed=1)
top["node"], item
"""),
    py("""
fig, ax = plt.subplots(figsize=(8, 3.5))
for label, result in (("as planned", normal), (f"{top['node']} down, months 3-8", broken)):
    fired = result["fired"].sel(actor="UKR", item=item).median("draw")
    ax.plot(result["month"], fired, label=label)
ax.axvspan(3, 9, color="grey", alpha=0.15)
ax.set_xlabel(f"month (0 = {model.start})")
ax.set_ylabel(f"{item} used by Ukraine / month (median)")
ax.legend()
plt.show()
"""),
    md("""
## 4. How long can the chain ride out an outage?

Stocks and idle capacity downstream buffer a short outage; a long one shows the loss the
chokepoint ranking measures. How much the share of Ukraine's need left unmet rises (0-1), by
outage length, when the top-ranked facility stops from month 3:
"""),
    py("""
worst = facilities.iloc[0]
base = materiel.summarize(normal)["shortfall_share"]
rows = {}
for months in (3, 6, 12, 24):
    event = {"type": "supplier_outage", "node": worst["node"], "month": 3, "months": months}
    stressed = materiel.with_events(scenario, event, replace=False)
    result = materiel.simulate(model, stressed, draws=200, seed=1)
    rows[months] = materiel.summarize(result)["shortfall_share"] - base
extra = pd.DataFrame(rows).rename_axis(columns="outage months")
worst["node"], extra[(extra.abs() > 0.001).any(axis=1)].round(3)
"""),
]

NOTEBOOKS = {
    "01-us-stop.ipynb": US_STOP,
    "02-shells-per-euro.ipynb": SHELLS_PER_EURO,
    "03-where-the-chain-breaks.ipynb": CHAIN,
}


def notebook(cells: list[Cell]) -> dict[str, Any]:
    """An nbformat 4 notebook without outputs."""

    def lines(text: str) -> list[str]:
        return text.splitlines(keepends=True)

    return {
        "cells": [
            {"cell_type": "markdown", "id": f"cell-{k}", "metadata": {}, "source": lines(text)}
            if kind == "md"
            else {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{k}",
                "metadata": {},
                "outputs": [],
                "source": lines(text),
            }
            for k, (kind, text) in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(cells: list[Cell]) -> str:
    return json.dumps(notebook(cells), indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    for name, cells in NOTEBOOKS.items():
        (HERE / name).write_text(render(cells), encoding="utf-8")
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
