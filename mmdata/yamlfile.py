"""Reading YAML files with bounded time and memory: the one YAML reader of user-supplied files.

PyYAML's ``safe_load`` builds a shared node for every alias, so a file of a few hundred bytes with
nested aliases (the "billion laughs": 9 levels of 9 aliases to the level below) loads quickly, but
every later walk of the result (validation, merging, hashing, dumping) visits 9**9 values. This
reader refuses such a file while it is being composed: it counts the nodes the document would have
with every alias expanded and stops past :data:`MAX_NODES`. It also refuses, with a message naming
the file (and the key and line where that applies):

- a file larger than :data:`MAX_BYTES`, before reading it;
- bytes that are not UTF-8 (a binary file), before parsing anything;
- a key given twice in one mapping (YAML says keys are unique; PyYAML silently keeps the last);
- an alias to a node that contains it (a recursive structure, which no configuration needs);
- nesting deeper than :data:`MAX_DEPTH` levels (every later walk of the values recurses).

Example:
    >>> from mmdata.yamlfile import parse_yaml
    >>> parse_yaml("a: &x [1, 2]\\nb: *x\\n", "example.yaml")
    {'a': [1, 2], 'b': [1, 2]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mmdata.errors import ConfigError, MotionMagError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "read_yaml", "parse_yaml"]

#: Largest YAML file read, in bytes (the project's configs are a few kilobytes).
MAX_BYTES = 4 * 1024 * 1024
#: Most nodes (scalars, sequences and mappings) of a document with every alias expanded.
MAX_NODES = 200_000
#: Deepest nesting of sequences and mappings, aliases expanded.
MAX_DEPTH = 64

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(yaml.YAMLError):
    """Raised inside the loader; turned into the caller's error class with the file's name."""


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that bounds the expanded size and depth, and refuses duplicate keys and recursive aliases."""

    def __init__(self, stream: str, max_nodes: int) -> None:
        super().__init__(stream)
        self._max_nodes = max_nodes
        self._nodes = 0  # nodes composed so far, aliases counted with their expanded size
        self._depth = 0  # nesting of the node being composed
        self._measured: dict[int, tuple[int, int]] = {}  # id(node) -> (size, depth) with aliases expanded
        self._open: set[str] = set()  # anchors whose node is still being composed
        self._checked: set[int] = set()  # ids of the mappings whose keys were checked

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise _Refused(f"line {line}: alias *{event.anchor} refers to a node that contains it (recursive)")
            node = super().compose_node(parent, index)
            if node is not None:  # an alias always names a composed node
                size, depth = self._measure(node)
                self._check(size, self._depth + depth, line)
            return node
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        self._check(1, self._depth + 1, line)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor)

    def _check(self, nodes: int, depth: int, line: int) -> None:
        self._nodes += nodes
        if self._nodes > self._max_nodes:
            raise _Refused(
                f"line {line}: more than {self._max_nodes} values with its aliases expanded "
                "(nested aliases, e.g. a 'billion laughs' file?)"
            )
        if depth > MAX_DEPTH:
            raise _Refused(f"line {line}: nested more than {MAX_DEPTH} levels deep")

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """(nodes, depth) of ``node``'s subtree with every alias expanded; memoized, as anchored nodes stay alive."""
        known = self._measured.get(id(node))
        if known is not None:
            return known
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        measured = [self._measure(child) for child in children]
        result = (1 + sum(m[0] for m in measured), 1 + max((m[1] for m in measured), default=0))
        self._measured[id(node)] = result
        return result

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # Called on every mapping before its merge keys (<<) are folded in: check its own keys then.
        if id(node) not in self._checked:
            self._checked.add(id(node))
            self._check_unique(node)
        super().flatten_mapping(node)

    def _check_unique(self, node: yaml.MappingNode) -> None:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeConstructor refuses it below
                continue
            if first is not None:
                raise _Refused(f"duplicate key {key!r} at line {line} (first given at line {first})")
            seen[key] = line


def parse_yaml(text: str, name: str, *, error: type[MotionMagError] = ConfigError, max_nodes: int = MAX_NODES) -> Any:
    """Parse one YAML document from ``text`` (read from ``name``, which errors name).

    Args:
        text: the document.
        name: the file (or other origin) named in error messages.
        error: the error class raised (a :class:`~mmdata.errors.MotionMagError`).
        max_nodes: most nodes of the document with every alias expanded.

    Returns:
        The document as plain Python values (``None`` for an empty document).

    Raises:
        error: not valid YAML, a duplicate key, a recursive alias, or more than ``max_nodes``
            values; the message names ``name`` (and the key and line where that applies).
    """
    try:
        loader = _BoundedLoader(text, max_nodes)  # PyYAML's reader checks the characters here
    except yaml.YAMLError as exc:
        raise error(f"{name}: not valid YAML ({' '.join(str(exc).split()).replace('<unicode string>', name)})") from None
    loader.name = name  # marks in PyYAML's messages name the file, not "<unicode string>"
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise error(f"{name}: {exc}") from None
    except RecursionError:
        raise error(f"{name}: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}" if exc.problem_mark else ""
        raise error(f"{name}: not valid YAML ({exc.context + ': ' if exc.context else ''}{exc.problem}{where})") from None
    except yaml.YAMLError as exc:
        raise error(f"{name}: not valid YAML ({' '.join(str(exc).split())})") from None
    finally:
        loader.dispose()


def read_yaml(
    path: str | Path, *, error: type[MotionMagError] = ConfigError, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES
) -> Any:
    """Read and parse a YAML file: size checked first, then UTF-8 decoding, then bounded parsing.

    Raises:
        error: the file is missing, larger than ``max_bytes``, not UTF-8, or refused by
            :func:`parse_yaml`; the message names ``path``.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise error(f"{path}: larger than {max_bytes} bytes; expected a small YAML file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a UTF-8 text file (undecodable byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    return parse_yaml(text, str(path), error=error, max_nodes=max_nodes)
