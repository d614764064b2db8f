"""A small terminal for what the app writes, for tests and bench/term.py: cursor moves
(CSI row;col H), SGR (the parameters in force per cell, reset by 0), text by cell
width, clearing the screen (CSI 2J); every other escape sequence (modes, OSC) changes
no cell. Enough for Textual's output and runs_tui.ui.lean's, not a general emulator."""

from __future__ import annotations

import re

from rich.cells import get_character_cell_size

_TOKEN = re.compile(
    r"\x1b\[(?P<row>\d+);(?P<col>\d+)H"
    r"|\x1b\[(?P<sgr>[0-9;]*)m"
    r"|(?P<clear>\x1b\[2J)"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: title, links
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # any other CSI
    r"|\x1b[^\[\]]"  # other escapes
    r"|(?P<newline>\n)|(?P<cr>\r)"
    r"|(?P<text>[^\x00-\x1f]+)"
    r"|[\x00-\x1f]"  # other control characters
)


class Terminal:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells = [[(" ", "")] * width for _ in range(height)]
        self.x = self.y = 0
        self.sgr = ""

    def feed(self, data: str) -> None:
        pos = 0
        while pos < len(data):
            found = _TOKEN.match(data, pos)
            if found is None:
                raise AssertionError(f"unexpected output at {pos}: {data[pos : pos + 40]!r}")
            pos = found.end()
            if found["row"]:
                self.y, self.x = int(found["row"]) - 1, int(found["col"]) - 1
            elif found["sgr"] is not None:
                self._set_sgr(found["sgr"])
            elif found["clear"]:
                self.cells = [[(" ", "")] * self.width for _ in range(self.height)]
            elif found["newline"]:
                self.y, self.x = self.y + 1, 0
            elif found["cr"]:
                self.x = 0
            elif found["text"]:
                self._write(found["text"])

    def _set_sgr(self, params: str) -> None:
        if params in ("", "0"):
            self.sgr = ""
        elif params.startswith("0;"):
            self.sgr = params[2:]
        else:
            self.sgr = f"{self.sgr};{params}" if self.sgr else params

    def _write(self, text: str) -> None:
        for char in text:
            size = get_character_cell_size(char)
            if size == 0:
                if self.x > 0:
                    old, style = self.cells[self.y][self.x - 1]
                    self.cells[self.y][self.x - 1] = (old + char, style)
                continue
            if 0 <= self.y < self.height and self.x < self.width:
                self.cells[self.y][self.x] = (char, self.sgr)
                for extra in range(1, size):
                    if self.x + extra < self.width:
                        self.cells[self.y][self.x + extra] = ("", self.sgr)
            self.x += size

    def screen(self) -> str:
        return "\n".join(self.text())

    def text(self) -> list[str]:
        return ["".join(c for c, _ in line) for line in self.cells]
