from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta.audit import domain
from puerta.audit.domain import GENESIS, Broken, Event, EventKind, Head, Reason

START = dt.datetime(2024, 9, 2, 18, 0, tzinfo=dt.UTC)

datas = st.dictionaries(
    st.sampled_from(["request", "port", "seats", "window", "code", "ports", "größe"]),
    st.one_of(
        st.integers(-(2**40), 2**40),
        st.text(max_size=12),
        st.lists(st.integers(0, 99), max_size=3),
        st.none(),
    ),
    max_size=4,
)
drafts = st.builds(
    domain.draft,
    at=st.integers(0, 10**12).map(lambda us: START + dt.timedelta(microseconds=us)),
    kind=st.sampled_from(list(EventKind)),
    actor_id=st.none() | st.integers(1, 10**6),
    subject=st.builds("{}:{}".format, st.sampled_from(["request", "draw"]), st.integers(1, 10**9)),
    data=datas,
)


def chain_of(pending: list[domain.Draft]) -> list[Event]:
    events: list[Event] = []
    head = domain.EMPTY
    for item in pending:
        events.append(item.seal(head))
        head = Head(events[-1].seq, events[-1].hash)
    return events


def head_of(events: list[Event]) -> Head:
    return Head(events[-1].seq, events[-1].hash) if events else domain.EMPTY


chains = st.lists(drafts, min_size=1, max_size=12).map(chain_of)
long_chains = st.lists(drafts, min_size=2, max_size=12).map(chain_of)


def tampered(event: Event, field: str) -> Event:
    changes: dict[str, object] = {
        "seq": event.seq + 7,
        "at": event.at + dt.timedelta(microseconds=1),
        "kind": "checked_in" if event.kind != "checked_in" else "no_show",
        "actor_id": (event.actor_id or 0) + 1,
        "subject": event.subject + "0",
        "data": event.data[:-1] + ',"x":1}' if event.data != "{}" else '{"x":1}',
        "prev_hash": "f" * 64 if event.prev_hash != "f" * 64 else GENESIS,
        "hash": "e" * 64,
    }
    return dataclasses.replace(event, **{field: changes[field]})


class TestCanonicalJson:
    def test_sorts_keys_drops_spaces_and_keeps_unicode(self) -> None:
        text = domain.canonical_json({"b": 1, "a": ["ñ", dt.date(2024, 9, 16)]})
        assert text == '{"a":["ñ","2024-09-16"],"b":1}'

    def test_writes_instants_in_utc_with_microseconds(self) -> None:
        instant = dt.datetime(2024, 9, 2, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
        assert domain.canonical_json([instant]) == '["2024-09-02T18:00:00.000000Z"]'

    def test_refuses_values_without_a_canonical_form(self) -> None:
        with pytest.raises(ValueError):
            domain.canonical_json({"share": float("nan")})
        with pytest.raises(TypeError):
            domain.canonical_json({"blob": b"\x00"})


class TestEventHash:
    def test_is_the_sha256_of_all_fields_in_canonical_form(self) -> None:
        fields = [GENESIS, 1, "2024-09-02T18:00:00.000000Z", "draw_run", None, "draw:1", "{}"]
        expected = hashlib.sha256(domain.canonical_json(fields).encode()).hexdigest()
        assert (
            domain.event_hash(
                prev_hash=GENESIS,
                seq=1,
                at=START,
                kind=EventKind.DRAW_RUN,
                actor_id=None,
                subject="draw:1",
                data="{}",
            )
            == expected
        )

    def test_the_same_instant_in_another_time_zone_gives_the_same_hash(self) -> None:
        chicago = START.astimezone(dt.timezone(dt.timedelta(hours=-5)))
        hashes = {
            domain.event_hash(
                prev_hash=GENESIS,
                seq=1,
                at=at,
                kind="draw_run",
                actor_id=3,
                subject="d:1",
                data="{}",
            )
            for at in (START, chicago)
        }
        assert len(hashes) == 1


class TestEventKind:
    # Stored and hashed as they are: changing one breaks every chain that already holds it.
    STORED = {
        "request_made", "request_withdrawn", "draw_run", "offer_made", "offer_expired",
        "appointment_confirmed", "appointment_cancelled", "appeal_opened", "appeal_decided",
        "checked_in", "no_show", "capacity_set", "role_changed", "account_created", "group_set",
        "organization_created", "assisted_account_created", "delegation_started",
        "account_claimed", "case_reassigned",
    }  # fmt: skip

    def test_every_stored_kind_is_still_the_same_string(self) -> None:
        # New kinds may come; a kind already stored never changes or goes.
        assert self.STORED <= {str(kind) for kind in EventKind}
        assert self.STORED <= {kind.value for kind in EventKind}

    def test_every_kind_is_a_lower_case_code_of_its_own_name(self) -> None:
        for kind in EventKind:
            assert kind.value == kind.name.lower(), kind

    def test_a_kind_is_written_into_canonical_json_as_its_plain_string(self) -> None:
        assert domain.canonical_json([EventKind.CHECKED_IN]) == '["checked_in"]'

    def test_an_event_seals_to_the_hash_it_had_when_kinds_were_plain_strings(self) -> None:
        # The digest the code gave before EventKind was used by callers (commit 1a15a2a).
        at = dt.datetime(2024, 9, 3, 17, 0, tzinfo=dt.UTC)
        pending = domain.draft(
            at=at, kind=EventKind.CHECKED_IN, actor_id=2, subject="appointment:1",
            data={"port": "san-ysidro"},
        )  # fmt: skip
        event = pending.seal(Head(0, GENESIS))
        assert event.kind == "checked_in"
        assert event.hash == "73baecf54810d31fcb9a85b252564c29c6ac6970921480356f93c9c49cbe0a6e"


class TestDraft:
    @pytest.mark.parametrize("key", sorted(domain.PERSONAL_KEYS))
    def test_refuses_personal_data_under_any_denylisted_key(self, key: str) -> None:
        with pytest.raises(ValueError, match="personal data"):
            domain.draft(at=START, kind="group_set", actor_id=1, subject="group:1", data={key: "x"})

    def test_finds_personal_data_nested_in_lists_and_in_any_case(self) -> None:
        with pytest.raises(ValueError, match="personal data"):
            domain.draft(
                at=START,
                kind="group_set",
                actor_id=1,
                subject="group:1",
                data={"members": [{"position": 0, "Birth_Date": "1990-03-14"}]},
            )

    def test_refuses_unknown_kinds_naive_times_and_long_subjects(self) -> None:
        good = {"at": START, "kind": "draw_run", "actor_id": None, "subject": "draw:1", "data": {}}
        for bad in ({"kind": "made_up"}, {"at": START.replace(tzinfo=None)}, {"subject": "x" * 65}):
            with pytest.raises(ValueError):
                domain.draft(**(good | bad))  # type: ignore[arg-type]

    def test_stores_data_as_canonical_json(self) -> None:
        pending = domain.draft(
            at=START, kind="capacity_set", actor_id=2, subject="port:nogales", data={"z": 1, "a": 2}
        )
        assert pending.data == '{"a":2,"z":1}'


class TestFirstBroken:
    @given(chains)
    def test_an_untouched_chain_verifies(self, events: list[Event]) -> None:
        assert domain.first_broken(events, head=head_of(events)) is None

    def test_an_empty_chain_verifies_against_an_empty_head(self) -> None:
        assert domain.first_broken([], head=domain.EMPTY) is None

    @given(chains, st.data())
    def test_changing_any_field_breaks_the_chain_at_that_event(
        self, events: list[Event], data: st.DataObject
    ) -> None:
        index = data.draw(st.integers(0, len(events) - 1))
        field = data.draw(st.sampled_from([f.name for f in dataclasses.fields(Event)]))
        events[index] = tampered(events[index], field)
        expected = {"seq": Reason.GAP, "prev_hash": Reason.PREV_MISMATCH}
        assert domain.first_broken(events, head=head_of(events)) == Broken(
            index + 1, expected.get(field, Reason.HASH_MISMATCH)
        )

    @given(long_chains, st.data())
    def test_a_deleted_event_is_reported_as_a_gap_at_its_seq(
        self, events: list[Event], data: st.DataObject
    ) -> None:
        head = head_of(events)
        index = data.draw(st.integers(0, len(events) - 2))
        del events[index]
        assert domain.first_broken(events, head=head) == Broken(index + 1, Reason.GAP)

    @given(long_chains, st.data())
    def test_a_truncated_tail_is_a_gap_after_the_last_event_left(
        self, events: list[Event], data: st.DataObject
    ) -> None:
        head = head_of(events)
        kept = data.draw(st.integers(0, len(events) - 1))
        assert domain.first_broken(events[:kept], head=head) == Broken(kept + 1, Reason.GAP)

    @given(long_chains, st.data())
    def test_reordered_events_break_at_the_first_moved_seq(
        self, events: list[Event], data: st.DataObject
    ) -> None:
        i = data.draw(st.integers(0, len(events) - 2))
        j = data.draw(st.integers(i + 1, len(events) - 1))
        events[i], events[j] = events[j], events[i]
        assert domain.first_broken(events, head=head_of(events)) == Broken(i + 1, Reason.GAP)

    @given(long_chains, st.data())
    def test_reordered_events_renumbered_to_hide_it_still_break_at_the_first_moved_seq(
        self, events: list[Event], data: st.DataObject
    ) -> None:
        i = data.draw(st.integers(0, len(events) - 2))
        j = data.draw(st.integers(i + 1, len(events) - 1))
        first, second = events[i], events[j]
        events[i] = dataclasses.replace(second, seq=first.seq)
        events[j] = dataclasses.replace(first, seq=second.seq)
        broken = domain.first_broken(events, head=head_of(events))
        assert broken == Broken(i + 1, Reason.PREV_MISMATCH)

    @given(chains)
    def test_a_rewritten_tail_with_valid_hashes_is_caught_by_the_head(
        self, events: list[Event]
    ) -> None:
        head = head_of(events)
        last = events.pop()
        forged = domain.draft(
            at=last.at, kind="no_show", actor_id=None, subject="forged:1", data={}
        ).seal(head_of(events))
        events.append(forged)
        assert domain.first_broken(events) is None
        assert domain.first_broken(events, head=head) == Broken(head.seq, Reason.HEAD_MISMATCH)

    @given(chains)
    def test_events_beyond_the_head_are_a_head_mismatch(self, events: list[Event]) -> None:
        head = head_of(events)
        extra = domain.draft(
            at=START, kind="no_show", actor_id=None, subject="extra:1", data={}
        ).seal(head)
        assert domain.first_broken([*events, extra], head=head) == Broken(
            head.seq + 1, Reason.HEAD_MISMATCH
        )
