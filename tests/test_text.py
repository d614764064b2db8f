"""core.text: untrusted strings never reach the terminal with control characters."""

from __future__ import annotations

import re

import pytest

from runs_tui.core.text import clip, is_clean, log_line, one_line, safe

RAW_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

HOSTILE = [
    "\x1b[31mred\x1b[0m",  # CSI colour
    "\x1b]52;c;aGk=\x07",  # OSC 52: write the clipboard
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink, ST-terminated
    "\x9b31m",  # 8-bit CSI
    "\x9d0;title\x9c",  # 8-bit OSC and ST
    "over\rwrite",  # carriage return
    "bell\x07",
    "back\x08space",
    "del\x7f",
    "nul\x00byte",
    "\x1bc",  # full reset
    "".join(chr(i) for i in range(0x20)) + "\x7f" + "".join(chr(i) for i in range(0x80, 0xA0)),
]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("fn", [safe, one_line, log_line])
def test_no_raw_control_character_survives(fn, text):
    out = fn(text)
    assert RAW_CONTROL.search(out) is None, repr(out)
    assert is_clean(out)
    assert not is_clean(text)


def test_esc_shows_as_control_picture():
    assert safe("\x1b[31mred") == "\u241b[31mred"
    assert one_line("\x1b]52;c;aGk=\x07") == "\u241b]52;c;aGk=\u2407"


def test_c1_bytes_show_as_hex_escapes():
    assert safe("a\x9bb") == "a\\x9bb"
    assert safe("\x80\x9f") == "\\x80\\x9f"
    # Printable Latin-1 right after the C1 range is left alone.
    assert safe("\xa0\xe9") == "\xa0\xe9"


def test_cr_del_and_nul_become_visible():
    assert safe("a\rb") == "a\u240db"
    assert safe("a\x7fb") == "a\u2421b"
    assert safe("a\x00b") == "a\u2400b"


def test_safe_keeps_newlines_visible_rather_than_breaking():
    assert safe("a\nb\tc") == "a\u240ab\u2409c"


def test_one_line_flattens_line_breaks_and_tabs():
    assert one_line("a\nb\r\nc\td") == "a b  c d"
    assert "\n" not in one_line("x\n" * 5)


def test_plain_text_is_unchanged():
    text = "loss/val 0.3125 — ünïcödé [red]not markup[/red]"
    assert safe(text) == text
    assert one_line(text) == text
    assert is_clean(text)


def test_log_line_drops_trailing_newline_expands_tabs_and_shows_controls():
    assert log_line("step\tdone\r\n") == "step    done"
    assert log_line("50%\r60%\r") == "50%\u240d60%"
    assert log_line("\x1b[2Kprogress") == "\u241b[2Kprogress"


def test_clip():
    assert clip("abcdef", None) == "abcdef"
    assert clip("abcdef", 6) == "abcdef"
    assert clip("abcdef", 4) == "abc…"
    assert len(clip("x" * 100, 10)) == 10
    assert clip("abc", 1) == "…"


def test_limit_applies_after_making_controls_visible():
    out = safe("\x1b" * 10, limit=5)
    assert out == "\u241b" * 4 + "…"
    out = one_line("ab\ncd\nef", limit=4)
    assert out == "ab …"
