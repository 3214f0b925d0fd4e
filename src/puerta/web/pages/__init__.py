"""Server-rendered pages for people, officers and admins (see docs/pages.md)."""

from puerta.web.pages import (
    admin,
    auth,
    caseworker,
    documents,
    incidents,
    officer,
    person,
    proofs,
    public,
    rights,
    shelters,
    verify,
    vulnerability,
)

ROUTERS = (
    public,
    auth,
    person,
    officer,
    admin,
    caseworker,
    vulnerability,
    shelters,
    documents,
    proofs,
    rights,
    verify,
    incidents,
)
