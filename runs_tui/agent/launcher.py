"""Where a step's process runs: the seam between the agent and a machine or a scheduler.

The executor decides *what* runs (argv, environment, folder) and reports what happens;
a launcher only starts it somewhere and lets the executor follow it. Nothing here
assumes a local process or pipes: a batch scheduler (Slurm: `sbatch`, output followed
from spool files, `scancel`) implements the same two protocols.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:  # `runs-tui --help` imports this module (its --max-line default)
    from runs_tui.core.pipelines import Resources


class LaunchError(Exception):
    """The step could not be started at all; the message says why, for the run's history."""


class Line(NamedTuple):
    """One line of a step's output: `raw` keeps its newline (none on a last, unfinished line)
    and its bytes undecoded, so the executor alone decides how to read it. `end` is where
    the line ends in its stream's file, for a launcher whose output outlives the agent (a
    later agent reads on from the last `end` stored with the log); None for pipes."""

    stream: str
    raw: bytes
    end: int | None = None


class Stopped(NamedTuple):
    """What `StepHandle.stop` did, for the run's log: the step's exit code (None if it could
    not be learnt) and how many processes it stopped (None where a launcher cannot count
    them: a batch job is one job to it, whatever runs inside)."""

    code: int | None
    processes: int | None = None


class StepHandle(Protocol):
    """A started step. Used by one executor thread at a time, from start to `close`.

    An exit code is the step's own; a negative one means killed by that signal, so the
    executor can say so whatever ran the step.
    """

    @property
    def executor(self) -> str:
        """The launcher's name ("local"), recorded on the step row next to `external_id`."""
        ...

    @property
    def external_id(self) -> str:
        """What the step is known as where it runs (a pid, a job id): lets a person find it
        with the tools of that place. Never empty."""
        ...

    @property
    def detail(self) -> str:
        """Where the step stands there, when the place says more than running or not
        ("queued in Slurm (Priority)", "running on node7"); "" when it has nothing to add.
        Shown on the step's row; may cost a query of the scheduler (batched)."""
        ...

    def read(self, timeout: float) -> Line | None:
        """The next line, waiting up to `timeout` seconds; None when none came in time.

        Lines of one stream come in the order they were written; a line written in pieces
        comes whole, up to the launcher's cap on a line's length: beyond it, its start and a
        note saying so (one newline-less stream must not fill the agent's memory). Waiting
        is bounded so the executor keeps checking for abort and loss while a step is
        silent."""
        ...

    @property
    def output_done(self) -> bool:
        """Every line was returned by `read`. Output may end before the step exits, but
        once the step has exited it does end, even if leftovers still hold its streams:
        a step must not be kept running by what it forgot to stop."""
        ...

    def poll(self) -> int | None:
        """The exit code once the step has exited, else None; never waits."""
        ...

    def stop(self, grace: float) -> Stopped:
        """Ask the step and everything it started to stop (SIGTERM-like), kill what is left
        after `grace` seconds, and wait for the end. Everything it started means every
        descendant, however it detached (new session, cleared environment, double fork) and
        whatever it forks while being stopped: nothing of the step runs once this returns."""
        ...

    def close(self) -> None:
        """Release what the handle holds, killing whatever of the step is still running: a
        step never outlives the executor's interest in it. Call once, always."""
        ...


class StepLauncher(Protocol):
    """Starts steps. One launcher serves every run of an agent, from several executor
    threads at once, so it can share work between steps (e.g. one batched state query
    per poll for all of its jobs)."""

    @property
    def executor(self) -> str:
        """The name the agent was configured with (`--executor`)."""
        ...

    def start(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: str,
        resources: Resources,
        name: str,
    ) -> StepHandle:
        """Start `argv` as given, never through a shell (each element reaches the step byte
        for byte), with exactly `env` (plus what the launcher needs to track the step) in
        `cwd`. `resources` is what the step asked for: a launcher uses what it can and
        logs what it ignores. `name` shows the step in logs and job lists.

        Raises LaunchError when the step cannot be started."""
        ...


@runtime_checkable
class Adopting(Protocol):
    """A launcher whose steps outlive the agent that started them (a scheduler's jobs): a
    later agent takes a step over instead of losing its run. Its handles also have
    `release()`, for an agent that leaves on purpose (`--detach`)."""

    def adopt(self, external_id: str, offsets: tuple[int, int]) -> StepHandle:
        """Follow the step known as `external_id`, its output from `offsets` (stdout,
        stderr: the `Line.end`s last stored) on. Raises LaunchError when the place does not
        know the step any more."""
        ...


@runtime_checkable
class Releasable(Protocol):
    """A handle whose step can go on without the agent."""

    def release(self) -> None:
        """Stop following the step and leave it running (instead of `close`)."""
        ...
