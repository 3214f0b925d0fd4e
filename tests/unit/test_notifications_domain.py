from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puerta.notifications import domain
from puerta.notifications.domain import MAX_ATTEMPTS, NotificationKind, Status, render

# The documented parameters of each kind, with values as services send them.
PLACE = {"port": "San Ysidro", "service_date": "2024-09-16"}
EXAMPLES: dict[NotificationKind, dict[str, object]] = {
    NotificationKind.OFFER_MADE: PLACE | {"expires_at": "2024-09-03 12:00"},
    NotificationKind.OFFER_EXPIRED: PLACE,
    NotificationKind.APPOINTMENT_CONFIRMED: PLACE
    | {"slot": "07:30", "confirmation_number": "K7QM-2XPA"},
    NotificationKind.APPOINTMENT_CANCELLED: PLACE | {"reason": "the port is closed that day"},
    NotificationKind.APPEAL_OPENED: PLACE | {"appeal": 17},
    NotificationKind.APPEAL_DECIDED: PLACE | {"decision": "reinstated"},
    NotificationKind.NO_SHOW_RECORDED: PLACE,
    NotificationKind.EXCEPTION_APPROVED: {},
    NotificationKind.EXCEPTION_DENIED: {"reason": "no document supports the emergency"},
    NotificationKind.EXCEPTION_MORE_INFO: {"reason": "tell us the child's age"},
    NotificationKind.EXCEPTIONS_OVERDUE: {"count": 3},
    NotificationKind.DOCUMENT_EXPIRING: {
        "document": "tvrh",
        "expires_on": "2024-10-01",
        "days": 30,
    },
}


def english(message: str) -> str:
    return message


class TestTemplates:
    def test_every_kind_has_a_template_and_documented_parameters(self) -> None:
        assert set(domain.TEMPLATES) == set(NotificationKind) == set(EXAMPLES)
        for kind, params in EXAMPLES.items():
            assert domain.required_params(kind) == set(params), kind

    @pytest.mark.parametrize("kind", list(NotificationKind))
    def test_renders_in_english_with_its_parameters_filled(self, kind: NotificationKind) -> None:
        subject, body = render(kind, EXAMPLES[kind], english)
        assert subject.startswith("puerta: ")
        assert "{" not in subject + body and "}" not in subject + body
        for key, value in EXAMPLES[kind].items():
            if key not in ("decision", "document"):
                assert str(value) in body

    def test_the_offer_tells_what_to_do_and_by_when(self) -> None:
        subject, body = render("offer_made", EXAMPLES[NotificationKind.OFFER_MADE], english)
        assert subject == "puerta: your group was selected"
        assert body == (
            "Your group was selected for an appointment at San Ysidro on 2024-09-16. "
            "Confirm before 2024-09-03 12:00 from inside the eligible area, "
            "or the seats go to others."
        )

    @pytest.mark.parametrize(("code", "words"), sorted(domain.DECISIONS.items()))
    def test_a_decision_code_is_shown_as_words(self, code: str, words: str) -> None:
        _, body = render("appeal_decided", PLACE | {"decision": code}, english)
        assert f"was decided: {words}." in body

    def test_every_text_is_a_message_id(self) -> None:
        ids = domain.message_ids()
        # Subject and body of each kind, the fallback's two, the phrases, and the SMS texts
        # (one per kind, the SMS fallback and the day-and-month pattern).
        expected = 2 * len(NotificationKind) + 2 + len(domain.DECISIONS) + len(domain.DOCUMENTS)
        expected += len(domain.SMS_TEMPLATES) + 2
        assert len(ids) == len(set(ids)) == expected


class TestRenderTranslated:
    spanish = {
        "puerta: your appeal was decided": "puerta: se decidió su apelación",
        "Your appeal about the appointment at {port} on {service_date} was decided: "
        "{decision}. Log in to puerta to see what to do next.": "Su apelación sobre la cita "
        "en {port} el {service_date} fue decidida: {decision}. Entre en puerta para ver qué "
        "hacer.",
        "your appointment is back": "su cita vuelve a valer",
    }

    def gettext(self, message: str) -> str:
        return self.spanish.get(message, message)

    def test_uses_the_translation_and_translates_codes_inside_it(self) -> None:
        subject, body = render("appeal_decided", PLACE | {"decision": "reinstated"}, self.gettext)
        assert subject == "puerta: se decidió su apelación"
        assert body == (
            "Su apelación sobre la cita en San Ysidro el 2024-09-16 fue decidida: "
            "su cita vuelve a valer. Entre en puerta para ver qué hacer."
        )

    def test_a_translation_with_an_unknown_placeholder_falls_back_to_english(self) -> None:
        def broken(message: str) -> str:
            return "Grupo seleccionado en {puerto}" if message.startswith("Your group") else message

        _, body = render("offer_made", EXAMPLES[NotificationKind.OFFER_MADE], broken)
        assert body.startswith("Your group was selected for an appointment at San Ysidro")

    @pytest.mark.parametrize("bad", ["", "{", "{0}", "{port.real}", "{port[0]!z}", "{:d}"])
    def test_a_malformed_translation_falls_back_to_english(self, bad: str) -> None:
        _, body = render("offer_expired", PLACE, lambda message: bad)
        assert body.startswith("You did not confirm the appointment at San Ysidro")

    def test_a_gettext_that_raises_falls_back_to_english(self) -> None:
        def failing(message: str) -> str:
            raise LookupError(message)

        subject, _ = render("no_show_recorded", PLACE, failing)
        assert subject == "puerta: you missed your appointment"


class TestRenderNeverRaises:
    def test_a_missing_parameter_keeps_the_others_in_english(self) -> None:
        _, body = render("offer_made", {"port": "Nogales"}, lambda message: "{nada}")
        assert body.startswith("Your group was selected for an appointment at Nogales on ")
        assert "{service_date}" in body and "{expires_at}" in body

    def test_an_unknown_kind_gets_a_general_message(self) -> None:
        assert render("retired_kind", {}, english) == domain.FALLBACK

    @given(
        kind=st.sampled_from([*NotificationKind, "unknown"]),
        params=st.dictionaries(
            st.sampled_from(["port", "service_date", "decision", "appeal", "0", "x"]),
            st.one_of(st.text(max_size=8), st.integers(), st.none(), st.lists(st.integers())),
        ),
        translation=st.text(alphabet="{}[]!:.0aport_ ", max_size=20),
    )
    def test_for_any_parameters_and_any_translation(
        self, kind: str, params: dict[str, object], translation: str
    ) -> None:
        subject, body = render(kind, params, lambda message: translation)
        assert subject and body


class TestStatusAfterFailure:
    def test_retries_until_the_fifth_failed_send(self) -> None:
        assert [domain.status_after_failure(n) for n in range(1, MAX_ATTEMPTS + 1)] == [
            Status.PENDING
        ] * (MAX_ATTEMPTS - 1) + [Status.FAILED]
