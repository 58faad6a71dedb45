"""A synthetic dataset generator for benchmarks and tests: ``scale`` families of an
artillery chain shaped like the default dataset's, cross-linked through their explosives.

``scale=1`` is about the size of the bundled default (15 items, ~50 facilities, ~30
expansions); ``scale=10`` is about ten times larger. Every figure cites one source with status
``assumption``; low/high are +-20 % of the central value. The output passes the same schema
validation as a real dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from materiel.io.dataset import Dataset, DatasetMeta
from materiel.schema.tables import TABLES
from materiel.schema.validate import validate_tables

SOURCE = "synthetic"
EUROPE = (
    "DEU",
    "FRA",
    "GBR",
    "NOR",
    "FIN",
    "SWE",
    "POL",
    "CZE",
    "SVK",
    "ESP",
    "LTU",
    "ROU",
    "EST",
    "CHE",
    "EUROPE",
)
OTHERS = {
    "UKR": "ukraine",
    "RUS": "russia",
    "USA": "us",
    "PRK": "russia",
    "CHN": "other",
    "OTH": "other",
}
RAW = ("nitric_acid", "toluene", "steel", "hexamine")
# item stem -> (unit, kind, category); suffixed with the family number
STEMS = {
    "linters": ("t", "raw", "energetics"),
    "nc": ("t", "intermediate", "energetics"),
    "propellant": ("t", "intermediate", "energetics"),
    "module": ("module", "intermediate", "propellant"),
    "tnt": ("t", "intermediate", "energetics"),
    "rdx": ("t", "intermediate", "energetics"),
    "body": ("body", "intermediate", "metal"),
    "fuze": ("fuze", "intermediate", "fuze"),
    "round_a": ("round", "end", "artillery"),
    "round_b": ("round", "end", "artillery"),
    "round_c": ("round", "end", "artillery"),
}
# facilities per item stem: (count, count of greenfield plants with zero capacity)
LINES = {
    "round_a": (10, 1),
    "round_b": (2, 0),
    "round_c": (2, 0),
    "body": (5, 0),
    "fuze": (3, 0),
    "module": (5, 1),
    "propellant": (6, 1),
    "nc": (3, 0),
    "linters": (3, 0),
    "tnt": (3, 1),
    "rdx": (3, 0),
}
COST = {
    "round_a": 6550,
    "round_b": 4500,
    "round_c": 3500,
    "body": 800,
    "fuze": 400,
    "module": 300,
    "propellant": 30000,
    "nc": 12000,
    "linters": 1500,
    "tnt": 16000,
    "rdx": 50000,
}


def _fig(value: float, spread: float = 0.2) -> dict[str, Any]:
    """The four columns of a sourced figure (central, low, high, source)."""
    return {
        "": value,
        "_low": value * (1 - spread),
        "_high": value * (1 + spread),
        "_source": SOURCE,
    }


def row(**values: Any) -> dict[str, Any]:
    """A table row with each sourced figure (``name={"": c, "_low": ..., ...}``) expanded into
    its columns ``name, name_low, name_high, name_source``."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update({f"{key}{suffix}": v for suffix, v in value.items()})
        else:
            out[key] = value
    return out


def _recipes(j: int, k: int) -> list[tuple[str, str, float, str]]:
    """(output, input, quantity, unit) for family j of k; explosives link to family j+1."""
    nxt = (j + 1) % k
    return [
        (f"round_a_{j}", f"body_{j}", 1.0, "body/round"),
        (f"round_a_{j}", f"fuze_{j}", 1.0, "fuze/round"),
        (f"round_a_{j}", f"module_{j}", 5.0, "module/round"),
        (f"round_a_{j}", f"tnt_{j}", 7.8, "kg/round"),
        (f"round_a_{j}", f"rdx_{nxt}", 3.0, "kg/round"),
        (f"round_b_{j}", f"body_{j}", 1.0, "body/round"),
        (f"round_b_{j}", f"fuze_{j}", 1.0, "fuze/round"),
        (f"round_b_{j}", f"module_{j}", 4.0, "module/round"),
        (f"round_b_{j}", f"tnt_{nxt}", 6.0, "kg/round"),
        (f"round_c_{j}", f"body_{j}", 1.0, "body/round"),
        (f"round_c_{j}", f"fuze_{j}", 1.0, "fuze/round"),
        (f"round_c_{j}", f"module_{j}", 3.0, "module/round"),
        (f"round_c_{j}", f"tnt_{j}", 3.5, "kg/round"),
        (f"module_{j}", f"propellant_{j}", 2.45, "kg/module"),
        (f"propellant_{j}", f"nc_{j}", 0.85, "t/t"),
        (f"nc_{j}", f"linters_{j}", 0.7, "t/t"),
        (f"nc_{j}", "nitric_acid", 0.8, "t/t"),
        (f"tnt_{j}", "toluene", 0.45, "t/t"),
        (f"tnt_{j}", "nitric_acid", 1.0, "t/t"),
        (f"rdx_{j}", "hexamine", 0.6, "t/t"),
        (f"rdx_{j}", "nitric_acid", 2.0, "t/t"),
        (f"body_{j}", "steel", 55.0, "kg/body"),
    ]


def _per_unit(quantity: float, unit: str) -> float:
    """Recipe quantity in the input's own unit (kg -> t)."""
    return quantity / 1000.0 if unit.startswith("kg/") else quantity


def synthetic_tables(scale: int = 10, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Raw string tables (as read from CSV) of a synthetic dataset."""
    if scale < 1:
        raise ValueError("scale must be >= 1")
    rng = np.random.default_rng(seed)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    rows["sources"].append(
        row(
            source=SOURCE,
            url="",
            date="2026",
            status="assumption",
            title="synthetic figure for benchmarks",
            note="",
        )
    )
    actors = {**dict.fromkeys(EUROPE, "europe"), **OTHERS}
    rows["countries"] = [
        row(country=a, name=a, region=s, sustain_months=_fig(1.0, 0.0)) for a, s in actors.items()
    ]
    rows["items"] = [
        row(item=r, name=r, unit="t", kind="raw", category="", limited="false") for r in RAW
    ]
    for j in range(scale):
        for stem, (unit, kind, category) in STEMS.items():
            rows["items"].append(
                row(
                    item=f"{stem}_{j}",
                    name=f"{stem} {j}",
                    unit=unit,
                    kind=kind,
                    category=category,
                    limited="true",
                )
            )
        recipes = _recipes(j, scale)
        rows["recipes"] += [
            row(item=o, input=i, quantity=_fig(q), unit=u) for o, i, q, u in recipes
        ]
        # capacity of the end-item lines (units/year), then inputs sized to 50-120 % of need
        need: dict[str, float] = {}
        totals = {
            "round_a": rng.uniform(1.0e6, 2.0e6),
            "round_b": rng.uniform(2e5, 4e5),
            "round_c": rng.uniform(1.5e5, 3e5),
        }
        for o, i, q, u in recipes:  # recipes are listed top-down, so needs accumulate
            out_stem = o.rsplit("_", 1)[0]
            if out_stem not in totals:
                totals[out_stem] = need.get(out_stem, 0.0) * rng.uniform(0.6, 1.5)
            if i not in RAW:
                stem = i.rsplit("_", 1)[0]
                need[stem] = need.get(stem, 0.0) + totals[out_stem] * _per_unit(q, u)
        for stem, (count, green) in LINES.items():
            item = f"{stem}_{j}"
            unit = STEMS[stem][0]
            total = totals.get(stem, need.get(stem, 0.0) * rng.uniform(0.6, 1.5))
            split = rng.dirichlet(np.ones(count)) * total
            countries = ("CHN", "OTH", "SWE") if stem == "linters" else EUROPE
            for n in range(count + green):
                capacity = 0.0 if n >= count else float(split[n])
                rows["facilities"].append(
                    row(
                        facility=f"{item}_f{n}",
                        name=f"{item} line {n}",
                        operator=f"firm {n}",
                        item=item,
                        country=countries[int(rng.integers(len(countries)))],
                        capacity=_fig(capacity),
                        capacity_unit=f"{unit}/year",
                        utilisation=_fig(float(rng.uniform(0.7, 0.9)), 0.1),
                        unit_cost=_fig(COST[stem] * float(rng.uniform(0.9, 1.1))),
                    )
                )
        _expansions(rows, rng, j)
        _demand(rows, rng, j)
    raw = {}
    for name, table in TABLES.items():
        records = [{c: str(r.get(c, "")) for c in table.columns} for r in rows[name]]
        raw[name] = pd.DataFrame(records, columns=list(table.columns), dtype=str)
    return raw


def _expansions(rows: dict[str, list[dict[str, Any]]], rng: np.random.Generator, j: int) -> None:
    """20 committed expansions at random lines and one option per stage for family j (at
    the greenfield plant where there is one)."""
    facilities = [r for r in rows["facilities"] if r["item"].endswith(f"_{j}")]
    committed = [int(p) for p in rng.choice(len(facilities), size=20, replace=True)]
    last = {r["item"]: k for k, r in enumerate(facilities)}  # greenfield plants come last
    for n, p in enumerate(committed + list(last.values())):
        f = facilities[p]
        stem = f["item"].rsplit("_", 1)[0]
        unit = STEMS[stem][0]
        base = f["capacity"] or sum(r["capacity"] for r in facilities if r["item"] == f["item"])
        added = base * float(rng.uniform(0.2, 0.8))
        option = n >= 20
        rows["expansions"].append(
            row(
                expansion=f"{f['facility']}_x{n}",
                facility=f["facility"],
                added_capacity=_fig(added),
                added_capacity_unit=f"{unit}/year",
                capex=_fig(added * COST[stem] * float(rng.uniform(0.3, 1.0))),
                lead_time=_fig(
                    float(rng.integers(6, 25) if option else rng.integers(18, 42)), 0.25
                ),
                ramp_time=_fig(float(rng.integers(3, 13) if option else rng.integers(6, 25)), 0.25),
                decided=""
                if option
                else f"{int(rng.integers(2023, 2027))}-{int(rng.integers(1, 13)):02d}",
            )
        )


def _demand(rows: dict[str, list[dict[str, Any]]], rng: np.random.Generator, j: int) -> None:
    """Ukraine's and Russia's stocks, use and supply of family j's rounds."""
    per_month = {
        "a": rng.uniform(1.2e5, 1.8e5),
        "b": rng.uniform(2e4, 4e4),
        "c": rng.uniform(1.5e4, 3e4),
    }
    for kind, rate in per_month.items():
        item = f"round_{kind}_{j}"
        rows["consumption"].append(
            row(actor="UKR", item=item, rate=_fig(rate), rate_unit="round/month")
        )
        rows["stocks"].append(row(actor="UKR", item=item, quantity=_fig(rate), floor=_fig(0.0)))
        rows["allocations"].append(
            row(
                supplier="europe",
                recipient="UKR",
                item=item,
                priority=1,
                share=_fig(float(rng.uniform(0.3, 0.6)), 0.3),
                rate=_fig(0.0),
                rate_unit="round/month",
            )
        )
        rows["priorities"].append(
            row(item=item, priority=1, weight=COST[f"round_{kind}"], weight_source=SOURCE)
        )
        rows["flows"].append(
            row(
                supplier="UKR",
                recipient="UKR",
                item=item,
                rate=_fig(rate * 0.08),
                rate_unit="round/month",
            )
        )
        if kind == "a":
            rows["flows"].append(
                row(
                    supplier="USA",
                    recipient="UKR",
                    item=item,
                    rate=_fig(rate * 0.1),
                    rate_unit="round/month",
                )
            )
        else:
            ru = rate * 4
            rows["consumption"].append(
                row(actor="RUS", item=item, rate=_fig(ru), rate_unit="round/month")
            )
            rows["stocks"].append(
                row(actor="RUS", item=item, quantity=_fig(ru * 10), floor=_fig(0.0))
            )
            for supplier, share in (("RUS", 0.8), ("PRK", 0.25)):
                rows["flows"].append(
                    row(
                        supplier=supplier,
                        recipient="RUS",
                        item=item,
                        rate=_fig(ru * share),
                        rate_unit="round/month",
                    )
                )


def _meta(scale: int, seed: int) -> DatasetMeta:
    return DatasetMeta(
        name=f"synthetic-x{scale}",
        version=f"seed-{seed}",
        start="2027-01",
        description=f"synthetic chain, {scale} families, seed {seed}",
    )


def synthetic_dataset(scale: int = 10, seed: int = 0) -> Dataset:
    """A validated synthetic :class:`Dataset` (``scale`` chain families)."""
    tables = validate_tables(synthetic_tables(scale, seed))
    return Dataset(
        meta=_meta(scale, seed), tables=tables, origin=dict.fromkeys(tables, "synthetic")
    )


def write_synthetic(folder: Path, scale: int = 10, seed: int = 0) -> Path:
    """Write a synthetic dataset as CSV files plus ``dataset.yaml`` (for ``--data``)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = _meta(scale, seed).model_dump()
    (folder / "dataset.yaml").write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
    for name, frame in synthetic_tables(scale, seed).items():
        frame.to_csv(folder / TABLES[name].filename, index=False)
    return folder
