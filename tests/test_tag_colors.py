"""Tag colours (issue 13): spread over a palette by a hash that is the same in every
process, so the demo's tags (ablation, prod, debug...) do not share one red; a user's
own `[tag_colors]` in the config win; a narrowed TAGS column ends with an ellipsis."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import pytest
from rich.color import Color
from rich.text import Text
from support import ROOT
from test_ui_view import go_to_column
from ui_support import SIZE, make_app, settle, table

from runs_tui.core import config, ops, paths
from runs_tui.core.db import Store
from runs_tui.demo.seed import TAGS
from runs_tui.ui.render import tag_color, tag_style

DEMO_TAGS = (*TAGS, "nightly")  # the demo's feeder tags its runs "nightly" too


def test_the_demo_tags_get_one_colour_each():
    colours = {tag: tag_color(tag) for tag in DEMO_TAGS}
    assert len(set(colours.values())) == len(DEMO_TAGS), colours
    assert len({colours["ablation"], colours["prod"], colours["debug"]}) == 3


def test_a_tag_has_the_same_colour_in_every_process():
    probe = "from runs_tui.ui.render import tag_color; print([tag_color(t) for t in %r])"
    here = str([tag_color(t) for t in DEMO_TAGS])
    for seed in ("0", "1", "4242"):  # str hashes differ by seed: they must not matter
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", probe % (DEMO_TAGS,)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        )
        assert out.stdout.strip() == here


def test_text_on_a_tag_is_dark_on_a_light_colour_and_light_on_a_dark_one():
    assert tag_style("x", {"x": "#ffff00"}).color == Color.parse("black")
    assert tag_style("x", {"x": "#000080"}).color == Color.parse("white")


def _tag_background(cell: Text, tag: str) -> str:
    start = cell.plain.index(f" {tag} ")
    styles = [s.style for s in cell.spans if s.start <= start < s.end]
    assert styles, cell.spans
    colour = styles[-1].bgcolor  # type: ignore[union-attr]
    assert colour is not None and colour.triplet is not None
    return colour.triplet.hex


async def test_the_config_names_a_tags_colour(store: Store, simple: str):
    paths.config_path().write_text('[tag_colors]\nprod = "#00ff00"\n"a b" = "magenta"\n')
    run = ops.new_run(store, simple, tags=["prod", "debug"]).id
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.config_warning == ""
        cell = table(pilot).get_row(str(run))[3]
        assert _tag_background(cell, "prod") == "#00ff00"
        assert _tag_background(cell, "debug") == Color.parse(tag_color("debug")).triplet.hex  # type: ignore[union-attr]
        await pilot.press("s")  # a change to the view saves the settings: the colours stay
        await settle(pilot)
    saved = tomllib.loads(paths.config_path().read_text())
    assert saved["tag_colors"] == {"prod": "#00ff00", "a b": "magenta"}


@pytest.mark.parametrize(
    ("bad", "shown"), [('"reddish"', "'reddish'"), ("7", "7"), ('"default"', "'default'")]
)
async def test_a_bad_tag_colour_is_named_and_the_app_starts_on_defaults(
    store: Store, simple: str, bad: str, shown: str
):
    path = paths.config_path()
    path.write_text(f"refresh = 9\n[tag_colors]\nprod = {bad}\n")
    loaded = config.load()
    assert loaded.warning.startswith(
        f"config {path} unreadable (tag_colors.prod: not a colour: {shown} "
        "(a name such as red, or #rrggbb)); kept as "
    ), loaded.warning
    assert loaded.settings.refresh == config.DEFAULT_REFRESH, "defaults, as for any bad value"
    path.write_text(f"refresh = 9\n[tag_colors]\nprod = {bad}\n")
    ops.new_run(store, simple, tags=["prod"])
    app = make_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(table(pilot).order) == 1, "the app runs"
        assert f"not a colour: {shown}" in app.config_warning
        assert [n.message for n in app._notifications] == [app.config_warning]


async def test_a_narrowed_tags_column_ends_with_an_ellipsis(store: Store, simple: str):
    ops.new_run(store, simple, tags=["ablation", "baseline", "lr-search"])
    app = make_app(store, refresh=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        t = table(pilot)
        await go_to_column(pilot, "tags")
        assert "…" not in t.render_line(1).text
        await pilot.press(*["less_than_sign"] * 10)
        await settle(pilot)
        width = t.column_width("tags")
        assert width < len(" ablation   baseline   lr-search ")
        line = t.render_line(1).text
        assert "…" in line, line
        start = sum(c.get_render_width(t) for c in t.ordered_columns[:3]) + t.cell_padding
        assert line[start : start + width].rstrip().endswith("…"), line[start : start + width]
