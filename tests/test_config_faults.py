"""Config faults: a config that cannot be used (truncated, not UTF-8, wrong types, empty,
a directory, unreadable) never stops the app: it starts on defaults, says so, and the
original is kept aside, never overwritten. Saves are atomic and 0600, even when the
saving process is killed with SIGKILL at random moments, many times.

"Unreadable" as root: chmod 000 does not stop root, so the unreadable config here is a
symlink to itself (reading it fails with ELOOP, "Too many levels of symbolic links").
A FIFO is left out on purpose (opening one blocks).
"""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from support import wait_for
from ui_support import SIZE, make_app, settle, status_line, visible_rows

from runs_tui.core import config, ops, paths
from runs_tui.core.db import Store
from runs_tui.core.records import SortKey
from runs_tui.core.view import TableView

GOOD = config.Settings(
    refresh=5.0,
    last_pipeline="simple",
    keymap={"pause": "z"},
    pipelines={
        "simple": TableView(columns=("run", "status", "m:loss/val:last"), sort=(SortKey("run"),))
    },
)


def good_bytes(tmp: Path) -> bytes:
    path = tmp / "good.toml"
    config.save(GOOD, path)
    return path.read_bytes()


def truncated(tmp: Path) -> bytes:
    good = good_bytes(tmp)
    cut = good[: good.index(b'view = "') + 14]  # inside the view string
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(cut.decode())
    return cut


def not_utf8(tmp: Path) -> bytes:
    return good_bytes(tmp).replace(b"textual-dark", b"textual-\xff\xfedark")


# name -> (the file's bytes, or None for the special cases; words the warning must have)
FAULTS: dict[str, tuple[Callable[[Path], bytes] | bytes | None, str]] = {
    "truncated": (truncated, "unreadable (Unterminated string"),
    "invalid-utf8": (not_utf8, "invalid start byte"),
    "refresh-a-string": (
        b'refresh = "fast"\n',
        "refresh: expected a number of seconds, got 'fast'",
    ),
    "refresh-nan": (b"refresh = nan\n", "got nan"),
    "refresh-inf": (b"refresh = inf\n", "got inf"),
    "theme-a-number": (b"theme = 7\n", "theme: expected str, got 7"),
    "keymap-a-list": (b'keymap = ["q"]\n', "keymap: expected dict"),
    "keymap-value-a-number": (b"[keymap]\nquit = 1\n", "keymap.quit"),
    "pipelines-a-string": (b'pipelines = "simple"\n', "pipelines: expected dict"),
    "view-a-number": (b"[pipelines.simple]\nview = 42\n", "pipelines.simple"),
    "view-bad": (b'[pipelines.simple]\nview = "c=bogus"\n', "unknown column 'bogus'"),
    "empty": (b"", "is empty"),
    "blank": (b"\n  \n", "is empty"),
    "a-directory": (None, "is a directory"),
    "unreadable-symlink-loop": (None, "Too many levels of symbolic links"),
}


def make_fault(name: str, path: Path, tmp: Path) -> None:
    content = FAULTS[name][0]
    if name == "a-directory":
        path.mkdir()
        (path / "inside.txt").write_text("keep me")
    elif name == "unreadable-symlink-loop":
        os.symlink(path.name, path)
        with pytest.raises(OSError):
            path.read_bytes()
    else:
        path.write_bytes(content(tmp) if callable(content) else content)


def kept_aside(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.broken-"))


@pytest.fixture
def three_runs(store: Store, simple: str) -> list[int]:
    return [ops.new_run(store, simple).id for _ in range(3)]


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_bad_config_starts_on_defaults_warns_and_is_kept(
    store: Store, three_runs, fault: str, tmp_path: Path
):
    path = paths.config_path()
    make_fault(fault, path, tmp_path)
    original = None if fault in ("a-directory", "unreadable-symlink-loop") else path.read_bytes()

    app = make_app(store, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(visible_rows(pilot)) == 3, "the app runs, on the runs"
        assert status_line(pilot).startswith("3 of 3 runs")
        warning = app.config_warning
        assert warning.startswith(f"config {path} unreadable (")
        assert FAULTS[fault][1] in warning
        assert warning.endswith("; using defaults") and "kept as" in warning
        shown = [n for n in app._notifications if n.message == warning]
        assert len(shown) == 1 and shown[0].severity == "warning"
        settings = app.settings
        assert (settings.refresh, settings.theme, settings.keymap) == (3600, "textual-dark", {})
        assert [str(c.label) for c in app.screen.query_one("#runs").columns.values()][1] == "RUN"

    kept = kept_aside(path)
    assert len(kept) == 1 and str(kept[0]) in warning
    if original is not None:
        assert kept[0].read_bytes() == original
    elif fault == "a-directory":
        assert (kept[0] / "inside.txt").read_text() == "keep me"
    else:
        assert kept[0].is_symlink() and os.readlink(kept[0]) == path.name

    # the app wrote a fresh config beside it; the next start has nothing to say
    assert path.is_file() and not path.is_symlink()
    assert tomllib.loads(path.read_text())["last_pipeline"] == "simple"
    again = config.load()
    assert again.warning == "" and again.settings.last_pipeline == "simple"
    assert kept_aside(path) == kept


def test_a_kept_copy_is_never_overwritten(tmp_path: Path):
    """Two bad configs in the same second are both kept (stamped -2, -3...)."""
    path = tmp_path / "config.toml"
    now = time.time()
    taken = {}
    for t in (now, now + 1):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(t))
        taken[stamp] = path.with_name(f"{path.name}.broken-{stamp}")
        taken[stamp].write_bytes(b"older broken copy")
    path.write_bytes(b"refresh = [")
    first = config.load(path)
    path.write_bytes(b"refresh = {")
    second = config.load(path)
    assert first.warning and second.warning
    for old in taken.values():
        assert old.read_bytes() == b"older broken copy"
    contents = sorted(p.read_bytes() for p in kept_aside(path))
    assert contents == sorted([b"older broken copy"] * 2 + [b"refresh = [", b"refresh = {"])


def test_save_is_0600_replaces_a_looser_file_and_leaves_no_temp(tmp_path: Path):
    path = tmp_path / "deep" / "er" / "config.toml"
    config.save(GOOD, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    config.save(config.Settings(refresh=3.0), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert config.load(path).settings.refresh == 3.0
    assert os.listdir(path.parent) == ["config.toml"]
    loaded = config.load(path)
    assert loaded.warning == ""


async def test_a_config_that_cannot_be_saved_is_reported_and_the_app_goes_on(
    store: Store, three_runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the config folder should be")
    path = blocker / "config.toml"
    monkeypatch.setenv("RUNS_TUI_CONFIG", str(path))
    app = make_app(store, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.config_warning == ""
        await pilot.press("s")  # sort by RUN: the view changes, the save fails
        await settle(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and all(f"Cannot save settings to {path}" in n.message for n in errors)
        assert [row[1] for row in visible_rows(pilot)] == ["#1", "#2", "#3"]
        assert app.is_running
    assert blocker.read_text() == "a file where the config folder should be"


# --- SIGKILL during a loop of saves -------------------------------------------------------

SAVER = r"""
import os, signal, sys
from pathlib import Path

from runs_tui.core import config
from runs_tui.core.records import SortKey
from runs_tui.core.view import TableView

path = Path(sys.argv[1])


def settings_for(n):
    columns = ("run", *(f"m:loss{k}/val:last" for k in range(n % 7 + 1)))
    view = TableView(columns=columns, sort=(SortKey("run", n % 2 == 0),), search="x" * (n % 40))
    return config.Settings(
        refresh=1.0 + n % 5,
        last_pipeline=f"p{n}",
        pipelines={"simple": view, f"other{n % 3}": view},
    )


def save_forever():
    n = int(config.load(path).settings.last_pipeline[1:] or 0)
    while True:
        n += 1
        config.save(settings_for(n), path)


# One fork per "go": the child saves until the test kills it; its pid and then its
# wait status go back to the test. EOF on stdin ends this process.
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            signal.alarm(20)  # never outlive a test that went away
            save_forever()
        finally:
            os._exit(3)
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
"""

KILLS = 40


def check_saved(path: Path, n: int) -> None:
    """The file is exactly what save number `n` wrote, not a mix of two saves."""
    loaded = config.load(path)
    assert loaded.warning == ""
    s = loaded.settings
    assert s.refresh == 1.0 + n % 5
    assert set(s.pipelines) == {"simple", f"other{n % 3}"}
    view = s.pipelines["simple"]
    assert len(view.columns) == n % 7 + 2
    assert view.search == "x" * (n % 40) and view.sort == (SortKey("run", n % 2 == 0),)


def saved_number(path: Path) -> int:
    """The number of the save the file holds; 0 before the first."""
    if not path.exists():
        return 0
    return int(tomllib.loads(path.read_text(encoding="utf-8"))["last_pipeline"][1:])


def saved_after(path: Path, n: int) -> bool:
    return saved_number(path) > n


def test_sigkill_during_saves_always_leaves_a_config_that_parses(tmp_path: Path):
    path = tmp_path / "cfg" / "config.toml"
    rng = random.Random(20251124)
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert saver.stdin is not None and saver.stdout is not None
    child = None
    last = 0
    try:
        for _ in range(KILLS):
            saver.stdin.write("go\n")
            saver.stdin.flush()
            child = int(saver.stdout.readline())
            # once the child has saved (however slow the machine), at a random moment of
            # its next saves
            wait_for(partial(saved_after, path, last), 60, "a save by the child", every=0.002)
            time.sleep(rng.uniform(0.0, 0.03))
            os.kill(child, signal.SIGKILL)
            status = int(saver.stdout.readline())
            child = None
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            n = saved_number(path)
            assert n > last, "a kill never brings back an older config, nor removes it"
            last = n
            check_saved(path, n)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        if child is not None:
            os.kill(child, signal.SIGKILL)
        saver.stdin.close()
        saver.wait(timeout=10)

    # Leftovers: a kill between creating the temp file and renaming it leaves one behind.
    # They are dot-files beside the config, never read, and loading never minds them.
    leftovers = sorted(p.name for p in path.parent.iterdir() if p.name != path.name)
    assert all(p.startswith(".config.toml.") and p.endswith(".tmp") for p in leftovers)
    assert len(leftovers) <= KILLS
    assert not kept_aside(path), "no save ever looked corrupt"
    check_saved(path, last)
