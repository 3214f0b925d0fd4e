"""Server-rendered pages for people, officers and admins (see docs/pages.md)."""

from puerta.web.pages import admin, auth, officer, person, public

ROUTERS = (public, auth, person, officer, admin)
