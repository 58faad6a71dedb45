"""The tables of a materiel dataset, described as data.

Units: quantities are in the item's own unit (``items.unit``), money in euros, time in months
unless a ``*_unit`` column says otherwise (rates may be given per day, week, month or year and
are converted to per month on load).
"""

from __future__ import annotations

from materiel.schema.fields import Field, Table

ID = r"[a-z0-9][a-z0-9_\-]*"
ACTOR_ID = r"[A-Z][A-Z0-9_]{1,15}"
MONTH = r"\d{4}-(0[1-9]|1[0-2])"
DATE = r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?"

STATUSES = ("achieved", "claimed", "target", "estimate", "derived", "assumption")
ITEM_KINDS = ("raw", "intermediate", "end", "service")
REGIONS = ("europe", "ukraine", "us", "allied", "russia", "other")
"""Where a country stands: Europe, Ukraine, the US, other allies, Russia's side, others."""
SUPPLIER_GROUPS = REGIONS


def _rate(name: str, description: str, unit: str) -> tuple[Field, Field]:
    """A sourced rate plus the column saying in which unit it was entered."""
    return (
        Field(name, "float", description, unit=unit, uncertain=True, minimum=0.0),
        Field(
            f"{name}_unit",
            "str",
            f"unit of {name} as entered, '<item unit>/<day|week|month|year>'",
            pattern=r"[a-z_]+/(day|week|month|year)",
        ),
    )


SOURCES = Table(
    "sources",
    key=("source",),
    description="Provenance of every figure: one row per public claim or stated assumption.",
    fields=(
        Field("source", "str", "source id, referenced by <field>_source columns", pattern=ID),
        Field("url", "str", "public URL (may be empty only for status 'assumption')", default=""),
        Field("date", "str", "date of the claim, YYYY, YYYY-MM or YYYY-MM-DD", pattern=DATE),
        Field("status", "str", "what kind of figure the source gives", allowed=STATUSES),
        Field("title", "str", "what the source says, paraphrased, or why we assume it"),
        Field("note", "str", "method for derived figures, conflicts, caveats", default=""),
    ),
)

ITEMS = Table(
    "items",
    key=("item",),
    description="Anything that flows: raw materials, intermediates, end items, services.",
    fields=(
        Field("item", "str", "item id", pattern=ID),
        Field("name", "str", "human-readable name"),
        Field(
            "unit",
            "str",
            "counting unit (round, module, body...) or mass unit (kg, t)",
            pattern=r"[a-z_]+",
        ),
        Field("kind", "str", "position in the chain", allowed=ITEM_KINDS),
        Field("category", "str", "class used in summaries (artillery, energetics...)", default=""),
        Field(
            "limited",
            "bool",
            "false if freely bought on the market (no facility needed)",
            default=True,
        ),
        Field("description", "str", "what it is", default=""),
    ),
)

RECIPES = Table(
    "recipes",
    key=("item", "input"),
    description="Bill of materials: input quantity per unit of output item.",
    fields=(
        Field("item", "str", "output item", ref="items"),
        Field("input", "str", "input item", ref="items"),
        Field(
            "quantity", "float", "input per unit of output, in 'unit'", uncertain=True, minimum=0.0
        ),
        Field(
            "unit", "str", "'<input unit>/<output unit>', e.g. kg/round", pattern=r"[a-z_]+/[a-z_]+"
        ),
    ),
)

COUNTRIES = Table(
    "countries",
    key=("country",),
    description=(
        "Countries and groups that make, hold, send or use items, each in one region. "
        "Other tables name them in their actor, supplier, recipient and country columns."
    ),
    fields=(
        Field("country", "str", "country id (ISO 3166 alpha-3 where a state)", pattern=ACTOR_ID),
        Field("name", "str", "name"),
        Field(
            "region",
            "str",
            "region or side: 'europe' and 'ukraine' count as European, 'russia' is Russia's side",
            allowed=REGIONS,
        ),
        Field(
            "sustain_months",
            "float",
            "consumption policy: a user short of stock fires at most stock / sustain_months a "
            "month (1 = fire everything on hand)",
            unit="month",
            uncertain=True,
            minimum=1.0,
        ),
    ),
)

FACILITIES = Table(
    "facilities",
    key=("facility",),
    description="A production line or plant making one item, in one country.",
    fields=(
        Field("facility", "str", "facility id", pattern=ID),
        Field("name", "str", "plant or line name"),
        Field("operator", "str", "company operating it"),
        Field("item", "str", "item it makes (its recipe is the item's recipe)", ref="items"),
        Field("country", "str", "country where it stands", ref="countries"),
        *_rate("capacity", "production capacity at the dataset start", "unit/month"),
        Field(
            "utilisation",
            "float",
            "share of capacity under order at the start",
            unit="1",
            uncertain=True,
            minimum=0.0,
            maximum=1.0,
        ),
        Field(
            "unit_cost",
            "float",
            "price paid per unit produced",
            unit="EUR/unit",
            uncertain=True,
            minimum=0.0,
        ),
        Field(
            "inputs",
            "str",
            "'chain': the line draws its recipe's inputs from the modelled lines; 'own': it "
            "makes or buys them outside the model (only its capacity limits it)",
            default="chain",
            allowed=("chain", "own"),
        ),
        Field("note", "str", "free text", default=""),
    ),
)

EXPANSIONS = Table(
    "expansions",
    key=("expansion",),
    description=(
        "Capacity additions. With a 'decided' month they are committed and arrive by "
        "themselves; without one they are options a plan may choose."
    ),
    fields=(
        Field("expansion", "str", "expansion id", pattern=ID),
        Field(
            "facility",
            "str",
            "facility gaining capacity (a new plant is a facility with capacity 0)",
            ref="facilities",
        ),
        *_rate("added_capacity", "capacity added at full rate", "unit/month"),
        Field("capex", "float", "investment cost", unit="EUR", uncertain=True, minimum=0.0),
        Field(
            "lead_time",
            "float",
            "months from decision to first output (build + qualification)",
            unit="month",
            uncertain=True,
            minimum=0.0,
        ),
        Field(
            "ramp_time",
            "float",
            "months from first output to full rate (linear ramp)",
            unit="month",
            uncertain=True,
            minimum=0.0,
        ),
        Field(
            "decided",
            "str",
            "month the investment was decided (YYYY-MM); empty for an option",
            default="",
            pattern=f"({MONTH})?",
        ),
        Field("note", "str", "free text", default=""),
    ),
)

STOCKS = Table(
    "stocks",
    key=("actor", "item"),
    description="Stocks held by a country at the dataset start, and the floor it keeps.",
    fields=(
        Field("actor", "str", "holder", ref="countries"),
        Field("item", "str", "item held", ref="items"),
        Field("quantity", "float", "quantity held", unit="item unit", uncertain=True, minimum=0.0),
        Field(
            "floor",
            "float",
            "minimum the holder keeps for its own defence: transfers never take it below this",
            unit="item unit",
            uncertain=True,
            minimum=0.0,
        ),
    ),
)

CONSUMPTION = Table(
    "consumption",
    key=("actor", "item"),
    description="What an actor wants to use at reference intensity 1.0.",
    fields=(
        Field("actor", "str", "user", ref="countries"),
        Field("item", "str", "item used", ref="items"),
        *_rate("rate", "use at intensity 1.0", "unit/month"),
    ),
)

FLOWS = Table(
    "flows",
    key=("supplier", "recipient", "item"),
    description=(
        "Supply outside the modelled facilities: US deliveries, an actor's own production "
        "(supplier = recipient), imports such as North Korean shells to Russia."
    ),
    fields=(
        Field("supplier", "str", "who sends or makes it", ref="countries"),
        Field("recipient", "str", "who receives it", ref="countries"),
        Field("item", "str", "item", ref="items"),
        *_rate("rate", "quantity per period", "unit/month"),
    ),
)

ALLOCATIONS = Table(
    "allocations",
    key=("supplier", "recipient", "item"),
    description=(
        "Who takes the output of which producers: a recipient's claim on the lines of a "
        "supplier (a country or a region), served by priority, then in proportion to claims."
    ),
    fields=(
        Field(
            "supplier",
            "str",
            "producers whose lines serve this claim: a country id or a region "
            "(europe, ukraine, us, allied, russia, other)",
        ),
        Field("recipient", "str", "receiving country", ref="countries"),
        Field("item", "str", "end item or service (not an intermediate)", ref="items"),
        Field(
            "priority",
            "int",
            "1 is served first; a class is served in full before the next gets anything",
            minimum=1,
            maximum=9,
        ),
        Field(
            "share",
            "float",
            "share of the recipient's need claimed from these producers",
            unit="1",
            uncertain=True,
            minimum=0.0,
            maximum=1.0,
        ),
        *_rate("rate", "fixed orders on top of the share of need", "unit/month"),
    ),
)

PRIORITIES = Table(
    "priorities",
    key=("item",),
    description=(
        "Priority class of each end item when lines compete for scarce inputs, and the weight "
        "of one unit short in the priority-weighted total shortfall."
    ),
    fields=(
        Field("item", "str", "end item or service", ref="items"),
        Field(
            "priority",
            "int",
            "input rationing class: 1 is served first, then in proportion to need",
            minimum=1,
            maximum=9,
        ),
        Field(
            "weight",
            "float",
            "value of one unit short (EUR-equivalent): the unit price unless stated otherwise",
            unit="EUR/unit",
            minimum=0.0,
        ),
        Field("weight_source", "str", "source id of the weight", ref="sources"),
    ),
)

TARGET_ROLES = ("calibration", "validation")
"""A calibration target set (or helped set) a parameter; a validation target did not."""

TARGETS = Table(
    "targets",
    key=("id",),
    description=(
        "Published stylised facts a replay is scored against (``materiel backtest``); may be "
        "empty. ``quantity`` names what the model computes, see docs/validation.md."
    ),
    fields=(
        Field("id", "str", "target id", pattern=ID),
        Field(
            "quantity",
            "str",
            "model quantity KIND:ITEM, then optionally @WHO and >RECIPIENT, e.g. "
            "'delivered:shell_155@USA>UKR' (ITEM an item or a category; WHO countries or "
            "regions joined by '+', 'a/b' for a ratio or share; KIND: capacity, production, "
            "delivered, fired, stock, ratio or share)",
            pattern=r"[a-z_]+:[a-z0-9_]+(@[A-Za-z0-9_+/]+)?(>[A-Z][A-Z0-9_]*)?",
        ),
        Field(
            "period",
            "str",
            "month 'YYYY-MM', year 'YYYY' or range 'YYYY-MM/YYYY-MM' the figure refers to",
            pattern=r"\d{4}(-\d{2})?(/\d{4}-\d{2})?",
        ),
        Field("low", "float", "lowest published value", unit="unit"),
        Field("high", "float", "highest published value", unit="unit"),
        Field(
            "unit",
            "str",
            "'<item unit>/month' or '/year' (mean rate over the period), an item unit "
            "(total over the period, or level at its end for a stock), 'ratio' or 'share'",
        ),
        Field("source", "str", "source id", ref="sources"),
        Field("role", "str", "calibration or validation", allowed=TARGET_ROLES),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        SOURCES,
        ITEMS,
        RECIPES,
        COUNTRIES,
        FACILITIES,
        EXPANSIONS,
        STOCKS,
        CONSUMPTION,
        FLOWS,
        ALLOCATIONS,
        PRIORITIES,
        TARGETS,
    )
}
"""Every table, in load order (referenced tables first)."""
