"""``materiel backtest``: replay 2022-2025 and score the model against published facts."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from materiel.cli.app import DataOption, SeedOption, app, out, progress_bar, user_errors

if TYPE_CHECKING:
    from materiel.analysis.backtest import Score

SCENARIO = "history-2022-2025"
LIMITS_ITEM = "shell_155"


def _limits(replay: Any) -> Any:
    """The European 155 mm chain by stage in January of each year and the last month, or
    None if the dataset has no such lines."""
    from materiel.analysis.backtest import limits

    dates = list(replay.result["date"].values)
    months = [0] + [t for t, d in enumerate(dates) if str(d).endswith("-01")] + [len(dates) - 1]
    try:
        return limits(replay, LIMITS_ITEM, "europe", sorted(set(months)))
    except (KeyError, ValueError):
        return None


@app.command()
def backtest(
    draws: Annotated[int, typer.Option(min=1, metavar="<n>", help="Monte Carlo draws.")] = 200,
    seed: SeedOption = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the scorecard as JSON on stdout.")
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", metavar="<file>", help="Write a page with a chart per target."),
    ] = None,
    scenario: Annotated[
        str, typer.Option(metavar="<name|file>", help="Replay scenario.")
    ] = SCENARIO,
    data: DataOption = None,
) -> None:
    """Replay the past and score it: for each published target (the dataset's targets.csv),
    the model's median and p10-p90 over the target's period and whether the median falls
    in the published range. Uses the bundled `historical` dataset unless --data is given.
    """
    with user_errors():
        from materiel.analysis.backtest import Replay, score, summary
        from materiel.io.dataset import load_dataset
        from materiel.model.compiled import compile_model, month_labels
        from materiel.model.events import compile_scenario
        from materiel.scenario import load_scenario
        from materiel.simulation import simulate

        dataset = load_dataset(data if data is not None else "historical")
        if dataset["targets"].empty:
            raise ValueError(
                f"dataset '{dataset.meta.name}' has no targets.csv rows; "
                "use --data historical or add targets"
            )
        model = compile_model(dataset)
        scen = load_scenario(scenario)
        with progress_bar(draws * scen.months, f"replaying {scen.name}", not as_json) as advance:
            result = simulate(model, scen, draws=draws, seed=seed, progress=advance)
        replay = Replay.of(model, compile_scenario(model, scen), result, seed)
        scores = score(replay, dataset["targets"])
        chain = _limits(replay)
        if html is not None:
            page = render_html(scores, month_labels(model.start, scen.months), scen.name, draws)
            write_atomic(html, page)
    counts = summary(scores)
    if as_json:
        payload: dict[str, Any] = {
            "dataset": dataset.meta.name,
            "scenario": scen.name,
            "draws": draws,
            "seed": seed,
            "summary": counts,
            "targets": [s.record() for s in scores],
            "limits": None if chain is None else json.loads(chain.to_json(orient="index")),
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    _print(scores, scen.name, draws)
    if chain is not None:
        t = Table(title=f"What limits European {LIMITS_ITEM} output (units/year, median)")
        t.add_column("stage")
        for col in chain.columns:
            t.add_column(str(col), justify="right")
        for stage, row in chain.iterrows():
            t.add_row(str(stage), *(_num(float(x)) for x in row))
        out.print(t)
    for role, c in sorted(counts.items()):
        out.print(f"{role}: {c['inside']} of {c['total']} targets inside the published range")
    if html is not None:
        out.print(f"Charts written to [bold]{html}[/]")


def _num(x: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def _print(scores: list[Score], name: str, draws: int) -> None:
    t = Table(title=f"backtest: {name} ({draws:,} draws)")
    for col, just in (
        ("target", "left"),
        ("role", "left"),
        ("period", "left"),
        ("unit", "left"),
        ("published", "right"),
        ("model p50 [p10-p90]", "right"),
        ("", "left"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for s in scores:
        t.add_row(
            s.id,
            s.role[:5],
            s.period,
            s.unit,
            f"{_num(s.low)}-{_num(s.high)}",
            f"{_num(s.median)} [{_num(s.p10)}-{_num(s.p90)}]",
            "inside" if s.inside else "[red]outside[/]",
        )
    out.print(t)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder (no partial
    file on a crash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_html(scores: list[Score], dates: list[str], name: str, draws: int) -> str:
    """A self-contained page (Plotly inline, no CDN): the scorecard and, per target, the
    model's p10-p90 band and median over time against the published range."""
    import html as esc

    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    rows, charts = [], []
    for k, s in enumerate(scores):
        rows.append(
            f"<tr><td><a href='#t{k}'>{esc.escape(s.id)}</a></td><td>{s.role}</td>"
            f"<td>{esc.escape(s.period)}</td><td>{esc.escape(s.unit)}</td>"
            f"<td>{_num(s.low)}-{_num(s.high)}</td>"
            f"<td>{_num(s.median)} [{_num(s.p10)}-{_num(s.p90)}]</td>"
            f"<td class='{'in' if s.inside else 'out'}'>{'inside' if s.inside else 'outside'}"
            "</td></tr>"
        )
        p10, p50, p90 = (list(map(float, b)) for b in s.band)
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=dates, y=p90, line={"width": 0}, showlegend=False))
        fig.add_trace(
            go.Scatter(x=dates, y=p10, fill="tonexty", line={"width": 0}, name="model p10-p90")
        )
        fig.add_trace(go.Scatter(x=dates, y=p50, name="model median", line={"color": "black"}))
        x0, x1 = dates[s.first], dates[s.last]
        fig.add_shape(
            type="rect",
            x0=x0,
            x1=x1,
            y0=s.low,
            y1=s.high,
            line={"color": "firebrick"},
            fillcolor="rgba(178,34,34,0.25)",
        )
        fig.add_trace(
            go.Scatter(
                x=[x0, x1, x1, x0, x0],
                y=[s.low, s.low, s.high, s.high, s.low],
                mode="lines",
                line={"color": "firebrick"},
                name="published range",
            )
        )
        fig.update_layout(
            title=f"{s.id} ({s.role}): {s.quantity}",
            yaxis_title=s.unit,
            height=360,
            margin={"l": 60, "r": 20, "t": 50, "b": 40},
        )
        charts.append(
            f"<h3 id='t{k}'>{esc.escape(s.id)}</h3><p>source {esc.escape(s.source)}</p>"
            + pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=f"plot-{k}")
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>materiel backtest: {esc.escape(name)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px}"
        ".in{color:green}.out{color:firebrick}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>"
        f"<h1>Backtest: {esc.escape(name)} ({draws:,} draws)</h1>"
        "<p>Model band: p10-p90 and median of each target's quantity month by month (rates per "
        "month in the target's unit; totals, ratios and shares accumulated from the start of "
        "the target's period). Red box: the published range over the target's period.</p>"
        "<table><tr><th>target</th><th>role</th><th>period</th><th>unit</th>"
        "<th>published</th><th>model p50 [p10-p90]</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
        + "".join(charts)
        + "</body></html>"
    )
