"""Settings: the settings TOML, read safely and written atomically.

A config that cannot be read (truncated, not UTF-8, wrong types, a directory) is
moved aside with a timestamp, never overwritten; the app starts on defaults and
says so. A FIFO or a device is never opened (it could block or never end) nor moved:
it is left in place and never written. Saves go to a temp file in the same folder,
fsync, then `os.replace`, mode 0600, so a crash mid-save leaves the old file or the
new one, never half; a symlinked config is saved through to its target when that is
the user's own regular file, and refused otherwise.
"""

from __future__ import annotations

import contextlib
import math
import os
import reprlib
import stat
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from runs_tui.core.paths import (
    NotRegularFileError,
    config_path,
    kind_of,
    make_private_dir,
    read_regular,
)
from runs_tui.core.text import one_line
from runs_tui.core.view import TableView, ViewError

DEFAULT_REFRESH = 2.0
MIN_REFRESH = 0.5
DEFAULT_THEME = "textual-dark"


class ConfigError(ValueError):
    """A settings value of the wrong type; the message names the key and the value."""


NOTIFY_ON = ("failed", "completed")
NOTIFY_SCOPES = ("pipeline", "all")
DESKTOP = ("osc777", "osc9")  # `desktop = true` writes both: a terminal shows what it knows


@dataclass(frozen=True)
class NotifySettings:
    """`[notify]`: which states a run entering is told (toast, bell, and through the
    terminal's desktop notifications), for the open pipeline or for all of them."""

    on: frozenset[str] = frozenset({"failed"})
    bell: bool = True
    desktop: tuple[str, ...] = ()  # the escape sequences written: none, or DESKTOP's
    scope: str = "pipeline"

    def to_toml(self) -> dict[str, Any]:
        desktop: bool | str = self.desktop[0] if len(self.desktop) == 1 else bool(self.desktop)
        on = [state for state in NOTIFY_ON if state in self.on]
        return {"on": on, "bell": self.bell, "desktop": desktop, "scope": self.scope}

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> NotifySettings:
        on = data.get("on", ["failed"])
        if not isinstance(on, list) or any(state not in NOTIFY_ON for state in on):
            raise ConfigError(f"notify.on: expected a list of failed, completed; got {_short(on)}")
        bell = data.get("bell", True)
        if not isinstance(bell, bool):
            raise ConfigError(f"notify.bell: expected true or false, got {_short(bell)}")
        desktop = data.get("desktop", False)
        if not isinstance(desktop, bool) and desktop not in DESKTOP:
            raise ConfigError(
                f"notify.desktop: expected true, false, osc777 or osc9; got {_short(desktop)}"
            )
        scope = data.get("scope", "pipeline")
        if scope not in NOTIFY_SCOPES:
            raise ConfigError(f"notify.scope: expected pipeline or all, got {_short(scope)}")
        kinds = DESKTOP if desktop is True else (desktop,) if desktop else ()
        return cls(frozenset(on), bell, kinds, scope)


@dataclass
class Settings:
    refresh: float = DEFAULT_REFRESH
    theme: str = DEFAULT_THEME
    last_pipeline: str = ""
    keymap: dict[str, str] = field(default_factory=dict)
    pipelines: dict[str, TableView] = field(default_factory=dict)
    tag_colors: dict[str, str] = field(default_factory=dict)
    notify: NotifySettings = field(default_factory=NotifySettings)
    read_only: bool = False  # no action changes a run (`runs-tui --read-only`)

    def to_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"refresh": self.refresh, "theme": self.theme}
        if self.last_pipeline:
            out["last_pipeline"] = self.last_pipeline
        out["keymap"] = dict(self.keymap)
        if self.tag_colors:
            out["tag_colors"] = dict(self.tag_colors)
        if self.read_only:
            out["read_only"] = True
        out["notify"] = self.notify.to_toml()
        out["pipelines"] = {
            name: {"view": view.to_string()} for name, view in sorted(self.pipelines.items())
        }
        return out

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> Settings:
        s = cls()
        refresh = data.get("refresh", DEFAULT_REFRESH)
        seconds = math.nan
        if isinstance(refresh, int | float) and not isinstance(refresh, bool):
            with contextlib.suppress(OverflowError):  # an integer past any float
                seconds = float(refresh)
        if not math.isfinite(seconds):
            raise ConfigError(f"refresh: expected a number of seconds, got {_short(refresh)}")
        s.refresh = max(seconds, MIN_REFRESH)
        s.theme = _typed(data, "theme", str, DEFAULT_THEME)
        s.last_pipeline = _typed(data, "last_pipeline", str, "")
        s.read_only = _typed(data, "read_only", bool, False)
        keymap = _typed(data, "keymap", dict, {})
        for key, value in keymap.items():
            if not isinstance(value, str):
                raise ConfigError(f"keymap.{key}: expected keys as a string, got {_short(value)}")
        s.keymap = dict(keymap)
        colors = _typed(data, "tag_colors", dict, {})
        s.tag_colors = {tag: _colour(tag, value) for tag, value in colors.items()}
        s.notify = NotifySettings.from_toml(_typed(data, "notify", dict, {}))
        pipelines = _typed(data, "pipelines", dict, {})
        for name, table in pipelines.items():
            if not isinstance(table, dict) or not isinstance(table.get("view", ""), str):
                raise ConfigError(
                    f"pipelines.{name}: expected a table with a view string, got {_short(table)}"
                )
            try:
                s.pipelines[name] = TableView.from_string(table.get("view", ""))
            except (ViewError, ValueError) as exc:
                raise ConfigError(f"pipelines.{name}.view: {exc}") from None
        return s


def _typed(data: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = data.get(key, default)
    if not isinstance(value, kind):
        raise ConfigError(f"{key}: expected {kind.__name__}, got {_short(value)}")
    return value


def _colour(tag: str, value: Any) -> str:
    """A tag's colour as Rich reads it: a name ("red", "dodger_blue1"), #rrggbb, rgb(...)."""
    from rich.color import Color, ColorParseError, ColorType

    try:
        ok = isinstance(value, str) and Color.parse(value).type is not ColorType.DEFAULT
    except ColorParseError:
        ok = False
    if not ok:
        raise ConfigError(
            f"tag_colors.{tag}: not a colour: {_short(value)} (a name such as red, or #rrggbb)"
        )
    return str(value)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel = 3


def _short(value: Any) -> str:
    """repr() bounded in length and depth (TOML may nest a table thousands deep)."""
    return _REPR.repr(value)


@dataclass
class Loaded:
    settings: Settings
    warning: str = ""


def load(path: Path | None = None) -> Loaded:
    """Read the settings; on any fault keep the file aside and return defaults + a warning."""
    p = path or config_path()
    if not p.exists() and not p.is_symlink():
        return Loaded(Settings())
    try:
        if p.is_dir():
            raise ConfigError("is a directory")
        raw = read_regular(p)
        if not raw.strip():
            raise ConfigError("is empty")
        data = tomllib.loads(raw.decode("utf-8"))
        return Loaded(Settings.from_toml(data))
    except NotRegularFileError as exc:  # a device or FIFO: never moved, never written
        return _defaults(f"config {p} unreadable ({exc}); left in place; using defaults")
    except RecursionError:
        return _unreadable(p, "nested too deeply")
    except (OSError, ValueError) as exc:  # TOMLDecodeError, UnicodeDecodeError, ConfigError
        return _unreadable(
            p, exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        )


def _unreadable(p: Path, reason: str) -> Loaded:
    """Defaults, with the bad file kept aside for the user to look at."""
    kept = _move_aside(p)
    where = f"; kept as {kept}" if kept else "; left in place"
    return _defaults(f"config {p} unreadable ({reason}){where}; using defaults")


def _defaults(warning: str) -> Loaded:
    """The warning quotes the file's path and content: made safe for the terminal."""
    return Loaded(Settings(), one_line(warning))


def _move_aside(p: Path) -> Path | None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = p.with_name(f"{p.name}.broken-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = p.with_name(f"{p.name}.broken-{stamp}-{n}")
    try:
        os.replace(p, target)
    except OSError:
        return None
    return target


STALE_TEMP = 60.0


def _remove_stale_temps(p: Path) -> None:
    """Temp files of saves killed mid-way (kill -9): never read, removed a minute on."""
    cutoff = time.time() - STALE_TEMP
    for leftover in p.parent.glob(f".{p.name}.*.tmp"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def save(settings: Settings, path: Path | None = None) -> None:
    """Write atomically with mode 0600; raises OSError with the reason when it cannot, and
    then the file the user has is untouched."""
    write(dumps(settings), path)


def dumps(settings: Settings) -> bytes:
    """The settings as the file holds them."""
    return tomli_w.dumps(settings.to_toml()).encode()


def write(data: bytes, path: Path | None = None) -> None:
    """Write `dumps`' data as `save` does."""
    p = _save_target(path or config_path())
    _remove_stale_temps(p)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(p.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _save_target(p: Path) -> Path:
    """The file a save replaces: `p`, or the target of the symlink `p` when that is the
    user's own regular file (the link stays a link). A directory, FIFO or device, or a
    link to one, to a missing file or to another user's file, is refused: a save never
    writes into a device nor replaces what it does not own. A folder it creates is 0700."""
    if p.parent.exists() and not p.parent.is_dir():
        raise NotADirectoryError(f"{p.parent} is a file, not a folder")
    try:
        mode = os.lstat(p).st_mode
    except FileNotFoundError:
        make_private_dir(p.parent)
        return p
    if not stat.S_ISLNK(mode):
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"not a regular file ({kind_of(mode)}); not saved")
        return p
    shown = os.path.realpath(p)
    try:
        target = Path(os.path.realpath(p, strict=True))
        info = os.stat(target)
    except OSError as exc:
        raise OSError(f"a symlink to {shown}: {exc.strerror or exc}; not saved") from exc
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"a symlink to {shown}, {kind_of(info.st_mode)}; not saved")
    if info.st_uid != os.geteuid():
        raise OSError(f"a symlink to {shown}, which belongs to uid {info.st_uid}; not saved")
    return target
