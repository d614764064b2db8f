"""Read-only mode from the shell: `--read-only` (any command) or `read_only = true` in the
settings. The app then changes no run (`core.read_only`); the commands that would change
runs, start them or register pipelines are refused, exit 2, before the database opens."""

from __future__ import annotations

import argparse
import sys

from runs_tui.core.actions import cli_specs

WRITING = frozenset({"run", "tag", "agent", "demo", *(s.cli for s in cli_specs())})


def add_read_only_argument(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: given before a subcommand or after it, it is not reset by the other parser.
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="change no run: the app's actions are unavailable, commands that change "
        "runs are refused (also `read_only = true` in the settings)",
    )


def read_only(args: argparse.Namespace) -> bool:
    """Whether `--read-only` was given or the settings ask for it (read only for the
    commands that write: the others do the same either way)."""
    if getattr(args, "read_only", False):
        return True
    if not _writes(args):
        return False
    from runs_tui.core import config

    loaded = config.load()
    if loaded.warning:  # then `read_only` is not known: say so, as the app does
        print(f"runs-tui: warning: {loaded.warning}", file=sys.stderr)
    return loaded.settings.read_only


def refuse_writes(args: argparse.Namespace) -> None:
    """ValueError (exit 2) for a command that changes runs or pipelines in read-only mode."""
    if _writes(args) and read_only(args):
        command = args.command if args.command != "pipeline" else "pipeline register"
        raise ValueError(f"{command}: refused in read-only mode (it changes runs or pipelines)")


def _writes(args: argparse.Namespace) -> bool:
    register = args.command == "pipeline" and args.pipeline_command == "register"
    return register or args.command in WRITING
