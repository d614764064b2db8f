"""The SQLModel classes (core/orm.py) are the rows of the Core tables (core/tables.py),
which alone describe the schema: each class is mapped onto its table, has a field for
each column and no other, and takes its default from the column."""

from __future__ import annotations

import pytest

from runs_tui.core import models, orm, tables

CLASSES = [
    orm.Meta,
    orm.Pipeline,
    orm.PipelineVersion,
    orm.Run,
    orm.RunParam,
    orm.RunTag,
    orm.Metric,
    orm.MetricPoint,
    orm.LogLine,
    orm.StepRun,
    orm.Event,
    orm.Agent,
]


def test_every_table_has_its_class_and_models_serves_both():
    assert {c.__table__ for c in CLASSES} == set(tables.metadata.tables.values())
    assert models.metadata is tables.metadata
    assert models.RUN is tables.RUN and models.Run is orm.Run


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_class_has_a_field_for_each_column_of_its_table(cls):
    table = cls.__table__
    assert list(cls.model_fields) == [c.name for c in table.columns]
    for name, info in cls.model_fields.items():
        column = table.c[name]
        if column.default is not None:
            assert info.default == column.default.arg, name
        elif column.nullable:
            assert info.default is None, name


def test_a_new_row_has_the_columns_defaults():
    run = orm.Run(pipeline_id=1, number=1, created=0.0, updated=0.0)
    assert (run.status, run.queue, run.attempt, run.archived) == ("pending", "default", 1, False)
    assert orm.Pipeline(name="p").definition == "{}"  # the field's own default (no column's)
    assert orm.StepRun(run_id=1, attempt=1, name="s").out_offset == 0
