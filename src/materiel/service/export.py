"""Export a run's results: one table as CSV, every table as Excel, or a self-contained HTML
report (plotly.js inlined from the installed package: it opens offline)."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from fastapi import HTTPException
from fastapi.responses import Response

from materiel.service.analyses import figure_json
from materiel.service.results import TABLE_TITLES, Tables, run_figures, safe_figures, table_frame
from materiel.store import runs as run_store
from materiel.store.models import Run

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from materiel.service.context import Context

STATIC = Path(str(resources.files("materiel") / "service" / "static"))
PLOTLY_JS = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


def run_metadata(run: Run) -> dict[str, Any]:
    """The provenance of a run, as shown in exports."""
    return {
        "run": run.id,
        "kind": run.kind,
        "scenario": run.scenario,
        "scenario_version": run.scenario_version or "",
        "status": run.status,
        "inputs_hash": run.inputs_hash,
        "dataset": run.dataset_name,
        "dataset_version": run.dataset_version,
        "dataset_digest": run.dataset_digest,
        "package_version": run.package_version,
        "seed": run.seed,
        "draws": run.draws,
        "months": run.months,
        "parameters": json.dumps(run.parameters, sort_keys=True),
        "created_by": run.created_by,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else "",
    }


def default_table(run: Run) -> str:
    return "investments" if run.kind == "plan" else "summary"


def format_sheet(sheet: Worksheet, frame: pd.DataFrame) -> None:
    """Bold header, frozen header row, column widths from the content, thousands separators
    on numbers (percent format for 0-1 share columns)."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    for j, column in enumerate(frame.columns, start=1):
        sheet.cell(row=1, column=j).font = Font(bold=True)
        values = frame[column]
        width = max([len(str(column))] + [len(str(v)) for v in values.head(200)])
        sheet.column_dimensions[get_column_letter(j)].width = min(max(width, 6) + 2, 50)
        if values.dtype.kind in "fi":
            share = str(column).endswith(("share", "_p")) or str(column).startswith("p_")
            fmt = "0.0%" if share else ("#,##0" if values.dtype.kind == "i" else "#,##0.00")
            for row in range(2, len(frame) + 2):
                sheet.cell(row=row, column=j).number_format = fmt


def xlsx_bytes(run: Run, tables: Tables) -> bytes:
    """Every table of a run, one formatted sheet each, after a sheet of its provenance."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        meta = pd.DataFrame(
            [(k, str(v)) for k, v in run_metadata(run).items()], columns=["field", "value"]
        )
        meta.to_excel(writer, sheet_name="run", index=False)
        format_sheet(writer.sheets["run"], meta)
        for name in tables:
            frame = table_frame(tables, name)
            if not frame.empty:
                frame.to_excel(writer, sheet_name=name[:31], index=False)
                format_sheet(writer.sheets[name[:31]], frame)
    return buffer.getvalue()


def report_html(ctx: Context, run: Run, tables: Tables) -> str:
    template = ctx.templates.get_template("report.html")
    frames = {
        name: table_frame(tables, name)
        for name in tables
        if name not in ("by_month", "production", "shortfall_by_month", "cost")
    }
    return template.render(
        run=run,
        meta=run_metadata(run),
        figures=safe_figures(lambda: [(k, figure_json(f)) for k, f in run_figures(run, tables)]),
        tables={k: v for k, v in frames.items() if not v.empty},
        titles=TABLE_TITLES,
        plotly_js=PLOTLY_JS.read_text(encoding="utf-8").replace("</script", "<\\/script"),
        css=(STATIC / "style.css").read_text(encoding="utf-8"),
    )


def export_response(ctx: Context, run: Run, fmt: str, table: str | None) -> Response:
    """The export of ``run`` in ``fmt`` ('csv', 'xlsx' or 'html') as a download."""
    if run.status != "succeeded":
        raise HTTPException(409, f"run {run.id} has no results: it is {run.status}")
    tables = run_store.get_results(ctx.store, run.id)
    stem = f"materiel-run-{run.id}"
    if fmt == "csv":
        name = table or default_table(run)
        if name not in tables:
            raise HTTPException(404, f"no table '{name}' in run {run.id}: {', '.join(tables)}")
        body: bytes | str = table_frame(tables, name).to_csv(index=False)
        filename = f"{stem}-{name}.csv"
    elif fmt == "xlsx":
        body, filename = xlsx_bytes(run, tables), f"{stem}.xlsx"
    else:
        body, filename = report_html(ctx, run, tables), f"{stem}-report.html"
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
