"""A notebook-style script using the public API: `.ci/run` type-checks it with mypy --strict
against the package, so the API stays typed for its users (it is never collected by pytest)."""

import pandas as pd
import xarray as xr

import materiel

model: materiel.Model = materiel.load_model()
scenario: materiel.Scenario = materiel.with_events(
    "imposed-deal", {"type": "us_supply_stops", "month": 3}
)
result: xr.Dataset = materiel.simulate(model, scenario, draws=10, seed=1)
table: pd.DataFrame = materiel.summarize(result)
best: materiel.PlanResult = materiel.plan(model, [scenario], budget=20e9)
replay: xr.Dataset = materiel.simulate(model, scenario, draws=10, plan=best)
gaps: pd.DataFrame = materiel.gap(model, scenario, draws=10)
choke: pd.DataFrame = materiel.chokepoints(model, "imposed-deal", duals=False)
report: materiel.Report = materiel.report(model, "imposed-deal", draws=10)
