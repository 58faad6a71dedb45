"""YAML from users, read with bounds: size, nesting depth, node count and no aliases are
checked on the parser's event stream (which needs no recursion) before any object is built,
so a deep or huge document is a clear error, never a RecursionError or a memory spike."""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 64 * 1024
MAX_DEPTH = 32
MAX_NODES = 5_000


class YamlLimitError(ValueError):
    """A YAML document beyond the size, depth or node limits, or using aliases."""


def load_bounded(
    text: str,
    what: str = "the YAML",
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Any:
    """``yaml.safe_load(text)`` within the limits; raises :class:`YamlLimitError` (naming
    ``what``) past a limit and ``yaml.YAMLError`` for invalid YAML."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise YamlLimitError(f"{what} is {size:,} bytes; at most {max_bytes:,} are allowed")
    depth = nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise YamlLimitError(f"{what} uses anchors or aliases ('&', '*'), not allowed here")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > max_depth:
                raise YamlLimitError(
                    f"{what} is nested more than {max_depth} levels deep; flatten it"
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > max_nodes:
                raise YamlLimitError(f"{what} has more than {max_nodes:,} values")
    return yaml.safe_load(text)
