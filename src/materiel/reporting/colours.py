"""Colours and labels shared by the interactive and the static plots."""

from __future__ import annotations

from matplotlib import colormaps
from matplotlib.colors import to_hex

LAYER_COLOURS = {
    "arriving": "#9aa5b1",
    "from_stocks": "#1f77b4",
    "from_idle_capacity": "#2ca02c",
    "from_expansions": "#ff7f0e",
    "residual": "#d62728",
}
LABELS = {
    "arriving": "arriving as planned",
    "from_stocks": "European stocks",
    "from_idle_capacity": "idle capacity (orders)",
    "from_expansions": "expansions",
    "residual": "residual gap",
}
NODE_COLOURS = {"facility": "#1f77b4", "item": "#9467bd", "country": "#8c564b"}
STRUCTURE_COLOURS = {"pooled": "#2ca02c", "national": "#ff7f0e", "national_chains": "#d62728"}


def country_colours(countries: list[str], outside: set[str]) -> dict[str, str]:
    """Distinct colours: red-orange tones for countries outside Europe, blue-green tones for
    European ones (evenly spaced on a colormap, so no two share a colour)."""
    out: dict[str, str] = {}
    for group, cmap, lo, hi in (
        (sorted(outside & set(countries)), "autumn", 0.0, 0.8),
        (sorted(set(countries) - outside), "viridis", 0.05, 0.75),
    ):
        for k, c in enumerate(group):
            x = lo + (hi - lo) * (k / max(len(group) - 1, 1))
            out[c] = to_hex(colormaps[cmap](x))
    return out
