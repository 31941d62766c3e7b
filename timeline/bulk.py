"""Bulk-loading internals for the operators' commands (generate_data, import_legacy).

PostgreSQL gets COPY, which streams rows without building a model instance or an INSERT
statement per batch; SQLite (development) gets bulk_create, which is fast enough there.
"""

from collections.abc import Callable, Iterable

from django.core.management.color import no_style
from django.db import connection

from . import read_cache


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(model, count: int) -> list[int]:
    """`count` primary keys for `model` that no other insert can take.

    Call it inside the transaction that inserts the rows. On PostgreSQL the ids come from
    the table's own sequence (nextval, so concurrent inserts skip them); on SQLite the
    transaction is BEGIN IMMEDIATE (see settings), so nobody else writes until it ends.
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


def insert_rows(
    model,
    fields: list[str],
    rows: Iterable[tuple],
    *,
    batch_size: int,
    on_batch: Callable[[int], None] = lambda n: None,
) -> int:
    """Insert tuples of `fields` values into `model`'s table; returns the rows written.

    No model validation and no save() hooks: callers hand in clean data. `on_batch` is
    told how many rows each batch wrote (for the progress bar). The read cache is retired
    when the transaction commits, as no model signal says so here.
    """
    read_cache.invalidate(*read_cache.topics_of(model))
    if is_postgresql():
        return _copy_rows(model, fields, rows, batch_size=batch_size, on_batch=on_batch)
    written = 0
    batch: list = []
    for row in rows:
        batch.append(model(**dict(zip(fields, row, strict=True))))
        if len(batch) >= batch_size:
            written += _bulk_create(model, batch, on_batch)
            batch = []
    if batch:
        written += _bulk_create(model, batch, on_batch)
    return written


def _bulk_create(model, batch: list, on_batch) -> int:
    model.objects.bulk_create(batch)
    on_batch(len(batch))
    return len(batch)


def _copy_rows(model, fields, rows, *, batch_size, on_batch) -> int:
    opts = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(opts.get_field(name).column) for name in fields)
    written = pending = 0
    with connection.cursor() as cursor:
        copy_sql = f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
                pending += 1
                if pending >= batch_size:
                    written += pending
                    on_batch(pending)
                    pending = 0
    written += pending
    if pending:
        on_batch(pending)
    return written


def reset_sequences(models: list) -> None:
    """Move the id sequences of `models` past their highest id.

    Needed after inserting rows with explicit ids on PostgreSQL, where the sequence does
    not notice them and would later hand out ids that exist. SQLite's AUTOINCREMENT
    follows explicit ids by itself, so Django returns no SQL for it.
    """
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def analyze(models: list) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL; no-op elsewhere).

    Autovacuum would get there eventually; until then the planner, and the admin's row
    estimates, see the tables as they were before the load.
    """
    if not is_postgresql():
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
