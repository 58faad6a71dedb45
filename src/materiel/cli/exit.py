"""The console entry point: run the CLI, then leave without tearing the interpreter down.

Once a command has finished, Python's shutdown still frees every module and object it
loaded, one by one: about 0.5 s after ``materiel simulate`` (numba, llvmlite, pandas,
xarray, netCDF4), a sixth of the whole command, for nothing the operating system would not
do at once. :func:`main` lets shutdown proceed as usual up to the exit handlers: threads are
joined and every exit handler registered while the command ran is called (Dask, xarray's
file manager, numba, weakref finalizers: they run last-registered first, and :func:`main`
registers its own before the command starts, so they all run before it). Then logging is
shut down, stdout and stderr are flushed and the process ends with the command's exit code
(``os._exit``), skipping the module teardown. mypy's ``util.hard_exit`` does the same.
In-process callers (tests, ``CliRunner``) call :data:`materiel.cli.app` and are unaffected.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys


def _leave(code: list[int]) -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken: nothing to write
            stream.flush()
    os._exit(code[0])


def _code(value: object) -> int:
    """The process exit code of ``SystemExit(value)`` (as Python computes it)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return 1  # Python prints a non-integer value to stderr and exits with 1


def main() -> None:
    """Run ``materiel`` (pyproject's console script and ``python -m materiel``)."""
    from materiel.cli.app import app

    code = [1]  # an uncaught exception: Python prints it, then exits with 1
    atexit.register(_leave, code)
    try:
        app()
    except SystemExit as done:
        code[0] = _code(done.code)
        raise
    except KeyboardInterrupt:
        code[0] = 130  # as a shell reports a process stopped by Ctrl-C
        raise
    else:
        code[0] = 0
