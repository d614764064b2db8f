"""The line over the table: which pipeline (name, version), the table or the archive, what
narrows the runs (and the key that clears it), whether auto-refresh is paused, and RO in
read-only mode.

It is drawn again only when what it says changes (or the terminal is resized). At any
width the pipeline, the view and the paused and RO badges stay whole; the filters give way."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from runs_tui.core.columns import Kind, parse_column
from runs_tui.core.fmt import duration, number, timestamp
from runs_tui.core.records import PipelineSummary, RangeFilter, TagFilter, ValueFilter
from runs_tui.core.source import Capabilities
from runs_tui.core.status import Action, Status
from runs_tui.core.text import one_line
from runs_tui.core.view import TableView

NAME_LIMIT = 40  # a pipeline name longer than this is cut (the picker shows it whole)
VALUE_LIMIT = 24  # each filter value, likewise
TABLE_BADGE = Style(color="black", bgcolor="cyan", bold=True)
ARCHIVE_BADGE = Style(color="black", bgcolor="dark_orange", bold=True)
PAUSED_BADGE = Style(color="black", bgcolor="yellow", bold=True)
READ_ONLY_BADGE = Style(color="white", bgcolor="red", bold=True)
HINT = Style(dim=True)


@dataclass(frozen=True)
class Where:
    """What the title bar says; `pipeline` None: no pipeline is registered."""

    pipeline: str | None
    version: str = ""
    archived: bool = False
    filters: tuple[str, ...] = ()
    search: str = ""
    paused: bool = False
    overview: bool = False  # every pipeline's runs; `pipeline` is the one to go back to
    read_only: bool = False  # no action changes a run: the RO badge

    @classmethod
    def of(
        cls,
        pipeline: PipelineSummary | None,
        view: TableView,
        paused: bool,
        overview: bool = False,
        read_only: bool = False,
    ) -> Where:
        if pipeline is None:
            return cls(None, paused=paused, read_only=read_only)
        words = filter_words(view)
        version = "" if overview else pipeline.version
        return cls(
            pipeline.name, version, view.archived, words, view.search, paused, overview, read_only
        )

    @property
    def narrowed(self) -> bool:
        return bool(self.filters or self.search)


def empty_hint(where: Where, caps: Capabilities | None = None) -> str:
    """What to do about an empty table, for a source that can do what `caps` says."""
    caps = caps or Capabilities()
    if where.pipeline is None and not caps.register:
        return "Nothing to show: the source has no pipelines (experiments) yet."
    if where.pipeline is None:
        return (
            "No pipeline is registered yet. Register one from a shell:\n"
            "  runs-tui pipeline register FILE.toml\n"
            "or try the example pipelines: runs-tui demo"
        )
    if where.narrowed:
        return "No run matches the filters or the search: F clears them."
    if where.archived:
        return "No archived runs: A goes back to the table."
    if where.read_only:
        return "No runs yet (read-only: runs are started elsewhere)."
    if not caps.can(Action.RUN):
        return f"No runs yet ({one_line(caps.why_not(Action.RUN))})."
    return "No runs yet: n starts one (or `runs-tui run` from a shell)."


def _value(column: str, value: str) -> str:
    if column == "status" and value in set(Status):
        return Status(value).label
    return one_line(value, limit=VALUE_LIMIT) if value else "(empty)"


def _bound(spec: str, value: float | None) -> str:
    if value is None:
        return ""
    kind = parse_column(spec).kind
    if kind is Kind.DATES:
        return timestamp(value)
    return duration(value) if spec == "run_time" else number(value)


def filter_words(view: TableView) -> tuple[str, ...]:
    """Each active filter in words: `STATUS: Failed, Running`, `RUN TIME ≥ 1m 0s`, `TAGS
    +prod not debug (all)`. Values are made one-line safe and cut."""
    words: list[str] = []
    for f in view.filters:
        header = one_line(parse_column(f.column).header, limit=VALUE_LIMIT)
        if isinstance(f, ValueFilter):
            values = ", ".join(sorted(_value(f.column, v) for v in f.values))
            words.append(f"{header}: {values}")
        elif isinstance(f, RangeFilter):
            lo, hi = _bound(f.column, f.lo), _bound(f.column, f.hi)
            span = f"{lo}..{hi}" if lo and hi else f"≥ {lo}" if lo else f"≤ {hi}"
            words.append(f"{header} {span}")
    tags: TagFilter | None = view.tags
    if tags is not None and (tags.include or tags.exclude):
        shown = [f"+{one_line(t, limit=VALUE_LIMIT)}" for t in sorted(tags.include)]
        shown += [f"not {one_line(t, limit=VALUE_LIMIT)}" for t in sorted(tags.exclude)]
        mode = f" ({tags.mode})" if len(tags.include) > 1 else ""
        words.append(f"TAGS {' '.join(shown)}{mode}")
    return tuple(words)


def where_text(where: Where, width: int | None = None) -> Text:
    """The line for `width` cells (None: unlimited). The pipeline, the view badge and the
    paused badge come whole; the filters and search are cut with `…` to what is left."""
    if where.pipeline is None:
        return _fit(Text("No pipeline registered", Style(bold=True)), Text(), Text(), width)
    if where.overview:
        head = Text("Every pipeline ", Style(bold=True))
        head.append(" OVERVIEW ", TABLE_BADGE)
        head.append(" O: back to ", HINT)
        head.append(one_line(where.pipeline, limit=NAME_LIMIT), HINT)
        return _fit(head, _narrowing(where), _badges(where), width)
    head = Text(one_line(where.pipeline, limit=NAME_LIMIT), Style(bold=True))
    if where.version:
        head.append(f" {one_line(where.version, limit=16)}", Style(dim=True))
    head.append(" ")
    if where.archived:
        head.append(" ARCHIVE ", ARCHIVE_BADGE)
        head.append(" A: back to the table", HINT)
    else:
        head.append(" TABLE ", TABLE_BADGE)
    return _fit(head, _narrowing(where), _badges(where), width)


def _narrowing(where: Where) -> Text:
    """The filters and the search, with how to clear them."""
    narrowing = Text()
    for i, words in enumerate(where.filters):
        narrowing.append(" · " if i else "filter ")
        narrowing.append(words)
    if where.search:
        narrowing.append(" · " if narrowing else "")
        narrowing.append(f"search {one_line(where.search, limit=VALUE_LIMIT)!r}")
    if narrowing:
        narrowing.append("  F clears", HINT)
    return narrowing


def _badges(where: Where) -> Text:
    """The right end, never cut: paused, and read-only."""
    badges = Text("⏸ PAUSED", PAUSED_BADGE) if where.paused else Text()
    if where.read_only:
        badges.append(" " if badges else "")
        badges.append(" RO ", READ_ONLY_BADGE)
    return badges


def _fit(head: Text, middle: Text, tail: Text, width: int | None) -> Text:
    """`head`, `middle` and `tail` (right-aligned) on one line of `width` cells: `middle`
    is cut first, then `head`; `tail` stays whole."""
    gap = 2
    if width is None:
        line = head.copy()
        for part in (middle, tail):
            if part:
                line.append(" " * gap)
                line.append_text(part)
        return line
    room = max(width - tail.cell_len - (gap if tail else 0), 0)
    line = head.copy()
    line.truncate(room, overflow="ellipsis")
    if middle and line.cell_len + gap < room:
        rest = middle.copy()
        rest.truncate(room - line.cell_len - gap, overflow="ellipsis")
        line.append(" " * gap)
        line.append_text(rest)
    if tail:
        line.append(" " * max(width - line.cell_len - tail.cell_len, 0))
        line.append_text(tail)
    return line


class TitleBar(Widget):
    """`plain` is the whole line, however narrow the terminal (for tests and the log)."""

    DEFAULT_CSS = """
    TitleBar {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    TitleBar.-archive {
        background: $warning 25%;
    }
    """

    where: Where | None = None
    plain = ""

    def show(self, where: Where) -> None:
        if where == self.where:
            return
        self.where = where
        self.plain = where_text(where).plain
        self.set_class(where.archived, "-archive")
        self.refresh()

    def render(self) -> Text:
        if self.where is None:
            return Text()
        line = where_text(self.where, self.content_size.width)
        line.no_wrap = True
        return line
