"""Wire shapes of the shelters API's request bodies; answers are the services' views."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from puerta.shelters.domain import ShelterInput

Code = Annotated[str, Field(max_length=64)]


class ShelterCreate(BaseModel):
    """A new shelter. Codes are checked by the domain, which answers with its own codes."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    slug: str = Field(max_length=200, examples=["casa-del-migrante-tijuana"])
    name: str = Field(max_length=1000)
    organization: str = Field(max_length=200, description="The slug of a puerta organization.")
    address: str = Field(default="", max_length=1000)
    municipality: str = Field(max_length=1000)
    lat: float
    lon: float
    beds: StrictInt
    services: list[Code] = Field(default=[], max_length=20, examples=[["food", "health"]])
    populations: list[Code] = Field(default=[], max_length=20, examples=[["families"]])
    languages: list[Code] = Field(default=[], max_length=40, examples=[["es", "ht"]])
    open_door: StrictBool = False
    contact: str = Field(default="", max_length=1000)
    confidential_location: StrictBool = False

    def to_input(self) -> ShelterInput:
        return ShelterInput(
            slug=self.slug,
            name=self.name,
            organization=self.organization,
            address=self.address,
            municipality=self.municipality,
            lat=self.lat,
            lon=self.lon,
            beds=self.beds,
            services=tuple(self.services),
            populations=tuple(self.populations),
            languages=tuple(self.languages),
            open_door=self.open_door,
            contact=self.contact,
            confidential_location=self.confidential_location,
        )


class OccupancyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    occupied: StrictInt = Field(description="People staying now: 0 to the shelter's beds.")
