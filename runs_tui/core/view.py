"""A table view: columns, widths, sort, filters, search, precise columns.

It is kept per pipeline in the config (as a TOML table) and written as one
shareable string (the seed's "represented in the URL"), which `runs-tui --view`
opens exactly. The string is URL-query shaped, so any value round-trips:

    c=run&c=status&s=-m:loss/val:last&fv.status=failed&fr.run_time=60..&ti=prod&q=lr
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from runs_tui.core.columns import DEFAULT_COLUMNS, Kind, parse_column
from runs_tui.core.records import (
    Filter,
    PipelineId,
    RangeFilter,
    RunQuery,
    SortKey,
    TagFilter,
    ValueFilter,
)
from runs_tui.core.status import Status

MIN_WIDTH, MAX_WIDTH = 3, 200


class ViewError(ValueError):
    """A view (string or settings) that cannot be used; the message names the part."""


@dataclass(frozen=True)
class TableView:
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    widths: tuple[tuple[str, int], ...] = ()
    sort: tuple[SortKey, ...] = ()
    filters: tuple[Filter, ...] = ()
    tags: TagFilter | None = None
    search: str = ""
    precise: frozenset[str] = field(default_factory=frozenset)
    archived: bool = False

    def query(self, pipeline_id: PipelineId | None) -> RunQuery:
        return RunQuery(pipeline_id, self.filters, self.tags, self.search, self.sort, self.archived)

    def with_(self, **changes: Any) -> TableView:
        return replace(self, **changes)

    @property
    def width_map(self) -> dict[str, int]:
        return dict(self.widths)

    def with_width(self, spec: str, width: int | None) -> TableView:
        widths = {k: v for k, v in self.widths if k != spec}
        if width is not None:
            widths[spec] = max(MIN_WIDTH, min(width, MAX_WIDTH))
        return self.with_(widths=tuple(sorted(widths.items())))

    def filtered_columns(self) -> set[str]:
        """Specs with an active filter (the tag filter counts for `tags`)."""
        out = {f.column for f in self.filters}
        if self.tags is not None and (self.tags.include or self.tags.exclude):
            out.add("tags")
        return out

    def with_filter(self, spec: str, flt: Filter | TagFilter | None) -> TableView:
        """Replace the filter of `spec` (None removes it; `tags` takes a TagFilter)."""
        if spec == "tags":
            assert flt is None or isinstance(flt, TagFilter)
            return self.with_(tags=flt)
        assert not isinstance(flt, TagFilter)
        kept = tuple(f for f in self.filters if f.column != spec)
        return self.with_(filters=(*kept, flt) if flt is not None else kept)

    @property
    def active(self) -> bool:
        """Whether anything narrows the runs shown (filters, tags or search)."""
        return bool(
            self.filters
            or (self.tags and (self.tags.include or self.tags.exclude))
            or self.search.strip()
        )

    def to_string(self) -> str:
        pairs: list[tuple[str, str]] = [("c", c) for c in self.columns]
        pairs += [("w", f"{spec}={w}") for spec, w in self.widths]
        pairs += [("s", f"-{k.column}" if k.desc else k.column) for k in self.sort]
        for f in self.filters:
            if isinstance(f, ValueFilter):
                pairs += [(f"fv.{f.column}", v) for v in sorted(f.values)]
            else:
                pairs.append((f"fr.{f.column}", f"{_num(f.lo)}..{_num(f.hi)}"))
        if self.tags is not None:
            pairs.append(("tm", self.tags.mode))
            pairs += [("ti", t) for t in sorted(self.tags.include)]
            pairs += [("tx", t) for t in sorted(self.tags.exclude)]
        if self.search:
            pairs.append(("q", self.search))
        pairs += [("p", p) for p in sorted(self.precise)]
        if self.archived:
            pairs.append(("a", "1"))
        return urlencode(pairs, safe=":/,")

    @classmethod
    def from_string(cls, text: str) -> TableView:
        """Parse a view string; the error names the part that is wrong."""
        columns: list[str] = []
        widths: dict[str, int] = {}
        sort: list[SortKey] = []
        values: dict[str, set[str]] = {}
        ranges: list[RangeFilter] = []
        order: list[str] = []
        include: set[str] = set()
        exclude: set[str] = set()
        mode, search, precise, archived, has_tags = "any", "", set(), False, False
        for key, value in parse_qsl(
            text.strip().lstrip("?"), keep_blank_values=True, strict_parsing=False
        ):
            if key == "c":
                columns.append(_spec(value, "column"))
            elif key == "w":
                spec, sep, width = value.rpartition("=")
                if not sep:
                    raise ViewError(f"view: width {value!r}: expected COLUMN=WIDTH")
                widths[_spec(spec, "width")] = _width(width, spec)
            elif key == "s":
                desc = value.startswith("-")
                sort.append(SortKey(_spec(value.removeprefix("-"), "sort"), desc))
            elif key.startswith("fv."):
                spec = _spec(key[3:], "filter")
                if spec not in values:
                    order.append(spec)
                values.setdefault(spec, set()).add(value)
            elif key.startswith("fr."):
                ranges.append(_range(_spec(key[3:], "filter"), value))
                order.append(ranges[-1].column)
            elif key in ("ti", "tx", "tm"):
                has_tags = True
                if key == "tm":
                    mode = _mode(value)
                else:
                    (include if key == "ti" else exclude).add(value)
            elif key == "q":
                search = value
            elif key == "p":
                precise.add(_spec(value, "precise column"))
            elif key == "a":
                archived = value == "1"
            else:
                raise ViewError(f"view: unknown part {key!r}")
        filters = _ordered_filters(order, values, ranges)
        tags = TagFilter(frozenset(include), frozenset(exclude), mode) if has_tags else None
        return cls(
            tuple(columns) or DEFAULT_COLUMNS,
            tuple(sorted(widths.items())),
            tuple(sort),
            filters,
            tags,
            search,
            frozenset(precise),
            archived,
        )


def _ordered_filters(
    order: list[str], values: dict[str, set[str]], ranges: list[RangeFilter]
) -> tuple[Filter, ...]:
    by_range = {r.column: r for r in ranges}
    out: list[Filter] = []
    for spec in dict.fromkeys(order):
        if spec in values:
            _check_kind(spec, value_set=True)
            vals = values[spec]
            if spec == "status":
                vals = {_status(v) for v in vals}
            out.append(ValueFilter(spec, frozenset(vals)))
        if spec in by_range:
            _check_kind(spec, value_set=False)
            out.append(by_range[spec])
    return tuple(out)


def _status(text: str) -> str:
    try:
        return Status.parse(text).value
    except ValueError as exc:
        raise ViewError(f"view: filter of 'status': {exc}") from None


def _check_kind(spec: str, *, value_set: bool) -> None:
    column = parse_column(spec)
    if column.is_param:
        return
    if value_set and column.kind != Kind.VALUES:
        raise ViewError(f"view: column {spec!r} filters by range, not by values")
    if not value_set and column.kind not in (Kind.RANGE, Kind.DATES):
        raise ViewError(f"view: column {spec!r} filters by values, not by range")


def _spec(text: str, what: str) -> str:
    try:
        return parse_column(text).spec
    except ValueError as exc:
        raise ViewError(f"view: {what}: {exc}") from None


def _width(text: str, spec: str) -> int:
    try:
        width = int(text)
    except ValueError:
        raise ViewError(f"view: width of {spec!r}: {text!r} is not a number") from None
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ViewError(f"view: width of {spec!r}: {width} is not in {MIN_WIDTH}..{MAX_WIDTH}")
    return width


def _num(value: float | None) -> str:
    return "" if value is None else repr(value)


def _range(spec: str, text: str) -> RangeFilter:
    lo, sep, hi = text.partition("..")
    if not sep:
        raise ViewError(f"view: range of {spec!r}: expected MIN..MAX, got {text!r}")
    return RangeFilter(spec, _bound(lo, spec), _bound(hi, spec))


def parse_bound(text: str, what: str) -> float | None:
    """A range bound as typed: empty is open, NaN is refused; the error names `what`."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a number") from None
    if math.isnan(value):
        raise ValueError(f"{what}: NaN is not a bound")
    return value


def _bound(text: str, spec: str) -> float | None:
    try:
        return parse_bound(text, f"view: range of {spec!r}")
    except ValueError as exc:
        raise ViewError(str(exc)) from None


def _mode(text: str) -> str:
    if text not in ("any", "all"):
        raise ViewError(f"view: tag mode {text!r}: expected any or all")
    return text


def opening_view(
    saved: TableView,
    archived: bool,
    start: TableView | None = None,
    columns: tuple[str, ...] | None = None,
) -> tuple[TableView, bool]:
    """The view a pipeline opens with, and whether to save it: the one asked for on the
    command line (`--view`, `--columns`), else the saved one in the current archive mode."""
    view, save = saved.with_(archived=archived), False
    if start is not None:
        view, save = start, True
    if columns is not None:
        view, save = view.with_(columns=columns), True
    return view, save
