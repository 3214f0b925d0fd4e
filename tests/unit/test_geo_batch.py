"""check_locations, the geofence for a batch of groups, against check_location one by one."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from puerta.geo import service as geo

# Mexico and around it: inside and outside the country, above and below the 19th parallel,
# Tabasco and Chiapas (geofenced from 23 August 2024).
PLACES = [
    (32.5149, -117.0382),  # Tijuana: above the parallel
    (17.0732, -96.7266),  # Oaxaca: below it, where only Mexicans may ask
    (16.7569, -93.1292),  # Tuxtla Gutiérrez, Chiapas: geofenced from 23 August 2024
    (17.9895, -92.9475),  # Villahermosa, Tabasco: likewise
    (14.6349, -90.5069),  # Guatemala City: outside Mexico
]
points = st.tuples(
    st.floats(13.0, 34.0, allow_nan=False),
    st.floats(-119.0, -85.0, allow_nan=False),
    st.lists(st.sampled_from(["MEX", "HND", "VEN", "HTI"]), max_size=3),
) | st.tuples(st.sampled_from(PLACES), st.lists(st.sampled_from(["MEX", "HND"]), max_size=2)).map(
    lambda p: (p[0][0], p[0][1], p[1])
)


@given(
    batch=st.lists(points, max_size=12),
    on=st.sampled_from([dt.date(2023, 6, 1), dt.date(2024, 9, 1)]),
)
@settings(max_examples=60, deadline=None)
def test_a_batch_gets_the_verdicts_each_point_gets_alone(
    batch: list[tuple[float, float, list[str]]], on: dt.date
) -> None:
    alone = [geo.check_location(lat=a, lon=o, on=on, nationalities=n) for a, o, n in batch]
    assert geo.check_locations(batch, on=on) == alone
