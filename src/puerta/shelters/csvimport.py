"""Reading a CSV file of shelters: every row checked, every bad row named by its line.

Standard library only. The columns are documented in docs/shelters.md; lists inside a cell
are separated by semicolons (``food;health``), flags are ``true``/``false`` (also
``yes``/``no``, ``1``/``0``; empty is false).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from puerta.errors import DomainError, Invalid
from puerta.geo.domain import InvalidCoordinates
from puerta.shelters.domain import (
    MAX_BEDS,
    InvalidBeds,
    InvalidFlag,
    ShelterInput,
    clean_shelter,
)

COLUMNS = (
    "slug",
    "name",
    "organization",
    "address",
    "municipality",
    "lat",
    "lon",
    "beds",
    "services",
    "populations",
    "languages",
    "open_door",
    "contact",
    "confidential_location",
)
REQUIRED = frozenset({"slug", "name", "organization", "municipality", "lat", "lon", "beds"})
MAX_ROWS = 5_000
MAX_BYTES = 2_000_000
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0", ""})


class CsvNotText(Invalid):
    code = "csv_not_text"
    message = "The file must be CSV text in UTF-8, at most {maximum} bytes."


class CsvColumns(Invalid):
    code = "csv_columns"
    message = "The first row must name the columns. Needed: {needed}. Unknown: {unknown}."


class CsvTooManyRows(Invalid):
    code = "csv_too_many_rows"
    message = "A file may have at most {maximum} shelters."


class CsvRowShape(Invalid):
    code = "csv_row_shape"
    message = "This row has {found} cells; the first row names {expected} columns."


class DuplicateSlug(Invalid):
    code = "duplicate_slug"
    message = "The slug '{slug}' is also on line {line}."


class CsvRejected(Invalid):
    code = "invalid_csv"
    message = "Rows with problems: {count}. The file was not imported, and nothing was saved."

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(count=len(problems))
        self.problems = problems


@dataclass(frozen=True)
class RowProblem:
    line: int  # the line of the file the row starts on (the header is line 1)
    error: DomainError


@dataclass(frozen=True)
class Row:
    line: int
    shelter: ShelterInput


def decode(data: bytes) -> str:
    """The file's text (a UTF-8 byte order mark is dropped), or ``csv_not_text``."""
    if len(data) > MAX_BYTES or b"\x00" in data:
        raise CsvNotText(maximum=MAX_BYTES)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvNotText(maximum=MAX_BYTES) from None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for record in reader:
            yield start, record
            start = reader.line_num + 1
    except csv.Error:
        raise CsvRejected([RowProblem(start, CsvNotText(maximum=MAX_BYTES))]) from None


def _flag(row: Mapping[str, str], field: str) -> bool:
    value = row.get(field, "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise InvalidFlag(field=field)
    return value in _TRUE


def _number(text: str) -> float:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise InvalidCoordinates() from None


def _beds(text: str) -> int:
    value = text.strip()
    # More digits than MAX_BEDS has would also be more than int() reads (4,300).
    if not (value.isascii() and value.isdigit()) or len(value.lstrip("0")) > len(str(MAX_BEDS)):
        raise InvalidBeds(maximum=MAX_BEDS)
    return int(value)


def _items(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


def parse_row(row: Mapping[str, str]) -> ShelterInput:
    """One row's shelter, checked; raises its first problem."""
    return clean_shelter(
        ShelterInput(
            slug=row["slug"],
            name=row["name"],
            organization=row["organization"],
            address=row.get("address", ""),
            municipality=row["municipality"],
            lat=_number(row["lat"]),
            lon=_number(row["lon"]),
            beds=_beds(row["beds"]),
            services=_items(row.get("services", "")),
            populations=_items(row.get("populations", "")),
            languages=_items(row.get("languages", "")),
            open_door=_flag(row, "open_door"),
            contact=row.get("contact", ""),
            confidential_location=_flag(row, "confidential_location"),
        )
    )


def _header(record: list[str]) -> list[str]:
    names = [name.strip().lower() for name in record]
    unknown = sorted(set(names) - set(COLUMNS))
    missing = sorted(REQUIRED - set(names))
    if unknown or missing or len(set(names)) != len(names):
        raise CsvRejected(
            [
                RowProblem(
                    1,
                    CsvColumns(
                        needed=", ".join(sorted(REQUIRED)), unknown=", ".join(unknown) or "-"
                    ),
                )
            ]
        )
    return names


def read_rows(text: str) -> tuple[list[Row], list[RowProblem]]:
    """Every row of the file as a checked shelter, and the problem of each bad row.

    A file whose first row does not name the columns, or that is too long, is refused whole
    (CsvRejected).
    """
    records = _records(text)
    first = next(records, None)
    if first is None:
        needed = ", ".join(sorted(REQUIRED))
        raise CsvRejected([RowProblem(1, CsvColumns(needed=needed, unknown="-"))])
    names = _header(first[1])
    rows: list[Row] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue  # a blank line
        if len(rows) + len(problems) >= MAX_ROWS:
            raise CsvRejected([RowProblem(line, CsvTooManyRows(maximum=MAX_ROWS))])
        try:
            rows.append(Row(line, _shelter(names, record, seen, line)))
        except DomainError as error:
            problems.append(RowProblem(line, error))
    return rows, problems


def _shelter(names: list[str], record: list[str], seen: dict[str, int], line: int) -> ShelterInput:
    if len(record) != len(names):
        raise CsvRowShape(found=len(record), expected=len(names))
    shelter = parse_row(dict(zip(names, record, strict=True)))
    if shelter.slug in seen:
        raise DuplicateSlug(slug=shelter.slug, line=seen[shelter.slug])
    seen[shelter.slug] = line
    return shelter
