"""The settings are written off the UI thread (ui/settings_writer.py): the newest last,
none lost, and a search does not wait for the file."""

from __future__ import annotations

import threading
import time
import tomllib
from pathlib import Path

import pytest
from test_exports import many_runs
from ui_support import SIZE, make_app, settle, table

from runs_tui.core import config
from runs_tui.core.db import Store
from runs_tui.core.view import TableView
from runs_tui.ui.settings_writer import SettingsWriter


def test_concurrent_flushes_write_each_put_once_and_the_newest_last() -> None:
    written: list[bytes] = []
    first_started, release = threading.Event(), threading.Event()

    def write(data: bytes) -> None:
        if not written:
            first_started.set()
            assert release.wait(30)
        written.append(data)

    writer = SettingsWriter(write)
    writer.put(b"1")
    first = threading.Thread(target=writer.flush)
    first.start()
    assert first_started.wait(30)
    writer.put(b"2")
    writer.put(b"3")  # while "1" is being written: "2" is never written, "3" once
    others = [threading.Thread(target=writer.flush) for _ in range(3)]
    for t in others:
        t.start()
    release.set()
    for t in [first, *others]:
        t.join(30)
    assert written == [b"1", b"3"]
    writer.flush()
    assert written == [b"1", b"3"], "nothing new: nothing written"


def test_a_failed_write_raises_and_the_next_put_is_written(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the config folder should be")
    target = [blocker / "config.toml"]
    writer = SettingsWriter(lambda data: config.write(data, target[0]))
    writer.put(config.dumps(config.Settings(refresh=3.0)))
    with pytest.raises(OSError):
        writer.flush()
    target[0] = tmp_path / "config.toml"
    writer.put(config.dumps(config.Settings(refresh=4.0)))
    writer.flush()
    assert config.load(target[0]).settings.refresh == 4.0


async def test_a_search_does_not_wait_for_the_settings_file(
    store: Store, simple: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view a search makes is saved by a worker: the search's rows are shown while
    that write is held, and the file has the search once it is let go."""
    saving, held, threads = threading.Event(), threading.Event(), []
    write = config.write

    def slow(data: bytes, path: Path | None = None) -> None:
        threads.append(threading.current_thread())
        if b"q=%237" in data:  # the search's view (its string: q=#7): held
            saving.set()
            assert held.wait(30), "the test never let the write go"
        write(data, path)

    monkeypatch.setattr(config, "write", slow)
    many_runs(store, simple, 30)
    app = make_app(store, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.set_timer(60, held.set)  # a failing test does not hang its exit
        await settle(pilot)
        await pilot.press("slash", *"#7", "enter")
        deadline = time.monotonic() + 30
        while len(table(pilot).order) != 1 or not saving.is_set():  # #7 alone, being saved
            assert time.monotonic() < deadline, "the search's rows never came"
            await pilot.pause(0.01)
        assert not held.is_set(), "shown while its view is being saved"
        assert threading.main_thread() not in threads
        held.set()
        await settle(pilot)
    saved = tomllib.loads(config.config_path().read_text())
    assert TableView.from_string(saved["pipelines"][simple]["view"]).search == "#7", saved
