"""The HTML pages over HTTP: languages, sessions, CSRF, bad input and the whole cycle."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from puerta import i18n
from puerta.accounts import service as accounts
from puerta.accounts.domain import Role
from puerta.accounts.tables import Account, Group
from puerta.appointments.tables import AppointmentRequest
from puerta.clock import FixedClock
from puerta.runtime import Runtime
from tests.e2e.pages_helpers import (
    csrf,
    family,
    log_in,
    main_text,
    register,
    request_form,
    staff_login,
    submit,
)
from tests.factories import OAXACA, PASSWORD, TIJUANA

CDT = dt.timezone(dt.timedelta(hours=-5))
PDT = dt.timezone(dt.timedelta(hours=-7))


def _count(rt: Runtime, table: type) -> int:
    with rt.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(table)) or 0)


class TestLanguage:
    @pytest.mark.parametrize(
        ("header", "lang", "direction"),
        [("ar,en;q=0.5", "ar", "rtl"), ("fa-IR", "fa", "rtl"), ("ht", "ht", "ltr"),
         ("zh-CN,zh;q=0.9", "zh-Hans", "ltr"), ("de-DE", "es", "ltr")],
    )  # fmt: skip
    def test_the_first_page_comes_in_the_browsers_language(
        self, client: TestClient, header: str, lang: str, direction: str
    ) -> None:
        page = client.get("/", headers={"Accept-Language": header})
        assert page.status_code == 200
        assert f'<html lang="{lang}" dir="{direction}">' in page.text

    def test_the_switcher_offers_every_language_named_in_itself(self, client: TestClient) -> None:
        page = client.get("/", headers={"Accept-Language": "es"})
        for name in ("Español", "English", "Kreyòl Ayisyen", "العربية", "فارسی", "Kʼicheʼ"):
            assert f">{name}</option>" in page.text, name
        assert page.text.count('<option value="') >= 12

    def test_the_switcher_changes_the_language_and_the_account_remembers_it(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        username = register(client, language="es")
        answer = submit(client, "/status", "/language", {"language": "fa", "next": "/status"})
        assert answer.status_code == 303 and answer.headers["location"] == "/status"
        assert 'lang="fa" dir="rtl"' in client.get("/status").text
        assert accounts.get_account(uow=runtime.uow(), username=username).language == "fa"

    def test_an_unknown_language_changes_nothing(self, client: TestClient) -> None:
        answer = submit(client, "/", "/language", {"language": "xx", "next": "/"})
        assert answer.status_code == 303
        assert "puerta_lang" not in answer.headers.get("set-cookie", "")
        assert '<html lang="es"' in client.get("/", headers={"Accept-Language": "es"}).text


class TestTranslationsPage:
    def test_lists_every_language_with_its_completeness_and_review(
        self, client: TestClient
    ) -> None:
        page = client.get("/translations", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        text = main_text(page.text)
        statuses = i18n.catalog_status()
        assert len(statuses) >= 12
        assert text.count("100%") == len(statuses)
        unreviewed = [s for s in statuses if not s.source and not s.reviewed]
        assert text.count("Not yet") == len(unreviewed)


class TestSessions:
    def test_logging_in_sets_an_http_only_same_site_cookie(self, client: TestClient) -> None:
        username = register(client)
        client.cookies.clear()
        answer = log_in(client, username)
        assert answer.status_code == 303 and answer.headers["location"] == "/status"
        cookie = next(c for c in answer.headers.get_list("set-cookie") if "puerta_session" in c)
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie

    def test_a_wrong_password_is_answered_in_the_page_language_and_keeps_the_username(
        self, client: TestClient
    ) -> None:
        username = register(client)
        client.cookies.clear()
        client.get("/", headers={"Accept-Language": "ht"})
        shown = client.get("/login", headers={"Accept-Language": "ht"})
        answer = client.post(
            "/login", headers={"Accept-Language": "ht"},
            data={"csrf_token": csrf(shown.text), "username": username, "password": "wrong-1234"},
        )  # fmt: skip
        assert answer.status_code == 401
        assert 'id="form-error"' in answer.text and f'value="{username}"' in answer.text
        message = i18n.gettext("ht", "The username or password is not correct.")
        assert message != "The username or password is not correct." and message in answer.text

    def test_logging_out_ends_the_session_everywhere_it_was_used(self, client: TestClient) -> None:
        register(client)
        session = client.cookies["puerta_session"]
        assert submit(client, "/status", "/logout", {}).status_code == 303
        client.cookies.clear()
        client.cookies.set("puerta_session", session)
        answer = client.get("/status", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/status"

    @pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil"])
    def test_after_login_the_way_on_never_leaves_the_site(
        self, client: TestClient, target: str
    ) -> None:
        username = register(client)
        client.cookies.clear()
        answer = submit(client, "/login", "/login",
                        {"username": username, "password": PASSWORD, "next": target})  # fmt: skip
        assert answer.headers["location"] == "/status"

    def test_a_page_of_another_role_is_refused_in_the_persons_language(
        self, client: TestClient
    ) -> None:
        register(client, language="es")
        answer = client.get("/admin")
        assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]
        assert i18n.gettext("es", "This needs one of these roles: {roles}.")[:20] in answer.text


class TestCsrf:
    def test_a_form_without_a_token_changes_nothing(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        client.get("/register")
        data = {"username": "+5215500000001", "password": PASSWORD, "language": "es"}
        answer = client.post("/register", data=data)
        assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]
        assert _count(runtime, Account) == 0

    def test_a_token_from_another_browser_is_refused(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        token = csrf(client.get("/register").text)
        client.cookies.clear()
        client.get("/")
        data = {"username": "+5215500000002", "password": PASSWORD, "language": "es"}
        answer = client.post("/register", data={"csrf_token": token, **data})
        assert answer.status_code == 403
        assert _count(runtime, Account) == 0

    def test_a_form_sent_from_another_site_is_refused(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        token = csrf(client.get("/register").text)
        answer = client.post(
            "/register", headers={"Origin": "https://evil.example"},
            data={"csrf_token": token, "username": "+5215500000003", "password": PASSWORD,
                  "language": "es"},
        )  # fmt: skip
        assert answer.status_code == 403
        assert _count(runtime, Account) == 0

    def test_each_page_masks_the_token_differently_yet_each_is_valid(
        self, client: TestClient
    ) -> None:
        first, second = csrf(client.get("/login").text), csrf(client.get("/login").text)
        assert first != second
        answer = client.post("/language", data={"csrf_token": first, "language": "ht"},
                             follow_redirects=False)  # fmt: skip
        assert answer.status_code == 303

    def test_the_session_before_login_cannot_post_as_the_account_after_it(
        self, client: TestClient
    ) -> None:
        old = csrf(client.get("/register").text)
        register(client)
        answer = client.post("/request/withdraw", data={"csrf_token": old})
        assert answer.status_code == 403


class TestBadInput:
    def test_a_wrong_birth_date_keeps_what_was_typed_and_saves_nothing(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        register(client, language="es")
        typed = {"members-0-birth_day": "31", "members-0-birth_month": "2",
                 "members-0-birth_year": "90"}  # fmt: skip
        answer = submit(client, "/group", "/group", family(**typed))
        assert answer.status_code == 422
        message = "Check the date: a day from 1 to 31, a month, and the year in four digits."
        assert i18n.gettext("es", message) in answer.text
        assert 'value="Marie"' in answer.text and 'value="31"' in answer.text
        assert 'value="90"' in answer.text and '<option value="2" selected>' in answer.text
        assert _count(runtime, Group) == 0

    @pytest.mark.parametrize(
        ("day", "month", "year"),
        [
            ("30", "2", "2020"),
            ("", "3", "1990"),
            ("14", "", "1990"),
            ("14", "13", "1990"),
            ("1 4", "3", "1990"),
        ],
    )
    def test_a_birth_date_that_does_not_exist_is_refused(
        self, client: TestClient, runtime: Runtime, day: str, month: str, year: str
    ) -> None:
        register(client, language="en")
        typed = {"members-0-birth_day": day, "members-0-birth_month": month,
                 "members-0-birth_year": year}  # fmt: skip
        answer = submit(client, "/group", "/group", family(**typed))
        assert answer.status_code == 422 and 'id="form-error"' in answer.text
        assert _count(runtime, Group) == 0

    def test_the_birth_date_is_asked_as_day_month_by_name_and_year(
        self, client: TestClient
    ) -> None:
        register(client, language="es")
        shown = client.get("/group").text
        assert 'type="date"' not in shown
        for part in ("day", "month", "year"):
            assert f'name="members-0-birth_{part}"' in shown
        assert ">septiembre</option>" in shown
        # Chinese writes the year first, and the fields follow.
        submit(client, "/group", "/language", {"language": "zh_Hans", "next": "/group"})
        chinese = client.get("/group").text
        assert (
            chinese.index("birth_year")
            < chinese.index("birth_month")
            < (chinese.index("birth_day"))
        )

    def test_a_saved_birth_date_is_shown_in_its_three_fields(self, client: TestClient) -> None:
        register(client, language="en")
        assert submit(client, "/group", "/group", family()).status_code == 303
        shown = client.get("/group").text
        assert 'name="members-0-birth_day" value="14"' in shown
        assert '<option value="3" selected>' in shown
        assert 'name="members-0-birth_year" value="1990"' in shown

    def test_adding_and_removing_people_keeps_every_typed_value(self, client: TestClient) -> None:
        register(client)
        two = submit(client, "/group", "/group", family(action="add"))
        assert two.status_code == 200 and two.text.count('class="member"') == 2
        typed = {"members-1-given_names": "Jean", "members-1-nationality": "SDN"}
        rows = family(count="2", action="remove-0", **typed)
        one = client.post("/group", data={"csrf_token": csrf(two.text), **rows})
        assert one.text.count('class="member"') == 1
        assert 'value="Jean"' in one.text and 'value="Marie"' not in one.text
        # A nationality from the long list (not among the common ones) stays chosen too.
        assert one.text.count("selected>") >= 1 and 'value="SDN" selected' in one.text

    def test_a_request_without_a_location_explains_how_to_give_one(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        register(client, language="ht")
        submit(client, "/group", "/group", family())
        answer = request_form(client, ["san-ysidro"], "", "")
        assert answer.status_code == 422
        assert i18n.gettext("ht", "Type my location by hand") in answer.text
        assert 'id="form-error"' in answer.text and 'value="san-ysidro" selected' in answer.text
        assert _count(runtime, AppointmentRequest) == 0

    def test_a_request_from_outside_the_area_is_refused_and_not_stored(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        register(client, language="es")
        submit(client, "/group", "/group", family())
        answer = request_form(client, ["san-ysidro"], str(OAXACA["lat"]), str(OAXACA["lon"]))
        assert answer.status_code == 403 and 'id="form-error"' in answer.text
        assert _count(runtime, AppointmentRequest) == 0

    @pytest.mark.parametrize(
        ("path", "data"),
        [("/officer/checkin", {"confirmation_number": "X", "birth_day": "yesterday"}),
         ("/officer/checkin", {"confirmation_number": "X", "birth_day": "1",
                               "birth_month": "1", "birth_year": "2001"}),
         ("/officer/no-show", {"appointment_id": "abc"})],
    )  # fmt: skip
    def test_an_officers_bad_input_is_a_clear_error_on_the_page_not_a_missing_page(
        self, client: TestClient, runtime: Runtime, path: str, data: dict[str, str]
    ) -> None:
        staff_login(client, runtime, Role.OFFICER, "san-ysidro")
        answer = submit(client, "/officer", path, data)
        # The page exists: a form that did not succeed is a 422 with its message, never a 404.
        assert answer.status_code == 422 and 'id="form-error"' in answer.text
        assert 'value="X"' in answer.text or path.endswith("no-show")

    @pytest.mark.parametrize(
        ("page", "path", "data"),
        [("/admin/capacity", "/admin/capacity", {"port": "laredo", "date": "2024-09-20",
                                                  "seats": "many"}),
         ("/admin/capacity", "/admin/capacity", {"port": "nowhere", "date": "x", "seats": "1"}),
         ("/admin/capacity", "/admin/capacity", {"port": "laredo", "date": "2024-09-20",
                                                  "seats": "²"}),
         ("/admin/capacity", "/admin/capacity", {"port": "laredo", "date": "9999-12-31",
                                                  "seats": "1"}),
         ("/admin/draws", "/admin/draws", {"window": "not a date"}),
         ("/admin/draws", "/admin/draws/verify", {"window": "2024-09-01"}),
         ("/admin/users", "/admin/users/role", {"username": "+5215599999999", "role": "king"}),
         ("/admin/appeals", "/admin/appeals/99", {"decision": "maybe"}),
         ("/admin/appeals", "/admin/appointments/99/cancel", {"reason": "x"})],
    )  # fmt: skip
    def test_an_admins_bad_input_is_a_clear_error(
        self, client: TestClient, runtime: Runtime, page: str, path: str, data: dict[str, str]
    ) -> None:
        staff_login(client, runtime, Role.ADMIN)
        answer = submit(client, page, path, data)
        assert 400 <= answer.status_code < 500 and 'id="form-error"' in answer.text

    def test_a_page_that_does_not_exist_is_a_page_in_the_readers_language(
        self, client: TestClient
    ) -> None:
        answer = client.get("/nowhere", headers={"Accept-Language": "ar"})
        assert answer.status_code == 404 and 'lang="ar" dir="rtl"' in answer.text

    def test_a_malformed_address_is_a_page_not_a_crash(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        staff_login(client, runtime, Role.ADMIN)
        answer = submit(client, "/admin/appeals", "/admin/appeals/abc", {"decision": "uphold"})
        assert answer.status_code == 422 and "text/html" in answer.headers["content-type"]


def _stored_ports(rt: Runtime) -> list[list[str]]:
    with rt.uow() as uow:
        return [row.ports for row in uow.session.scalars(select(AppointmentRequest))]


class TestRankingPorts:
    """/request asks for a first, second and third choice, shows them back, keeps the order."""

    def _ready(self, client: TestClient) -> None:
        register(client, language="es")
        assert submit(client, "/group", "/group", family()).status_code == 303

    def test_the_form_asks_for_first_second_and_third_choice_without_javascript(
        self, client: TestClient
    ) -> None:
        self._ready(client)
        shown = client.get("/request").text
        for n in (1, 2, 3):
            assert f'<select id="port-choice-{n}" name="ports"' in shown
        assert 'type="checkbox" id="port-' not in shown

    def test_the_choices_are_shown_back_in_order_before_anything_is_stored(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        self._ready(client)
        chosen = ["san-ysidro", "calexico", "nogales"]
        lat, lon = str(TIJUANA["lat"]), str(TIJUANA["lon"])
        review = request_form(client, chosen, lat, lon, action="review")
        assert review.status_code == 200, review.text
        listed = review.text.split('id="port-order"', 1)[1].split("</ol>", 1)[0]
        names = ["San Ysidro", "Calexico", "Nogales"]
        assert [listed.index(name) for name in names] == sorted(listed.index(n) for n in names)
        assert _stored_ports(runtime) == []
        # The review page's button sends exactly what was shown, in that order.
        sent = client.post(
            "/request",
            data={"csrf_token": csrf(review.text), "action": "send", "ports": chosen,
                  "lat": lat, "lon": lon, "idempotency_key": "k-ranking-1"},
            follow_redirects=False,
        )  # fmt: skip
        assert sent.status_code == 303, sent.text
        assert _stored_ports(runtime) == [chosen]

    def test_the_order_stored_is_the_order_given_not_the_page_order(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        self._ready(client)
        # San Ysidro comes after Calexico on the page; the person put it first.
        answer = request_form(client, ["san-ysidro", "calexico"], "32.51", "-117.03")
        assert answer.status_code == 303, answer.text
        assert _stored_ports(runtime) == [["san-ysidro", "calexico"]]

    def test_an_unused_second_choice_is_left_out(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        self._ready(client)
        answer = request_form(client, ["san-ysidro", "", "calexico"], "32.51", "-117.03")
        assert answer.status_code == 303, answer.text
        assert _stored_ports(runtime) == [["san-ysidro", "calexico"]]

    def test_more_than_three_ports_are_refused_with_a_clear_message_and_none_dropped(
        self, client: TestClient, runtime: Runtime
    ) -> None:
        self._ready(client)
        four = ["san-ysidro", "calexico", "nogales", "el-paso"]
        for action in ("review", "send"):
            answer = request_form(client, four, "32.51", "-117.03", action=action)
            assert answer.status_code == 422 and 'id="form-error"' in answer.text
            message = "You chose {count} ports. Choose at most three, in order of preference."
            assert i18n.gettext("es", message).format(count=4) in answer.text
        assert _stored_ports(runtime) == []

    def test_the_same_port_twice_is_refused(self, client: TestClient, runtime: Runtime) -> None:
        self._ready(client)
        answer = request_form(client, ["calexico", "calexico"], "32.51", "-117.03")
        assert answer.status_code == 422 and 'id="form-error"' in answer.text
        assert _stored_ports(runtime) == []

    def test_changing_the_choices_shows_the_form_with_them_filled_in(
        self, client: TestClient
    ) -> None:
        self._ready(client)
        edit = request_form(client, ["nogales", "calexico"], "32.51", "-117.03", action="edit")
        assert edit.status_code == 200
        first = edit.text.split('id="port-choice-1"', 1)[1].split("</select>", 1)[0]
        second = edit.text.split('id="port-choice-2"', 1)[1].split("</select>", 1)[0]
        assert 'value="nogales" selected' in first and 'value="calexico" selected' in second
        assert 'value="32.51"' in edit.text


class TestAdminGeofence:
    def test_the_place_check_uses_the_windows_day_not_the_utc_day(
        self, client: TestClient, runtime: Runtime, clock: FixedClock
    ) -> None:
        # 21:00 in Chicago on 22 Aug 2024 is already 23 Aug in UTC, the day Chiapas joined.
        clock.set(dt.datetime(2024, 8, 22, 21, 0, tzinfo=CDT))
        staff_login(client, runtime, Role.ADMIN)
        answer = client.get(
            "/admin/geofence?lat=14.9&lon=-92.26", headers={"Accept-Language": "en"}
        )
        assert answer.status_code == 200
        verdict = answer.text.split('id="verdict"', 1)[1].split("</p>", 1)[0]
        assert "Not eligible" in verdict
        dated = client.get("/admin/geofence?lat=14.9&lon=-92.26&date=2024-08-23")
        assert "Not eligible" not in dated.text.split('id="verdict"', 1)[1].split("</p>", 1)[0]


class TestHeaders:
    def test_pages_forbid_other_hosts_and_caching(self, client: TestClient) -> None:
        page = client.get("/")
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-content-type-options"] == "nosniff"

    def test_static_files_are_compressed_and_cached_for_a_year(self, client: TestClient) -> None:
        page = client.get("/")
        css = page.text.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
        answer = client.get(css, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200 and answer.headers["content-encoding"] == "gzip"
        assert "max-age=31536000" in answer.headers["cache-control"]


class TestCycleThroughPages:
    def test_a_family_goes_from_registration_to_check_in(
        self, client: TestClient, runtime: Runtime, clock: FixedClock
    ) -> None:
        person = TestClient(client.app)
        username = register(person, language="ht")
        assert submit(person, "/group", "/group", family()).headers["location"] == (
            "/status?done=group_saved"
        )
        lat, lon = str(TIJUANA["lat"]), str(TIJUANA["lon"])
        assert request_form(person, ["san-ysidro"], lat, lon).status_code == 303
        assert i18n.gettext("ht", "My request") in person.get("/status").text

        clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
        admin = TestClient(client.app)
        staff_login(admin, runtime, Role.ADMIN)
        ran = submit(admin, "/admin/draws", "/admin/draws", {"window": "2024-09-02"})
        assert ran.status_code == 303, ran.text
        assert 'id="record-title"' in admin.get("/admin/draws?window=2024-09-02").text

        offer = person.get("/appointment")
        assert 'action="/appointment/confirm"' in offer.text
        confirmed = submit(person, "/appointment", "/appointment/confirm", {"lat": lat, "lon": lon})
        assert confirmed.status_code == 303
        details = person.get("/appointment").text
        number = details.split('id="confirmation-number" class="number">', 1)[1].split("<", 1)[0]

        clock.set(dt.datetime(2024, 9, 16, 8, 0, tzinfo=PDT))
        officer = TestClient(client.app)
        staff_login(officer, runtime, Role.OFFICER, "san-ysidro")
        manifest = officer.get("/officer")
        assert number in manifest.text
        done = submit(officer, "/officer", "/officer/checkin",
                      {"confirmation_number": number, "birth_day": "14", "birth_month": "3",
                       "birth_year": "1990"})  # fmt: skip
        assert done.status_code == 303, done.text
        log_in(person, username)  # two weeks later: the session has ended
        assert i18n.gettext("ht", "Checked in at the port") in person.get("/appointment").text

    def test_a_person_can_give_up_an_offer_and_ask_again_later(
        self, client: TestClient, runtime: Runtime, clock: FixedClock
    ) -> None:
        register(client, language="es")
        submit(client, "/group", "/group", family())
        request_form(client, ["san-ysidro"], "32.51", "-117.03")
        clock.set(dt.datetime(2024, 9, 3, 11, 30, tzinfo=CDT))
        admin = TestClient(client.app)
        staff_login(admin, runtime, Role.ADMIN)
        submit(admin, "/admin/draws", "/admin/draws", {"window": "2024-09-02"})
        assert client.get("/appointment/cancel").status_code == 200
        gave_up = submit(client, "/appointment/cancel", "/appointment/cancel", {})
        assert gave_up.headers["location"] == "/status?done=cancelled"
        assert i18n.gettext("es", "Cancelled") in client.get("/appointment").text
