"""Sample shelters for ``puerta demo``: made-up places in border cities and in Tapachula.

Every one is labelled "(sample data)" and none is a real shelter: names, addresses and
contacts are invented, and the coordinates are only somewhere in each city. Safe to run
again: the organization and each shelter are created once, with one occupancy update.
"""

from __future__ import annotations

from collections.abc import Iterator

from puerta.accounts.domain import OrganizationTaken
from puerta.accounts.service import create_organization
from puerta.clock import Clock
from puerta.db import UnitOfWork
from puerta.shelters import service
from puerta.shelters.domain import ShelterExists, ShelterInput

ORGANIZATION = "demo-shelters"
ORGANIZATION_NAME = "Red de albergues de muestra (sample data)"
NOTE = "Sample data for trying puerta: not a real shelter."

# (shelter, people staying now)
SHELTERS: tuple[tuple[ShelterInput, int], ...] = (
    (
        ShelterInput(
            "demo-tijuana", "Casa Frontera Tijuana (sample data)", ORGANIZATION,
            f"Calle de Ejemplo 1, Zona Centro. {NOTE}", "Tijuana", 32.50, -117.00, 60,
            ("food", "health", "legal"), ("families", "women", "men"), ("es", "ht", "en"),
            True, "+52 664 000 0000",
        ),
        48,
    ),
    (
        ShelterInput(
            "demo-juarez", "Albergue Paso Seguro Juárez (sample data)", ORGANIZATION,
            f"Avenida de Ejemplo 2. {NOTE}", "Juárez", 31.69, -106.42, 40,
            ("food", "psychosocial", "education"), ("families", "unaccompanied_minors"),
            ("es", "en"), False, "+52 656 000 0000",
        ),
        40,
    ),
    (
        ShelterInput(
            "demo-juarez-mujeres", "Refugio Mujeres Juárez (sample data)", ORGANIZATION,
            f"Confidential. {NOTE}", "Juárez", 31.72, -106.46, 20,
            ("food", "health", "legal", "psychosocial"), ("women", "lgbtiq"), ("es",),
            False, "refugio.mujeres@example.org", True,
        ),
        12,
    ),
    (
        ShelterInput(
            "demo-reynosa", "Casa Río Reynosa (sample data)", ORGANIZATION,
            f"Calle de Ejemplo 3. {NOTE}", "Reynosa", 26.05, -98.29, 80,
            ("food", "work"), ("families", "men"), ("es", "ht", "fr"),
            True, "+52 899 000 0000",
        ),
        70,
    ),
    (
        ShelterInput(
            "demo-matamoros", "Albergue Puente Matamoros (sample data)", ORGANIZATION,
            f"Calle de Ejemplo 4. {NOTE}", "Matamoros", 25.86, -97.51, 50,
            ("food", "health"), ("families", "women"), ("es", "ht"),
            True, "+52 868 000 0000",
        ),
        20,
    ),
    (
        ShelterInput(
            "demo-nogales", "Casa Desierto Nogales (sample data)", ORGANIZATION,
            f"Calle de Ejemplo 5. {NOTE}", "Nogales", 31.30, -110.94, 30,
            ("food", "legal"), ("men",), ("es", "en"),
            False, "+52 631 000 0000",
        ),
        5,
    ),
    (
        ShelterInput(
            "demo-tapachula", "Casa Sur Tapachula (sample data)", ORGANIZATION,
            f"Calle de Ejemplo 6. {NOTE}", "Tapachula", 14.90, -92.26, 100,
            ("food", "health", "legal", "work"), ("families", "women", "men"),
            ("es", "ht", "fr", "en"), True, "+52 962 000 0000",
        ),
        90,
    ),
)  # fmt: skip


def load_demo_shelters(*, uow: UnitOfWork, clock: Clock) -> Iterator[str]:
    """Create the sample organization and shelters once; one line for each."""
    try:
        create_organization(uow=uow, clock=clock, slug=ORGANIZATION, name=ORGANIZATION_NAME)
    except OrganizationTaken:
        pass
    for shelter, occupied in SHELTERS:
        try:
            service.create_shelter(uow=uow, clock=clock, shelter=shelter)
        except ShelterExists:
            yield f"shelter    {shelter.slug} (sample data, already there)"
            continue
        service.update_occupancy(
            uow=uow, clock=clock, slug=shelter.slug, occupied=occupied, account=None
        )
        yield f"shelter    {shelter.slug} (sample data): {occupied} of {shelter.beds} beds taken"
