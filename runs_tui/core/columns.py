"""Column specs: one spelling for config, view string, CLI `--columns` and the table.

`run`, `version`, `tags`, `status`, `user`, `started`, `updated`, `run_time`, `queue`,
`pipeline` (its name: the overview of every pipeline shows it),
`m:<title>/<series>:<last|min|max>` for a metric (`min@step`, `max@step`: the step where
the series reached its minimum or maximum), `p:<section>/<name>` for a hyperparameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

BUILTIN = (
    "run",
    "version",
    "tags",
    "status",
    "user",
    "started",
    "updated",
    "run_time",
    "queue",
    "pipeline",
)
DEFAULT_COLUMNS = ("run", "version", "tags", "status", "user", "started", "updated", "run_time")
AGGS = ("last", "min", "max", "min@step", "max@step")
HEADERS = {
    "run": "RUN",
    "version": "VERSION",
    "tags": "TAGS",
    "status": "STATUS",
    "user": "USER",
    "started": "STARTED",
    "updated": "UPDATED",
    "run_time": "RUN TIME",
    "queue": "QUEUE",
    "pipeline": "PIPELINE",
    "reason": "REASON",
}


class Kind(StrEnum):
    """How a column filters: by a set of values, a numeric range, a date range or tags."""

    VALUES = "values"
    RANGE = "range"
    DATES = "dates"
    TAGS = "tags"


@dataclass(frozen=True)
class Column:
    spec: str
    source: str
    name: str
    agg: str = ""
    series: str = ""

    @property
    def is_metric(self) -> bool:
        return self.source == "metric"

    @property
    def is_param(self) -> bool:
        return self.source == "param"

    @property
    def is_step(self) -> bool:
        """A metric's step where its minimum or maximum was reached (not a value of it)."""
        return self.agg.endswith("@step")

    @property
    def metric_field(self) -> str:
        """The field of the metric's summary it shows: `last`, `min`, `max`, `min_step`
        or `max_step`."""
        return self.agg.replace("@step", "_step")

    @property
    def title(self) -> str:
        """The metric's title (the part before the series)."""
        return self.name

    @property
    def header(self) -> str:
        if self.is_metric:
            shown = self.name if self.name == self.series else f"{self.name}/{self.series}"
            return f"{shown} ({self.agg})"
        if self.is_param:
            return self.name
        return HEADERS[self.name]

    @property
    def kind(self) -> Kind:
        """The filter a column takes; hyperparameters take both values and ranges."""
        if self.is_metric or self.name in ("run_time", "run"):
            return Kind.RANGE
        if self.name in ("started", "updated"):
            return Kind.DATES
        if self.name == "tags":
            return Kind.TAGS
        return Kind.VALUES


# Why a Failed or Aborted run ended (`RunRow.reason`): a field `ls --format json|csv` adds
# to every record, not a column spec (the table cannot sort or filter by it).
REASON = Column("reason", "builtin", "reason")


def metric_spec(title: str, series: str, agg: str = "last") -> str:
    return f"m:{title}/{series}:{agg}"


def split_metric_name(name: str) -> tuple[str, str]:
    """`loss/val` -> ("loss", "val"); a name without a series is its own series."""
    title, sep, series = name.partition("/")
    return (title, series) if sep and series else (title, title)


def parse_column(spec: str) -> Column:
    """Read one column spec; the error names the spec and says what is expected."""
    s = spec.strip()
    if s in BUILTIN:
        return Column(s, "builtin", s)
    if s.startswith("m:"):
        body, sep, agg = s[2:].rpartition(":")
        if not sep or agg not in AGGS or not body:
            raise ValueError(
                f"invalid metric column {spec!r}: expected m:<title>/<series>:<agg> "
                f"(agg: {'|'.join(AGGS)})"
            )
        title, series = split_metric_name(body)
        if not title:
            raise ValueError(f"invalid metric column {spec!r}: empty title")
        canonical = metric_spec(title, series, agg)
        return Column(canonical, "metric", title, agg, series)
    if s.startswith("p:"):
        key = s[2:]
        section, sep, name = key.partition("/")
        if not sep or not section or not name:
            raise ValueError(f"invalid hyperparameter column {spec!r}: expected p:<section>/<name>")
        return Column(s, "param", key)
    known = ", ".join(BUILTIN)
    raise ValueError(
        f"unknown column {spec!r} (known: {known}, m:<title>/<series>:<agg>, p:<section>/<name>)"
    )


def parse_columns(text: str) -> list[Column]:
    """A comma-separated list of specs, as `--columns` takes it; an empty spec (a doubled
    or trailing comma) is refused rather than skipped, naming the whole list."""
    specs = [p.strip() for p in text.split(",")]
    if not any(specs):
        raise ValueError(f"no columns in {text!r}")
    if not all(specs):
        raise ValueError(f"empty column spec in {text!r}")
    return [parse_column(s) for s in specs]
