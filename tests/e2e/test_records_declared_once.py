"""Each record is declared once: the JSON API answers with the services' own dataclasses.

A second declaration exists only where the shape on the wire must differ, and a test here
checks that the two agree, so a field added to one and not the other fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, TypeAdapter

from puerta.accounts.schemas import GroupRead, TokenRead
from puerta.accounts.service import GroupView
from puerta.appointments.domain import RequestStatus
from puerta.appointments.service import RequestRecord, RequestView
from puerta.config import Settings
from puerta.draws.service import DrawRecord, DrawView
from puerta.geo import service as geo
from puerta.web.api.geofence import GeofenceRead
from puerta.web.app import create_app

CONTEXTS = (
    "puerta.accounts.",
    "puerta.appointments.",
    "puerta.draws.",
    "puerta.geo.",
    "puerta.documents.",
    "puerta.shelters.",
    "puerta.vulnerability.",
    "puerta.proofs.",
    "puerta.incidents.",
)
# Answers whose shape differs from any record of a context, each with its test below.
WIRE_ONLY = {GroupRead, TokenRead, GeofenceRead}
AT = dt.datetime(2024, 9, 3, 17, 0, tzinfo=dt.UTC)


def answer_types() -> set[type[Any]]:
    """Every body type the API documents for a success, lists unwrapped."""
    app = create_app(Settings(env="test", database_url="sqlite://"))
    found: set[type[Any]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        models = [route.response_model]
        models += [extra.get("model") for extra in route.responses.values()]
        for model in models:
            while typing.get_origin(model) is list:
                (model,) = typing.get_args(model)
            if isinstance(model, type):
                found.add(model)
    return found


def fields_of(record: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(record)


class TestEveryAnswer:
    def test_is_a_record_of_a_context_or_a_wire_shape_with_its_agreement_test(self) -> None:
        answers = answer_types()
        assert len(answers) > len(WIRE_ONLY)
        for answer in answers - WIRE_ONLY:
            assert dataclasses.is_dataclass(answer), answer
            assert answer.__module__.startswith(CONTEXTS), answer
        assert not any(issubclass(a, BaseModel) for a in answers - WIRE_ONLY)


class TestFlagsOfACall:
    def test_a_draw_run_says_whether_it_ran_only_in_its_status_never_in_its_body(self) -> None:
        assert fields_of(DrawView).keys() - fields_of(DrawRecord).keys() == {"created"}
        view = DrawView(
            window=AT.date(), service_date=AT.date(), entries=1, entries_digest="d",
            secret_hash="h", secret="s", seed="x", params={}, summary={}, ran_at=AT, created=True,
        )  # fmt: skip
        body = TypeAdapter(DrawRecord).dump_python(view, mode="json")
        assert set(body) == set(fields_of(DrawRecord)) and "created" not in body

    def test_a_replayed_request_says_so_only_in_a_header_never_in_its_body(self) -> None:
        assert fields_of(RequestView).keys() - fields_of(RequestRecord).keys() == {"replayed"}
        view = RequestView(
            id=1, window=AT.date(), ports=["laredo"], status=RequestStatus.PENDING,
            standing=False, geofence_state=None, geofence_policy=None, created_at=AT,
            window_closes_at=AT, replayed=True,
        )  # fmt: skip
        body = TypeAdapter(RequestRecord).dump_python(view, mode="json")
        assert set(body) == set(fields_of(RequestRecord)) and "replayed" not in body


class TestWireShapes:
    def test_the_group_is_its_view_with_its_size_and_without_its_row_id(self) -> None:
        view, wire = fields_of(GroupView), fields_of(GroupRead)
        assert wire.keys() == (view.keys() - {"id"}) | {"size"}
        for name in wire.keys() & view.keys():
            assert wire[name] == view[name], name

    def test_the_geofence_answer_has_exactly_the_fields_of_the_verdict(self) -> None:
        verdict = geo.check_location(lat=32.54, lon=-117.03, on=AT.date(), nationalities=[])
        assert GeofenceRead.model_fields.keys() == verdict.to_dict().keys()
        assert GeofenceRead(**verdict.to_dict()).model_dump() == verdict.to_dict()
