"""core/notify.py: which runs are news, one notice a look, the desktop sequences; and the
`[notify]` settings."""

from __future__ import annotations

import re

import pytest

from runs_tui.core.config import ConfigError, NotifySettings, Settings
from runs_tui.core.notify import RunState, decide, desktop_sequences, news, notice
from runs_tui.core.records import RunRow

START = 1000.0
FAILED = frozenset({"failed"})
BOTH = frozenset({"failed", "completed"})


def row(
    run_id: int,
    status: str = "failed",
    *,
    attempt: int = 1,
    finished: float | None = START + 5,
    pipeline: str = "train-resnet",
    message: str = "step 'train' exited with code 1",
) -> RunRow:
    return RunRow(
        id=run_id,
        pipeline=pipeline,
        number=run_id,
        name=f"{pipeline} #{run_id}",
        version="1",
        status=status,
        user="u",
        queue="q",
        created=0.0,
        started=1.0,
        updated=finished or 2.0,
        finished=finished,
        archived=False,
        attempt=attempt,
        agent=None,
        progress=None,
        status_message=message,
        exit_code=None,
    )


def test_a_run_seen_running_then_failed_is_news():
    known = {7: RunState("running", 1)}
    found, after = decide(known, [row(7)], FAILED, START)
    assert found is not None
    assert found.title == "Run failed"
    assert found.message == "train-resnet #7 failed: step 'train' exited with code 1"
    assert found.severity == "error" and found.runs == (7,)
    assert after[7] == RunState("failed", 1)


def test_failed_before_watching_began_is_not_news_nor_a_tag_later():
    old = row(3, finished=START - 100)  # failed before the app opened; a tag changed it
    assert news({}, [old], FAILED, START) == []
    # failed while watching, told once; a later change (a tag) is not told again
    first, known = decide({}, [row(4)], FAILED, START)
    assert first is not None
    again, _ = decide(known, [row(4)], FAILED, START)
    assert again is None


def test_a_retry_that_fails_again_is_news():
    known = {5: RunState("failed", 1)}
    assert news(known, [row(5, attempt=2)], FAILED, START) != []
    _, known = decide(known, [row(5, "pending", attempt=2, finished=None)], FAILED, START)
    assert news(known, [row(5, attempt=2)], FAILED, START) != []


def test_completed_only_when_asked():
    done = row(8, "completed", message="completed")
    assert news({}, [done], FAILED, START) == []
    told, _ = decide({}, [done], BOTH, START)
    assert told is not None and told.title == "Run completed"
    assert told.severity == "information"
    assert news({}, [row(9, "running", finished=None)], BOTH, START) == []


def test_a_burst_is_one_summary():
    burst = [row(i) for i in range(10, 17)]
    told, known = decide({}, burst, FAILED, START)
    assert told is not None
    assert told.title == "7 runs failed in train-resnet"
    assert told.message == "train-resnet #10, train-resnet #11, train-resnet #12 and 4 more"
    assert len(told.runs) == 7 and len(known) == 7


def test_mixed_states_and_pipelines_in_a_summary():
    rows = [row(1), row(2, "completed", pipeline="tune-bert"), row(3, pipeline="etl")]
    told = notice(rows)
    assert told is not None
    assert told.title == "2 runs failed and 1 completed in 3 pipelines"
    one_each = notice([row(1), row(2, "completed")])
    assert one_each is not None and one_each.title == "1 run failed and 1 completed in train-resnet"
    assert told.severity == "error"
    two_done = notice([row(1, "completed"), row(2, "completed")])
    assert two_done is not None and two_done.title == "2 runs completed in train-resnet"
    assert notice([]) is None


def test_names_and_reasons_are_made_safe():
    evil = row(1, pipeline="p\x1b[31m", message="boom\n\x07[b]x[/b]")
    told = notice([evil])
    assert told is not None
    assert "\x1b" not in told.message and "\x07" not in told.message
    assert "\n" not in told.message and "[b]x[/b]" in told.message


def test_desktop_sequences_cannot_be_broken_out_of():
    title, body = "7 runs; failed\x07", "p #1: rm -rf;\x1b]777;notify;x;y\x07 \x9b done"
    both = desktop_sequences(title, body, ("osc777", "osc9"))
    parts = re.findall(r"\x1b\](.*?)\x07", both, flags=re.S)
    assert len(parts) == 2  # nothing in the texts ended a sequence or started one
    notify_777, notify_9 = parts
    assert notify_777.split(";")[:2] == ["777", "notify"]
    assert len(notify_777.split(";")) == 4  # title and body are one field each
    assert notify_9.count(";") == 1 and notify_9.startswith("9;")
    assert not re.search(r"[\x00-\x06\x08-\x1a\x1c-\x1f\x7f-\x9f]", both)
    assert desktop_sequences(title, body, ("osc9",)).startswith("\x1b]9;")
    assert desktop_sequences(title, body, ()) == ""
    long = desktop_sequences("t", "x" * 5000, ("osc9",))
    assert len(long) < 300


def test_notify_settings_defaults_and_round_trip():
    assert Settings().notify == NotifySettings(frozenset({"failed"}), True, (), "pipeline")
    data = {"on": ["failed", "completed"], "bell": False, "desktop": True, "scope": "all"}
    s = Settings.from_toml({"notify": data})
    assert s.notify.desktop == ("osc777", "osc9") and s.notify.scope == "all"
    assert Settings.from_toml(s.to_toml()).notify == s.notify
    one = Settings.from_toml({"notify": {"desktop": "osc9"}})
    assert one.notify.desktop == ("osc9",) and one.to_toml()["notify"]["desktop"] == "osc9"
    assert Settings.from_toml({"notify": {"on": []}}).notify.on == frozenset()


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"on": ["faild"]}, "notify.on: expected a list of failed, completed; got ['faild']"),
        ({"on": "failed"}, "notify.on:"),
        ({"bell": "yes"}, "notify.bell: expected true or false, got 'yes'"),
        ({"desktop": "osc8"}, "notify.desktop: expected true, false, osc777 or osc9; got 'osc8'"),
        ({"scope": "every"}, "notify.scope: expected pipeline or all, got 'every'"),
    ],
)
def test_a_bad_notify_value_is_named(value: dict[str, object], named: str):
    with pytest.raises(ConfigError) as raised:
        Settings.from_toml({"notify": value})
    message = str(raised.value)
    assert message.startswith(named) and "\n" not in message


def test_changed_since_every_pipeline(any_store, tmp_path):
    """`changed_since(None, ...)`: every pipeline's changes, for `scope = "all"`."""
    from failing_support import new_runs, register_failing, register_passing

    from runs_tui.sources.sql import SqlSource

    source = SqlSource(any_store)
    a, b = register_failing(any_store, tmp_path), register_passing(any_store, tmp_path)
    (in_a,), (in_b,) = new_runs(any_store, a), new_runs(any_store, b)
    everywhere = source.changed_since(None, 0.0)
    assert everywhere is not None and {run for run, _ in everywhere} == {in_a, in_b}
    only_a = source.changed_since(source.pipeline(a).id, 0.0)
    assert only_a is not None and [run for run, _ in only_a] == [in_a]
    latest = source.changed_since(None, None)
    assert latest is not None and [run for run, _ in latest] == [in_b]
    assert source.changed_since(None, max(t for _, t in everywhere) + 1) == []
