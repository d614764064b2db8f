"""`runs-tui`: the app, the demo, and the commands behind the table's actions.

Exit codes: 0 when every asked run was affected, 1 when some were not (each
named, with why), 2 for bad usage or input (the message names the value).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from runs_tui.agent.output import MAX_LINE
from runs_tui.cli_compare import add_compare_parser, cmd_compare
from runs_tui.cli_logs import add_logs_parser, cmd_logs
from runs_tui.cli_read_only import add_read_only_argument, read_only, refuse_writes
from runs_tui.cli_show import add_show_parser, cmd_show
from runs_tui.core.actions import ACTIONS, cli_specs
from runs_tui.core.source import RunSource, SourceError
from runs_tui.core.status import Action
from runs_tui.core.text import one_line
from runs_tui.listing import add_ls_arguments, cmd_ls, print_columns
from runs_tui.sources import open_source

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a cut-off writer


class UsageError(Exception):
    """Bad input from the command line; the message names the value."""


class _Parser(argparse.ArgumentParser):
    """A bad value of an option (`--limit abc`, `--format xml`) is one line naming it,
    exit 2, as other bad input is; what is missing or unknown in the command line (no
    RUN, an unknown command) keeps argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        # argparse calls this inside its `except ArgumentError`, which says which argument
        # was wrong; the subcommand's parser is of this class too (add_subparsers' default).
        wrong = sys.exc_info()[1]
        if isinstance(wrong, argparse.ArgumentError) and (wrong.argument_name or "")[:1] == "-":
            raise UsageError(message)
        super().error(message)


# The app's options: a subcommand given one would silently ignore it.
APP_OPTIONS = {"app_pipeline": "--pipeline", "app_view": "--view", "app_columns": "--columns"}


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        help="database path or SQLAlchemy URL (default: RUNS_TUI_DB, "
        "else runs.db in the user data dir)",
    )
    add_read_only_argument(common)
    parser = _Parser(
        prog="runs-tui", parents=[common], description="The pipeline runs table, in a terminal."
    )
    parser.add_argument(
        "--pipeline",
        dest="app_pipeline",
        metavar="PIPELINE",
        help="open this pipeline (default: the last used)",
    )
    parser.add_argument(
        "--view",
        dest="app_view",
        metavar="VIEW",
        help="open exactly this view (see `Y` in the app)",
    )
    parser.add_argument(
        "--columns", dest="app_columns", metavar="SPECS", help="comma-separated column specs"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", parents=[common], help="open the app on example pipelines")
    demo.add_argument(
        "--no-ui", action="store_true", help="only create the demo database and print its path"
    )

    pipe = sub.add_parser("pipeline", parents=[common], help="register or list pipelines")
    pipe_sub = pipe.add_subparsers(dest="pipeline_command", metavar="ACTION", required=True)
    reg = pipe_sub.add_parser("register", parents=[common], help="register a pipeline TOML file")
    reg.add_argument("file")
    pipe_sub.add_parser("list", parents=[common], help="list pipelines and their runs by status")

    run = sub.add_parser("run", parents=[common], help="enqueue a new run")
    run.add_argument("pipeline")
    run.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="set a parameter (repeatable)"
    )
    run.add_argument("--queue", help="execution queue (default: the pipeline's)")
    run.add_argument("--tag", action="append", default=[], metavar="T")

    add_ls_arguments(sub.add_parser("ls", parents=[common], help="list runs"))
    add_show_parser(sub, common)
    add_logs_parser(sub, common)
    add_compare_parser(sub, common)

    for spec in cli_specs():
        act = sub.add_parser(spec.cli, parents=[common], help=f"{spec.cli} runs (id or PIPELINE#N)")
        act.add_argument("runs", nargs="+", metavar="RUN")
        act.add_argument("--message", default="", help="why (kept in the run's history)")

    agent = sub.add_parser("agent", parents=[common], help="run pipelines from queues")
    agent.add_argument(
        "--queue",
        action="append",
        default=[],
        metavar="Q",
        help="take runs from this queue (repeatable; default: default)",
    )
    agent.add_argument("--name", help="agent name (default: HOST-PID)")
    agent.add_argument("--concurrency", type=int, default=1, help="runs at once (default 1)")
    agent.add_argument("--poll", type=float, default=1.0, help="seconds between claims/checks")
    agent.add_argument("--heartbeat", type=float, default=2.0, help="seconds between beats")
    agent.add_argument(
        "--stale-after", type=float, default=30.0, help="fail runs whose agent was silent this long"
    )
    agent.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds between SIGTERM and SIGKILL, and for runs at shutdown",
    )
    agent.add_argument("--once", action="store_true", help="exit when the queues are empty")
    agent.add_argument(
        "--executor",
        default="local",
        help="where steps run: local (subprocesses, the default) or slurm (batch jobs)",
    )
    agent.add_argument(
        "--max-line",
        type=int,
        default=MAX_LINE,
        metavar="BYTES",
        help="local: keep at most this much of one output line, the rest is dropped and the "
        f"line marked as truncated (default {MAX_LINE})",
    )
    agent.add_argument("--partition", help="slurm: the partition to submit to")
    agent.add_argument(
        "--sbatch-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="slurm: one more sbatch option, as given (repeatable; --sbatch-arg=--account=x)",
    )
    agent.add_argument(
        "--spool",
        help="slurm: folder for the jobs' output, shared with the compute nodes "
        "(default: slurm-spool in the user data dir)",
    )
    agent.add_argument(
        "--detach",
        action="store_true",
        help="slurm: on SIGTERM/SIGINT leave the runs and their jobs running, for the next "
        "agent of the same --name to adopt (default: abort them after --grace)",
    )

    tag = sub.add_parser("tag", parents=[common], help="add or remove tags")
    tag.add_argument("runs", nargs="+", metavar="RUN")
    tag.add_argument("--add", action="append", default=[], metavar="T")
    tag.add_argument("--remove", action="append", default=[], metavar="T")
    return parser


def _fail(message: str) -> NoReturn:
    print(f"runs-tui: error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        _check_arguments(parser, args)
        code = _dispatch(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (`runs-tui ls | head`): stop quietly, as other tools do.
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except (UsageError, SourceError, ValueError) as exc:  # a PipelineError is a ValueError
        _fail(str(exc))
    except KeyboardInterrupt:
        return 130


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every argument, positional or optional, checked in one place before any is used:
    bytes that are not UTF-8 (Python keeps them as lone surrogates, which no database or
    terminal takes) and NUL (PostgreSQL refuses it; only an in-process call can pass it)."""
    names = _argument_names(parser, args)
    for dest, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                continue
            name = names.get(dest, dest)
            if _SURROGATE.search(item):
                shown = item.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                raise UsageError(f"invalid {name} '{shown}': not UTF-8")
            if "\0" in item:
                raise UsageError(f"invalid {name} {item!r}: NUL character")
            if dest == "queue" and not item.strip():
                raise UsageError(f"invalid {name} {item!r}: queue name is empty")
    if args.command is not None:
        _no_app_options(parser, args)


_SURROGATE = re.compile("[\udc80-\udcff]")


def _no_app_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse the app's options given before a subcommand, which would ignore them; say
    where the subcommand takes the same thing, if it does (`ls --columns`, `ls PIPELINE`)."""
    command = args.command
    own = {d: n for d, n in _argument_names(parser, args).items() if d not in APP_OPTIONS}
    for dest, option in APP_OPTIONS.items():
        value = getattr(args, dest)
        if value is None:
            continue
        hint = ""
        if option in own.values():
            hint = f": give it after `{command}`"
        elif dest == "app_pipeline" and "pipeline" in own:
            hint = f": give the pipeline after `{command}`"
        raise UsageError(f"{option} {value!r} is the app's option; `{command}` ignores it{hint}")


def _argument_names(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """Each destination as the user wrote it (`--param`, `PIPELINE`), from the parsers the
    command line went through (a subcommand's own arguments win over the top level's)."""
    names: dict[str, str] = {}
    current: argparse.ArgumentParser | None = parser
    while current is not None:
        chosen: argparse.ArgumentParser | None = None
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(args, action.dest, None) or "")
            elif action.option_strings:
                names[action.dest] = max(action.option_strings, key=len)
            else:
                names[action.dest] = str(action.metavar or action.dest.upper())
        current = chosen
    return names


def _stdout_to_devnull() -> None:
    """So that the interpreter's final flush of stdout does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _dispatch(args: argparse.Namespace) -> int:
    db = getattr(args, "db", None)
    refuse_writes(args)
    if args.command == "demo":
        from runs_tui.demo import start_demo

        return start_demo(db, ui=not args.no_ui)
    if args.command is None:
        # The collector stays off while the app's modules load (they stay for good: nothing
        # to free); run_app turns it back on, with all of that frozen, once the database is open.
        gc.disable()
        try:
            from runs_tui.ui.app import run_app

            return run_app(db, args.app_pipeline, args.app_view, args.app_columns, read_only(args))
        finally:
            gc.enable()
    # Likewise while the source opens, which imports SQLAlchemy and the driver: 0.02 s less
    # before the first row of `ls`.
    gc.disable()
    try:
        source = open_source(db)
    finally:
        gc.enable()
    try:
        return _command(source, args)
    finally:
        source.close()


def _command(source: RunSource, args: argparse.Namespace) -> int:
    if args.command == "pipeline":
        return _pipeline(source, args)
    if args.command == "run":
        from runs_tui.core.pipelines import format_value

        _require(source, Action.RUN, "run")
        params = dict(_key_value(p) for p in args.param)
        new = source.new_run(args.pipeline, params, queue=args.queue, tags=args.tag)
        print(one_line(f"{new.ref}  id={new.id}  status=Pending  queue={new.queue}"))
        for key, value in new.params.items():
            print(one_line(f"  {key} = {format_value(value)}"))
        return EXIT_OK
    reader = {"ls": cmd_ls, "show": cmd_show, "compare": cmd_compare, "logs": cmd_logs}
    if args.command in reader:  # commands that read, each in its module
        return reader[args.command](source, args)
    if args.command == "agent":
        return _agent(source, args)
    if args.command == "tag":
        if not args.add and not args.remove:
            raise UsageError("tag: give --add T or --remove T")
        _require(source, Action.ADD_TAG, "tag")
        result = source.tag(source.resolve_refs(args.runs), args.add, args.remove)
    else:
        action = next(s.action for s in cli_specs() if s.cli == args.command)
        _require(source, action, args.command)
        ids = source.resolve_refs(args.runs)
        result = source.transition(action, ids, message=args.message)
    print(one_line(result.summary()))
    for outcome in result.not_affected:
        print(one_line(f"  {outcome.ref}: not affected ({outcome.reason})"))
    return EXIT_OK if result.ok else EXIT_PARTIAL


def _require(source: RunSource, action: Action, command: str) -> None:
    """Refuse, before anything is attempted, an action the source cannot do."""
    if not source.capabilities.can(action):
        why = source.capabilities.why_not(action)
        raise UsageError(f"{command}: {ACTIONS[action].label.lower()} is unavailable here: {why}")


def _agent(source: RunSource, args: argparse.Namespace) -> int:

    from runs_tui.agent import logs as agent_logs
    from runs_tui.agent.worker import AgentConfig, AgentWorker, install_signals
    from runs_tui.sources.sql import store_of

    config = AgentConfig(
        queues=args.queue or ["default"],
        concurrency=args.concurrency,
        poll=args.poll,
        heartbeat=args.heartbeat,
        stale_after=args.stale_after,
        grace=args.grace,
        once=args.once,
        executor=args.executor,
        partition=args.partition,
        sbatch_args=args.sbatch_arg,
        spool=args.spool,
        max_line=args.max_line,
        detach=args.detach,
    )
    if args.name:
        config.name = args.name
    agent_logs.configure()
    worker = AgentWorker(store_of(source), config)
    install_signals(worker)
    return worker.run()


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"invalid --param {text!r}: expected NAME=VALUE")
    return key.strip(), value


def _pipeline(source: RunSource, args: argparse.Namespace) -> int:
    if args.pipeline_command == "register":
        if not source.capabilities.register:
            raise UsageError(f"pipeline register: {source.name} does not take pipeline files")
        pipe = source.register_pipeline(args.file)
        print(one_line(f"registered {pipe.name} {pipe.version} (queue {pipe.queue})"))
        return EXIT_OK
    rows: list[tuple[str, ...]] = [
        ("NAME", "VERSION", "QUEUE", "RUNS", "PENDING", "RUNNING", "COMPLETED", "FAILED", "ABORTED")
    ]
    for p in source.pipelines():
        counts = [
            str(p.counts.get(s, 0))
            for s in ("pending", "running", "completed", "failed", "aborted")
        ]
        rows.append(
            (one_line(p.name), one_line(p.version), one_line(p.queue), str(p.total), *counts)
        )
    print_columns(rows)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
