"""Spec lookup, YAML input and ``fetch`` (no network: a refused loopback port stands in)."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator import specs
from generator.cli import main
from tests.conftest import need_spec
from tests.support.loopback import LoopbackServer, RecordedRequest, Respond
from tests.support.packages import invoke

GOLDEN_SPEC = Path(__file__).resolve().parents[1] / "golden" / "specs" / "bracketed_params.json"


def test_yaml_spec_generates_the_same_package_as_json(tmp_path: Path) -> None:
    as_yaml = tmp_path / "bracketed.yaml"
    as_yaml.write_text(yaml.safe_dump(json.loads(GOLDEN_SPEC.read_text())), encoding="utf-8")
    outs = []
    for spec in (GOLDEN_SPEC, as_yaml):
        out = tmp_path / spec.suffix.lstrip(".")
        result = invoke(["generate", "--no-legacy", "--current", str(spec), "--out", str(out)])
        assert result.exit_code == 0, result.output
        outs.append((out / "src" / "klaviyo_client" / "resources" / "things.py").read_text())
    assert outs[0] == outs[1].replace("bracketed.yaml", "bracketed_params.json")


def test_lookup_order_flag_env_cache_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag, env, cwd, shared = (tmp_path / n for n in ("flag", "env", "cwd", "shared"))
    cache = cwd / specs.CACHE_NAME
    for folder in (flag, env, cache, shared):
        folder.mkdir(parents=True)
        (folder / "x.json").write_text("{}")
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(specs.lookup, "shared_dirs", lambda: [shared])
    monkeypatch.setenv("KLAVIYO_SPEC_DIR", str(env))
    assert specs.search_dirs(flag) == [flag, env, cache.resolve(), shared]
    assert specs.find("x.json", flag) == (flag / "x.json", True)
    assert specs.find("x.json") == (env / "x.json", True)
    monkeypatch.delenv("KLAVIYO_SPEC_DIR")
    assert specs.find("x.json") == (cache.resolve() / "x.json", True)
    (cache / "x.json").unlink()
    assert specs.find("x.json") == (shared / "x.json", True)
    # a path is used as given (not looked up, no checksum)
    assert specs.find(str(flag / "x.json")) == (flag / "x.json", False)
    with pytest.raises(FileNotFoundError, match=r"not found in: .*flag.*spec-cache.*shared"):
        specs.find("missing.json", flag)


def test_every_command_prints_the_lookup_order() -> None:
    def squeezed(text: str) -> str:  # click wraps help text (also at hyphens)
        return "".join(text.split())

    for command in ("generate", "check", "fetch"):
        text = CliRunner().invoke(main, [command, "--help"]).output
        assert squeezed(specs.LOOKUP) in squeezed(text), command
    text = CliRunner().invoke(main, ["--help"]).output
    assert squeezed("--spec-dir, then $KLAVIYO_SPEC_DIR, then ./.spec-cache") in squeezed(text)


def test_not_found_is_one_line_with_the_lookup_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["generate", "--no-legacy", "--current", "nope.json", "--out", "out"]
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "spec nope.json not found in:" in line
    assert str(tmp_path / specs.CACHE_NAME) in line
    assert specs.LOOKUP in line
    assert not (tmp_path / "out").exists()


def test_checksum_applies_to_files_found_by_name_not_to_paths(tmp_path: Path) -> None:
    # a file under the name of a spec of specs/sources.yaml with other bytes (a small spec:
    # the checksum, not the spec's size, is the subject)
    name = "klaviyo-stable-2026-07-15.json"
    doc = json.loads(GOLDEN_SPEC.read_text(encoding="utf-8"))
    doc["info"]["title"] = "Changed by the user"
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / name).write_text(json.dumps(doc), encoding="utf-8")
    by_name = invoke(
        ["generate", "--no-legacy", "--spec-dir", str(folder), "--current", name, "--out", "a"],
    )
    assert by_name.exit_code == 2
    assert "sha256" in by_name.stderr and "does not match specs/sources.yaml" in by_name.stderr
    as_path = invoke(
        ["generate", "--no-legacy", "--current", str(folder / name), "--out", str(tmp_path / "b")],
    )
    assert as_path.exit_code == 0, as_path.output
    assert "Changed by the user" in (tmp_path / "b" / "README.md").read_text(encoding="utf-8")


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
    for source in specs.load_sources():
        need_spec(source.file)  # skipped, saying where it looked, when one is not found here
    result = CliRunner().invoke(main, ["fetch"])
    assert result.exit_code == 0, result.output
    assert "klaviyo-stable-2026-07-15.json: present at" in result.output


def _serve(files: dict[str, bytes]) -> Callable[[RecordedRequest], Respond]:
    def answer(request: RecordedRequest) -> Respond:
        name = urllib.parse.unquote(request.path.rsplit("/", 1)[-1])
        return Respond(200, body=files[name]) if name in files else Respond(404)

    return answer


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory is a checkout with no ../shared beside it and no spec env var."""
    root = tmp_path / "clone"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setattr(specs.lookup, "shared_dirs", lambda: [tmp_path / "shared" / "specs"])
    monkeypatch.delenv("KLAVIYO_SPEC_DIR", raising=False)
    monkeypatch.delenv("KLAVIYO_SPEC_MIRROR", raising=False)
    return root


@pytest.fixture
def source_files() -> dict[str, bytes]:
    """The specs of specs/sources.yaml, read where they are found from here (requested before
    ``clone``, which moves away from them)."""
    return {s.file: need_spec(s.file).read_bytes() for s in specs.load_sources()}


def test_fresh_clone_fetches_into_the_cache_then_generates(
    source_files: dict[str, bytes], clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's path for a clone without ../shared: fetch (a loopback server stands in
    for the upstream URLs through KLAVIYO_SPEC_MIRROR), then generate with default flags."""
    sources = specs.load_sources()
    files = source_files
    before = invoke(["generate", "--out", str(clone / "out")])
    assert before.exit_code == 2
    assert "klaviyo-codegen fetch" in before.stderr
    with LoopbackServer(default=_serve(files)) as server:
        monkeypatch.setenv("KLAVIYO_SPEC_MIRROR", server.url + "/mirror/")
        fetched = CliRunner().invoke(main, ["fetch"])
        assert fetched.exit_code == 0, fetched.output
        assert fetched.output.count("downloaded to") == len(sources)
        assert sorted(p.name for p in (clone / specs.CACHE_NAME).iterdir()) == sorted(files)
        assert sorted(r.path for r in server.requests) == sorted(f"/mirror/{f}" for f in files)
        again = CliRunner().invoke(main, ["fetch"])
        assert again.exit_code == 0
        assert again.output.count("present at") == len(sources)
        assert len(server.requests) == len(files)  # nothing downloaded twice
    result = invoke(["generate", "--out", str(clone / "out")])
    assert result.exit_code == 0, result.output
    assert "395 operations (345 current, 50 legacy)" in result.output


def test_fetch_refuses_a_download_with_the_wrong_checksum(
    clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {s.file: b'{"openapi": "3.0.2"}' for s in specs.load_sources()}
    with LoopbackServer(default=_serve(files)) as server:
        result = CliRunner().invoke(main, ["fetch", "--mirror", server.url])
    assert result.exit_code == 2
    assert result.stderr.count("not saved") == len(files)
    assert not (clone / specs.CACHE_NAME).exists()


def test_fetch_reports_a_present_file_with_the_wrong_checksum(
    clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = clone / specs.CACHE_NAME
    cache.mkdir()
    (cache / "klaviyo-stable-2026-07-15.json").write_text("{}")
    result = CliRunner().invoke(main, ["fetch", "--mirror", _refused_url()])
    assert result.exit_code == 2
    assert "present at" in result.stderr and "verify or remove it" in result.stderr
    assert (cache / "klaviyo-stable-2026-07-15.json").read_text() == "{}"


def test_readme_documents_the_path_for_a_clone_without_shared() -> None:
    readme = (specs.ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Get the specs", 1)[1].split("\n## ", 1)[0]
    order = ["`--spec-dir DIR`", "`$KLAVIYO_SPEC_DIR`", "`./.spec-cache`", "`../shared/specs`"]
    positions = [section.index(item) for item in order]
    assert positions == sorted(positions)
    for needed in ("make fetch", "make generate", "$KLAVIYO_SPEC_MIRROR", "--no-legacy", "sha256"):
        assert needed in section, needed
    makefile = (specs.ROOT / "Makefile").read_text(encoding="utf-8")
    assert "fetch: $(STAMP)\n\t$(BIN)/klaviyo-codegen fetch\n" in makefile


# -- every way out, named where a spec is missing -----------------------------------------------

LEGACY_FILE = next(s.file for s in specs.load_sources() if s.role == "legacy")
WAYS_OUT = ("klaviyo-codegen fetch", "--mirror", "$KLAVIYO_SPEC_MIRROR", "$KLAVIYO_SPEC_DIR")


def _names_every_way_out(text: str, cache: Path, *, legacy: bool) -> None:
    for needed in WAYS_OUT:
        assert needed in text, (needed, text)
    assert f"copy {LEGACY_FILE if legacy else ''}" in text, text
    assert str(cache) in text, text
    assert ("--no-legacy" in text) is legacy, text
    assert ("make generate NO_LEGACY=1" in text) is legacy, text


def test_a_missing_legacy_spec_names_every_way_out_including_no_legacy(clone: Path) -> None:
    result = CliRunner().invoke(
        main, ["generate", "--current", str(GOLDEN_SPEC), "--out", str(clone / "out")]
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"spec {LEGACY_FILE} not found in:" in line
    _names_every_way_out(line, clone / specs.CACHE_NAME, legacy=True)
    assert not (clone / "out").exists()


def test_a_missing_current_spec_names_every_way_out_but_no_legacy(clone: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        specs.find("klaviyo-stable-2026-07-15.json")
    _names_every_way_out(str(caught.value), clone / specs.CACHE_NAME, legacy=False)


def test_every_fetch_failure_names_every_way_out(clone: Path) -> None:
    cache = clone / specs.CACHE_NAME
    offline = CliRunner().invoke(main, ["fetch", "--mirror", _refused_url(), "--timeout", "5"])
    files = {s.file: b'{"openapi": "3.0.2"}' for s in specs.load_sources()}
    with LoopbackServer(default=_serve(files)) as server:
        wrong = CliRunner().invoke(main, ["fetch", "--mirror", server.url])
    cache.mkdir()
    (cache / LEGACY_FILE).write_text("{}")
    present = CliRunner().invoke(main, ["fetch", "--mirror", _refused_url(), "--timeout", "5"])
    for result, marker in ((offline, "cannot download"), (wrong, "not saved"), (present, "")):
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == len(files), result.stderr
        for line in lines:
            assert marker in line, line
            _names_every_way_out(line, cache, legacy=line.startswith(f"{LEGACY_FILE}:"))


def test_make_generate_no_legacy_passes_the_flag() -> None:
    def recipe(*args: str) -> str:
        dry = subprocess.run(
            ["make", "-n", "-s", "generate", *args],
            cwd=specs.ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        (line,) = [ln for ln in dry.stdout.splitlines() if "klaviyo-codegen generate" in ln]
        return line

    assert recipe("NO_LEGACY=1").endswith(" --no-legacy")
    assert "--no-legacy" not in recipe()
