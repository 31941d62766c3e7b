"""The simulator's `latest` counter: the last `latest` query value the simulator sent,
which GET /latest reports and /metrics exports (minitwit_simulator_latest).

Not to be confused with the newest messages (timeline.selectors.newest_messages). The
value is one row of timeline.SimulatorState: the model sits in timeline with every other
model (both apps share one set of models and migrations), and this module is the only code
that reads or writes it.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from timeline import services
from timeline.models import SimulatorState
from timeline.parsing import parse_int

# The column is a BIGINT: anything outside it is "not an integer" for our purposes.
LATEST_MIN, LATEST_MAX = -(2**63), 2**63 - 1

# One statement whether or not the row exists yet, safe when workers race to create it.
_UPSERT = (
    f"INSERT INTO {SimulatorState._meta.db_table} (id, latest) VALUES (1, %s) "
    "ON CONFLICT (id) DO UPDATE SET latest = excluded.latest"
)


def parse_latest(raw: str | None) -> int | None:
    """The `latest` query value to record, or None: absent, not a 64-bit integer, or -1.

    The course's reference reads `latest` with a default of -1 and records anything else,
    so -1 means "no value" and is never recorded.
    """
    value = parse_int(raw, minimum=LATEST_MIN, maximum=LATEST_MAX)
    return None if value == -1 else value


def latest_counter_value() -> int:
    """The last `latest` the simulator sent, or -1 before any."""
    value = SimulatorState.objects.filter(pk=1).values_list("latest", flat=True).first()
    return -1 if value is None else value


def latest_counter_record(*, value: int) -> None:
    """Remember `value` as the simulator's `latest` (last received wins)."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [value])


class PendingLatest:
    """The `latest` a simulator request is to record; set `.value` once it is known
    (None: nothing to record). `.recorded` once it is written."""

    def __init__(self, rider: services.Rider):
        self._rider = rider

    @property
    def value(self) -> int | None:
        return None if self._rider.params is None else self._rider.params[0]

    @value.setter
    def value(self, value: int | None) -> None:
        self._rider.params = None if value is None else [value]

    @property
    def recorded(self) -> bool:
        """Whether the value has been written (with a write, or alone at the block's end)."""
        return self._rider.done


@contextmanager
def latest_counter_recorded_with_write() -> Iterator[PendingLatest]:
    """Record the simulator's `latest` with the request's write, in the same transaction,
    or alone when the request writes nothing; nothing if the block raises
    (timeline.services.first_write_carries says how and why).

    `latest` is written last, so the lock on its single row is held only while the
    transaction commits.
    """
    with services.first_write_carries(_UPSERT) as rider:
        yield PendingLatest(rider)
