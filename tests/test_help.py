"""``materiel --help`` and every command's ``--help``: exit 0, one line per option, units and
defaults shown, and ``materiel --version``."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from materiel import __version__
from materiel.cli import app

runner = CliRunner()
ROOT = typer.main.get_command(app)

# Commands whose help text this suite holds to the one-line-per-option rule; the others
# (serve, users, sweep, sensitivity) must still print their help.
OWNED = {
    "simulate",
    "plan",
    "gap",
    "outlook",
    "chokepoints",
    "dependencies",
    "coordination",
    "deterrence",
    "efficiency",
    "report",
    "data",
}
# What the help row of each numeric option must mention (its unit or what it counts).
UNITS = {
    "--budget": "eur/year",
    "--months": "month",
    "--month": "month",
    "--start": "month",
    "--ceasefire-month": "month",
    "--decide-month": "month",
    "--stock-release": "0-1",
    "--fraction": "0-1",
    "--threshold": "ratio",
    "--draws": "draws",
    "--dual-draws": "draws",
    "--target": "share",
    "--eval-draws": "draws",
    "--evpi-draws": "draws",
    "--check-duals": "facilities",
    "--seed": "seed",
    "--rows": "rows",
    "--workers": "workers",
}
WIDTH = "120"


def _commands(group: Any = ROOT, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group under ``group`` (typer's click objects), with its path."""
    found = [(path, group)]
    for name, command in getattr(group, "commands", {}).items():
        found += _commands(command, (*path, name))
    return found


ALL = _commands()
MINE = [(p, c) for p, c in ALL if not p or p[0] in OWNED]


def _help(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"], prog_name="materiel", env={"COLUMNS": WIDTH})
    assert result.exit_code == 0, result.output
    return _plain(result.output)


def _plain(text: str) -> str:
    """Without colour codes (rich adds them when FORCE_COLOR is set)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _rows(text: str) -> list[str]:
    """The lines inside the Arguments and Options panels."""
    rows, inside = [], False
    for line in text.splitlines():
        if line.startswith("╭─ Options") or line.startswith("╭─ Arguments"):
            inside = True
        elif line.startswith("╰"):
            inside = False
        elif inside and line.startswith("│"):
            rows.append(line)
    return rows


def test_every_command_lists_its_commands() -> None:
    names = {" ".join(p) for p, _ in ALL}
    for expected in (*OWNED, "data check", "data sources", "data export", "data import"):
        assert expected in names
    assert len(ALL) >= 20


@pytest.mark.parametrize(("path", "command"), ALL, ids=[" ".join(p) or "materiel" for p, _ in ALL])
def test_help_exits_zero(path: tuple[str, ...], command: Any) -> None:
    text = _help(path)
    assert "Usage: materiel" in text
    assert (command.help or "").strip(), f"{path} has no help text"


@pytest.mark.parametrize(
    ("path", "command"), MINE, ids=[" ".join(p) or "materiel" for p, _ in MINE]
)
def test_one_line_per_option(path: tuple[str, ...], command: Any) -> None:
    """At 120 columns no option's help wraps onto a second line."""
    wrapped = [row for row in _rows(_help(path)) if not row[1:12].strip()]
    assert not wrapped, "\n".join(wrapped)


@pytest.mark.parametrize(
    ("path", "command"), MINE, ids=[" ".join(p) or "materiel" for p, _ in MINE]
)
def test_numeric_options_state_units_and_defaults(path: tuple[str, ...], command: Any) -> None:
    rows = {
        next(word for word in row.split() if word.startswith("-") or word.islower()): row
        for row in _rows(_help(path))
        if row[1:12].strip()
    }
    for param in command.params:
        help_text = getattr(param, "help", None) or ""
        # rich would swallow "[...]" in help text (the bug this suite was written for)
        assert "[" not in help_text, f"{param.name}: use show_default=, not [...] in help"
        if param.param_type_name != "option" or param.is_flag:
            continue
        name = max(param.opts, key=len)
        row = rows[name]
        if param.type_descriptor.annotation in (int, float):
            assert param.metavar, f"{name} needs a metavar naming its unit"
            assert UNITS[name] in row.lower(), f"{name} should mention {UNITS[name]!r}: {row}"
        shows_default = param.default is not None or isinstance(param.show_default, str)
        if shows_default and "Unused" not in help_text:
            assert "[default:" in row, f"{name} should show its default: {row}"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert _plain(result.output).strip() == f"materiel {__version__}"


def test_main_help_states_units() -> None:
    text = _help(())
    assert "EUR" in text and "month" in text
    for name in OWNED:
        assert name in text
