"""Acting on runs with keys: marks, the selection and action menus with counts, the bar,
confirmations and results, new run, tags, the archive, the command palette, a real agent."""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from sqlalchemy import insert, select, update
from support import kill_marked, pids_with, pipeline_toml, wait_for
from textual.widgets import Collapsible, Input, Label, OptionList, Select, SelectionList
from ui_support import (
    SIZE,
    main_screen,
    make_app,
    settle,
    status_line,
    table,
    title_bar,
    visible_rows,
)

from runs_tui.core import ops
from runs_tui.core.db import Store
from runs_tui.core.models import PARAM, PIPELINE, RUN, TAG
from runs_tui.core.records import SortKey, ValueFilter
from runs_tui.core.registry import register
from runs_tui.core.status import Status
from runs_tui.ui.screens.forms import NewRunScreen, TagScreen
from runs_tui.ui.screens.menus import ActionMenu, ConfirmScreen, SelectionMenu
from runs_tui.ui.widgets.action_bar import ActionBar

MARK = "●"
FAILED_ONLY = (ValueFilter("status", frozenset({"failed"})),)


# --- the store, set up and read back directly -------------------------------------------------


def make_runs(store: Store, pipeline: str, states: list[Status | str]) -> list[int]:
    """One run per state, created oldest first (the table shows them newest first)."""
    ids = []
    for state in states:
        run_id = ops.new_run(store, pipeline).id
        set_state(store, run_id, Status(state))
        ids.append(run_id)
    return ids


def set_state(store: Store, run_id: int, state: Status, *, archived: bool | None = None) -> None:
    values: dict[str, object] = {"status": str(state)}
    if archived is not None:
        values["archived"] = archived
    with store.write() as s:
        s.execute(update(RUN).where(RUN.c.id == run_id).values(**values))


def states(store: Store, ids: list[int]) -> dict[int, str]:
    with store.read() as s:
        return dict(s.execute(select(RUN.c.id, RUN.c.status).where(RUN.c.id.in_(ids))).all())


def archived_ids(store: Store) -> set[int]:
    with store.read() as s:
        return set(s.execute(select(RUN.c.id).where(RUN.c.archived.is_(True))).scalars())


def tags_by_run(store: Store, ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {i: set() for i in ids}
    with store.read() as s:
        for run_id, tag in s.execute(select(TAG.c.run_id, TAG.c.tag).where(TAG.c.run_id.in_(ids))):
            out[run_id].add(tag)
    return out


def expected_counts(store: Store, ids: set[int]) -> dict[str, int]:
    """What each action can affect among `ids`, read from the store and DESIGN.md's table
    (not from runs_tui.core.selection)."""
    with store.read() as s:
        rows = s.execute(select(RUN.c.status, RUN.c.archived).where(RUN.c.id.in_(ids))).all()
    active = [st for st, arch in rows if not arch]
    return {
        "Abort": sum(st in ("pending", "running") for st in active),
        "Continue": sum(st == "aborted" for st in active),
        "Retry": sum(st == "failed" for st in active),
        "Archive": len(active),
        "Restore": len(rows) - len(active),
        "Tag": len(rows),
    }


# --- what the user sees -----------------------------------------------------------------------


def bar(pilot) -> str:
    widget = main_screen(pilot).query_one(ActionBar)
    return widget.plain if widget.display else ""


def bar_for(marked: int, want: dict[str, int]) -> str:
    """The bar's text for `marked` runs and the counts computed from the store."""
    return (
        f" {marked} marked · a Abort {want['Abort']} · c Continue {want['Continue']}"
        f" · c Retry {want['Retry']} · t Tag {want['Tag']} · x Archive {want['Archive']}"
        "  ·  m menu · esc clear"
    )


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def marked_rows(pilot) -> list[int]:
    """Run ids of the rows whose mark cell is drawn."""
    t = table(pilot)
    return [
        run_id for run_id, row in zip(t.order, visible_rows(pilot), strict=True) if row[0] == MARK
    ]


def run_numbers(pilot) -> list[str]:
    return [row[1] for row in visible_rows(pilot)]


def menu_lines(app) -> list[tuple[str, bool]]:
    """The open action menu's options: (text, disabled)."""
    options = app.screen.query_one(OptionList)
    return [
        (
            " ".join(str(options.get_option_at_index(i).prompt).split()),
            options.get_option_at_index(i).disabled,
        )
        for i in range(options.option_count)
    ]


async def open_palette_and_run(pilot, words: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*words)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await settle(pilot)


async def apply_view(pilot, **changes) -> None:
    """Change the main screen's view (filters, sort) as the `f` and `s` keys do."""
    screen = main_screen(pilot)
    screen.apply_view(screen.view.with_(**changes), save=False)
    await settle(pilot)


# --- marks ------------------------------------------------------------------------------------


async def test_space_marks_and_moves_down_shift_extends_escape_clears(store: Store, simple: str):
    ids = make_runs(store, simple, ["completed"] * 6)
    newest_first = ids[::-1]
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        assert bar(pilot) == ""
        await pilot.press("space")
        await settle(pilot)
        assert t.cursor_row == 1, "space moves the cursor down"
        assert marked_rows(pilot) == [newest_first[0]]
        assert bar(pilot).startswith(" 1 marked")
        assert "1 marked" in status_line(pilot)
        await pilot.press("up", "space")
        await settle(pilot)
        assert marked_rows(pilot) == [], "space on a marked row unmarks it"
        assert t.cursor_row == 1 and bar(pilot) == ""
        await pilot.press("space", "shift+down", "shift+down")
        await settle(pilot)
        assert marked_rows(pilot) == newest_first[1:5]
        assert t.cursor_row == 4
        await pilot.press("down", "shift+up", "shift+up")
        await settle(pilot)
        assert marked_rows(pilot) == newest_first[1:6]
        assert t.cursor_row == 3
        assert t.marks == set(newest_first[1:6])
        assert bar(pilot).startswith(" 5 marked")
        assert "5 marked" in status_line(pilot)
        style = t._get_row_style(1, t.rich_style)
        assert style != t._get_row_style(0, t.rich_style), "a marked row is drawn differently"
        await pilot.press("escape")
        await settle(pilot)
        assert marked_rows(pilot) == [] and t.marks == set()
        assert bar(pilot) == ""
        assert "marked" not in status_line(pilot)


async def test_marks_survive_refresh_sort_and_filter_and_the_status_counts_hidden(
    store: Store, simple: str
):
    ids = make_runs(store, simple, ["completed", "failed", "aborted", "failed", "completed"])
    users = ["erin", "bob", "dan", "alice", "carl"]
    with store.write() as s:
        for run_id, user in zip(ids, users, strict=True):
            s.execute(update(RUN).where(RUN.c.id == run_id).values(user=user))
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # newest first: #5 completed, #4 failed, #3 aborted, #2 failed, #1 completed
        await pilot.press("space", "space", "down", "space")
        await settle(pilot)
        marked = {ids[4], ids[3], ids[1]}
        assert table(pilot).marks == marked
        assert "3 marked" in status_line(pilot)

        new = ops.new_run(store, simple).id
        await pilot.press("r")
        await settle(pilot)
        assert table(pilot).order[0] == new
        assert set(marked_rows(pilot)) == marked, "marks follow their runs after a refresh"

        await apply_view(pilot, sort=(SortKey("user"),))
        assert [r[5] for r in visible_rows(pilot)] == sorted([*users, "tester"])
        assert set(marked_rows(pilot)) == marked, "marks follow their runs after a sort"

        await apply_view(pilot, filters=FAILED_ONLY)
        assert set(table(pilot).order) == {ids[1], ids[3]}
        assert set(marked_rows(pilot)) == {ids[1], ids[3]}
        assert table(pilot).marks == marked, "a run the filter hides stays marked"
        assert "3 marked (1 hidden by the filter)" in status_line(pilot)
        assert bar(pilot).startswith(" 3 marked (1 hidden by the filter)")

        await apply_view(pilot, filters=())
        assert set(marked_rows(pilot)) == marked
        assert "3 marked" in status_line(pilot) and "hidden" not in status_line(pilot)


async def test_selection_menu_all_filtered_from_sql_and_none(store: Store, simple: str):
    with store.read() as s:
        pid = s.execute(select(PIPELINE.c.id)).scalar_one()
    statuses = ["failed" if i % 2 == 0 else "completed" for i in range(1, 451)]
    with store.write() as s:
        s.execute(
            insert(RUN),
            [
                {
                    "pipeline_id": pid,
                    "number": i,
                    "name": f"bulk #{i}",
                    "version": "1",
                    "status": st,
                    "user": "u",
                    "queue": "default",
                    "created": 1.0 * i,
                    "updated": 1.0 * i,
                    "archived": i > 440,
                    "attempt": 1,
                    "status_message": "",
                }
                for i, st in enumerate(statuses, start=1)
            ],
        )
        active = set(s.execute(select(RUN.c.id).where(RUN.c.archived.is_(False))).scalars())
        failed = set(
            s.execute(
                select(RUN.c.id).where(RUN.c.archived.is_(False), RUN.c.status == "failed")
            ).scalars()
        )
    assert len(active) == 440 and len(failed) == 220
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await apply_view(pilot, filters=FAILED_ONLY)
        assert len(table(pilot).order) == 200, "only a window of the failed runs is loaded"
        await pilot.press("asterisk")
        await settle(pilot)
        assert isinstance(app.screen, SelectionMenu)
        lines = [" ".join(line.split()) for line, _ in menu_lines(app)]
        assert lines == [
            "All in pipeline (440 runs)",
            "Filtered (220 matching runs)",
            "None (clear the marks)",
        ]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert table(pilot).marks == failed
        assert "220 marked" in status_line(pilot) and "hidden" not in status_line(pilot)

        await pilot.press("asterisk")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert table(pilot).marks == active, "All: every active run of the pipeline, from SQL"
        assert "440 marked (220 hidden by the filter)" in status_line(pilot)
        assert bar(pilot).startswith(" 440 marked (220 hidden by the filter)")

        await pilot.press("asterisk")
        await settle(pilot)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert table(pilot).marks == set()
        assert bar(pilot) == "" and "marked" not in status_line(pilot)


# --- counts in the bar and the menu -----------------------------------------------------------


async def test_bar_and_menu_counts_match_the_states_in_the_store(store: Store, simple: str):
    layout = ["pending", "running", "completed", "failed", "aborted"] * 3
    ids = make_runs(store, simple, layout)
    set_state(store, ids[0], Status.PENDING, archived=True)  # hidden from the active table
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Mark rows 0-5 and 8-11 (newest first), with keys.
        await pilot.press("space", "shift+down", "shift+down", "shift+down", "shift+down")
        await pilot.press("down", "down", "down", "space", "space", "space", "space")
        await settle(pilot)
        marked = table(pilot).marks
        assert len(marked) == 10
        want = expected_counts(store, marked)
        assert want["Abort"] and want["Continue"] and want["Retry"], want
        assert bar(pilot) == bar_for(10, want)

        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        assert str(app.screen.query_one(Label).render()) == "Actions for 10 marked runs"

        def line(key: str, label: str, n: int) -> tuple[str, bool]:
            return (f"{key} {label} {n} run{'s' if n != 1 else ''}", n == 0)

        assert menu_lines(app) == [
            ("⏎ Details", False),
            ("n New run", False),
            line("a", "Abort", want["Abort"]),
            line("c", "Continue", want["Continue"]),
            line("r", "Retry", want["Retry"]),
            line("x", "Archive", 10),
            line("t", "Add / remove tags", 10),
        ]
        await pilot.press("escape")
        await settle(pilot)
        assert table(pilot).marks == marked, "escape closes the menu, the marks stay"

        # States change in the store (an agent at work): the bar follows at the next refresh.
        running_marked = next(i for i in marked if states(store, [i])[i] == "running")
        set_state(store, running_marked, Status.COMPLETED)
        failed_marked = next(i for i in marked if states(store, [i])[i] == "failed")
        set_state(store, failed_marked, Status.PENDING)
        await pilot.press("r")
        await settle(pilot)
        assert expected_counts(store, marked) != want
        assert bar(pilot) == bar_for(10, expected_counts(store, marked))

        # No marks: the menu is for the cursor run; what cannot apply is disabled.
        await pilot.press("escape", "ctrl+home")
        await settle(pilot)
        completed_row = next(i for i, r in enumerate(visible_rows(pilot)) if r[4] == "Completed")
        table(pilot).move_cursor(row=completed_row)
        cursor_id = table(pilot).order[completed_row]
        await pilot.press("m")
        await settle(pilot)
        assert str(app.screen.query_one(Label).render()) == "Actions for the cursor run"
        assert [disabled for _, disabled in menu_lines(app)] == [
            False,
            False,
            True,
            True,
            True,
            False,
            False,
        ]
        assert menu_lines(app)[5] == ("x Archive 1 run", False)
        await pilot.press("down", "down", "enter")  # Details, New run, Archive (the rest skip)
        await settle(pilot)
        assert table(pilot).cursor_run is not None
        assert not isinstance(app.screen, ActionMenu)
        assert archived_ids(store) == {ids[0], cursor_id}
        assert "Archived 1 of 1" in notes(app)


# --- abort, continue, archive: confirmations and results --------------------------------------


async def test_abort_many_confirms_with_hidden_count_then_reports(store: Store, simple: str):
    layout = ["running"] * 3 + ["pending"] * 2 + ["completed"] * 3 + ["failed"] * 4
    ids = make_runs(store, simple, layout)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("asterisk")
        await settle(pilot)
        await pilot.press("enter")  # All
        await settle(pilot)
        await apply_view(pilot, filters=FAILED_ONLY)
        assert bar(pilot).startswith(" 12 marked (8 hidden by the filter) · a Abort 5 ·")

        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == "Abort 5 runs?"
        assert app.screen.message == (
            "5 of the 12 marked runs can be affected.\n"
            "8 of the marked runs are hidden by the current filter.\n"
            "The other 7 are left as they are."
        )
        await pilot.press("n")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert Counter(states(store, ids).values())["aborted"] == 0, "answering No changes nothing"

        await pilot.press("a")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert "Aborted 5 of 12; 7 not eligible (4 Failed, 3 Completed)" in notes(app)
        after = states(store, ids)
        assert [after[i] for i in ids] == ["aborted"] * 5 + ["completed"] * 3 + ["failed"] * 4
        assert table(pilot).marks == set(ids), "marks stay after an abort"
        # 120 columns cannot hold every action with the hidden note: Abort 0 gives way
        assert ") · c Continue 5 · c Retry 4 ·" in bar(pilot)


async def test_a_run_that_changed_meanwhile_is_reported_never_forced(store: Store, simple: str):
    ids = make_runs(store, simple, ["running", "running", "running"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "space", "a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == "Abort 3 runs?"
        set_state(store, ids[1], Status.COMPLETED)  # its agent finished it meanwhile
        await pilot.press("y")
        await settle(pilot)
        assert "Aborted 2 of 3; 1 not eligible (1 Completed)" in notes(app)
        assert states(store, ids) == {ids[0]: "aborted", ids[1]: "completed", ids[2]: "aborted"}
        assert [r[4] for r in visible_rows(pilot)] == ["Aborted", "Completed", "Aborted"]


async def test_cursor_run_acts_without_confirmation(store: Store, simple: str):
    ids = make_runs(store, simple, ["completed", "failed", "running"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert "Aborted 1 of 1" in notes(app)
        assert visible_rows(pilot)[0][4] == "Aborted"
        await pilot.press("down", "a")
        await settle(pilot)
        assert "Aborted 0 of 1; 1 not eligible (1 Failed)" in notes(app)
        assert states(store, ids) == {ids[0]: "completed", ids[1]: "failed", ids[2]: "aborted"}


async def test_c_continues_aborted_and_retries_failed(store: Store, simple: str):
    ids = make_runs(store, simple, ["aborted", "failed", "completed"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "space")
        await settle(pilot)
        assert " · c Continue 1 · c Retry 1 ·" in bar(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == "Continue or retry 2 runs?"
        await pilot.press("y")
        await settle(pilot)
        assert "Continued or retried 2 of 3; 1 not eligible (1 Completed)" in notes(app)
        assert states(store, ids) == {ids[0]: "pending", ids[1]: "pending", ids[2]: "completed"}
        with store.read() as s:
            attempts = dict(s.execute(select(RUN.c.id, RUN.c.attempt)).all())
        assert attempts[ids[0]] == attempts[ids[1]] == 2
        assert [r[4] for r in visible_rows(pilot)] == ["Completed", "Pending", "Pending"]


async def test_menu_retry_retries_only_the_failed_and_continue_only_the_aborted(
    store: Store, simple: str
):
    ids = make_runs(store, simple, ["aborted", "failed", "failed", "completed"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "space", "space", "m")
        await settle(pilot)
        assert [text for text, _ in menu_lines(app)][3:5] == ["c Continue 1 run", "r Retry 2 runs"]
        await pilot.press("down", "down", "down", "enter")  # Abort (0) is skipped
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == "Retry 2 runs?"
        await pilot.press("y")
        await settle(pilot)
        assert "Retried 2 of 4; 2 not eligible (1 Aborted, 1 Completed)" in notes(app)
        assert [states(store, ids)[i] for i in ids] == [
            "aborted",
            "pending",
            "pending",
            "completed",
        ]
        await pilot.press("m")
        await settle(pilot)
        assert [text for text, _ in menu_lines(app)][2:5] == [
            "a Abort 2 runs",
            "c Continue 1 run",
            "r Retry 0 runs",
        ]
        await pilot.press("down", "down", "down", "enter")  # Continue
        await settle(pilot)
        assert app.screen.title_text == "Continue 1 run?"
        await pilot.press("y")
        await settle(pilot)
        assert "Continued 1 of 4; 3 not eligible (2 Pending, 1 Completed)" in notes(app)
        assert states(store, [ids[0]]) == {ids[0]: "pending"}


async def test_archive_then_restore_in_the_archive_view(store: Store, simple: str):
    ids = make_runs(store, simple, ["completed", "running", "failed", "completed"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # newest first: #4 completed, #3 failed, #2 running, #1 completed
        await pilot.press("down", "space", "space", "x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.title_text == "Archive 2 runs?"
        await pilot.press("y")
        await settle(pilot)
        assert "Archived 2 of 2 (1 aborted first)" in notes(app)
        assert archived_ids(store) == {ids[1], ids[2]}
        assert states(store, [ids[1]]) == {ids[1]: "aborted"}, "a running run is aborted first"
        assert run_numbers(pilot) == ["#4", "#1"]
        assert table(pilot).marks == set() and bar(pilot) == ""

        await pilot.press("A")
        await settle(pilot)
        assert title_bar(pilot).startswith("simple 1.0.0  ARCHIVE ")
        assert run_numbers(pilot) == ["#3", "#2"]
        await pilot.press("m")
        await settle(pilot)
        assert [text for text, _ in menu_lines(app)][2:] == [
            "x Restore 1 run",
            "t Add / remove tags 1 run",
        ]
        await pilot.press("escape", "ctrl+home", "x")
        await settle(pilot)
        assert "Restored 1 of 1" in notes(app)
        assert archived_ids(store) == {ids[1]}
        assert run_numbers(pilot) == ["#2"]

        await pilot.press("A")
        await settle(pilot)
        assert title_bar(pilot).startswith("simple 1.0.0  TABLE ")
        assert run_numbers(pilot) == ["#4", "#3", "#1"]


# --- new run ----------------------------------------------------------------------------------


def field(app, name: str) -> Input:
    return app.screen.query_one(f"#param-args_{name}", Input)


async def test_new_run_prefilled_validated_tagged_queued_and_shown_at_once(
    store: Store, simple: str
):
    first = ops.new_run(store, simple, {"lr": "0.1", "name": "old"}, tags=["sweep"]).id
    for _ in range(29):  # the newest run's values are the ones prefilled
        ops.new_run(store, simple, {"lr": "0.5", "name": "prev"})
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table(pilot).move_cursor(row=12)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, NewRunScreen)
        values = {k: field(app, k).value for k in ("lr", "epochs", "name", "flag")}
        assert values == {"lr": "0.5", "epochs": "3", "name": "prev", "flag": "false"}
        labels = [str(w.render()) for w in app.screen.query(".field-label")]
        assert "epochs  (int, default 3)" in labels

        await pilot.press("tab", "ctrl+u", "x")  # focus starts on lr; epochs next
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, NewRunScreen), "an invalid form stays open"
        error = app.screen.query_one("#param-args_epochs-error", Label)
        assert str(error.render()) == "parameter 'epochs': expected an integer, got 'x'"
        assert app.screen.focused is field(app, "epochs")
        await pilot.press("ctrl+u", "5")

        await pilot.press("tab", "tab", "tab", *"sw", "right")  # name, flag, tags
        assert app.screen.query_one("#new-run-tags", Input).value == "sweep"
        await pilot.press(*", lr-5")

        await pilot.press("tab")  # the "Advanced configurations" title
        advanced = app.screen.query_one("#advanced", Collapsible)
        assert advanced.collapsed
        await pilot.press("enter")
        await pilot.pause()
        assert not advanced.collapsed
        assert app.screen.query_one("#queue", Select).value == "default"
        await pilot.press("tab", "tab", *"gpu-big")
        await pilot.press("ctrl+s")
        await settle(pilot)

        assert not isinstance(app.screen, NewRunScreen)
        with store.read() as s:
            new = s.execute(select(RUN).order_by(RUN.c.id.desc()).limit(1)).mappings().one()
            params = dict(
                s.execute(
                    select(PARAM.c.key, PARAM.c.value).where(PARAM.c.run_id == new["id"])
                ).all()
            )
        assert new["id"] != first
        assert (new["status"], new["queue"], new["number"]) == ("pending", "gpu-big", 31)
        assert params == {
            "args/lr": "0.5",
            "args/epochs": "5",
            "args/name": "prev",
            "args/flag": "false",
        }
        assert tags_by_run(store, [new["id"]]) == {new["id"]: {"sweep", "lr-5"}}
        assert "Started simple#31 in queue gpu-big" in notes(app)
        cursor = table(pilot).cursor_run
        assert cursor is not None and cursor.id == new["id"], "the cursor is on the new run"
        assert visible_rows(pilot)[table(pilot).cursor_row][4] == "Pending"


async def test_new_run_defaults_and_a_known_queue(store: Store, simple: str, tmp_path: Path):
    other = tmp_path / "other.toml"
    other.write_text(pipeline_toml("other", [("s", ["true"], [])], queue="gpu"))
    register(store, other)
    app = make_app(store, pipeline="simple")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        values = {k: field(app, k).value for k in ("lr", "epochs", "name", "flag")}
        assert values == {"lr": "0.01", "epochs": "3", "name": "base", "flag": "false"}
        await pilot.press("tab", "tab", "tab", "ctrl+u", "m", "ctrl+s")
        await settle(pilot)
        error = app.screen.query_one("#param-args_flag-error", Label)
        assert str(error.render()) == ("parameter 'flag': expected a boolean (true/false), got 'm'")
        await pilot.press("ctrl+u", "1", "tab", "tab", "enter")  # tags, Advanced
        await pilot.pause()
        await pilot.press("tab", "enter")  # the queue picker
        await pilot.pause()
        await pilot.press("down", "enter")  # default -> gpu
        await pilot.pause()
        assert app.screen.query_one("#queue", Select).value == "gpu"
        await pilot.press("ctrl+s")
        await settle(pilot)
        with store.read() as s:
            new = s.execute(select(RUN)).mappings().one()
            flag = s.execute(select(PARAM.c.value).where(PARAM.c.key == "args/flag")).scalar()
        assert (new["status"], new["queue"], flag) == ("pending", "gpu", "true")
        assert run_numbers(pilot) == ["#1"] and visible_rows(pilot)[0][4] == "Pending"


async def test_new_run_buttons_are_inside_the_dialog(store: Store, simple: str):
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        dialog = app.screen.query_one(".dialog")
        for button in ("#run", "#cancel"):
            region = app.screen.query_one(button).region
            assert dialog.content_region.contains_region(region), (button, region)


# --- tags -------------------------------------------------------------------------------------


async def test_tag_marked_runs_with_a_suggestion_and_remove_one(store: Store, simple: str):
    ids = make_runs(store, simple, ["completed", "completed", "failed"])
    ops.tag(store, [ids[0]], ["baseline"])
    ops.tag(store, [ids[1], ids[2]], ["old"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "space")  # #3 and #2
        await settle(pilot)
        assert " · t Tag 2 ·" in bar(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, TagScreen)
        assert str(app.screen.query_one(".dialog-title", Label).render()) == "Tags of 2 runs"
        removable = app.screen.query_one(SelectionList)
        assert [
            str(removable.get_option_at_index(i).prompt) for i in range(removable.option_count)
        ] == ["old  (2 of 2)"]
        await pilot.press(*"bas", "right")
        assert app.screen.query_one("#add-tags", Input).value == "baseline"
        await pilot.press("tab", "space", "ctrl+s")
        await settle(pilot)
        assert "Tagged 2 of 2" in notes(app)
        assert tags_by_run(store, ids) == {
            ids[0]: {"baseline"},
            ids[1]: {"baseline"},
            ids[2]: {"baseline"},
        }
        assert [r[3].strip() for r in visible_rows(pilot)] == ["baseline"] * 3

        await pilot.press("escape", "ctrl+home", "t")  # no marks: the cursor run
        await settle(pilot)
        assert str(app.screen.query_one(".dialog-title", Label).render()) == "Tags of 1 run"
        await pilot.press("tab", "space", "ctrl+s")
        await settle(pilot)
        assert tags_by_run(store, [ids[2]]) == {ids[2]: set()}


# --- the command palette ----------------------------------------------------------------------


async def test_every_action_is_in_the_command_palette(store: Store, simple: str):
    ids = make_runs(store, simple, ["running", "running"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {
            "Mark",
            "Select",
            "Clear marks",
            "Menu",
            "New run",
            "Abort",
            "Continue",
            "Tag",
            "Archive",
            "Archive view",
        } <= titles
        await open_palette_and_run(pilot, "Abort")  # the cursor run, the newest
        assert states(store, ids) == {ids[0]: "running", ids[1]: "aborted"}
        await open_palette_and_run(pilot, "New run")
        assert isinstance(app.screen, NewRunScreen)


# --- a real agent -----------------------------------------------------------------------------


async def test_abort_in_the_table_stops_a_running_step(
    store: Store, tmp_path: Path, agents, db_path: Path
):
    marker = f"ui-abort-{uuid.uuid4().hex}"
    path = tmp_path / "sleepy.toml"
    code = (  # the step and a child of it, both named by the marker
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)', sys.argv[1]])\n"
        "time.sleep(1000)\n"
    )
    path.write_text(pipeline_toml("sleepy", [("nap", [sys.executable, "-c", code, marker], [])]))
    name = register(store, path).name
    run = ops.new_run(store, name)
    make_runs(store, name, ["completed"])  # a second row, above it
    agents(str(db_path)).start("--poll", "0.3", "--grace", "1")
    try:
        wait_for(lambda: states(store, [run.id])[run.id] == "running", 60, "the run to start")
        wait_for(lambda: len(pids_with(marker)) >= 2, 60, "the step and its child")
        app = make_app(store, clock=None)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert [r[4][:7] for r in visible_rows(pilot)] == ["Complet", "Running"]
            await pilot.press("down", "a")
            await settle(pilot)
            pressed = time.monotonic()
            assert "Aborted 1 of 1" in notes(app)
            while pids_with(marker) and time.monotonic() - pressed < 5:
                await pilot.pause(0.1)
            assert not pids_with(marker), "every process of the step is gone"
            assert states(store, [run.id]) == {run.id: "aborted"}
            await pilot.press("r")
            await settle(pilot)
            assert visible_rows(pilot)[1][4] == "Aborted"
    finally:
        kill_marked(marker)


async def test_letters_pick_actions_inside_the_menu(store: Store, simple: str):
    run = ops.new_run(store, simple)
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu), "Continue is disabled for a Pending run"
        await pilot.press("a")
        await settle(pilot)
        assert not isinstance(app.screen, ActionMenu)
    with store.read() as s:
        assert s.execute(select(RUN.c.status).where(RUN.c.id == run.id)).scalar() == "aborted"
