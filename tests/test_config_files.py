"""Config paths that are not plain files of the user's: a FIFO or a device is never opened
(it could block or never end), never moved aside and never written; the app starts on
defaults and says so, and each save says why it did not happen. A symlinked config is
saved through to its target only when that is the user's own regular file. What the
TOML parser or a repr could not take (deep nesting, an integer past any float, NUL)
is a broken config like any other: kept aside, defaults, a warning."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from file_support import char_device, within
from ui_support import SIZE, make_app, settle, visible_rows

from runs_tui.core import config, ops, paths
from runs_tui.core.db import Store

MINE = config.Settings(refresh=7.0, last_pipeline="simple")


def fingerprint(path: Path) -> tuple[int, int, int, int]:
    """What a save must not change: the file's inode, type and mode, owner, device number."""
    st = os.lstat(path)
    return st.st_ino, st.st_mode, st.st_uid, st.st_rdev


def refused_save(path: Path) -> str:
    with pytest.raises(OSError) as info:
        within(30, lambda: config.save(MINE, path))
    assert info.value.strerror is None  # the message is ours, shown as it is by the app
    return str(info.value)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "config.fifo"
    os.mkfifo(path)
    return path


def test_a_fifo_is_not_opened_nor_moved_nor_written(fifo):
    before = fingerprint(fifo)
    loaded = within(30, lambda: config.load(fifo), unblock=fifo)
    assert loaded.warning == (
        f"config {fifo} unreadable (not a regular file (a FIFO)); left in place; using defaults"
    )
    assert loaded.settings == config.Settings()
    assert refused_save(fifo) == "not a regular file (a FIFO); not saved"
    assert fingerprint(fifo) == before
    assert sorted(p.name for p in fifo.parent.iterdir()) == ["config.fifo"]  # no temp left


@pytest.mark.parametrize("name", ["null", "zero"])
def test_a_device_is_not_read_nor_moved_nor_written(tmp_path, name):
    device = char_device(tmp_path, name)
    before = fingerprint(device)
    loaded = within(30, lambda: config.load(device))
    assert "unreadable (not a regular file (a character device)); left in place" in loaded.warning
    assert refused_save(device) == "not a regular file (a character device); not saved"
    assert fingerprint(device) == before


async def test_the_app_starts_on_defaults_and_reports_each_refused_save(
    store: Store, simple: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for _ in range(3):
        ops.new_run(store, simple)
    device = char_device(tmp_path, "zero")
    before = fingerprint(device)
    monkeypatch.setenv("RUNS_TUI_CONFIG", str(device))
    app = make_app(store, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "left in place; using defaults" in app.config_warning
        await pilot.press("s")  # sort by RUN: the view changes and is saved, or not
        await settle(pilot)
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors and set(errors) == {
            f"Cannot save settings to {device}: not a regular file (a character device); not saved"
        }
        assert [row[1] for row in visible_rows(pilot)] == ["#1", "#2", "#3"]
    assert fingerprint(device) == before


def test_a_symlink_to_my_own_file_is_saved_through(tmp_path):
    target = tmp_path / "dotfiles" / "runs-tui.toml"
    target.parent.mkdir()
    config.save(config.Settings(refresh=3.0), target)
    link = tmp_path / "config" / "config.toml"
    link.parent.mkdir()
    link.symlink_to(target)
    config.save(MINE, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert config.load(target).settings.refresh == 7.0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in link.parent.iterdir()) == ["config.toml"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (os.mkfifo, "a FIFO"),
        (lambda t: t.mkdir(), "a directory"),
        (lambda t: None, "No such file or directory"),
        (lambda t: t.symlink_to(t), "Too many levels of symbolic links"),
        (lambda t: (t.write_text("refresh = 9.0\n"), os.chown(t, 65534, 65534)), "uid 65534"),
    ],
    ids=["fifo", "directory", "dangling", "loop", "not-mine"],
)
def test_a_symlink_to_anything_else_is_refused_and_left_alone(tmp_path, make, reason):
    target = tmp_path / "target"
    make(target)
    if reason == "uid 65534" and os.lstat(target).st_uid != 65534:
        pytest.skip("chown to another user needs root")
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    before = [fingerprint(p) for p in (link, target) if os.path.lexists(p)]
    message = refused_save(link)
    assert message.startswith(f"a symlink to {os.path.realpath(link)}") and reason in message
    assert message.endswith("; not saved")
    assert [fingerprint(p) for p in (link, target) if os.path.lexists(p)] == before
    if reason == "uid 65534":
        assert target.read_text() == "refresh = 9.0\n"


def test_the_config_folder_is_made_private_and_a_folder_of_the_user_is_left_as_is(tmp_path):
    made = tmp_path / "made" / "by" / "runs-tui" / "config.toml"
    config.save(MINE, made)
    assert stat.S_IMODE(made.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    theirs.chmod(0o755)
    config.save(MINE, theirs / "config.toml")
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o755


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("keymap = " + "[" * 100_000, "nested too deeply"),
        ("[keymap." + ".".join(["a"] * 3000) + "]\nb = 1\n", "keymap.a: expected keys as a string"),
        (f"refresh = {10**400}\n", "refresh: expected a number of seconds, got 1000"),
        ("refresh = " + "9" * 5000 + "\n", "integer string conversion"),
    ],
    ids=["deep", "deep-tables", "huge-int", "too-many-digits"],
)
def test_what_the_parser_or_the_database_cannot_take_is_a_broken_config(tmp_path, text, reason):
    path = tmp_path / "config.toml"
    path.write_text(text)
    loaded = config.load(path)
    assert loaded.settings == config.Settings()
    assert reason in loaded.warning and "; kept as " in loaded.warning
    assert not path.exists()


def test_the_default_config_path_is_in_the_user_config_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("RUNS_TUI_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    config.save(MINE)
    assert paths.config_path() == tmp_path / "xdg" / "runs-tui" / "config.toml"
    assert stat.S_IMODE(paths.config_path().parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_nul_in_a_saved_pipeline_name_is_kept_and_never_reaches_the_database(
    tmp_path, request, backend, pipeline_file
):
    """The config keeps what it was given (views survive it); a name with NUL matches no
    pipeline, without a query PostgreSQL would refuse."""
    from runs_tui.core.db import open_store
    from runs_tui.core.lookup import first_pipeline, pipeline_by_name
    from runs_tui.core.registry import register

    path = tmp_path / "config.toml"
    path.write_text('last_pipeline = "a\\u0000"\n[pipelines."x\\u0000"]\nview = "c=run"\n')
    loaded = config.load(path)
    assert loaded.warning == ""
    assert loaded.settings.last_pipeline == "a\0" and "x\0" in loaded.settings.pipelines
    url = str(tmp_path / "n.db") if backend == "sqlite" else request.getfixturevalue("pg_url")
    store = open_store(url)
    try:
        register(store, pipeline_file)
        found, matched = first_pipeline(store, loaded.settings.last_pipeline)
        assert found is not None and found.name == "simple" and matched is False
        with pytest.raises(ValueError, match="unknown pipeline"):
            pipeline_by_name(store, "a\0")
    finally:
        store.dispose()
