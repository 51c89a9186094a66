"""Klaviyo's revisions we hold, in the order they were published, and the upgrade flow a user
of the generated client goes through: generate one revision, then regenerate the next over it.

:func:`upgrades` runs that flow once for every consecutive pair (and for the whole chain
2022 → … → 2026-07-15) and records, for every output, its public type names (from the record
it wrote, ``api-surface.json``) and which names are importable from its
``klaviyo_client.models`` (tried in a fresh interpreter).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.compiled import compile_package
from tests.support.gencache import generated

STABLE = [
    "revisions/klaviyo-stable-2022-10-17.json",
    "revisions/klaviyo-stable-2023-07-15.json",
    "revisions/klaviyo-stable-2024-07-15.json",
    "revisions/klaviyo-stable-2025-01-15.json",
    "klaviyo-stable-2026-04-15.json",
    "klaviyo-stable-2026-07-15.json",
]
BETA = "revisions/klaviyo-beta-2026-07-15.pre.json"
# Consecutive stable revisions by date; the beta of 2026-07-15 was published after the
# 2026-04-15 stable and is followed by the 2026-07-15 stable: both of its neighbours are checked.
PAIRS = [*itertools.pairwise(STABLE), (STABLE[4], BETA), (BETA, STABLE[5])]
CHECKED = (STABLE[3], STABLE[4])
"""The upgrade regenerated as the command line does it (ruff, then the import check): the one
that keeps the most names, whose output tests/e2e/test_names.py lints and type-checks. The
others are built in-process without those two steps (:func:`tests.support.packages.build`):
what they are checked for is their record and what their ``klaviyo_client.models`` imports,
tried in a fresh interpreter here."""


def short(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].removesuffix(".json").removeprefix("klaviyo-")


def pair_id(pair: tuple[str, str]) -> str:
    return f"{short(pair[0])}→{short(pair[1])}"


@dataclass
class Output:
    """One generated package."""

    folder: Path
    spec: str
    """The spec it was generated from (relative to the shared specs)."""
    stderr: str
    types: dict[str, Any]
    """The public type names of its current API, as its record lists them."""
    importable: set[str] = field(default_factory=set)
    """The names (of every output's) importable from its ``klaviyo_client.models``."""

    @property
    def carried(self) -> set[str]:
        return {n for n, e in self.types.items() if "carried" in e}


@dataclass
class Upgrades:
    fresh: dict[str, Output]
    """Each revision generated into an empty folder."""
    over: dict[tuple[str, str], Output]
    """NEW generated over a copy of the fresh OLD output, for every pair."""
    chain: list[Output]
    """STABLE[0] fresh, then each next stable revision generated over the one before."""
    seconds: float
    """Time the generations over earlier outputs and the imports took."""


def _record(folder: Path) -> dict[str, Any]:
    data = json.loads((folder / "api-surface.json").read_text(encoding="utf-8"))
    types: dict[str, Any] = data["apis"]["current"]["types"]
    return types


def _over(
    pytestconfig: Any, base: Output, spec: Path, target: Path, *, checked: bool = False
) -> Output:
    """``spec`` generated over a copy of ``base`` (once per run and generator source: a
    generation of :mod:`tests.support.gencache`, keyed on the files of ``base`` too)."""
    runner = "generate" if checked else "build"
    result = generated(
        pytestconfig, ["--current", str(spec)], target, runner=runner, over=base.folder
    )
    assert result.exit_code == 0, (spec.name, result.output, result.exception)
    # for the one interpreter that imports its names: the modules of its models
    compile_package(pytestconfig, target / "src", only=("klaviyo_client/models",))
    return Output(target, spec.name, result.stderr, _record(target))


# Runs in a fresh interpreter: stdin = {"roots": [...], "names": [...]}; for each root (a
# generated `src`), the names importable from klaviyo_client.models (one JSON list a line).
IMPORTABLE = r"""
import importlib, json, sys
job = json.loads(sys.stdin.read())
for root in job["roots"]:
    for name in [m for m in sys.modules if m.split(".")[0] == "klaviyo_client"]:
        del sys.modules[name]
    sys.path.insert(0, root)
    models = importlib.import_module("klaviyo_client.models")
    found = []
    for name in job["names"]:
        try:
            getattr(models, name)
        except AttributeError:
            continue
        found.append(name)
    sys.path.remove(root)
    print(json.dumps(found))
"""


def _importable(outputs: list[Output]) -> None:
    names = sorted(set().union(*(o.types for o in outputs)))
    roots = [str(o.folder / "src") for o in outputs]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    proc = subprocess.run(
        [sys.executable, "-B", "-c", IMPORTABLE],
        input=json.dumps({"roots": roots, "names": names}),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == len(outputs)
    for output, line in zip(outputs, lines, strict=True):
        output.importable = set(json.loads(line))


def upgrades(
    pytestconfig: Any, specs_dir: Path, fresh: dict[str, tuple[Path, str]], work: Path
) -> Upgrades:
    """The upgrade flow for every pair and the chain. ``fresh``: each revision's fresh output
    by file stem (generated with default flags)."""
    started = time.perf_counter()
    revisions = sorted({*STABLE, BETA})
    first = {
        rel: Output(fresh[Path(rel).stem][0], rel, fresh[Path(rel).stem][1], {})
        for rel in revisions
    }
    for output in first.values():
        output.types = _record(output.folder)
    over: dict[tuple[str, str], Output] = {}
    for old, new in PAIRS:
        target = work / f"over-{pair_id((old, new))}"
        over[(old, new)] = _over(
            pytestconfig, first[old], specs_dir / new, target, checked=(old, new) == CHECKED
        )
    chain = [first[STABLE[0]], over[(STABLE[0], STABLE[1])]]
    for rel in STABLE[2:]:
        chain.append(_over(pytestconfig, chain[-1], specs_dir / rel, work / f"chain-{short(rel)}"))
    every = {id(o): o for o in [*first.values(), *over.values(), *chain]}
    _importable(list(every.values()))
    return Upgrades(first, over, chain, time.perf_counter() - started)
