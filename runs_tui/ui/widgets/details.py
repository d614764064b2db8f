"""The details of one run: Info, Parameters, Metrics, Steps and a live Console."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Log, Static, TabbedContent, TabPane

from runs_tui.core.fmt import ago, at_step, duration, number, param_text, timestamp
from runs_tui.core.records import RunDetails, RunId, RunRow, StepInfo
from runs_tui.core.status import Status
from runs_tui.core.text import log_line, one_line
from runs_tui.ui.render import STATUS_STYLES, status_text, tags_text
from runs_tui.ui.safe import text as safe_text
from runs_tui.ui.widgets.fit import Col, fitted
from runs_tui.ui.widgets.metrics_tab import MetricsTab

STEP_ICONS = {"completed": "✔", "failed": "✘", "aborted": "■", "running": "▶", None: "○"}


def _grid() -> Table:
    """Labels (and parameter names) whole, folded onto more lines rather than cut."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style=Style(bold=True), overflow="fold")
    grid.add_column(overflow="fold")
    return grid


def run_title(r: RunRow) -> str:
    """`pipeline #N`, or the run's name where the source numbers no runs."""
    return f"{r.pipeline} #{r.number}" if r.number is not None else f"{r.pipeline} {r.name}"


def where(s: StepInfo) -> str:
    """Where a step ran: its executor and the id it has there (a pid, a job id)."""
    return f"{s.executor} {s.external_id}".strip()


def _safe(value: object) -> Text:
    return Text(one_line(str(value)) if value is not None else "")


def info_table(d: RunDetails, at: float, width: int = 0) -> Table:
    r = d.row
    grid = _grid()
    grid.add_row("Run", _safe(f"{run_title(r)}  (id {r.id})"))
    grid.add_row("Name", _safe(r.name))
    grid.add_row("Status", status_text(r.status, r.progress))
    if r.status_message:
        grid.add_row("Message", _safe(r.status_message))
    grid.add_row("Version", _safe(r.version))
    grid.add_row("Tags", tags_text(r.tags, limit=200) if r.tags else Text("—"))
    grid.add_row("User", _safe(r.user))
    grid.add_row("Queue", _safe(r.queue))
    grid.add_row("Agent", _safe(r.agent or "—"))
    grid.add_row("Attempt", _safe(r.attempt))
    grid.add_row("Created", _safe(f"{timestamp(r.created)}  ({ago(r.created, at)})"))
    if r.started is not None:
        grid.add_row("Started", _safe(f"{timestamp(r.started)}  ({ago(r.started, at)})"))
    if r.finished is not None:
        grid.add_row("Finished", _safe(f"{timestamp(r.finished)}  ({ago(r.finished, at)})"))
    grid.add_row("Updated", _safe(f"{timestamp(r.updated)}  ({ago(r.updated, at)})"))
    grid.add_row("Run time", _safe(duration(r.run_time(at)) or "—"))
    if r.exit_code is not None:
        grid.add_row("Exit code", _safe(r.exit_code))
    when, who, action = Col("When", rank=1), Col("Who", rank=3), Col("Action")
    change, message = Col("From → To", rank=2), Col("Message", name=True)
    for e in d.events:
        when.add(timestamp(e.time))
        who.add(e.user)
        action.add(e.action)
        change.add(f"{e.from_status or ''} → {e.to_status or ''}" if e.to_status else "")
        message.add(e.message)
    history = fitted([when, who, action, change, message], width)
    outer = Table.grid()
    outer.add_row(grid)
    outer.add_row(Text(""))
    outer.add_row(Text("History", style=Style(bold=True, underline=True)))
    outer.add_row(history)
    return outer


def params_table(d: RunDetails) -> Table:
    grid = _grid()
    for key in sorted(d.row.params):
        grid.add_row(_safe(key), _safe(param_text(d.row.params[key], precise=True)))
    if not d.row.params:
        grid.add_row("—", "no parameters")
    return grid


def metrics_table(d: RunDetails, width: int = 0, selected: tuple[str, str] | None = None) -> Table:
    """Names whole first, then Last, Min, Max, Step (`width` 0: unknown, everything is
    shown); the `selected` series' name highlighted (the chart under it shows it)."""
    name = Col("Metric", name=True)
    last, lo, hi = (Col(h, rank=i, right=True) for i, h in enumerate(("Last", "Min", "Max"), 1))
    step = Col("Step", rank=4, right=True)
    series = sorted(d.row.metrics.items())
    if not series:
        return fitted([Col("Metric", [Text("—")]), Col("", [Text("no metrics reported")])], 0)
    for (title, part), m in series:
        label = title if title == part else f"{title}/{part}"
        name.add(safe_text(label, style="reverse") if (title, part) == selected else label)
        last.add(number(m.last))
        lo.add(at_step(m.min, m.min_step))
        hi.add(at_step(m.max, m.max_step))
        step.add(m.last_step if m.last_step is not None else "")
    return fitted([name, last, lo, hi, step], width)


def steps_table(d: RunDetails, at: float, width: int = 0) -> Table:
    """Step names whole first; where the width runs out, what they wait for, where they
    ran, the attempt and the note give way, in that order."""
    icon, name, status = Col(""), Col("Step", name=True), Col("Status", rank=1)
    attempt, took = Col("Attempt", rank=6, right=True), Col("Duration", rank=3, right=True)
    code, where_ = Col("Exit", rank=2, right=True), Col("Where", rank=7)
    note, after = Col("Note", rank=5), Col("After", rank=8)
    for s in d.steps:
        style = STATUS_STYLES.get(Status(s.status), Style()) if s.status else Style(dim=True)
        end = s.finished if s.finished is not None else at
        icon.add(Text(STEP_ICONS.get(s.status, "?"), style=style))
        name.add(s.name)
        status.add(Text(s.status.capitalize() if s.status else "not run", style=style))
        attempt.add(s.attempt or "")
        took.add(duration(end - s.started) if s.started is not None else "")
        code.add("" if s.exit_code is None else s.exit_code)
        where_.add(where(s))
        note.add(Text(one_line(s.message, limit=50), style=Style(dim=True)))
        after.add(", ".join(s.parents) or "—")
    return fitted([icon, name, status, attempt, took, code, where_, note, after], width)


class DetailsPanel(Vertical):
    """Shows a RunDetails; the console follows new lines instead of starting over.

    The tabs are built the first time a run is shown: most sessions never open the
    details, and their ~25 widgets would be styled with the first screen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_id: RunId | None = None
        self.last_log = 0
        self.shown: tuple[RunDetails, float] | None = None  # drawn again at a new width
        self.built = False

    def compose(self) -> ComposeResult:
        yield Static(id="details-title")
        if not self.built:
            return
        with TabbedContent(id="details-tabs"):
            with TabPane("Info", id="tab-info"), VerticalScroll():
                yield Static(id="info")
            with TabPane("Parameters", id="tab-params"), VerticalScroll():
                yield Static(id="params")
            with TabPane("Metrics", id="tab-metrics"):
                yield MetricsTab(metrics_table, id="metrics-tab")
            with TabPane("Steps", id="tab-steps"), VerticalScroll():
                yield Static(id="steps")
            with TabPane("Console", id="tab-console"):
                yield Log(id="console", max_lines=5000, auto_scroll=True)

    async def build(self) -> None:
        """The tabs, the first time the panel is opened."""
        if not self.built:
            self.built = True
            await self.recompose()

    def show(self, d: RunDetails | None, at: float) -> None:
        title = self.query_one("#details-title", Static)
        if d is None:
            title.update(Text("No run selected"))
            return
        r = d.row
        head = Text.assemble(
            (one_line(run_title(r)), Style(bold=True)),
            "  ",
            status_text(r.status, r.progress),
        )
        title.update(head)
        self.shown = (d, at)
        self._tables(d, at)
        console = self.query_one("#console", Log)
        if r.id != self.run_id:
            console.clear()
            self.run_id, self.last_log = r.id, 0
        fresh = [entry for entry in d.logs if entry.id > self.last_log]
        if fresh:
            console.write_lines(
                f"[{one_line(e.step, limit=40)}{'!' if e.stream == 'stderr' else ''}] "
                f"{log_line(e.line)}"
                for e in fresh
            )
            self.last_log = fresh[-1].id

    def _tables(self, d: RunDetails, at: float) -> None:
        """The tabs' tables for the panel's width, less a scrollbar's."""
        width = max(self.content_size.width - 2, 1)
        self.query_one("#info", Static).update(info_table(d, at, width))
        self.query_one("#params", Static).update(params_table(d))
        self.query_one(MetricsTab).show(d, width)
        self.query_one("#steps", Static).update(steps_table(d, at, width))

    def on_resize(self) -> None:
        if self.shown is not None:
            self._tables(*self.shown)
