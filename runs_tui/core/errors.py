"""Jumping to the error: which step of a Failed run failed, its console lines (that
attempt's, made safe), and the first line that looks like the error (a Python
traceback's start, an `...Error`, `error:`, an `...Exception`, a non-zero exit)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runs_tui.core.records import LogInfo, RunDetails, StepInfo
from runs_tui.core.text import log_line

TRACEBACK = "Traceback (most recent call last)"
ERROR_LOOKING = re.compile(  # each begins with its words: a search skips to them
    r"Traceback \(most recent call last\)"
    r"|Error\b"  # ValueError, Error: ... (`Errors` and `errors` are not)
    r"|(?i:error:(?<=\berror:))"  # error: ..., ERROR:root:... (`val_error: 0.3` is not)
    r"|Exception\b"
    r"|exited with code -?[1-9]"
    r"|(?i:exit (?:code|status))\b[ :=]*-?[1-9]"
    r"|killed by signal \d"
)
EXIT_STREAM = "runs-tui"  # the line the console adds: how the step ended


@dataclass(frozen=True)
class ConsoleLine:
    """One line as the console shows it: its text with control characters made visible,
    and where it came from (stdout, stderr, agent, or runs-tui for the exit line)."""

    text: str
    stream: str = "stdout"

    @property
    def stderr(self) -> bool:
        return self.stream == "stderr"


# Every error-looking line holds one of these: most lines are ruled out by them alone, at a
# tenth of what the pattern costs (a console of 50,000 lines: ~50 ms).
_WORDS = ("traceback", "error", "exception", "exit", "killed")


def is_error(line: str) -> bool:
    """The line looks like an error (or the start of a traceback)."""
    low = line.lower()
    return any(w in low for w in _WORDS) and ERROR_LOOKING.search(line) is not None


def first_error(lines: Iterable[str]) -> int | None:
    """The index of the first error-looking line; None when none looks like one."""
    return next((i for i, line in enumerate(lines) if is_error(line)), None)


def failed_step(details: RunDetails) -> StepInfo | None:
    """The step whose failure failed the run: the failed one of the latest attempt (the
    last in the pipeline's order, should several have failed); None when no step did
    (an agent lost, a step that could not start before it had a row)."""
    failed = [s for s in details.steps if s.status == "failed"]
    if not failed:
        return None
    latest = max(s.attempt or 0 for s in failed)
    return [s for s in failed if (s.attempt or 0) == latest][-1]


def exit_line(step: StepInfo) -> ConsoleLine | None:
    """How the step ended, as a line after its output (the agent stores the exit code,
    not a line): None when it exited cleanly or its code is unknown."""
    code = step.exit_code
    if code is None or code == 0:
        return None
    how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return ConsoleLine(f"step {step.name!r} {how}", EXIT_STREAM)


def console_lines(logs: Sequence[LogInfo], attempt: int | None) -> list[ConsoleLine]:
    """The lines of one attempt (all of them when `attempt` is None), made safe."""
    return [
        ConsoleLine(log_line(e.line), e.stream)
        for e in logs
        if attempt is None or e.attempt == attempt
    ]


def folded(lines: Sequence[ConsoleLine]) -> list[str]:
    """The lines' texts case-folded, made once for every search of them."""
    return [line.text.casefold() for line in lines]


def find(texts: Sequence[str], needle: str, start: int, *, backwards: bool = False) -> int | None:
    """The next of the `folded` texts after `start` (before it, `backwards`) containing
    `needle`, ignoring case, going round the end; `start` itself last. None when no text
    contains it."""
    if not needle or not texts:
        return None
    wanted = needle.casefold()
    n = len(texts)
    step = -1 if backwards else 1
    for k in range(1, n + 1):
        i = (start + step * k) % n
        if wanted in texts[i]:
            return i
    return None


def spans(text: str, needle: str) -> list[tuple[int, int]]:
    """Where `needle` occurs in `text`, ignoring case: (start, end) of each, in order.
    Case folding can change a text's length (ß → ss): such texts give no spans rather
    than wrong ones."""
    if not needle:
        return []
    folded, wanted = text.casefold(), needle.casefold()
    if len(folded) != len(text):
        return []
    out, at = [], folded.find(wanted)
    while at >= 0:
        out.append((at, at + len(wanted)))
        at = folded.find(wanted, at + len(wanted))
    return out
