"""The generator installed alone (``pip install <checkout>``: its own dependencies, none of the
dev pins, no optional backend of the package it writes) generates from the default specs, and
the package it writes installs alone (no extras) and imports.

Two fresh virtual environments; pip uses its cache and the package index (the only network).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator import specs
from tests.conftest import ROOT, need_spec

PIP_TIMEOUT = 900
"""Longest one pip command may take: installing the generator's dependencies (openapi-python-
client, ruff, pydantic, …) from pip's cache on a loaded machine takes minutes."""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3 * PIP_TIMEOUT)]


def _run(cmd: list[str], cwd: Path | None = None, **env: str) -> str:
    """Run a command; its output, or a failure showing it."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env={**environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **env},
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout


def _venv(where: Path) -> Path:
    """A fresh virtual environment (no system site-packages, no pip: :func:`_install` puts
    packages in with this interpreter's pip); its python."""
    _run([sys.executable, "-m", "venv", "--without-pip", str(where)])
    return where / "bin" / "python"


def _install(python: Path, what: Path) -> None:
    """``pip install what`` into the environment of ``python`` (pip's ``--python``: the pip
    running this suite, so the environment need not hold a pip of its own). ``--no-compile``:
    the installed modules are compiled when first imported, and only those."""
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    _run([*pip, "install", "--quiet", "--no-compile", str(what)])


def _absent(python: Path, *names: str) -> None:
    """None of these packages is importable by ``python`` (what the test is about)."""
    check = f"import importlib.util as u; print([n for n in {names!r} if u.find_spec(n)])"
    assert _run([str(python), "-c", check]).strip() == "[]"


def test_the_generator_installed_alone_generates_a_package_that_installs_alone(
    tmp_path: Path,
) -> None:
    for source in specs.load_sources():
        if source.role in ("current", "legacy"):
            need_spec(source.file)  # skipped, saying where it looked, when one is not found
    gen = _venv(tmp_path / "generator-venv")
    _install(gen, ROOT)
    _absent(gen, "aiohttp", "redis", "yarl", "pytest")
    out = tmp_path / "out"
    # The default specs, found as the CLI finds them from here ($KLAVIYO_SPEC_DIR,
    # ./.spec-cache, ../shared/specs): the same lookup the tests use.
    codegen = gen.parent / "klaviyo-codegen"
    done = _run([str(codegen), "generate", "--out", str(out)], cwd=Path.cwd())
    assert (out / "src" / "klaviyo_client" / "legacy").is_dir(), done

    alone = _venv(tmp_path / "client-venv")
    _install(alone, out)
    _absent(alone, "aiohttp", "redis")
    shown = _run(
        [
            str(alone),
            "-I",
            "-c",
            "import klaviyo_client, klaviyo_client.legacy; "
            "print(klaviyo_client.Klaviyo.__name__, klaviyo_client.AsyncKlaviyo.__name__, "
            "klaviyo_client.__file__)",
        ],
        cwd=tmp_path,
    )
    name, async_name, where = shown.split()
    assert (name, async_name) == ("Klaviyo", "AsyncKlaviyo")
    assert Path(where).is_relative_to(tmp_path / "client-venv"), where
