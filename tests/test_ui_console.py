"""`E`: a run a real agent failed opens at its traceback, stderr marked; `/` n N g G
inside the console; `s` saves it to a file; a run that did not fail says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from failing_support import EPOCHS, REASON, new_runs, register_failing, run_agent
from sqlalchemy import update
from textual.pilot import Pilot
from textual.widgets import Input, Label
from ui_support import SIZE, main_screen, make_app, settle

from runs_tui.core import paths
from runs_tui.core.db import Store
from runs_tui.core.models import RUN
from runs_tui.ui.screens.console import ConsoleScreen
from runs_tui.ui.screens.console_save import SaveConsoleScreen
from runs_tui.ui.widgets.console_view import ConsoleView

TRACEBACK = "Traceback (most recent call last):"


@pytest.fixture
def failed_run(store: Store, tmp_path: Path, agents, db_path: Path) -> str:
    """A run of `fails` that a real agent ran and that failed with a traceback."""
    name = register_failing(store, tmp_path)
    new_runs(store, name)
    run_agent(agents(str(db_path)))
    return name


def console(pilot: Pilot[None]) -> ConsoleView:
    screen = pilot.app.screen
    assert isinstance(screen, ConsoleScreen), screen
    return screen.query_one(ConsoleView)


def shown(pilot: Pilot[None]) -> list[str]:
    """The console's lines as drawn on screen now, gutter and marks included."""
    view = console(pilot)
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


def line_of(pilot: Pilot[None], text: str) -> str:
    found = [line for line in shown(pilot) if text in line]
    assert found, f"{text!r} is not on screen:\n" + "\n".join(shown(pilot))
    return found[0]


def status(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#console-status").render())


def toasts(pilot: Pilot[None]) -> list[str]:
    return [n.message for n in pilot.app._notifications]


async def open_console(pilot: Pilot[None]) -> ConsoleView:
    await settle(pilot)
    await pilot.press("E")
    await settle(pilot)
    return console(pilot)


async def test_E_opens_the_failed_step_at_its_traceback(store: Store, failed_run: str):
    app = make_app(store, pipeline=failed_run, clock=None, refresh=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_console(pilot)
        texts = [line.text for line in view.lines]
        assert "ready" not in texts, "only the failed step's lines"
        assert texts[0] == "epoch 0: loss 1.000" and len(texts) > EPOCHS
        error = texts.index(TRACEBACK)
        assert view.current == error and view.scroll_y > 0, "scrolled down to it"
        marked = line_of(pilot, TRACEBACK)
        assert marked.startswith("▶") and f" {error + 1} ! Traceback" in marked
        assert " ! ValueError: bad lr: 10.0" in line_of(pilot, "ValueError")
        assert " ! warning: lr is high" in line_of(pilot, "warning: lr is high")
        assert "hostile ␛[31m [b]x[/b] ␇" in line_of(pilot, "hostile"), "shown, not obeyed"
        assert "» " + REASON in line_of(pilot, REASON), "how the step ended, last"
        assert "epoch 0:" not in "\n".join(shown(pilot))
        assert f"line {error + 1} of {len(texts)}" in status(pilot)
        assert "! stderr" in status(pilot)
        title = str(app.screen.query_one("#console-title").render())
        assert "fails #1" in title and "step 'boom'" in title and REASON in title
        # stderr is coloured too, and the error line stands out from the others
        y = shown(pilot).index(marked)
        region = view.scrollable_content_region
        plain_y = next(i for i, line in enumerate(shown(pilot)) if "epoch" in line)
        x = region.x + view.head_width
        assert (
            app.screen.get_style_at(x, region.y + y).bgcolor
            != app.screen.get_style_at(x, region.y + plain_y).bgcolor
        )
        warn_y = shown(pilot).index(line_of(pilot, "warning: lr"))
        assert (
            app.screen.get_style_at(x, region.y + warn_y).color
            != app.screen.get_style_at(x, region.y + plain_y).color
        )
        await pilot.press("escape")
        await settle(pilot)
        main_screen(pilot)


async def test_search_next_previous_no_match_start_and_end(store: Store, failed_run: str):
    app = make_app(store, pipeline=failed_run, clock=None, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_console(pilot)
        texts = [line.text for line in view.lines]
        await pilot.press("slash", *"EPOCH 1", "enter")
        await settle(pilot)
        after_error = texts.index(TRACEBACK)
        # from the error on, round the end: the first line holding "epoch 1"
        assert view.current == texts.index("epoch 1: loss 0.500")
        assert "▶" in line_of(pilot, "epoch 1: loss 0.500")
        await pilot.press("n")
        await settle(pilot)
        assert texts[view.current or 0].startswith("epoch 10:")
        await pilot.press("N")
        await settle(pilot)
        assert texts[view.current or 0] == "epoch 1: loss 0.500"
        await pilot.press("N")  # round the start, to the last match
        await settle(pilot)
        assert texts[view.current or 0].startswith("epoch 19:")
        assert "match for 'EPOCH 1'" in status(pilot)

        await pilot.press("slash")
        box = app.screen.query_one("#console-search", Input)
        box.value = "no such text"
        await pilot.press("enter")
        await settle(pilot)
        assert "No match for 'no such text'" in toasts(pilot)
        assert "no match for 'no such text'" in status(pilot)
        assert texts[view.current or 0].startswith("epoch 19:"), "the cursor stays"

        await pilot.press("G")
        await settle(pilot)
        assert view.scroll_y == view.max_scroll_y > 0
        assert REASON in "\n".join(shown(pilot))
        await pilot.press("g")
        await settle(pilot)
        assert view.scroll_y == 0 and "epoch 0:" in shown(pilot)[0]
        await pilot.press("E")
        await settle(pilot)
        assert view.current == after_error and TRACEBACK in "\n".join(shown(pilot))


async def save_to(pilot: Pilot[None], path: str) -> str | None:
    """Save to `path`: the dialog's complaint, None when it closed."""
    await pilot.press("s")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, SaveConsoleScreen)
    dialog.query_one("#save-path", Input).value = path
    await pilot.press("enter")
    await settle(pilot)
    if pilot.app.screen is not dialog:
        return None
    return str(dialog.query_one("#save-error", Label).render())


async def test_s_saves_the_console_to_a_new_file(store: Store, failed_run: str, tmp_path: Path):
    app = make_app(store, pipeline=failed_run, clock=None, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        view = await open_console(pilot)
        await pilot.press("s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SaveConsoleScreen)
        suggested = Path(dialog.query_one("#save-path", Input).value)
        assert suggested.name.startswith("fails-1-boom-") and suggested.suffix == ".log"
        await pilot.press("escape")
        await settle(pilot)

        target = tmp_path / "boom.log"
        assert await save_to(pilot, str(target)) is None
        assert isinstance(app.screen, ConsoleScreen)
        saved = target.read_text(encoding="utf-8").splitlines()
        assert len(saved) == len(view.lines)
        assert saved[0] == "[boom] epoch 0: loss 1.000"
        assert f"[boom!] {TRACEBACK}" in saved
        assert saved[-1] == f"[runs-tui] {REASON}"
        assert "[boom] hostile ␛[31m [b]x[/b] ␇" in saved, "no control character written"
        assert f"Saved {len(saved)} lines to {target}" in toasts(pilot)

        # nothing is overwritten; a missing folder is named; both in the dialog
        problem = await save_to(pilot, str(target))
        assert problem is not None and "exists; choose another name" in problem
        await pilot.press("escape")
        problem = await save_to(pilot, str(tmp_path / "nowhere" / "x.log"))
        assert problem is not None and "does not exist" in problem
        await pilot.press("escape")
        problem = await save_to(pilot, str(tmp_path / ("x" * 300)))
        assert problem is not None and problem.endswith(": File name too long")
        await pilot.press("escape")
        await settle(pilot)
        # a file the system refuses to create: the error is told, the app goes on
        assert await save_to(pilot, "/proc/runs-tui-console.log") is None
        assert any(t.startswith("Cannot write /proc/runs-tui-console.log: ") for t in toasts(pilot))
        assert isinstance(app.screen, ConsoleScreen)


async def test_E_on_a_run_that_did_not_fail_says_so(store: Store, failed_run: str):
    with store.write() as s:
        s.execute(update(RUN).values(status="completed", status_message="completed"))
    app = make_app(store, pipeline=failed_run, clock=None, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("E")
        await settle(pilot)
        main_screen(pilot)
        assert "fails #1 is Completed, not Failed: there is no error to jump to" in toasts(pilot)


async def test_E_is_in_help_and_the_palette(store: Store, failed_run: str):
    app = make_app(store, pipeline=failed_run, clock=None, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keys = app.bindings_list(app.screen)
        assert ("E", "Jump to the error", "jump_error") in keys
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Jump to the error" in titles
        await open_console(pilot)
        inside = {binding_id for _, _, binding_id in app.bindings_list(app.screen)}
        assert {"console_search", "console_next", "console_save", "console_end"} <= inside


async def test_the_keys_are_remappable(store: Store, failed_run: str):
    paths.config_path().write_text(
        tomli_w.dumps({"keymap": {"jump_error": "z", "console_search": "f"}})
    )
    app = make_app(store, pipeline=failed_run, clock=None, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("z")
        await settle(pilot)
        console(pilot)
        await pilot.press("f")
        box = app.screen.query_one("#console-search", Input)
        assert box.display and box.has_focus
        await pilot.press("escape")  # closes the search, not the console
        await settle(pilot)
        assert not box.display and console(pilot).has_focus
