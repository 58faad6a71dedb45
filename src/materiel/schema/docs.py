"""Documentation generated from the schema: the data guide and the list of sourced figures.

Regenerate the guide with ``python -m materiel.schema.docs > docs/data.md`` (a test checks
that the file in the repository equals :func:`data_guide`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from materiel.schema.fields import Field, Table
from materiel.schema.tables import TABLES
from materiel.schema.units import DAYS_PER_MONTH, MASS_IN_TONNES, PER_MONTH

TYPE_NAMES = {"str": "text", "float": "number", "int": "integer", "bool": "true/false"}

STATUS_MEANINGS = {
    "achieved": "reported as actually reached: delivered, produced, in service",
    "claimed": "stated by a company or government, not independently confirmed",
    "target": "a stated goal or plan for a future date",
    "estimate": "an estimate by an independent analyst, researcher or journalist",
    "derived": "computed from other sourced figures; the note gives the method",
    "assumption": "a planning assumption where no public figure exists; needs no URL, "
    "but the title must give the reason",
}

META_NOTES = {
    "name": "dataset name",
    "version": "dataset version, recorded with every run",
    "currency": "currency of money figures",
    "description": "what the dataset covers",
}

FIELD_COLUMNS = ("columns", "type", "unit", "required", "allowed", "description")
"""Keys of :func:`field_rows`, in display order."""


def _allowed(field: Field) -> str:
    parts = []
    if field.ref:
        parts.append(f"an id from {field.ref}.csv")
    if field.allowed:
        parts.append("one of " + ", ".join(field.allowed))
    if field.dtype == "bool":
        parts.append("true or false")
    if field.minimum is not None:
        parts.append(f">= {field.minimum:g}")
    if field.maximum is not None:
        parts.append(f"<= {field.maximum:g}")
    if field.pattern and not field.allowed:
        parts.append(f"matches `{field.pattern}`")
    if field.uncertain:
        parts.append(f"low <= central <= high; {field.name}_source: a source in sources.csv")
    return "; ".join(parts)


def _required(field: Field) -> str:
    if field.required:
        return "required"
    if field.default == "":
        return "optional (empty)"
    default = str(field.default).lower() if isinstance(field.default, bool) else field.default
    return f"optional (default {default})"


def field_rows(table: Table) -> list[dict[str, str]]:
    """One plain-text row per field of ``table``, with the keys in :data:`FIELD_COLUMNS`."""
    return [
        {
            "columns": ", ".join(field.columns),
            "type": TYPE_NAMES[field.dtype] + (", sourced" if field.uncertain else ""),
            "unit": field.unit,
            "required": _required(field),
            "allowed": _allowed(field),
            "description": field.description,
        }
        for field in table.fields
    ]


def _cell(text: str) -> str:
    """Escape a Markdown table cell: pipes everywhere, ``<`` outside code spans."""
    parts = re.split(r"(`[^`]*`)", text.replace("|", "\\|").replace("\n", " "))
    return "".join(p if p.startswith("`") else p.replace("<", "&lt;") for p in parts)


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _table_section(table: Table) -> list[str]:
    rows = [
        (
            " ".join(f"`{c}`" for c in r["columns"].split(", ")),
            r["type"],
            r["unit"],
            r["required"],
            r["allowed"],
            r["description"],
        )
        for r in field_rows(table)
    ]
    key = ", ".join(f"`{k}`" for k in table.key)
    return [
        f"### `{table.name}`",
        "",
        f"{table.description}",
        "",
        f"File `{table.filename}` (or sheet `{table.name}`); key: {key} (unique per row).",
        "",
        *_markdown_table(("column(s)", "type", "unit", "required", "allowed", "description"), rows),
        "",
    ]


def _meta_section() -> list[str]:
    from materiel.io.dataset import DatasetMeta  # io depends on schema, not the reverse

    rows = []
    for name, info in DatasetMeta.model_fields.items():
        required = "required" if info.is_required() else f"optional (default '{info.default}')"
        rows.append((f"`{name}`", required, info.description or META_NOTES.get(name, "")))
    return [
        "### `dataset.yaml`",
        "",
        "Metadata of the dataset (sheet `dataset` in a workbook, one key per row).",
        "",
        *_markdown_table(("key", "required", "description"), rows),
        "",
    ]


def data_guide() -> str:
    """The data guide (docs/data.md) as Markdown, generated from the schema."""
    periods = ", ".join(f"{p} (x {f:.6g})" for p, f in PER_MONTH.items())
    lines = [
        "# Data guide",
        "",
        "<!-- Generated from the schema by `python -m materiel.schema.docs > docs/data.md`;",
        "     do not edit by hand (a test checks it). -->",
        "",
        "A dataset is a folder holding `dataset.yaml` and one CSV file per table, with a header",
        "row. A folder may hold only some tables: the others come from the bundled default",
        "(`src/materiel/data/default/`), so an override file changes just what it names. Every",
        "command takes `--data FOLDER`.",
        "",
        "```bash",
        "materiel data check my-dataset/          # every problem at once: file, row, field, why",
        "materiel data sources --status estimate  # one line per sourced figure",
        "materiel data export --xlsx data.xlsx    # one workbook: a sheet per table",
        "materiel data import data.xlsx --to my-dataset/",
        "```",
        "",
        "In a workbook, sheet `README` explains the columns and is ignored on import; numbers",
        "are numbers, booleans are the text `true`/`false` as in CSV, and row numbers in error",
        "messages are spreadsheet row numbers.",
        "",
        "## Provenance",
        "",
        "Every uncertain figure (type *sourced* below) spans four columns: `<name>` (central",
        "value), `<name>_low`, `<name>_high` and `<name>_source`. Rules:",
        "",
        "* `low <= central <= high`. Central is the best single value; low and high bound the",
        "  plausible range. The simulator draws each figure from a triangular distribution",
        "  (low, central, high); a figure with low = high is fixed.",
        "* `<name>_source` is a `source` id in `sources.csv`; each source row has a status tag,",
        "  a date, a title and (except for assumptions) a public URL.",
        "* Status tags:",
        "",
        *[f"  * `{status}`: {meaning}." for status, meaning in STATUS_MEANINGS.items()],
        "",
        "* An assumption needs no URL but needs a reason: its `title` says why the value is",
        "  assumed. A derived figure's `note` gives the method.",
        "",
        "## Units",
        "",
        "* Quantities are in the item's own unit (`items.unit`: round, module, t...); mass items",
        f"  may be entered in {' or '.join(MASS_IN_TONNES)} and are converted.",
        "* Rates carry a `<name>_unit` column, `<item unit>/<period>`, converted to per month:",
        f"  {periods}; a month is 365.25 / 12 = {DAYS_PER_MONTH:g} days.",
        "* Recipe quantities carry a `unit` column, `<input unit>/<output unit>` (e.g. kg/round).",
        "* Money is in euros (EUR); times are in months. The unit column below is the unit",
        "  after conversion; `unit` stands for the item's unit.",
        "",
        "## Tables",
        "",
        *[f"* `{t.name}`: {t.description}" for t in TABLES.values()],
        "",
        *_meta_section(),
    ]
    for table in TABLES.values():
        lines += _table_section(table)
    return "\n".join(lines).rstrip("\n") + "\n"


def _figure_unit(table: Table, field: Field, row: Mapping[Any, Any], units: pd.Series) -> str:
    """Unit of a figure as entered: its ``_unit`` column, a recipe's unit, or the schema's."""
    if f"{field.name}_unit" in table.columns:
        return str(row[f"{field.name}_unit"])
    if table.name == "recipes":
        return str(row["unit"])
    item_unit = str(units.get(row.get("item"), "unit"))
    return field.unit.replace("item unit", item_unit).replace("/unit", f"/{item_unit}")


def sourced_figures(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every sourced figure of typed ``tables``, one row each, joined with its source.

    Columns: table, key (key values joined by '/'), field, central, low, high, unit, source,
    status, date, url. Values are as entered, in ``unit``.
    """
    units = tables["items"].set_index("item")["unit"]
    records = []
    for name, table in TABLES.items():
        for row in tables[name].to_dict("records"):
            key = "/".join(str(row[k]) for k in table.key)
            for field in table.uncertain_fields:
                n = field.name
                records.append(
                    {
                        "table": name,
                        "key": key,
                        "field": n,
                        "central": row[n],
                        "low": row[f"{n}_low"],
                        "high": row[f"{n}_high"],
                        "unit": _figure_unit(table, field, row, units),
                        "source": row[f"{n}_source"],
                    }
                )
    columns = ["table", "key", "field", "central", "low", "high", "unit", "source"]
    figures = pd.DataFrame(records, columns=columns)
    sources = tables["sources"].set_index("source")[["status", "date", "url"]]
    return figures.join(sources, on="source")


if __name__ == "__main__":
    sys.stdout.write(data_guide())
