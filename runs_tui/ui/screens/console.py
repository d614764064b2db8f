"""`E`: a Failed run's console, opened on the failed step at its first error-looking
line (`core.errors`). `/` searches the log (`n`/`N` the next and previous match), `g`
and `G` go to the start and the end, `s` saves the console to a file, `E` goes back to
the error. The log is read in a worker (the step's last MAX_LINES lines)."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from runs_tui.core.errors import (
    ConsoleLine,
    console_lines,
    exit_line,
    failed_step,
    find,
    first_error,
    folded,
)
from runs_tui.core.fmt import plural
from runs_tui.core.records import RunDetails, RunId, StepInfo
from runs_tui.core.source import SourceError
from runs_tui.core.status import Status
from runs_tui.core.text import one_line
from runs_tui.ui.context import Context
from runs_tui.ui.flows.host import Host, ask
from runs_tui.ui.render import status_text
from runs_tui.ui.widgets.console_view import ConsoleView
from runs_tui.ui.widgets.details import run_title

MAX_LINES = 50_000


@dataclass
class ConsoleLoaded(Message):
    """The run, the step shown (None: no step failed, the whole attempt is shown), its
    lines, the first error-looking one, and whether older lines were left out."""

    details: RunDetails | None
    step: StepInfo | None = None
    lines: list[ConsoleLine] | None = None
    folded: list[str] | None = None  # the lines' texts, case-folded for searching
    width: int = 0
    error: int | None = None
    cut: bool = False
    problem: str = ""


def read_console(context: Context, run_id: RunId) -> ConsoleLoaded:
    """The failed step's lines of its attempt (the run's last attempt when no step
    failed), with how it exited; blocking: call it in a worker."""
    source = context.source
    details = source.details(run_id)
    if details is None:
        return ConsoleLoaded(None, problem="the run no longer exists")
    step = failed_step(details)
    attempt = step.attempt if step is not None else details.row.attempt
    logs = source.logs(run_id, step=step.name if step else None, last=True, limit=MAX_LINES)
    lines = console_lines(logs, attempt)
    ended = exit_line(step) if step is not None else None
    if ended is not None:
        lines.append(ended)
    width = max((cell_len(line.text) for line in lines), default=0)
    error = first_error(line.text for line in lines)
    cut = len(logs) >= MAX_LINES
    return ConsoleLoaded(details, step, lines, folded(lines), width, error, cut)


def file_name(details: RunDetails, step: StepInfo | None, at: float) -> str:
    """`<pipeline>-<N>-<step>-<time>.log`, with only letters, digits, `.`, `_` and `-`."""
    r = details.row
    parts = [r.pipeline, str(r.number if r.number is not None else r.id)]
    parts += [step.name] if step is not None else []
    parts.append(time.strftime("%Y%m%d-%H%M%S", time.localtime(at)))
    return re.sub(r"[^\w.-]+", "_", "-".join(parts), flags=re.ASCII).strip("._") + ".log"


def write_console(path: Path, lines: list[ConsoleLine], step: str) -> None:
    """The console as `runs-tui logs` prints it (`[step]`, `[step!]` for stderr), the
    exit line as `[runs-tui]`; an existing file is never overwritten."""
    head = one_line(step, limit=40)
    with path.open("x", encoding="utf-8") as out:
        for line in lines:
            tag = "runs-tui" if line.stream == "runs-tui" else head + ("!" if line.stderr else "")
            out.write(f"[{tag}] {line.text}\n")


def jump_to_error(host: Host) -> None:
    """`E` on the main screen: the cursor run's console at its error, if it failed."""
    run = host.table.cursor_run
    if run is None:
        host.notify("No run under the cursor", severity="warning", markup=False)
        return
    if run.status != Status.FAILED:
        label = run_title(run)
        host.notify(
            f"{one_line(label, limit=80)} is {run.status.capitalize()}, not Failed: "
            "there is no error to jump to",
            severity="warning",
            markup=False,
        )
        return
    host.app.push_screen(ConsoleScreen(host.context, run.id))


class ConsoleScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="console_back"),
        Binding("slash", "search", "Search", key_display="/", id="console_search"),
        Binding("n", "next(False)", "Next match", id="console_next"),
        Binding("N", "next(True)", "Previous match", id="console_previous"),
        Binding("s,ctrl+s", "save", "Save", id="console_save"),
        Binding("E", "error", "Error", id="console_error"),
        Binding("g", "start", "Start", id="console_start"),
        Binding("G", "end", "End", id="console_end"),
    ]
    DEFAULT_CSS = """
    ConsoleScreen { layout: vertical; }
    #console-title { height: 1; padding: 0 1; background: $primary 25%; }
    #console { height: 1fr; }
    #console-search { display: none; }
    #console-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, context: Context, run_id: RunId) -> None:
        super().__init__()
        self.context = context
        self.run_id = run_id
        self.loaded: ConsoleLoaded | None = None
        self.needle = ""
        self.note = "reading the console…"

    def compose(self) -> ComposeResult:
        yield Static(id="console-title", markup=False)
        yield ConsoleView(id="console")
        yield Input(placeholder="search the log (enter; esc closes)", id="console-search")
        yield Static(id="console-status", markup=False)
        yield Footer(compact=True)

    @property
    def view(self) -> ConsoleView:
        return self.query_one(ConsoleView)

    def on_mount(self) -> None:
        self._status()
        self._read()

    @work(thread=True, exclusive=True, group="console")
    def _read(self) -> None:
        try:
            loaded = read_console(self.context, self.run_id)
        except SourceError as exc:
            loaded = ConsoleLoaded(None, problem=one_line(str(exc).splitlines()[0]))
        if not get_current_worker().is_cancelled:
            self.post_message(loaded)

    @on(ConsoleLoaded)
    def _loaded(self, message: ConsoleLoaded) -> None:
        self.loaded = message
        title = self.query_one("#console-title", Static)
        if message.details is None or message.lines is None:
            title.update(Text(f"Run {one_line(str(self.run_id))}: {message.problem}"))
            self.note = "nothing to show"
            self._status()
            return
        r, step = message.details.row, message.step
        where = f"step {one_line(step.name)!r}" if step else "the whole run"
        attempt = step.attempt if step and step.attempt else r.attempt
        head = Text.assemble(
            (one_line(run_title(r), limit=80), Style(bold=True)),
            f"  {where}, attempt {attempt}  ",
            status_text(r.status, r.progress),
            f"  {one_line(r.status_message, limit=200)}" if r.status_message else "",
        )
        title.update(head)
        self.view.show(message.lines, message.width)
        self.view.focus()
        self.action_error()

    def _status(self) -> None:
        """Where the reader is, what the marks mean, and what was left out."""
        loaded, view = self.loaded, self.view
        parts = [self.note]
        if loaded is not None and loaded.lines is not None:
            n = len(loaded.lines)
            if view.current is not None:
                parts.insert(0, f"line {view.current + 1:,} of {n:,}")
            else:
                parts.insert(0, plural(n, "line"))
            parts.append("! stderr  » agent, exit")
            if loaded.cut:
                parts.append(f"only the last {MAX_LINES:,} lines are read")
        self.query_one("#console-status", Static).update(Text(" · ".join(p for p in parts if p)))

    def action_error(self) -> None:
        loaded = self.loaded
        if loaded is None or loaded.lines is None:
            return
        if not loaded.lines:
            self.note = "nothing was written"
            self._status()
            return
        if loaded.error is None:
            self.note = "no line looks like an error; at the end"
            self.view.mark(len(loaded.lines) - 1)
        else:
            self.note = "the first error-looking line"
            self.view.mark(loaded.error)
        self._status()

    def action_start(self) -> None:
        self.view.scroll_home(animate=False)

    def action_end(self) -> None:
        self.view.scroll_end(animate=False)

    def action_search(self) -> None:
        box = self.query_one("#console-search", Input)
        box.value = self.needle
        box.display = True
        box.focus()

    def action_back(self) -> None:
        box = self.query_one("#console-search", Input)
        if box.display:
            box.display = False
            self.view.focus()
        else:
            self.dismiss(None)

    @on(Input.Submitted, "#console-search")
    def _searched(self, event: Input.Submitted) -> None:
        event.stop()
        event.input.display = False
        self.view.focus()
        self.needle = event.value
        if self.needle:
            self.action_next(False)
        else:
            self.view.mark(self.view.current, "")

    def action_next(self, backwards: bool) -> None:
        texts = self.loaded.folded if self.loaded is not None else None
        if not self.needle or not texts:
            self.notify("Nothing searched yet: / searches the log", markup=False)
            return
        start = self.view.current if self.view.current is not None else -1
        found = find(texts, self.needle, start, backwards=backwards)
        shown = one_line(self.needle, limit=60)
        if found is None:
            self.view.mark(self.view.current, self.needle)
            self.note = f"no match for {shown!r}"
            self.notify(f"No match for {shown!r}", severity="warning", markup=False)
        else:
            self.view.mark(found, self.needle)
            self.note = f"match for {shown!r}"
        self._status()

    def action_save(self) -> None:
        loaded = self.loaded
        if loaded is None or loaded.details is None or loaded.lines is None:
            self.notify("Nothing to save yet", severity="warning", markup=False)
            return
        self.run_worker(self._save(loaded), group="save")

    async def _save(self, loaded: ConsoleLoaded) -> None:
        """Ask where (a new file), write it off the UI thread, say where it went."""
        from runs_tui.ui.screens.console_save import SaveConsoleScreen

        assert loaded.details is not None and loaded.lines is not None
        name = file_name(loaded.details, loaded.step, self.context.clock())
        path = await ask(self.app, SaveConsoleScreen(Path.cwd() / name))
        if path is None:
            return
        step = loaded.step.name if loaded.step is not None else "run"
        try:
            await asyncio.to_thread(write_console, path, loaded.lines, step)
        except OSError as exc:
            self.notify(
                f"Cannot write {path}: {exc.strerror or exc}", severity="error", markup=False
            )
            return
        self.notify(f"Saved {plural(len(loaded.lines), 'line')} to {path}", markup=False)
