"""A scenario's events as a readable timeline (calendar months and sentences, not JSON)."""

from __future__ import annotations

from typing import Any

from materiel.reporting import numbers


def _share(x: Any) -> str:
    return numbers.share(float(x), 0)


def describe(event: dict[str, Any]) -> str:
    """One sentence for an event (its ``model_dump()``)."""
    kind = str(event.get("type", "event"))
    months = event.get("months")
    span = f" for {months} months" if months else ""
    items = event.get("items")
    which = f" ({', '.join(items)})" if items else ""
    if kind == "us_supply_stops":
        return "US deliveries stop (every flow from the United States ends)"
    if kind == "ceasefire":
        return f"Ceasefire: fighting falls to {_share(event.get('intensity', 0))} of its intensity"
    if kind == "orders":
        return f"European order books raised to {_share(event['level'])} of capacity{which}"
    if kind == "budget":
        return f"Budget for orders and investments: {numbers.money(event['eur_per_year'])} a year"
    if kind == "deep_strike":
        text = f"Deep strike on {event['target']}: its output cut by {_share(event['fraction'])}"
        text += span or " to the end of the horizon"
        if event.get("stock_fraction"):
            text += f"; {_share(event['stock_fraction'])} of its stocks destroyed"
        return text
    if kind == "supplier_outage":
        node = event.get("node") or event.get("facility") or event.get("target")
        fraction = event.get("fraction", 1.0)
        return f"Outage at {node}: {_share(fraction)} of its capacity lost{span}"
    if kind == "intensity":
        steps = event.get("profile") or []
        if steps:
            parts = [f"month {s['month']}: x{s['factor']:g}" for s in steps]
            return "Fighting intensity profile: " + ", ".join(parts)
        return f"Fighting intensity x{event.get('intensity', 1):g}"
    if kind == "allocation":
        return f"Share of European output allocated set to {_share(event['share'])}{which}"
    rest = ", ".join(f"{k} {v}" for k, v in event.items() if k != "type" and v is not None)
    return f"{kind.replace('_', ' ').capitalize()}: {rest}"


def timeline(events: list[dict[str, Any]], start: str) -> list[dict[str, str]]:
    """Events in time order: ``when`` (a calendar month, or 'whole horizon') and ``what``."""
    rows = []
    for k, event in enumerate(events):
        month = event.get("month")
        when = "whole horizon" if month is None else numbers.month_label(start, int(month))
        key = (-1 if month is None else int(month), k)
        rows.append((key, {"when": when, "what": describe(event)}))
    return [r for _, r in sorted(rows, key=lambda x: x[0])]
