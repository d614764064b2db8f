"""A local step's output as lines: pipes read in bounded pieces, each line capped, and a
buffer of bounded size between the reader threads and the executor.

Neither a newline-less stream nor a step that writes faster than the store takes its
lines can fill the agent's memory: the first is cut at the cap (its start kept, with a
note), the second waits on its full pipe, as a program piped into a slow reader does.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import IO

from runs_tui.agent.launcher import Line

MAX_LINE = 64 * 1024  # bytes of one line kept, its newline not counted (--max-line)
CHUNK = 64 * 1024  # bytes read at a time from the dropped part of a long line
BUFFER_LIMIT = 16 * 1024 * 1024  # bytes of lines held for the executor before readers wait
LINE_COST = 100  # bytes one held line costs beyond its own (the objects around them)


def truncation_note(max_line: int) -> bytes:
    return f" [runs-tui: line truncated at {max_line:,} bytes]".encode()


def split_lines(pipe: IO[bytes], max_line: int) -> Iterator[bytes]:
    """The pipe's lines with their newlines, as `readline` gives them; a line longer than
    `max_line` keeps its first `max_line` bytes and a note, the rest is read and dropped."""
    note = truncation_note(max_line)
    while raw := pipe.readline(max_line + 1):
        if len(raw) <= max_line or raw.endswith(b"\n"):
            yield raw
            continue
        rest = raw[max_line:]
        while rest and not rest.endswith(b"\n"):
            rest = pipe.readline(CHUNK)
        yield raw[:max_line] + note + (b"\n" if rest else b"")


class LineBuffer:
    """Lines from the reader threads (one per stream, each in order) to the executor.

    Readers wait while `limit` bytes are held. Taking a line that is already here costs a
    lock and a deque operation, no system call."""

    def __init__(self, readers: int, limit: int = BUFFER_LIMIT) -> None:
        self._cond = threading.Condition()
        self._lines: deque[Line] = deque()
        self._held = 0
        self._readers, self._limit = readers, limit
        self._closed = False

    @property
    def streams_open(self) -> bool:
        """A stream is still open: something still holds the step's pipes."""
        return self._readers > 0

    @property
    def done(self) -> bool:
        """Every stream ended and every line was taken."""
        return self._readers == 0 and not self._lines

    def pump(self, stream: str, pipe: IO[bytes], max_line: int) -> None:
        """A reader thread's work: `pipe`'s lines into the buffer until it ends."""
        try:
            for raw in split_lines(pipe, max_line):
                self._put(Line(stream, raw))
        finally:
            pipe.close()
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    def get(self, timeout: float) -> Line | None:
        """The next line, waiting up to `timeout` seconds while a stream is open."""
        with self._cond:
            if not self._lines and self._readers and timeout > 0:
                self._cond.wait_for(lambda: self._lines or not self._readers, timeout)
            if not self._lines:
                return None
            line = self._lines.popleft()
            self._held -= len(line.raw) + LINE_COST
            self._cond.notify_all()
            return line

    def close(self) -> None:
        """Drop what is held and let readers run to the end of their pipes, dropping."""
        with self._cond:
            self._closed = True
            self._lines.clear()
            self._cond.notify_all()

    def _put(self, line: Line) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._held < self._limit or self._closed)
            if not self._closed:
                self._lines.append(line)
                self._held += len(line.raw) + LINE_COST
                self._cond.notify_all()
