"""core.ops against DESIGN.md's table: every action x every state x archived or not."""

from __future__ import annotations

import pytest
from sqlmodel import select

from runs_tui.core import ops
from runs_tui.core.actions import ACTIONS, eligible, why_not
from runs_tui.core.db import Store
from runs_tui.core.models import Event, Pipeline, Run, RunParam, RunTag
from runs_tui.core.records import BulkResult, Outcome
from runs_tui.core.registry import register
from runs_tui.core.status import Action, Status

OLD = 1_000_000.0  # times set up in the past, so that a bump is visible

ALL = frozenset(Status)
# DESIGN.md, "Run states": where each state-changing action is valid, as (states, archived).
SPEC: dict[Action, tuple[frozenset[Status], bool]] = {
    Action.ABORT: (frozenset({Status.RUNNING, Status.PENDING}), False),
    Action.CONTINUE: (frozenset({Status.ABORTED}), False),
    Action.RETRY: (frozenset({Status.FAILED}), False),
    Action.ARCHIVE: (ALL, False),
    Action.RESTORE: (ALL, True),
}
TRANSITIONS = list(SPEC)
STATES = list(Status)


def pipeline_id(store: Store, name: str) -> int:
    with store.read() as session:
        pipe = session.exec(select(Pipeline).where(Pipeline.name == name)).one()
    assert pipe.id is not None
    return pipe.id


def make_run(
    store: Store,
    pipe_id: int,
    status: Status,
    *,
    archived: bool = False,
    number: int | None = None,
    attempt: int = 2,
) -> int:
    """A run put straight into `status`, with the fields an agent would have set."""
    with store.write() as session:
        if number is None:
            number = len(session.exec(select(Run.id).where(Run.pipeline_id == pipe_id)).all()) + 1
        started = None if status == Status.PENDING else OLD + 10
        finished = OLD + 20 if status in (Status.COMPLETED, Status.FAILED, Status.ABORTED) else None
        run = Run(
            pipeline_id=pipe_id,
            number=number,
            name=f"simple #{number}",
            version="1.0.0",
            status=status,
            user="someone",
            queue="default",
            created=OLD,
            started=started,
            updated=OLD + 30,
            finished=finished,
            archived=archived,
            attempt=attempt,
            agent=None if status == Status.PENDING else "agent-1",
            heartbeat=OLD + 25 if status == Status.RUNNING else None,
            progress=0.5 if status != Status.PENDING else None,
            exit_code={Status.COMPLETED: 0, Status.FAILED: 1}.get(status),
            status_message="before",
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def get_run(store: Store, run_id: int) -> Run:
    with store.read() as session:
        run = session.get(Run, run_id)
    assert run is not None
    return run


def events(store: Store, run_id: int | None = None) -> list[Event]:
    with store.read() as session:
        stmt = select(Event).order_by(Event.id)  # type: ignore[arg-type]
        if run_id is not None:
            stmt = stmt.where(Event.run_id == run_id)
        return list(session.exec(stmt).all())


def tags_of(store: Store, run_id: int) -> set[str]:
    with store.read() as session:
        return set(session.exec(select(RunTag.tag).where(RunTag.run_id == run_id)).all())


@pytest.fixture
def pid(store: Store, simple: str) -> int:
    return pipeline_id(store, simple)


def expected_reason(action: Action, status: Status, archived: bool) -> str:
    _, want_archived = SPEC[action]
    if want_archived and not archived:
        return "not archived"
    if not want_archived and archived:
        return "archived"
    return status.label


def test_rules_table_matches_the_design():
    for action, (states, archived) in SPEC.items():
        for status in Status:
            for flag in (False, True):
                assert eligible(action, status, flag) == (status in states and flag == archived), (
                    action,
                    status,
                    flag,
                )
    assert ACTIONS[Action.ABORT].rule.to == Status.ABORTED
    assert ACTIONS[Action.CONTINUE].rule.to == Status.PENDING
    assert ACTIONS[Action.RETRY].rule.to == Status.PENDING
    for action in (Action.DETAILS, Action.RUN, Action.ADD_TAG, Action.REMOVE_TAG):
        for status in Status:
            for flag in (False, True):
                assert eligible(action, status, flag)


@pytest.mark.parametrize("archived", [False, True], ids=["active", "archived"])
@pytest.mark.parametrize("status", STATES, ids=[s.label for s in STATES])
@pytest.mark.parametrize("action", TRANSITIONS, ids=[a.value for a in TRANSITIONS])
def test_transition(store, pid, action, status, archived):
    run_id = make_run(store, pid, status, archived=archived)
    before = get_run(store, run_id)
    states, want_archived = SPEC[action]
    should = status in states and archived == want_archived

    result = ops.transition(store, action, [run_id])

    assert result.action is action
    assert len(result.outcomes) == 1
    outcome = result.outcomes[0]
    assert outcome.run_id == run_id
    assert outcome.ref == "simple#1"
    assert outcome.from_status == status
    assert outcome.affected is should
    assert result.ok is should
    after = get_run(store, run_id)
    evs = events(store, run_id)

    if not should:
        reason = expected_reason(action, status, archived)
        assert outcome.reason == reason
        assert result.summary() == f"{ACTIONS[action].past} 0 of 1; 1 not eligible (1 {reason})"
        assert after.model_dump() == before.model_dump()
        assert evs == []
        return

    assert outcome.reason == ""
    aborted = action is Action.ARCHIVE and status in (Status.PENDING, Status.RUNNING)
    note = " (1 aborted first)" if aborted else ""
    assert result.summary() == f"{ACTIONS[action].past} 1 of 1{note}"
    assert after.updated > before.updated
    for ev in evs:
        assert ev.user == "tester"
        assert ev.time >= before.updated

    if action is Action.ABORT:
        assert after.status == Status.ABORTED
        assert after.attempt == before.attempt
        assert after.finished is not None and after.finished > OLD
        assert after.archived is False
        assert after.status_message == "aborted by tester"
        assert [(e.action, e.from_status, e.to_status) for e in evs] == [
            ("abort", status, "aborted")
        ]
    elif action in (Action.CONTINUE, Action.RETRY):
        assert after.status == Status.PENDING
        assert after.attempt == before.attempt + 1
        assert after.finished is None
        assert after.agent is None
        assert after.heartbeat is None
        assert after.exit_code is None
        assert after.progress is None
        assert after.archived is False
        verb = "continued" if action is Action.CONTINUE else "retried"
        assert after.status_message == f"{verb} by tester"
        assert [(e.action, e.from_status, e.to_status) for e in evs] == [
            (action.value, status, "pending")
        ]
    elif action is Action.ARCHIVE:
        assert after.archived is True
        assert after.attempt == before.attempt
        if status in (Status.PENDING, Status.RUNNING):
            assert after.status == Status.ABORTED
            assert after.finished is not None and after.finished > OLD
            assert after.status_message == "aborted by tester: archived"
            assert [(e.action, e.from_status, e.to_status) for e in evs] == [
                ("abort", status, "aborted"),
                ("archive", "aborted", "aborted"),
            ]
        else:
            assert after.status == status
            assert after.finished == before.finished
            assert after.status_message == "before"
            assert [(e.action, e.from_status, e.to_status) for e in evs] == [
                ("archive", status, status)
            ]
    elif action is Action.RESTORE:
        assert after.archived is False
        assert after.status == status
        assert after.attempt == before.attempt
        assert after.finished == before.finished
        assert [(e.action, e.from_status, e.to_status) for e in evs] == [
            ("restore", status, status)
        ]


@pytest.mark.parametrize("archived", [False, True], ids=["active", "archived"])
@pytest.mark.parametrize("status", STATES, ids=[s.label for s in STATES])
def test_tags_apply_in_every_state(store, pid, status, archived):
    run_id = make_run(store, pid, status, archived=archived)
    before = get_run(store, run_id)

    added = ops.tag(store, [run_id], add=["keep", "drop"])
    assert added.action is Action.ADD_TAG
    assert added.ok
    assert added.summary() == "Tagged 1 of 1"
    assert tags_of(store, run_id) == {"keep", "drop"}
    mid = get_run(store, run_id)
    assert mid.updated > before.updated

    removed = ops.tag(store, [run_id], remove=["drop"])
    assert removed.action is Action.REMOVE_TAG
    assert removed.summary() == "Untagged 1 of 1"
    assert tags_of(store, run_id) == {"keep"}

    after = get_run(store, run_id)
    assert (after.status, after.archived, after.attempt) == (status, archived, before.attempt)
    assert [(e.action, e.from_status, e.to_status, e.message, e.user) for e in events(store)] == [
        ("add_tag", None, None, "keep, drop", "tester"),
        ("remove_tag", None, None, "drop", "tester"),
    ]


@pytest.mark.parametrize("action", [Action.DETAILS, Action.RUN, Action.ADD_TAG])
def test_transition_refuses_actions_that_are_not_state_changes(store, pid, action):
    run_id = make_run(store, pid, Status.RUNNING)
    with pytest.raises(ValueError, match="not a state change"):
        ops.transition(store, action, [run_id])
    assert get_run(store, run_id).status == Status.RUNNING
    assert events(store) == []


def test_message_and_explicit_user_are_recorded(store, pid):
    run_id = make_run(store, pid, Status.RUNNING)
    result = ops.abort(store, [run_id], user="ops-bot", message="out of memory")
    assert result.ok
    assert get_run(store, run_id).status_message == "aborted by ops-bot: out of memory"
    ev = events(store, run_id)
    assert [(e.action, e.user, e.message) for e in ev] == [("abort", "ops-bot", "out of memory")]


def test_bulk_summary_counts_reasons(store, pid):
    ids = [
        make_run(store, pid, Status.RUNNING),
        make_run(store, pid, Status.COMPLETED),
        make_run(store, pid, Status.PENDING),
        make_run(store, pid, Status.FAILED),
        make_run(store, pid, Status.COMPLETED),
    ]
    result = ops.abort(store, ids)
    assert result.summary() == "Aborted 2 of 5; 3 not eligible (2 Completed, 1 Failed)"
    assert [o.affected for o in result.outcomes] == [True, False, True, False, False]
    assert [o.ref for o in result.outcomes] == [f"simple#{n}" for n in range(1, 6)]
    assert [o.reason for o in result.not_affected] == ["Completed", "Failed", "Completed"]
    assert not result.ok
    assert len(events(store)) == 2
    statuses = [get_run(store, i).status for i in ids]
    assert statuses == ["aborted", "completed", "aborted", "failed", "completed"]


def test_bulk_with_unknown_ids_archived_runs_and_duplicates(store, pid):
    a = make_run(store, pid, Status.ABORTED)
    b = make_run(store, pid, Status.ABORTED, archived=True)
    result = ops.continue_runs(store, [a, 9999, b, a])
    assert [(o.run_id, o.affected, o.reason) for o in result.outcomes] == [
        (a, True, ""),
        (9999, False, "not found"),
        (b, False, "archived"),
    ]
    assert result.outcomes[1].ref == "id 9999"
    assert result.summary() == "Continued 1 of 3; 2 not eligible (1 not found, 1 archived)"
    assert get_run(store, a).attempt == 3  # continued once, not twice
    assert len(events(store)) == 1


def test_bulk_across_chunks_keeps_order_and_counts(store, pid, monkeypatch):
    monkeypatch.setattr(ops, "CHUNK", 2)
    states = [Status.FAILED, Status.RUNNING, Status.FAILED, Status.FAILED, Status.ABORTED]
    ids = [make_run(store, pid, s) for s in states]
    result = ops.retry(store, ids)
    assert [o.run_id for o in result.outcomes] == ids
    assert result.summary() == "Retried 3 of 5; 2 not eligible (1 Running, 1 Aborted)"
    assert [get_run(store, i).attempt for i in ids] == [3, 2, 3, 3, 2]


def test_summary_wording():
    def res(action: Action, *outcomes: tuple[bool, str]) -> BulkResult:
        return BulkResult(
            action, [Outcome(i, f"p#{i}", ok, why) for i, (ok, why) in enumerate(outcomes)]
        )

    assert res(Action.ARCHIVE).summary() == "Archived 0 of 0"
    assert res(Action.RESTORE, (True, "")).summary() == "Restored 1 of 1"
    assert (
        res(Action.ABORT, (False, "Failed"), (False, "Completed"), (False, "Completed")).summary()
        == "Aborted 0 of 3; 3 not eligible (2 Completed, 1 Failed)"
    )


def test_continue_of_archived_run_after_restore(store, pid):
    run_id = make_run(store, pid, Status.RUNNING)
    assert ops.archive(store, [run_id]).ok
    assert not ops.continue_runs(store, [run_id]).ok
    assert ops.restore(store, [run_id]).ok
    assert ops.continue_runs(store, [run_id]).ok
    run = get_run(store, run_id)
    assert (run.status, run.archived, run.attempt) == ("pending", False, 3)
    assert [(e.action, e.from_status, e.to_status) for e in events(store, run_id)] == [
        ("abort", "running", "aborted"),
        ("archive", "aborted", "aborted"),
        ("restore", "aborted", "aborted"),
        ("continue", "aborted", "pending"),
    ]


# --- new runs ------------------------------------------------------------------------------


def params_of(store: Store, run_id: int) -> dict[str, tuple[str, float | None]]:
    with store.read() as session:
        rows = session.exec(select(RunParam).where(RunParam.run_id == run_id)).all()
    return {r.key: (r.value, r.num) for r in rows}


def test_new_run_with_defaults(store, simple):
    new = ops.new_run(store, simple)
    assert (new.pipeline, new.number, new.queue, new.ref) == ("simple", 1, "default", "simple#1")
    run = get_run(store, new.id)
    assert run.status == Status.PENDING
    assert (run.attempt, run.archived, run.user, run.version) == (1, False, "tester", "1.0.0")
    assert run.name == "simple #1"
    assert run.queue == "default"
    assert (run.started, run.finished, run.agent) == (None, None, None)
    assert params_of(store, new.id) == {
        "args/lr": ("0.01", 0.01),
        "args/epochs": ("3", 3.0),
        "args/name": ("base", None),
        "args/flag": ("false", None),
    }
    assert [
        (e.run_id, e.action, e.from_status, e.to_status, e.user, e.message) for e in events(store)
    ] == [(new.id, "run", None, "pending", "tester", "queue default")]


def test_new_run_numbers_increment_per_pipeline(store, simple, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(
        '[pipeline]\nname = "other"\nqueue = "gpu"\n[[steps]]\nname = "s"\ncommand = ["x"]\n'
    )
    register(store, other)
    a1 = ops.new_run(store, simple)
    b1 = ops.new_run(store, "other")
    a2 = ops.new_run(store, simple)
    ops.archive(store, [a2.id])  # archived runs keep their numbers
    a3 = ops.new_run(store, simple)
    b2 = ops.new_run(store, "other")
    assert [a1.number, a2.number, a3.number] == [1, 2, 3]
    assert [b1.number, b2.number] == [1, 2]
    assert b1.queue == "gpu"
    assert len({a1.id, a2.id, a3.id, b1.id, b2.id}) == 5


def test_new_run_params_are_coerced_by_type(store, simple):
    new = ops.new_run(
        store,
        simple,
        {"lr": " 0.5 ", "args/epochs": "7", "flag": "Yes", "name": " two words "},
    )
    assert new.params == {
        "args/lr": 0.5,
        "args/epochs": 7,
        "args/flag": True,
        "args/name": " two words ",
    }
    assert params_of(store, new.id) == {
        "args/lr": ("0.5", 0.5),
        "args/epochs": ("7", 7.0),
        "args/name": (" two words ", None),
        "args/flag": ("true", None),
    }
    off = ops.new_run(store, simple, {"flag": "off", "lr": "1e-3", "epochs": "-2"})
    assert off.params["args/flag"] is False
    assert off.params["args/lr"] == 0.001
    assert off.params["args/epochs"] == -2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lr": "abc"}, "parameter 'lr': expected a finite number, got 'abc'"),
        ({"lr": "nan"}, "parameter 'lr': expected a finite number, got 'nan'"),
        ({"lr": "inf"}, "parameter 'lr': expected a finite number, got 'inf'"),
        ({"epochs": "1.5"}, "parameter 'epochs': expected an integer, got '1.5'"),
        ({"epochs": ""}, "parameter 'epochs': expected an integer, got ''"),
        ({"flag": "maybe"}, "parameter 'flag': expected a boolean (true/false), got 'maybe'"),
        (
            {"zz": "1"},
            "unknown parameter 'zz' for pipeline 'simple' (known: lr, epochs, name, flag)",
        ),
        ({"data/path": "x"}, "unknown parameter 'data/path'"),
    ],
)
def test_new_run_bad_params_name_parameter_and_value(store, simple, params, message):
    with pytest.raises(ValueError) as info:
        ops.new_run(store, simple, params)
    assert message in str(info.value)
    with store.read() as session:
        assert session.exec(select(Run)).all() == []
    assert events(store) == []


def test_new_run_tags_are_cleaned(store, simple):
    new = ops.new_run(store, simple, tags=[" sweep ", "sweep", "baseline", "sweep\t"])
    assert tags_of(store, new.id) == {"sweep", "baseline"}


def test_new_run_empty_tag_is_rejected(store, simple):
    with pytest.raises(ValueError, match="a tag cannot be empty"):
        ops.new_run(store, simple, tags=["ok", "   "])
    with store.read() as session:
        assert session.exec(select(Run)).all() == []


def test_new_run_queue(store, simple):
    assert ops.new_run(store, simple, queue=" gpu ").queue == "gpu"
    assert get_run(store, 1).queue == "gpu"
    assert ops.new_run(store, simple).queue == "default"
    with pytest.raises(ValueError, match="queue name is empty"):
        ops.new_run(store, simple, queue="  ")


def test_new_run_unknown_pipeline(store, simple):
    with pytest.raises(ValueError, match="unknown pipeline 'nope'"):
        ops.new_run(store, "nope")


def test_new_run_user_override(store, simple, monkeypatch):
    monkeypatch.setenv("RUNS_TUI_USER", "alice")
    assert get_run(store, ops.new_run(store, simple).id).user == "alice"
    assert get_run(store, ops.new_run(store, simple, user="bob").id).user == "bob"


# --- tags ----------------------------------------------------------------------------------


def test_tag_add_remove_and_duplicates(store, pid):
    a = make_run(store, pid, Status.COMPLETED)
    b = make_run(store, pid, Status.FAILED)
    assert ops.tag(store, [a], add=["x"]).ok
    a_updated = get_run(store, a).updated
    b_updated = get_run(store, b).updated
    n_events = len(events(store))

    result = ops.tag(store, [a, b], add=["x", " x ", "y"])
    assert result.summary() == "Tagged 2 of 2"
    assert tags_of(store, a) == {"x", "y"}
    assert tags_of(store, b) == {"x", "y"}
    new_events = events(store)[n_events:]
    assert [(e.run_id, e.message) for e in new_events] == [(a, "y"), (b, "x, y")]
    assert get_run(store, a).updated > a_updated
    assert get_run(store, b).updated > b_updated

    # Adding what is there already changes nothing: no event, no bump.
    a_updated = get_run(store, a).updated
    n_events = len(events(store))
    assert ops.tag(store, [a], add=["x"]).ok
    assert len(events(store)) == n_events
    assert get_run(store, a).updated == a_updated

    # Removing what is not there changes nothing either.
    assert ops.tag(store, [a], remove=["absent"]).ok
    assert len(events(store)) == n_events
    assert get_run(store, a).updated == a_updated

    # Add and remove at once; a tag both added and removed stays.
    result = ops.tag(store, [a], add=["z", "x"], remove=["y", "x"])
    assert result.action is Action.ADD_TAG
    assert tags_of(store, a) == {"x", "z"}
    last = events(store)[-2:]
    assert [(e.action, e.message) for e in last] == [("add_tag", "z"), ("remove_tag", "y")]


def test_tag_empty_is_rejected_and_nothing_changes(store, pid):
    a = make_run(store, pid, Status.COMPLETED)
    for bad in ([""], ["  "], ["ok", "\t"]):
        with pytest.raises(ValueError, match="a tag cannot be empty"):
            ops.tag(store, [a], add=bad)
        with pytest.raises(ValueError, match="a tag cannot be empty"):
            ops.tag(store, [a], remove=bad)
    assert tags_of(store, a) == set()
    assert events(store) == []


def test_tag_unknown_run(store, pid):
    a = make_run(store, pid, Status.COMPLETED)
    result = ops.tag(store, [a, 4242], add=["t"])
    assert [(o.affected, o.reason) for o in result.outcomes] == [(True, ""), (False, "not found")]
    assert result.summary() == "Tagged 1 of 2; 1 not eligible (1 not found)"
    assert tags_of(store, a) == {"t"}


def test_cas_refuses_a_run_that_changed_since_it_was_read(store, pid):
    run_id = make_run(store, pid, Status.ABORTED)
    stale = get_run(store, run_id)
    assert ops.continue_runs(store, [run_id]).ok
    with store.write() as session:
        assert not ops._cas(session, stale, status=Status.PENDING, attempt=stale.attempt + 1)
    assert get_run(store, run_id).attempt == stale.attempt + 1


def test_why_not_words():
    assert why_not(Action.RESTORE, Status.COMPLETED, False) == "not archived"
    assert why_not(Action.ABORT, Status.RUNNING, True) == "archived"
    assert why_not(Action.CONTINUE, Status.FAILED, False) == "Failed"


def test_changed_since_are_the_runs_updated_since_and_when(store, simple):
    from runs_tui.core.query import changed_since

    first, second = (ops.new_run(store, simple).id for _ in range(2))
    with store.read() as s:
        run = s.get(Run, second)
        assert run is not None
        pipeline_id, updated = run.pipeline_id, run.updated
    ops.tag(store, [first], ["later"])
    changed = changed_since(store, pipeline_id, updated + 1e-6)
    assert [run_id for run_id, _ in changed] == [first] and changed[0][1] > updated
    assert changed_since(store, pipeline_id, None) == changed, "the latest change"
    assert changed_since(store, pipeline_id, changed[0][1] + 1e-6) == []
    assert {run_id for run_id, _ in changed_since(store, pipeline_id, 0)} == {first, second}


@pytest.mark.parametrize("field", ["tag", "queue"])
def test_nul_in_a_tag_or_a_queue_is_refused_naming_it(store, simple, field):
    kwargs = {"tags": ["ok", "b\0d"]} if field == "tag" else {"queue": "q\0"}
    with pytest.raises(ValueError, match=f"invalid {field} .*NUL character"):
        ops.new_run(store, simple, **kwargs)
    with store.read() as s:
        assert s.execute(select(Run)).first() is None, "nothing stored"
