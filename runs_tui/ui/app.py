"""The Textual app: settings, theme, keymap, help and the command palette around the
main screen, which gets the source, the settings and the clock from it (`Context`)."""

from __future__ import annotations

import contextlib
import gc
import re
import time
from collections.abc import Iterable
from functools import partial
from typing import ClassVar, cast

from rich.console import RenderableType
from textual import events
from textual.app import App, SystemCommand
from textual.binding import ActiveBinding, Binding, BindingType
from textual.geometry import Size
from textual.screen import Screen

from runs_tui.core import config, paths
from runs_tui.core.columns import Column, parse_columns
from runs_tui.core.read_only import ReadOnlySource
from runs_tui.core.source import RunSource
from runs_tui.core.status import Action
from runs_tui.core.text import one_line
from runs_tui.core.view import TableView
from runs_tui.sources import open_source
from runs_tui.ui.context import Clock, Context
from runs_tui.ui.lean import LeanOutput
from runs_tui.ui.render import use_tag_colors
from runs_tui.ui.screens.main import main_screen_for
from runs_tui.ui.screens.too_small import TooSmallScreen, too_small
from runs_tui.ui.settings_writer import SettingsWriter

_ACT = re.compile(r"^act\('(\w+)'\)$")


class RunsApp(App[None]):
    """The runs table; `clock` is injectable so tests and snapshots see a fixed time."""

    TITLE = "runs-tui"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", show=False, id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
    ]
    # Screens get `-tall` from 40 lines (dialogs leave a margin) and `-wide` from 170
    # columns (help shows two tables side by side): app.tcss.
    VERTICAL_BREAKPOINTS = [(40, "-tall")]
    HORIZONTAL_BREAKPOINTS = [(170, "-wide")]

    def __init__(
        self,
        source: RunSource,
        *,
        pipeline: str | None = None,
        columns: list[Column] | None = None,
        view: TableView | None = None,
        clock: Clock = time.time,
        settings: config.Loaded | None = None,
        read_only: bool = False,
    ) -> None:
        super().__init__()
        loaded = settings or config.load()
        self.settings = loaded.settings
        self.config_warning = loaded.warning
        read_only = read_only or self.settings.read_only
        self.source: RunSource = ReadOnlySource(source) if read_only else source
        use_tag_colors(self.settings.tag_colors)
        self._settings_writer = SettingsWriter(config.write)
        self.context = Context(self.source, self.settings, clock, self.save_settings, read_only)
        self.start_pipeline = pipeline or self.settings.last_pipeline or None
        self.start_columns = columns
        self.start_view = view
        self.lean = LeanOutput()

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        """Write only what the terminal does not show yet (`ui.lean`): an SSH session
        gets the cells that changed, and nothing when none did. Overrides Textual's private
        `App._display` (pinned; tests/test_textual_canary.py)."""
        if renderable is None or self.is_headless:  # headless: nothing is written
            return super()._display(screen, renderable)
        lean = self.lean.prepare(renderable, self.console)
        if lean is not None:  # a CompositorUpdate, as Textual's own updates are
            super()._display(screen, cast(RenderableType, lean))

    def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.set_keymap(self.settings.keymap)
        screen = main_screen_for(self.source.capabilities)
        self.push_screen(
            screen(self.context, self.start_pipeline, self.start_columns, self.start_view)
        )
        if self.config_warning:
            self.notify(self.config_warning, severity="warning", timeout=10, markup=False)
        self._fit(self.size)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size)

    def _fit(self, size: Size) -> None:
        """Cover every screen with a notice while the terminal is too small for them; take
        it away once it is large enough."""
        covered = isinstance(self.screen, TooSmallScreen)
        if too_small(size) and not covered:
            self.push_screen(TooSmallScreen())
        elif covered and not too_small(size):
            self.pop_screen()

    def watch_theme(self, theme: str) -> None:
        if theme != self.settings.theme:
            self.settings.theme = theme
            self.save_settings()

    def save_settings(self) -> None:
        """Save the settings as they are now, in a worker (`SettingsWriter`); a failure
        is told in a notification."""
        self._settings_writer.put(config.dumps(self.settings))
        self.run_worker(self._write_settings, thread=True, group="settings")

    def _write_settings(self) -> None:
        try:
            self._settings_writer.flush()
        except OSError as exc:
            self.call_from_thread(self._not_saved, exc)

    def _not_saved(self, exc: OSError) -> None:
        self.notify(
            f"Cannot save settings to {paths.config_path()}: {exc.strerror or exc}",
            severity="error",
            markup=False,
        )

    def on_unmount(self) -> None:
        """What is not written yet is written before the app ends (its worker may not
        have run)."""
        # a failure was told when its worker ran into it; nobody is left to tell now
        with contextlib.suppress(OSError):
            self._settings_writer.flush()

    def bindings_list(self, screen: Screen[object]) -> list[tuple[str, str, str]]:
        """(key, description, id) of every binding active on `screen`, the app's included;
        the remappable ones (with an id) first."""
        out: list[tuple[str, str, str]] = []
        for key, active in screen.active_bindings.items():
            b = active.binding
            out.append(
                (
                    b.key_display or self.get_key_display(b) or key,
                    self.describe(b.action, b.description),
                    b.id or "",
                )
            )
        return out

    def describe(self, action: str, description: str) -> str:
        """A binding's description, saying so when the source cannot do its action."""
        why = self.unavailable(action)
        description = self.labelled(action, description)
        return f"{description} (unavailable: {why})" if why else description or action

    def labelled(self, action: str, description: str) -> str:
        """The source's own words for an action on runs ("Mark killed (does not stop the
        process)" for an abort on MLflow), else the binding's description."""
        found = _ACT.match(action)
        if found is None:
            return description
        return one_line(self.source.capabilities.label(Action(found.group(1)), description))

    def unavailable(self, action: str) -> str:
        """Why the source cannot do a binding's action on runs; "" when it can."""
        found = _ACT.match(action)
        caps = self.source.capabilities
        if found is None or caps.can(Action(found.group(1))):
            return ""
        return one_line(caps.why_not(Action(found.group(1))))

    def action_help(self) -> None:
        from runs_tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.bindings_list(self.screen)))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """One command per action of the active bindings, its keys under its name (the
        remappable ones first), then Textual's own that no binding names already."""
        found: dict[tuple[str, int], tuple[ActiveBinding, list[str]]] = {}
        for active in sorted(screen.active_bindings.values(), key=lambda a: not a.binding.id):
            b = active.binding
            if b.description and b.action != "command_palette":
                _, keys = found.setdefault((b.action, id(active.node)), (active, []))
                keys.append(b.key_display or self.get_key_display(b))
        titles = set()
        for active, keys in found.values():
            b = active.binding
            if b.description in titles:
                continue
            titles.add(b.description)
            help_text = f"{'keys' if len(keys) > 1 else 'key'} {', '.join(keys)}"
            why = self.unavailable(b.action)
            help_text += f" · unavailable: {why}" if why else ""
            yield SystemCommand(
                self.labelled(b.action, b.description),
                help_text,
                partial(self.run_action, b.action, active.node),
            )
        yield from (c for c in super().get_system_commands(screen) if c.title not in titles)


def run_app(
    db: str | None,
    pipeline: str | None = None,
    view: str | None = None,
    columns: str | None = None,
    read_only: bool = False,
) -> int:
    """Open the app (`read_only`: changing no run); bad `columns` are refused (exit 2)
    before the screen is taken over."""
    shown = parse_columns(columns) if columns is not None else None
    opened = TableView.from_string(view) if view is not None else None
    source = open_source(db)
    # What is loaded by now (Textual, SQLAlchemy, the source: some 60,000 objects) lives as
    # long as the process: the collector skips it from here on instead of walking it again
    # in every full collection (~20 ms each); on again if the CLI held it off meanwhile.
    gc.freeze()
    gc.enable()
    try:
        RunsApp(source, pipeline=pipeline, columns=shown, view=opened, read_only=read_only).run()
    finally:
        source.close()
    return 0
