"""Griffe extension for the API reference: the docstrings use reStructuredText roles
(``:func:`name```, ``:class:`~pkg.Name```) and double backticks, which Markdown would show
as they are; render them as inline code instead."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):`~?([^`]+)`")


class RstRoles(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(r"`\1`", obj.docstring.value).replace("``", "`")
