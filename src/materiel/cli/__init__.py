"""Command-line interface: ``materiel --help``. Each command lives in its own module."""

from materiel.cli import analyses as _analyses  # noqa: F401  (gap, outlook, chokepoints, ...)
from materiel.cli import backtest as _backtest  # noqa: F401  (registers `materiel backtest`)
from materiel.cli import data as _data  # noqa: F401  (registers `materiel data`)
from materiel.cli import plan as _plan  # noqa: F401  (registers the command)
from materiel.cli import report as _report  # noqa: F401  (registers `materiel report`)
from materiel.cli import serve as _serve  # noqa: F401  (registers serve, users)
from materiel.cli import simulate as _simulate  # noqa: F401  (registers the command)
from materiel.cli import sweep as _sweep  # noqa: F401  (registers sweep, sensitivity)
from materiel.cli.app import app
from materiel.cli.exit import main

__all__ = ["app", "main"]
