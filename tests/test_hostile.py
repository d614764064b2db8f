"""Hostile strings everywhere: shown literally, never markup, no control bytes on screen."""

from __future__ import annotations

import re

from sqlalchemy import insert, update
from textual.widgets import TabbedContent
from ui_support import SIZE, make_app, settle

from runs_tui.core import ops
from runs_tui.core.columns import parse_columns
from runs_tui.core.db import Store, now
from runs_tui.core.models import LOG, METRIC, POINT, RUN
from runs_tui.core.registry import register

HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]52;c;aGVsbG8=\x07osc",
    "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
    "c1\x9b31m\x85\x90end",
    "carriage\rreturn",
    "[red]not red[/]",
    "[/]",
    "[@click=app.quit]click[/]",
    "[link=x]y[/link]",
    "bell\x07del\x7f",
]
LONG = "L" * 10_000
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _setup(store: Store, tmp_path) -> int:
    path = tmp_path / "h.toml"
    path.write_text(
        '[pipeline]\nname = "hostile"\n[parameters]\ntext = "x"\n'
        '[[steps]]\nname = "s"\ncommand = ["true", "{text}"]\n'
    )
    register(store, path)
    run = ops.new_run(store, "hostile", {"text": HOSTILE[0] + LONG}, tags=[*HOSTILE, LONG])
    t = now()
    with store.write() as s:
        s.execute(
            update(RUN)
            .where(RUN.c.id == run.id)
            .values(name="".join(HOSTILE) + LONG, user=HOSTILE[5], status_message=HOSTILE[7])
        )
        s.execute(
            insert(METRIC),
            [
                {
                    "run_id": run.id,
                    "title": f"m{i}{h}",
                    "series": h,
                    "last": 1.5,
                    "min": 1.0,
                    "max": 2.0,
                    "last_step": 3,
                    "updated": t,
                }
                for i, h in enumerate(HOSTILE)
            ],
        )
        s.execute(
            insert(POINT),
            [
                {
                    "run_id": run.id,
                    "attempt": 1,
                    "title": f"m0{HOSTILE[0]}",
                    "series": HOSTILE[0],
                    "value": v,
                    "time": t,
                }
                for v in (1.0, 2.0)
            ],
        )
        s.execute(
            insert(LOG),
            [
                {
                    "run_id": run.id,
                    "attempt": 1,
                    "step": "s",
                    "stream": "stdout",
                    "time": t,
                    "line": line,
                }
                for line in [*HOSTILE, LONG]
            ],
        )
    return run.id


async def test_hostile_strings_are_shown_literally_and_safely(store: Store, tmp_path):
    _setup(store, tmp_path)
    columns = parse_columns(f"run,tags,status,user,p:args/text,m:m5{HOSTILE[5]}/{HOSTILE[5]}:last")
    app = make_app(store, pipeline="hostile", columns=columns)
    screens: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screens.append(app.export_screenshot())
        for key in ("right", "right", "right"):
            await pilot.press(key)
            screens.append(app.export_screenshot())
        await pilot.press("enter")
        await settle(pilot)
        tabs = app.screen.query_one(TabbedContent)
        for tab in ("tab-info", "tab-params", "tab-metrics", "tab-steps", "tab-console"):
            tabs.active = tab
            await settle(pilot)
            screens.append(app.export_screenshot())
        assert app.is_running, "a hostile string must not quit the app"
    shown = "\n".join(screens)
    assert not CONTROL.search(shown), repr(CONTROL.search(shown))
    text = re.sub(r"<[^>]+>", "", shown).replace("&#160;", " ").replace("&amp;", "&")
    for literal in ("[red]not", "[@click=app.quit]click[/]", "[link=x]y[/link]"):
        assert literal in text, f"{literal!r} is not shown literally"
    assert "␛[31mred" in text
