"""Where runs-tui keeps its files by default (platformdirs), and the variables that move them."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

APP_NAME = "runs-tui"


def config_path() -> Path:
    """RUNS_TUI_CONFIG, else `config.toml` in the user config dir."""
    env = os.environ.get("RUNS_TUI_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(user_config_dir(APP_NAME)) / "config.toml"


def default_db_path() -> Path:
    """`runs.db` in the user data dir; RUNS_TUI_DB and `--db` override it (see core.db)."""
    return Path(user_data_dir(APP_NAME)) / "runs.db"
