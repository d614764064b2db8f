"""The details of one run: Info, Parameters, Metrics, Steps and a live Console."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Log, Static, TabbedContent, TabPane

from runs_tui.core.fmt import ago, duration, number, param_text, timestamp
from runs_tui.core.records import RunDetails, RunId, RunRow, StepInfo
from runs_tui.core.status import Status
from runs_tui.core.text import log_line, one_line
from runs_tui.ui.render import STATUS_STYLES, status_text, tags_text

SPARKS = "▁▂▃▄▅▆▇█"
STEP_ICONS = {"completed": "✔", "failed": "✘", "aborted": "■", "running": "▶", None: "○"}


def sparkline(values: list[float], width: int = 30) -> str:
    """The last `width` values as block characters, scaled between their min and max."""
    data = values[-width:]
    if not data:
        return ""
    lo, hi = min(data), max(data)
    span = hi - lo or 1.0
    return "".join(SPARKS[int((v - lo) / span * (len(SPARKS) - 1))] for v in data)


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style=Style(bold=True), no_wrap=True)
    grid.add_column()
    return grid


def run_title(r: RunRow) -> str:
    """`pipeline #N`, or the run's name where the source numbers no runs."""
    return f"{r.pipeline} #{r.number}" if r.number is not None else f"{r.pipeline} {r.name}"


def where(s: StepInfo) -> str:
    """Where a step ran: its executor and the id it has there (a pid, a job id)."""
    return f"{s.executor} {s.external_id}".strip()


def _safe(value: object) -> Text:
    return Text(one_line(str(value)) if value is not None else "")


def info_table(d: RunDetails, at: float) -> Table:
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
    history = Table(
        "When",
        "Who",
        "Action",
        "From → To",
        "Message",
        box=None,
        padding=(0, 1),
        header_style=Style(bold=True),
    )
    for e in d.events:
        change = f"{e.from_status or ''} → {e.to_status or ''}" if e.to_status else ""
        history.add_row(
            _safe(timestamp(e.time)),
            _safe(e.user),
            _safe(e.action),
            _safe(change),
            _safe(e.message),
        )
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


def metrics_table(d: RunDetails) -> Table:
    table = Table(
        "Metric",
        "Last",
        "Min",
        "Max",
        "Step",
        "Trend",
        box=None,
        padding=(0, 1),
        header_style=Style(bold=True),
    )
    for (title, series), m in sorted(d.row.metrics.items()):
        name = title if title == series else f"{title}/{series}"
        table.add_row(
            _safe(name),
            number(m.last),
            number(m.min),
            number(m.max),
            _safe(m.last_step if m.last_step is not None else ""),
            Text(sparkline(d.points.get((title, series), [])), style="cyan"),
        )
    if not d.row.metrics:
        table.add_row("—", "no metrics reported", "", "", "", "")
    return table


def steps_table(d: RunDetails, at: float) -> Table:
    table = Table(
        "",
        "Step",
        "Status",
        "Attempt",
        "Duration",
        "Exit",
        "Where",
        "Note",
        "After",
        box=None,
        padding=(0, 1),
        header_style=Style(bold=True),
    )
    for s in d.steps:
        style = STATUS_STYLES.get(Status(s.status), Style()) if s.status else Style(dim=True)
        end = s.finished if s.finished is not None else at
        took = duration(end - s.started) if s.started is not None else ""
        table.add_row(
            Text(STEP_ICONS.get(s.status, "?"), style=style),
            _safe(s.name),
            Text(s.status.capitalize() if s.status else "not run", style=style),
            _safe(s.attempt or ""),
            _safe(took),
            _safe("" if s.exit_code is None else s.exit_code),
            _safe(where(s)),
            Text(one_line(s.message, limit=50), style=Style(dim=True)),
            _safe(", ".join(s.parents) or "—"),
        )
    return table


class DetailsPanel(Vertical):
    """Shows a RunDetails; the console follows new lines instead of starting over."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_id: RunId | None = None
        self.last_log = 0

    def compose(self) -> ComposeResult:
        yield Static(id="details-title")
        with TabbedContent(id="details-tabs"):
            with TabPane("Info", id="tab-info"), VerticalScroll():
                yield Static(id="info")
            with TabPane("Parameters", id="tab-params"), VerticalScroll():
                yield Static(id="params")
            with TabPane("Metrics", id="tab-metrics"), VerticalScroll():
                yield Static(id="metrics")
            with TabPane("Steps", id="tab-steps"), VerticalScroll():
                yield Static(id="steps")
            with TabPane("Console", id="tab-console"):
                yield Log(id="console", max_lines=5000, auto_scroll=True)

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
        self.query_one("#info", Static).update(info_table(d, at))
        self.query_one("#params", Static).update(params_table(d))
        self.query_one("#metrics", Static).update(metrics_table(d))
        self.query_one("#steps", Static).update(steps_table(d, at))
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
