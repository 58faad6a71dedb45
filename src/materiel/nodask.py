"""Keep xarray from importing Dask in a process that has not imported it (issue 17).

When Dask is installed, xarray imports ``dask`` and ``dask.array`` (0.4 s, 30 MB) the first
time it builds a Variable or checks whether an array is a Dask collection, even if nothing
in the process ever uses Dask. Both checks ask "is this object a Dask array/collection?",
and no object can be one before ``dask`` has been imported. :func:`defer_dask` makes the two
checks answer exactly that: False while ``dask`` is not imported, and xarray's own answer
once it is (so Dask-backed runs, e.g. ``materiel sweep`` on a cluster, are unaffected).

It changes two functions of xarray's private modules (``xarray.namedarray.pycompat`` and
``xarray.namedarray.utils``, xarray 2024.6 to 2026.x); with another layout it does nothing.
The command line calls :func:`defer_dask_on_import` (:mod:`materiel.cli.app`); nothing
happens on import of this module.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any


class _LazyDaskArrayType(type):
    """Metaclass whose ``isinstance`` is ``isinstance(obj, dask.array.Array)`` when
    ``dask.array`` is imported, else False (no Dask array can exist yet)."""

    def __instancecheck__(cls, obj: object) -> bool:
        array = getattr(sys.modules.get("dask.array"), "Array", None)
        return array is not None and isinstance(obj, array)


class DaskArray(metaclass=_LazyDaskArrayType):
    """Stands for ``dask.array.Array`` in xarray's type checks without importing it."""


class _DeferredDaskModule:
    """What xarray caches about the ``dask`` module, looked up only when asked for."""

    type = (DaskArray,)

    @property
    def module(self) -> Any:
        return sys.modules.get("dask")

    @property
    def available(self) -> bool:
        return "dask" in sys.modules

    @property
    def version(self) -> Any:
        from packaging.version import Version

        return Version(getattr(self.module, "__version__", "0.0.0"))


def defer_dask() -> bool:
    """Make xarray's Dask checks import nothing while ``dask`` is not imported; True if
    they were changed (xarray as expected, Dask not imported yet), else False. Idempotent."""
    if "dask" in sys.modules:
        return False
    try:
        from xarray.namedarray import pycompat
        from xarray.namedarray import utils as namedarray_utils
    except ImportError:
        return False
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    original = getattr(namedarray_utils, "is_dask_collection", None)
    if not isinstance(cache, dict) or original is None:
        return False
    if getattr(original, "_materiel_deferred", False):
        return True
    cache.setdefault("dask", _DeferredDaskModule())

    def is_dask_collection(x: object) -> bool:
        """xarray's check, skipped (False) while ``dask`` is not imported."""
        return "dask" in sys.modules and bool(original(x))

    is_dask_collection._materiel_deferred = True  # type: ignore[attr-defined]
    setattr(namedarray_utils, "is_dask_collection", is_dask_collection)  # noqa: B010
    return True


class _AfterXarray(MetaPathFinder):
    """Finds ``xarray`` through the other finders and calls :func:`defer_dask` once its
    package has been executed; removes itself on first use."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name != "xarray":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            defer_dask()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def defer_dask_on_import() -> None:
    """:func:`defer_dask` now if xarray is imported, else right after it is (without
    importing it here, so commands that never use xarray stay light). Idempotent."""
    if "xarray" in sys.modules:
        defer_dask()
    elif not any(isinstance(f, _AfterXarray) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterXarray())
