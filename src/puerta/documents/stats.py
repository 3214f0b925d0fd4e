"""The public statistics of documents: a table per kind, office and month, with its totals.

Pure (standard library and the domain): the service reads the records, this counts them and
hides small counts with ``domain.suppress``. Published totals: each kind's per month (all
offices) and each kind's overall. Counts are of documents, never of persons.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from puerta.documents import domain
from puerta.documents.domain import DocumentKind, DocumentStatus, Total

MEASURES = ("requests", "issued", "denied")
# An office is named only once it has this many documents in all (its name is free text a
# person typed); the others are counted together, with ``office`` null.
MIN_OFFICE_DOCUMENTS = 10
# Median and 90th percentile of days to issue, only over at least this many issued documents.
MIN_FOR_DAYS = 10
ISSUED = frozenset({DocumentStatus.ISSUED.value, DocumentStatus.EXPIRED.value})

Count = domain.Shown  # a number, domain.FEWER_THAN_10 or domain.HIDDEN
Key = tuple[str, ...]


@dataclass(frozen=True)
class Record:
    kind: str
    office: str
    requested_on: dt.date
    status: str
    decided_on: dt.date | None


@dataclass(frozen=True)
class Figures:
    requests: Count
    issued: Count
    denied: Count
    median_days_to_issue: float | None
    p90_days_to_issue: int | None


@dataclass(frozen=True)
class DocumentRow(Figures):
    kind: str
    office: str | None
    month: str


@dataclass(frozen=True)
class DocumentMonthTotal(Figures):
    kind: str
    month: str


@dataclass(frozen=True)
class DocumentKindTotal(Figures):
    kind: str


@dataclass(frozen=True)
class DocumentStats:
    """Counts from 1 to 9 read ``"<10"``; a count hidden to protect one of them, ``"hidden"``."""

    rows: list[DocumentRow]
    months: list[DocumentMonthTotal]
    kinds: list[DocumentKindTotal]
    fewer_than_10: str = domain.FEWER_THAN_10
    hidden: str = domain.HIDDEN


@dataclass
class _Tally:
    requests: int = 0
    issued: int = 0
    denied: int = 0
    days: list[int] = field(default_factory=list)

    def add(self, record: Record) -> None:
        self.requests += 1
        if record.status in ISSUED and record.decided_on is not None:
            self.issued += 1
            self.days.append((record.decided_on - record.requested_on).days)
        elif record.status == DocumentStatus.DENIED.value:
            self.denied += 1


def _tallies(records: Iterable[Record]) -> dict[Key, _Tally]:
    records = list(records)
    per_office = Counter(r.office for r in records)
    tallies: dict[Key, _Tally] = defaultdict(_Tally)
    for kind in DocumentKind:
        tallies[("kind", kind.value)] = _Tally()
    for r in records:
        office = r.office if per_office[r.office] >= MIN_OFFICE_DOCUMENTS else ""
        month = f"{r.requested_on:%Y-%m}"
        for key in (("row", r.kind, office, month), ("month", r.kind, month), ("kind", r.kind)):
            tallies[key].add(r)
    return tallies


def _totals(keys: Sequence[Key]) -> list[Total[Key]]:
    parts: dict[Key, list[Key]] = defaultdict(list)
    for key in keys:
        if key[0] == "row":
            parts[("month", key[1], key[3])].append(key)
        elif key[0] == "month":
            parts[("kind", key[1])].append(key)
    return [Total(cell, tuple(members)) for cell, members in parts.items()]


def _figures(tally: _Tally, shown: dict[str, Count]) -> Figures:
    enough = len(tally.days) >= MIN_FOR_DAYS
    return Figures(
        requests=shown["requests"],
        issued=shown["issued"],
        denied=shown["denied"],
        median_days_to_issue=domain.median(tally.days) if enough else None,
        p90_days_to_issue=domain.percentile(tally.days, 0.9) if enough else None,
    )


def build(records: Iterable[Record]) -> DocumentStats:
    """The published table: every count checked by ``domain.suppress``, measure by measure."""
    tallies = _tallies(records)
    keys = sorted(tallies)
    totals = _totals(keys)
    shown: dict[Key, dict[str, Count]] = {key: {} for key in keys}
    for measure in MEASURES:
        values = {key: int(getattr(tallies[key], measure)) for key in keys}
        hidden = domain.suppress(values, totals)
        for key in keys:
            shown[key][measure] = hidden.shown(key, values[key])
    stats = DocumentStats(rows=[], months=[], kinds=[])
    for key in keys:
        figures = vars(_figures(tallies[key], shown[key]))
        if key[0] == "row":
            office = key[2] or None
            stats.rows.append(DocumentRow(**figures, kind=key[1], office=office, month=key[3]))
        elif key[0] == "month":
            stats.months.append(DocumentMonthTotal(**figures, kind=key[1], month=key[2]))
        else:
            stats.kinds.append(DocumentKindTotal(**figures, kind=key[1]))
    return stats
