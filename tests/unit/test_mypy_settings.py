"""mypy sees the generated package with the same settings from the repository root (code written
against it: the typing tests) as inside the generated project (``make typecheck``): a cache of
the one serves the other (tests/support/typecheck.py), and the root's own stricter settings
apply to our modules only."""

from __future__ import annotations

import contextlib
from pathlib import Path

from mypy.main import process_options
from mypy.options import OPTIONS_AFFECTING_CACHE_NO_PLATFORM, Options

from tests.conftest import CLIENT_SRC, ROOT

MODULES = ["builtins", "typing", "klaviyo_client", "klaviyo_client.models", "klaviyo_client._x"]


def _options(cwd: Path, *args: str) -> Options:
    with contextlib.chdir(cwd):  # mypy reads the pyproject.toml of the folder it runs in
        _, options = process_options(["--strict", *args])
    return options


def _affecting_cache(options: Options, module: str) -> dict[str, object]:
    one = options.clone_for_module(module)
    return {name: getattr(one, name) for name in OPTIONS_AFFECTING_CACHE_NO_PLATFORM}


def test_the_package_has_the_same_mypy_settings_from_the_root_and_its_project() -> None:
    assert (CLIENT_SRC.parent / "pyproject.toml").is_file()
    root = _options(ROOT, "tests/bodies/typing/good_usage.py")
    project = _options(CLIENT_SRC.parent, "src/klaviyo_client")
    for module in MODULES:
        assert _affecting_cache(root, module) == _affecting_cache(project, module), module
    # the root's own modules: unreachable code is an error there
    for module in ("generator.cli", "tests.bodies.typing.bad_usage", "bench.run_all"):
        assert root.clone_for_module(module).warn_unreachable, module
    assert not project.clone_for_module("klaviyo_client").warn_unreachable
