"""Spec lookup, YAML input and ``fetch`` (no network: a refused loopback port stands in)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator import specs
from generator.cli import main

GOLDEN_SPEC = Path(__file__).resolve().parents[1] / "golden" / "specs" / "bracketed_params.json"


def test_yaml_spec_generates_the_same_package_as_json(tmp_path: Path) -> None:
    as_yaml = tmp_path / "bracketed.yaml"
    as_yaml.write_text(yaml.safe_dump(json.loads(GOLDEN_SPEC.read_text())), encoding="utf-8")
    outs = []
    for spec in (GOLDEN_SPEC, as_yaml):
        out = tmp_path / spec.suffix.lstrip(".")
        result = CliRunner().invoke(
            main, ["generate", "--no-legacy", "--current", str(spec), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        outs.append((out / "src" / "klaviyo_client" / "resources" / "things.py").read_text())
    assert outs[0] == outs[1].replace("bracketed.yaml", "bracketed_params.json")


def test_lookup_order_spec_dir_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        (folder / "x.json").write_text("{}")
    monkeypatch.setenv("KLAVIYO_SPEC_DIR", str(second))
    assert specs.locate("x.json", first) == first / "x.json"
    assert specs.locate("x.json") == second / "x.json"
    with pytest.raises(FileNotFoundError, match=r"not found in: .*b.*shared"):
        specs.locate("missing.json")


def _refused_url() -> str:
    with socket.socket() as sock:  # a port nothing listens on: connecting is refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/spec.json"


def test_fetch_offline_names_the_url_and_the_lookup_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _refused_url()
    source = specs.Source("x", "current", "not-here.json", "2026-01-01", url, "0" * 64)
    monkeypatch.setattr(specs, "load_sources", lambda: [source])
    monkeypatch.setenv("KLAVIYO_SPEC_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(main, ["fetch", "--timeout", "5"])
    assert result.exit_code == 2
    assert url in result.output
    assert "looked in:" in result.output
    assert str(tmp_path / "cache") in result.output
    assert not (tmp_path / "cache" / "not-here.json").exists()


def test_fetch_reports_specs_already_present() -> None:
    result = CliRunner().invoke(main, ["fetch"])
    assert result.exit_code == 0, result.output
    assert "klaviyo-stable-2026-07-15.json: present at" in result.output
