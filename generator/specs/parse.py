"""Parsing spec files (JSON or YAML) into plain JSON data, with a checksum.

Every problem is a :class:`SpecError` naming the file and a JSON pointer.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError, pointer
from .lookup import Source, find

MAX_DEPTH = 100
"""Deepest JSON nesting accepted (Klaviyo's specs reach 18)."""
MAX_NODES = 5_000_000
"""Most values a (YAML) document may expand to (aliases can multiply a small file)."""


@dataclass
class LoadedSpec:
    """A parsed spec document and where it came from."""

    path: Path
    label: str
    doc: dict[str, Any]
    sha256: str
    source: Source | None
    by_name: bool = True


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_document(path: Path, label: str | None = None) -> tuple[dict[str, Any], str]:
    """Parse a JSON or YAML spec file; return the document and its sha256."""
    label = label or str(path)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(label, "#", f"not UTF-8 text (byte {exc.start})") from None
    stripped = text.lstrip()
    doc: Any
    if path.suffix.lower() == ".json" or stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise SpecError(
                label, "#", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except ValueError as exc:
            raise SpecError(label, "#", str(exc)) from None
        except RecursionError:
            raise SpecError(
                label, _deep_pointer(text), f"nested deeper than {MAX_DEPTH} levels"
            ) from None
    else:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            doc = yaml.load(text, Loader=loader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SpecError(label, "#", f"invalid YAML{where}: {problem}") from None
        except RecursionError:
            raise SpecError(label, "#", f"nested deeper than {MAX_DEPTH} levels") from None
        doc = _jsonify(doc, label)
    if not isinstance(doc, dict):
        raise SpecError(label, "#", f"a spec must be an object, got {type(doc).__name__}")
    return doc, digest


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]')


def _deep_pointer(text: str) -> str:
    """Where a JSON text first nests deeper than :data:`MAX_DEPTH` (for the error message)."""
    stack: list[list[Any]] = []  # [kind, current key or index, expecting a key]
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        top = stack[-1] if stack else None
        if token in "{[":
            if len(stack) >= MAX_DEPTH:
                return pointer([frame[1] for frame in stack])
            stack.append([token, 0 if token == "[" else "", token == "{"])
        elif token in "}]":
            if stack:
                stack.pop()
        elif token == ",":
            if top is not None and top[0] == "[":
                top[1] += 1
            elif top is not None:
                top[2] = True
        elif token == ":":
            if top is not None:
                top[2] = False
        elif top is not None and top[0] == "{" and top[2]:
            try:
                top[1] = json.loads(token)
            except ValueError:
                top[1] = token
    return "#"


def _jsonify(node: Any, label: str) -> Any:
    """A YAML document as JSON data: string keys, dates as ISO text; nothing else non-JSON."""
    budget = MAX_NODES
    root: list[Any] = [node]
    stack: list[tuple[Any, Any, list[Any]]] = [(root, 0, [])]
    while stack:
        parent, key, at = stack.pop()
        value = parent[key]
        budget -= 1
        if budget < 0:
            raise SpecError(label, "#", f"more than {MAX_NODES} values (YAML aliases?)")
        if len(at) > MAX_DEPTH:
            raise SpecError(
                label, pointer(at[:MAX_DEPTH]), f"nested deeper than {MAX_DEPTH} levels"
            )
        if isinstance(value, dict):
            copy: dict[str, Any] = {}
            for k, v in value.items():
                name = k.isoformat() if isinstance(k, (_dt.date, _dt.datetime)) else k
                if isinstance(name, bool) or not isinstance(name, (str, int, float)):
                    raise SpecError(label, pointer(at), f"a key must be text, got {k!r}")
                copy[str(name).lower() if isinstance(name, bool) else str(name)] = v
            parent[key] = copy
            stack.extend((copy, k, [*at, k]) for k in copy)
        elif isinstance(value, list):
            items = list(value)
            parent[key] = items
            stack.extend((items, i, [*at, i]) for i in range(len(items)))
        elif isinstance(value, (_dt.date, _dt.datetime)):
            parent[key] = value.isoformat()
        elif isinstance(value, float) and not math.isfinite(value):
            raise SpecError(label, pointer(at), f"{value!r} is not a JSON value")
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            raise SpecError(label, pointer(at), f"{type(value).__name__} is not a JSON value")
    return root[0]


def load(
    file: str,
    spec_dir: str | os.PathLike[str] | None = None,
    sources: Sequence[Source] = (),
) -> LoadedSpec:
    """Locate, parse and (for files found by name and listed in sources.yaml) checksum a spec.

    Validation is separate (:func:`check_basics`, normalization, then :func:`validate`).
    """
    path, by_name = find(file, spec_dir)
    label = path.name
    doc, digest = parse_document(path, label)
    source = next((s for s in sources if s.file == path.name), None)
    if by_name and source is not None and source.sha256 and digest != source.sha256:
        raise SpecError(
            label,
            "#",
            f"sha256 {digest} does not match specs/sources.yaml ({source.sha256}); "
            "the file changed: verify it, then update sources.yaml (or pass its path "
            "explicitly to use it as it is)",
        )
    return LoadedSpec(
        path=path, label=label, doc=doc, sha256=digest, source=source, by_name=by_name
    )
