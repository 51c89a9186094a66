"""The output folder never loses a byte of the user's: real git repositories, symlinks, hard
links, modes, damaged stamps, leftovers of killed runs and Ctrl-C after the swap.

Each test copies one generated folder (made once per module) and regenerates over it in-process,
except the Ctrl-C test, which sends a real SIGINT to a real child process at the moment after
the swap.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from generator import render
from tests.support.outfolder import SPEC, gen
from tests.support.packages import invoke, one_error

ROOT = Path(__file__).resolve().parents[2]
ARGS = ("--no-legacy", "--current", str(SPEC))
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}
for _name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
    GIT_ENV.pop(_name, None)


def check(out: Path) -> Any:
    return invoke(["check", *ARGS, "--out", str(out)])


def git(cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "gc.auto=0", *args],
        cwd=cwd,
        env=GIT_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    if ok:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def everything(root: Path) -> dict[str, tuple[str, int, bytes | str]]:
    """Every entry under ``root`` (folders, empty ones too): kind, mode, content or link."""
    out: dict[str, tuple[str, int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in dirnames + filenames:
            path = base / name
            rel = path.relative_to(root).as_posix()
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), b"")
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), path.read_bytes())
    return out


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keeps") / "client"
    result = gen(out)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def client(baseline: Path, tmp_path: Path) -> Path:
    out = tmp_path / "client"
    shutil.copytree(baseline, out, symlinks=True)
    return out


# -- an unreadable stamp ------------------------------------------------------------------------


def _conflicted_stamp(client: Path) -> None:
    """Two branches regenerated (each added a module) and were merged: git leaves conflict
    markers in the stamp."""
    git(client, "init", "-q")
    git(client, "add", "-A")
    git(client, "commit", "-qm", "generated")
    stamp = client / render.STAMP
    text = stamp.read_text()
    for branch, module in (("a", "a_only.py"), ("b", "b_only.py")):
        git(client, "checkout", "-qb", branch, "main")
        stamp.write_text(text.replace("files = [\n", f'files = [\n    "{module}",\n'))
        (client / module).write_text("X = 1\n")
        git(client, "commit", "-qam", branch)
        git(client, "add", module)
        git(client, "commit", "-qm", f"{branch} module")
    git(client, "checkout", "-q", "a")
    merge = git(client, "merge", "-q", "b", ok=False)
    assert merge.returncode != 0 and "<<<<<<<" in stamp.read_text()


STAMPS = {
    "merge-conflict": _conflicted_stamp,
    "not-toml": lambda c: (c / render.STAMP).write_text("files = [\n  broken"),
    "not-utf8": lambda c: (c / render.STAMP).write_bytes(b"\xff\xfe\x00garbage"),
    "files-not-a-list": lambda c: (c / render.STAMP).write_text('files = "README.md"\n'),
    "files-not-paths": lambda c: (c / render.STAMP).write_text("files = [1, 2]\n"),
    "empty": lambda c: (c / render.STAMP).write_text(""),
}


@pytest.mark.parametrize("damage", list(STAMPS), ids=list(STAMPS))
def test_an_unreadable_stamp_is_refused_and_nothing_is_touched(client: Path, damage: str) -> None:
    (client / "NOTES.md").write_text("mine\n")
    (client / "src" / "klaviyo_client" / "mine.py").write_text("MINE = 1\n")
    STAMPS[damage](client)
    before = everything(client)
    for result in (gen(client), gen(client, "--force"), check(client)):
        line = one_error(result)
        assert render.STAMP in line and "nothing was changed" in line, line
        if damage == "merge-conflict":
            assert "merge-conflict markers" in line, line
        assert everything(client) == before
    assert sorted(p.name for p in client.parent.iterdir()) == ["client"]


# -- a git repository, empty folders, modes, symlinks, hard links -------------------------------


def test_a_git_repository_inside_out_is_still_one_after_regeneration(client: Path) -> None:
    (client / "notes").mkdir()
    (client / "notes" / "todo.md").write_text("mine\n")
    git(client, "init", "-q")
    git(client, "add", "-A")
    git(client, "commit", "-qm", "generated + notes")
    git(client, "tag", "v1")
    git(client, "gc", "-q", "--prune=now")  # refs packed: .git/refs/heads and tags are empty
    assert not any((client / ".git" / "refs" / "heads").iterdir())
    head = git(client, "rev-parse", "HEAD").stdout
    git_before = everything(client / ".git")
    result = gen(client)
    assert result.exit_code == 0, result.output
    assert everything(client / ".git") == git_before  # empty folders and read-only objects too
    git(client, "fsck", "--strict")
    assert git(client, "rev-parse", "HEAD").stdout == head
    assert git(client, "status", "--porcelain").stdout == ""  # same spec: not a byte changed
    assert git(client, "tag").stdout == "v1\n"


def test_folders_modes_symlinks_and_hard_links_of_the_user_are_kept(
    client: Path, tmp_path: Path
) -> None:
    (client / "empty" / "nested").mkdir(parents=True)
    (client / "private").mkdir(mode=0o700)
    (client / "private" / "key.txt").write_text("secret\n")
    os.chmod(client / "private" / "key.txt", 0o600)
    (client / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(client / "run.sh", 0o751)
    (client / "src" / "klaviyo_client" / "cache").mkdir()  # an empty folder inside the package
    (client / "docs").symlink_to("src")
    (client / "dangling").symlink_to("nowhere")
    outside = tmp_path / "shared.bin"
    outside.write_bytes(b"\x00\x01 shared")
    os.link(outside, client / "shared.bin")  # one file, two names: one outside
    (client / "a.txt").write_text("linked\n")
    os.link(client / "a.txt", client / "b.txt")  # and two names inside
    os.chmod(client / "empty", 0o750)
    before = everything(client)
    result = gen(client)
    assert result.exit_code == 0, result.output
    assert everything(client) == before
    assert os.path.samefile(client / "shared.bin", outside)
    assert os.path.samefile(client / "a.txt", client / "b.txt")
    (client / "a.txt").write_text("still one file\n")
    assert (client / "b.txt").read_text() == "still one file\n"


def test_the_output_folder_keeps_its_mode_and_a_new_one_gets_the_default(
    client: Path, tmp_path: Path
) -> None:
    os.chmod(client, 0o751)
    assert gen(client).exit_code == 0
    assert stat.S_IMODE(os.stat(client).st_mode) == 0o751
    umask = os.umask(0o022)
    os.umask(umask)
    fresh = tmp_path / "fresh"
    assert gen(fresh).exit_code == 0
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o777 & ~umask


# -- a symlinked --out ------------------------------------------------------------------------


def test_a_symlinked_out_is_regenerated_where_it_points_and_the_link_stays(
    client: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link"
    link.symlink_to(client.name)
    (client / "README.md").unlink()  # what the regeneration must put back, in the target
    (client / "NOTES.md").write_text("mine\n")
    result = gen(link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == client.name
    assert (client / "README.md").is_file() and (client / "NOTES.md").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["client", "link"]
    assert check(link).exit_code == 0


# -- what a killed run leaves -----------------------------------------------------------------


def test_a_run_killed_between_the_renames_is_put_back(client: Path) -> None:
    """Killed after moving the output to .client.old and before moving the new one in: no
    output, the user's files only in the backup."""
    (client / "NOTES.md").write_text("mine\n")
    (client / ".git" / "refs" / "heads").mkdir(parents=True)
    before = everything(client)
    backup = client.with_name(".client.old")
    os.rename(client, backup)
    result = gen(client)
    assert result.exit_code == 0, result.output
    assert everything(client) == before
    assert "put" in result.stderr and ".client.old" in result.stderr
    assert sorted(p.name for p in client.parent.iterdir()) == ["client"]


def test_a_backup_left_after_the_swap_is_removed_only_when_it_holds_nothing_else(
    client: Path,
) -> None:
    (client / "NOTES.md").write_text("mine\n")
    backup = client.with_name(".client.old")
    shutil.copytree(client, backup, symlinks=True)  # killed after the renames
    result = gen(client)
    assert result.exit_code == 0, result.output
    assert not backup.exists() and (client / "NOTES.md").read_text() == "mine\n"
    assert "removed .client.old" in result.stderr
    shutil.copytree(client, backup, symlinks=True)
    (backup / "NOTES.md").write_text("an older version of mine\n")
    (backup / "only-here.txt").write_text("mine too\n")
    kept = everything(backup)
    result = gen(client)
    assert everything(backup) == kept
    line = one_error(result)
    assert ".client.old" in line and "NOTES.md" in line and "only-here.txt" in line, line


# -- check and generate agree on what is the user's -------------------------------------------


def test_check_ignores_the_files_generate_keeps(client: Path) -> None:
    (client / "NOTES.md").write_text("mine\n")
    (client / "src" / "klaviyo_client" / "extra.py").write_text("X = 1\n")
    (client / "tools").mkdir()
    (client / "tools" / "x.sh").write_text("true\n")
    result = check(client)
    assert result.exit_code == 0, result.stderr
    (client / "README.md").write_text("edited\n")  # a generated file changed is still drift
    result = check(client)
    assert result.exit_code == 1 and "changed: README.md" in result.stderr, result.stderr
    assert "NOTES.md" not in result.stderr and "extra.py" not in result.stderr


# -- Ctrl-C after the swap --------------------------------------------------------------------

# Runs `generate` in a child process, in-process as `build` does (no ruff, no import check:
# the same bytes as the `client` it regenerates, and the swap is what this test is about);
# right after the swap (when the old folder is about to be removed) it says so on stdout and
# waits for a line on stdin: the parent sends SIGINT then.
_CHILD = textwrap.dedent(
    """
    import os, shutil, sys
    sys.path.insert(0, sys.argv[1])
    real = shutil.rmtree
    def rmtree(path, *args, **kwargs):
        if os.path.basename(str(path)).startswith(".client.old"):
            print("swapped", flush=True)
            sys.stdin.readline()
        return real(path, *args, **kwargs)
    shutil.rmtree = rmtree
    from generator.cli import main
    from generator.verify import IN_PROCESS
    main(["generate", *sys.argv[2:]], prog_name="klaviyo-codegen", obj=IN_PROCESS)
    """
)


def test_ctrl_c_after_the_swap_finishes_and_does_not_claim_an_abort(client: Path) -> None:
    (client / "NOTES.md").write_text("mine\n")
    before = everything(client)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(ROOT), *ARGS, "--out", str(client)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline() == "swapped\n"
        os.kill(child.pid, signal.SIGINT)  # a real Ctrl-C, after the swap
        stdout, stderr = child.communicate("go\n", timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, stderr
    assert "Aborted" not in stderr and "Ctrl-C came after" in stderr, stderr
    assert stdout.startswith("generated "), stdout
    assert everything(client) == before
    assert sorted(p.name for p in client.parent.iterdir()) == ["client"]


def test_ctrl_c_before_the_swap_still_aborts_with_the_output_untouched(
    client: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (client / "NOTES.md").write_text("mine\n")
    before = everything(client)
    real = render.keep_user_files

    def keep_then_ctrl_c(*args: Any, **kwargs: Any) -> list[str]:
        kept = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return kept

    monkeypatch.setattr(render, "keep_user_files", keep_then_ctrl_c)
    result = gen(client)
    assert result.exit_code == 1 and "Aborted" in result.stderr
    assert everything(client) == before
    assert sorted(p.name for p in client.parent.iterdir()) == ["client"]
