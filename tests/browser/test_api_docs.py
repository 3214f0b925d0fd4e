"""The API documentation works in a browser under puerta's policy: the footer's link leads to
it, Swagger UI lists the operations, and an operation runs from the page, with no console
error, no failed request and no request to another host (the tab fails on any of them)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import LiveServer, Tabs

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


def operation(method: str, path: str) -> str:
    return f'.opblock.opblock-{method}:has(.opblock-summary-path[data-path="{path}"])'


class TestApiDocs:
    def test_the_footer_link_opens_the_docs_and_they_list_and_run_the_operations(
        self, tabs: Tabs, live: LiveServer
    ) -> None:
        tab = tabs.open(live, locale="en", viewport=DESKTOP)
        tab.go("/")
        tab.navigate(tab.page.locator('footer a[href="/api/docs"]').click, "the footer link")
        assert tab.path == "/api/docs"
        expect(tab.page.locator(operation("post", "/api/v1/requests"))).to_be_visible()
        ports = tab.page.locator(operation("get", "/api/v1/ports"))
        # Opening an operation puts it in the address (#/ports/...): a same-page move that
        # Playwright would otherwise wait for as if it were a navigation.
        ports.locator(".opblock-summary").click(no_wait_after=True)
        ports.locator(".try-out__btn").click(no_wait_after=True)
        ports.locator(".execute").click(no_wait_after=True)
        status = ports.locator(".live-responses-table tbody .response-col_status")
        expect(status).to_have_text("200")
        tab.check()
