"""MkDocs hook: ``<!-- cli: COMMAND -->`` in a page becomes the table of that command's
arguments and options, read from the typer app itself, so the user guide never drifts from
``materiel COMMAND --help``."""

from __future__ import annotations

import re
from typing import Any

import typer
import typer.main

from materiel.cli import app

PLACEHOLDER = re.compile(r"<!--\s*cli:\s*([a-z][a-z ]*?)\s*-->")


def command(path: str) -> Any:
    """The click command of ``materiel PATH`` (e.g. ``"data sources"``)."""
    found: Any = typer.main.get_command(app)
    for name in path.split():
        found = found.commands[name]
    return found


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _value(param: Any, ctx: typer.Context) -> str:
    if getattr(param, "is_flag", False):
        return ""
    shown = param.metavar or param.display_type(ctx).replace(" range", "")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        shown += f" {low}–{high}"
    elif low is not None:
        shown += f" ≥ {low}"
    elif high is not None:
        shown += f" ≤ {high}"
    return _code(shown)


def _default(param: Any) -> str:
    if getattr(param, "required", False):
        return "required"
    if isinstance(param.show_default, str):
        return param.show_default
    if getattr(param, "is_flag", False):
        return "on" if param.default else "off"
    return "" if param.default is None else _code(str(param.default))


def _name(param: Any) -> str:
    if param.param_type_name == "argument":
        return _code(param.name.upper())
    names = sorted(param.opts, key=lambda o: (not o.startswith("--"), o))
    text = ", ".join(_code(n) for n in names)
    if param.secondary_opts:
        text += " / " + ", ".join(_code(n) for n in param.secondary_opts)
    return text


def options_table(path: str) -> str:
    """A Markdown table of the arguments and options of ``materiel PATH``."""
    cmd = command(path)
    ctx = typer.Context(cmd, info_name=path)
    rows = ["| argument or option | value | default | meaning |", "|---|---|---|---|"]
    for param in cmd.params:
        cells = [_name(param), _value(param, ctx), _default(param), param.help or ""]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return PLACEHOLDER.sub(lambda m: options_table(m.group(1)), markdown)
