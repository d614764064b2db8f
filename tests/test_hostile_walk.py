"""Every screen, dialog, list and tab opened with hostile values in every field a user or
a run controls: nothing hangs, nothing is parsed as markup, no control byte is drawn."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import insert, update
from textual.widgets import Collapsible, Input, TabbedContent
from ui_support import SIZE, make_app, settle

from runs_tui.core import ops
from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store, now
from runs_tui.core.models import LOG, METRIC, RUN
from runs_tui.core.registry import register

ESC = "\x1b]0;pwned\x07\x1b[31m"
MARKUP = ("[@click=app.quit]click[/]", "oops[/x]", "[/]", "[bold]b")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
PIPELINE = """
[pipeline]
name = "hostile"
queue = "q[@click=app.quit]x[/]"

[parameters]
text = "\\u001b]0;title\\u0007def[/x]"
n = 1

[[steps]]
name = "s"
command = ["true", "{text}"]
"""


def _setup(store: Store, tmp_path) -> None:
    path = tmp_path / "h.toml"
    path.write_text(PIPELINE)
    register(store, path)
    values = [*MARKUP, ESC + "esc"]
    for i, value in enumerate(values):
        run = ops.new_run(
            store,
            "hostile",
            {"text": value},
            tags=[value, f"t{i}{ESC}"],
            queue=f"queue{ESC}{MARKUP[i % 4]}",
        )
        t = now()
        with store.write() as s:
            s.execute(
                update(RUN)
                .where(RUN.c.id == run.id)
                .values(name=value, user=f"{MARKUP[i % 4]}{ESC}", status_message=value)
            )
            s.execute(
                insert(METRIC),
                [
                    {
                        "run_id": run.id,
                        "title": title,
                        "series": series,
                        "last": 1.0,
                        "min": 0.5,
                        "max": 2.0,
                        "updated": t,
                    }
                    for title, series in (("loss", "[/]"), (f"m{ESC}", "oops[/x]"))
                ],
            )
            s.execute(
                insert(LOG),
                [
                    {
                        "run_id": run.id,
                        "attempt": 1,
                        "step": f"s{ESC}[/]",
                        "stream": stream,
                        "time": t,
                        "line": value,
                    }
                    for stream in ("stdout", "stderr")
                ],
            )


async def _walk(app, pilot, shots: list[str]) -> None:
    async def shot(*keys: str) -> None:
        if keys:
            await pilot.press(*keys)
        await settle(pilot)
        shots.append(app.export_screenshot())
        assert app.is_running, f"the app quit after {keys}"

    await shot()
    # A filter dialog for each column, from the first to the last.
    for _ in range(7):
        await shot("f")
        await shot("escape", "right")
    await shot("C")
    await shot("escape", "n")
    app.screen.query_one(Collapsible).collapsed = False
    tags = app.screen.query_one("#new-run-tags", Input)
    tags.focus()
    await shot("t")  # a suggestion from the hostile tags
    await shot("escape", "space", "t")
    await shot("escape", "m")
    await shot("escape", "asterisk")
    await shot("escape", "P")
    await shot("escape", "question_mark")
    await shot("escape", "e")
    await shot("escape", "enter")
    tabs = app.screen.query_one(TabbedContent)
    for tab in ("tab-info", "tab-params", "tab-metrics", "tab-steps", "tab-console"):
        tabs.active = tab
        await shot()
    await shot("v")


async def test_every_screen_and_dialog_shows_hostile_values_literally(store: Store, tmp_path):
    _setup(store, tmp_path)
    columns = parse_columns("run,tags,status,user,queue,p:args/text,m:loss/[/]:last")
    app = make_app(store, pipeline="hostile", columns=columns)
    shots: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(_walk(app, pilot, shots), timeout=240)
    assert len(shots) > 30
    shown = "\n".join(shots)
    bad = CONTROL.search(shown)
    assert bad is None, repr(shown[max(bad.start() - 40, 0) : bad.end() + 40])
    text = re.sub(r"<[^>]+>", "", shown).replace("&#160;", " ").replace("&amp;", "&")
    for literal in ("[@click=app.quit]click[/]", "oops[/x]", "q[@click=app.quit]x[/]", "␛]0;"):
        assert literal in text, f"{literal!r} is not shown literally"


async def test_a_hostile_pipeline_name_on_the_command_line_is_shown_safely(store, tmp_path):
    _setup(store, tmp_path)
    app = make_app(store, pipeline=f"nope{ESC}[@click=app.quit]x[/]")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = [str(n.message) for n in app._notifications]
        assert any("[@click=app.quit]x[/]" in n for n in notes), notes
        assert not any(CONTROL.search(n) for n in notes)
        assert not CONTROL.search(app.export_screenshot())
