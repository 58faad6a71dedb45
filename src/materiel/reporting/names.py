"""Names instead of ids in printed tables (ids on request)."""

from __future__ import annotations

from typing import Any

import pandas as pd

ITEM_COLUMNS = ("item", "end_item", "input", "worst_item", "most_dependent_input")
ACTOR_COLUMNS = ("actor", "country", "recipient", "supplier")
FACILITY_COLUMNS = ("facility",)


def name_maps(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, str]]:
    """id -> name for items, countries (actors) and facilities of a dataset's tables."""
    out = {}
    for table, key in (
        ("items", "item"),
        ("actors", "actor"),
        ("countries", "country"),
        ("facilities", "facility"),
    ):
        frame = tables.get(table)
        if frame is not None and "name" in frame:
            names = frame[key].astype(str), frame["name"].astype(str)
            out[table] = {k: v for k, v in zip(*names, strict=True) if v}
    if "countries" in out:  # model v2: actors are countries
        out["actors"] = {**out.get("actors", {}), **out["countries"]}
    return out


def with_names(frame: pd.DataFrame, model: Any, ids: bool = False) -> pd.DataFrame:
    """``frame`` with the ids in its item, actor and facility columns replaced by names
    (unchanged if ``ids``); a chokepoints ``node`` is named by its ``node_type``."""
    if ids:
        return frame
    maps = name_maps(model.dataset.tables)
    out = frame.copy()
    for columns, table in (
        (ITEM_COLUMNS, "items"),
        (ACTOR_COLUMNS, "actors"),
        (FACILITY_COLUMNS, "facilities"),
    ):
        lookup = maps.get(table, {})
        for col in columns:
            if col in out and not pd.api.types.is_numeric_dtype(out[col]):
                out[col] = [lookup.get(str(v), v) if isinstance(v, str) else v for v in out[col]]
    if "node" in out and "node_type" in out:
        kinds = {"item": "items", "country": "actors", "facility": "facilities"}
        out["node"] = [
            maps.get(kinds.get(str(t), ""), {}).get(str(n), n)
            for t, n in zip(out["node_type"], out["node"], strict=True)
        ]
    return out
