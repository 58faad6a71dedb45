"""``materiel report SCENARIO --html FILE``: every analysis in one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from materiel.cli.app import DataOption, SeedOption, app, err, out, user_errors


@app.command(
    rich_help_panel="Analyses",
    short_help="Every analysis in one self-contained HTML report (opens offline).",
)
def report(
    scenario: Annotated[
        str, typer.Argument(help="Bundled scenario name (e.g. imposed-deal) or a YAML file.")
    ],
    html: Annotated[
        Path,
        typer.Option(
            "--html", metavar="<file.html>", help="Report to write (self-contained, offline)."
        ),
    ],
    png_dir: Annotated[
        Path | None,
        typer.Option(
            "--png-dir", metavar="<dir>", help="Also write one static PNG per analysis here."
        ),
    ] = None,
    draws: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="<n>",
            help="Monte Carlo draws for gap, outlook and deterrence.",
        ),
    ] = 200,
    seed: SeedOption = 0,
    data: DataOption = None,
) -> None:
    """Write a self-contained HTML report (plots embedded, opens offline) with every analysis,
    the sources of the data used and the run metadata."""
    with user_errors():
        from materiel.io.atomic import check_writable, write_text
        from materiel.io.dataset import load_dataset
        from materiel.model.compiled import compile_model
        from materiel.reporting import build_report, render_html
        from materiel.scenario import load_scenario

        if html.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"--html must end in .html, got '{html.name}'")
        check_writable(html)
        scen = load_scenario(scenario)
        model = compile_model(load_dataset(data))
        with err.status("starting") as status:
            result = build_report(
                model,
                scen,
                draws=draws,
                seed=seed,
                progress=lambda name: status.update(f"report {scen.name}: {name}"),
            )
            status.update("rendering HTML")
            text = render_html(result)
        write_text(html, text)
        if png_dir is not None:
            from materiel.reporting.static import save_png

            png_dir.mkdir(parents=True, exist_ok=True)
            for section in result.sections:
                if section.table is not None:
                    save_png(
                        section.spec.static(section.table), png_dir / f"{section.spec.name}.png"
                    )
    for section in result.sections:
        if section.error:
            err.print(f"[yellow]warning:[/] {section.spec.name} not computed: {section.error}")
    out.print(f"Report written to [bold]{html}[/] ({len(text) / 1e6:.1f} MB)")
    if png_dir is not None:
        out.print(f"Static plots in [bold]{png_dir}[/]")
