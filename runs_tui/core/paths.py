"""Where runs-tui keeps its files by default (platformdirs), the variables that move them,
and how it reads and makes files: regular files only, and private to the user."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

APP_NAME = "runs-tui"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symlink"),
)


class NotRegularFileError(OSError):
    """A FIFO, a device, a socket or a directory where a file was expected."""


def config_path() -> Path:
    """RUNS_TUI_CONFIG, else `config.toml` in the user config dir."""
    env = os.environ.get("RUNS_TUI_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(user_config_dir(APP_NAME)) / "config.toml"


def default_db_path() -> Path:
    """`runs.db` in the user data dir; RUNS_TUI_DB and `--db` override it (see core.db)."""
    return Path(user_data_dir(APP_NAME)) / "runs.db"


def kind_of(mode: int) -> str:
    """What a file is, from its `st_mode`, for messages ("a FIFO")."""
    return next((name for test, name in _KINDS if test(mode)), "a regular file")


def read_regular(path: Path) -> bytes:
    """The bytes of the regular file at `path` (symlinks followed). Anything else is
    refused before it is opened, as reading a FIFO blocks until a writer comes and a
    device may never end; the open itself never blocks, and the opened file is checked
    again in case the path was swapped in between."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(f"not a regular file ({kind_of(mode)})")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    with open(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"not a regular file ({kind_of(mode)})")
        return f.read()


def make_private_dir(path: Path) -> None:
    """Create the folder `path` with mode 0700 (missing parents as `mkdir -p` would); a
    folder that exists is left as its owner made it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless something is there already (a file the
    user made keeps its mode; a symlink, even dangling, is not followed)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return
    os.close(fd)
