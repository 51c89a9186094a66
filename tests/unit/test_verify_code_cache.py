"""The import check's code cache (:data:`generator.verify.VERIFY_CODE_CACHE`): code compiled
once is loaded by its source bytes' hash, named after the file it is loaded for; what does not
compile is never kept and fails every time."""

from __future__ import annotations

import marshal
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import verify
from generator.errors import SpecError
from tests.unit.test_output_folder import _tree

# its message is the file name its code object carries (what tracebacks show)
WHERE = "import sys\nraise LookupError(sys._getframe().f_code.co_filename)\n"


def _failure(tree: Path) -> str:
    with pytest.raises(SpecError) as caught:
        verify.Verifier(workers=1).run(tree)
    return caught.value.message


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    folder.mkdir()
    monkeypatch.setattr(verify, "VERIFY_CODE_CACHE", folder)
    yield folder


def test_cached_code_is_loaded_and_named_after_the_file_it_is_loaded_for(
    tmp_path: Path, cache: Path
) -> None:
    modules = {"__init__.py": "", "a.py": WHERE}
    first = _tree(tmp_path / "first", modules)
    assert str(first / verify.PACKAGE / "a.py") in _failure(first)
    entries = {p.name: p.read_bytes() for p in cache.iterdir()}
    assert len(entries) == 2  # __init__.py and a.py, one entry each
    # the same bytes elsewhere: nothing compiled again, the code carries its new file name
    second = _tree(tmp_path / "second", modules)
    assert str(second / verify.PACKAGE / "a.py") in _failure(second)
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == entries
    # what the check runs is the kept code: replaced, the replacement runs
    for path in cache.iterdir():
        if "LookupError" in str(marshal.loads(path.read_bytes()).co_names):
            path.write_bytes(marshal.dumps(compile("raise KeyError('kept')", "x", "exec")))
    assert "a.py: KeyError: 'kept'" in _failure(_tree(tmp_path / "third", modules))


def test_what_does_not_compile_is_not_kept(tmp_path: Path, cache: Path) -> None:
    modules = {"__init__.py": "", "a.py": "def f(:\n"}
    message = _failure(_tree(tmp_path / "t", modules))
    assert f"{verify.PACKAGE}/a.py:1: SyntaxError" in message, message
    assert len(list(cache.iterdir())) == 1  # __init__.py only: a.py is compiled again each time


def test_without_a_cache_nothing_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "VERIFY_CODE_CACHE", None)
    tree = _tree(tmp_path / "t", {"__init__.py": "", "a.py": WHERE})
    assert str(tree / verify.PACKAGE / "a.py") in _failure(tree)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["__init__.py", "a.py"]
