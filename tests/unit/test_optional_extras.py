"""The import check of a generation never needs an optional extra of the package it writes:
modules that need one are found from the tree (its pyproject's extras and the modules' own
imports), imported where the extra is importable and only byte-compiled elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import SpecError
from generator.extras import extra_packages, optional_modules
from generator.verify import Verifier
from tests.conftest import GENERATED

PYPROJECT = """\
[project]
name = "klaviyo-client"
dependencies = ["httpx>=0.27,<1"]

[project.optional-dependencies]
fancy = ["kc-absent-extra-pkg>=1; python_version >= '3.11'"]
both = ["httpx[http2]>=0.27"]
"""


def _tree(tmp_path: Path, modules: dict[str, str]) -> Path:
    """A generated-like tree: ``pyproject.toml`` and ``src/klaviyo_client/...`` (no clients,
    no operations); returns ``src``."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    pkg = tmp_path / "src" / "klaviyo_client"
    pkg.mkdir(parents=True)
    base = {"__init__.py": "", "_client.py": "__all__ = []\n", "_registry.py": "OPERATIONS = {}\n"}
    for name, text in {**base, **modules}.items():
        (pkg / name).write_text(text, encoding="utf-8")
    return tmp_path / "src"


def test_the_generated_package_s_optional_modules_come_from_its_extras() -> None:
    found = optional_modules(GENERATED / "src", GENERATED / "pyproject.toml")
    assert extra_packages(GENERATED / "pyproject.toml") == {"aiohttp", "redis"}
    assert found == {
        "klaviyo_client/_aiohttp.py": {"aiohttp"},
        "klaviyo_client/_async_redis.py": {"redis"},
        "klaviyo_client/_sync_redis.py": {"redis"},
    }


def test_a_module_importing_an_optional_module_is_optional_too(tmp_path: Path) -> None:
    src = _tree(
        tmp_path,
        {
            "_backend.py": "import kc_absent_extra_pkg.sub\n",
            "_uses.py": "from ._backend import thing\n",
            "_lazy.py": "def f():\n    from ._backend import thing\n    return thing\n",
            "_typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    import kc_absent_extra_pkg\n",
            "_base.py": "import httpx\n",
        },
    )
    assert extra_packages(tmp_path / "pyproject.toml") == {"kc_absent_extra_pkg"}
    assert optional_modules(src, tmp_path / "pyproject.toml") == {
        "klaviyo_client/_backend.py": {"kc_absent_extra_pkg"},
        "klaviyo_client/_uses.py": {"kc_absent_extra_pkg"},
    }


def test_optional_modules_are_found_through_chains_and_packages(tmp_path: Path) -> None:
    """Modules that reach an extra only through the tree's own modules, several steps away
    (the check reads only the modules that name the extra or an optional module)."""
    src = _tree(
        tmp_path,
        {
            "_backend.py": "import kc_absent_extra_pkg\n",
            "_uses.py": "from ._backend import thing\n",
            "_deeper.py": "from . import _uses\n",
            "_deepest.py": "from ._deeper import d\n",
            "_plain.py": "import httpx\nfrom . import _base\n",
            "_base.py": "import json\n",
        },
    )
    sub = src / "klaviyo_client" / "sub"
    sub.mkdir()
    (sub / "__init__.py").write_text("from .._deepest import d\n", encoding="utf-8")
    (sub / "leaf.py").write_text("X = 1\n", encoding="utf-8")
    (src / "klaviyo_client" / "_via_sub.py").write_text("from .sub import leaf\n")
    needs = {"kc_absent_extra_pkg"}
    assert optional_modules(src, tmp_path / "pyproject.toml") == {
        f"klaviyo_client/{name}": needs
        for name in (
            "_backend.py",
            "_uses.py",
            "_deeper.py",
            "_deepest.py",
            "sub/__init__.py",
            "_via_sub.py",
        )
    }


def test_the_import_check_compiles_but_does_not_import_a_module_whose_extra_is_absent(
    tmp_path: Path,
) -> None:
    src = _tree(tmp_path, {"_backend.py": "import kc_absent_extra_pkg\nX = 1\n"})
    Verifier(workers=1).run(src)  # before: ModuleNotFoundError: kc_absent_extra_pkg


def test_an_optional_module_that_does_not_compile_still_fails_the_check(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"_backend.py": "import kc_absent_extra_pkg\ndef broken(:\n"})
    with pytest.raises(SpecError, match=r"_backend\.py:2: SyntaxError"):
        Verifier(workers=1).run(src)


def test_a_base_module_that_does_not_import_still_fails_the_check(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"_base.py": "import kc_absent_base_pkg\n"})
    with pytest.raises(SpecError, match=r"_base\.py: ModuleNotFoundError"):
        Verifier(workers=1).run(src)
