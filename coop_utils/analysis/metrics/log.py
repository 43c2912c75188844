"""A run's event log, indexed by kind, as every metric reads it."""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from ...game.events import Event

EventLike = Event | Mapping[str, Any]


class EventLog:
    """A run's events indexed by kind in one scan of the log: a metric reading one kind then
    gets its events without a scan, and ``of`` with several kinds (``"message",
    "broadcast"``) merges their lists back into log order by ``seq`` (an event's position in
    its log).

    Every metric accepts an ``EventLog`` as well as a plain sequence of events, which it
    indexes itself; pass one (``EventLog(events)``) when computing many metrics of the
    same run.
    """

    __slots__ = ("events", "_by_kind")

    def __init__(self, events: Iterable[EventLike]):
        self.events: list[Event] = [e if isinstance(e, Event) else Event(**e) for e in events]
        self._by_kind: dict[str, list[Event]] = defaultdict(list)
        for e in self.events:
            self._by_kind[e.kind].append(e)

    def of(self, *kinds: str) -> list[Event]:
        """Events of the given kinds, in log order."""
        found = [self._by_kind[k] for k in kinds if k in self._by_kind]
        if len(found) <= 1:
            return found[0] if found else []
        return list(heapq.merge(*found, key=attrgetter("seq")))

    def __len__(self) -> int:
        return len(self.events)


Events = Sequence[EventLike] | EventLog


def as_events(events: Iterable[EventLike] | EventLog) -> list[Event]:
    """The events as :class:`Event` objects (dicts from ``events.jsonl`` are converted)."""
    return events.events if isinstance(events, EventLog) else EventLog(events).events


def as_log(events: Events) -> EventLog:
    return events if isinstance(events, EventLog) else EventLog(events)


def events_of(events: Events, *kinds: str) -> list[Event]:
    return as_log(events).of(*kinds)
