"""Geofence throughput: single-point checks, and batch checks against bare shapely.

Run: .venv/bin/python benchmarks/geofence.py

Prints the figures and rewrites the "## Geofence" section of BENCHMARKS.md. The baseline is
shapely.contains_xy on the prepared union of the 32 packaged states (the same polygons the
service uses), over the same 1,000,000 points, timed in the same run.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import date
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from puerta.geo.service import check_batch, check_location
from report import machine, timed, write_section

SEED = 20240823
BATCH_POINTS = 1_000_000
SINGLE_POINTS = 20_000
REPEATS = 5
# A box around Mexico (its states span 14.5..32.7 N, 118.4..86.7 W), so that most points
# need a real point-in-polygon test and about a third fall inside the country.
LAT_RANGE = (14.0, 33.0)
LON_RANGE = (-118.5, -86.5)
DAY = date(2024, 9, 1)  # the 2024-08-23 policy, the one with the most rules
COMMAND = ".venv/bin/python benchmarks/geofence.py"

LIBRARIES = (
    f"shapely {shapely.__version__} (GEOS {'.'.join(map(str, shapely.geos_version))}), "
    f"numpy {np.__version__}"
)


def random_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in the box around Mexico, reproducible from the seed."""
    rng = np.random.default_rng(seed)
    return rng.uniform(*LAT_RANGE, n), rng.uniform(*LON_RANGE, n)


def baseline_country() -> Any:
    """The prepared union of the packaged states, built here independently of the service."""
    path = resources.files("puerta.geo").joinpath("data", "mexico_states.geojson")
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    country = shapely.union_all([shape(f["geometry"]) for f in features])
    shapely.prepare(country)
    return country


def single_point_rate() -> float:
    """check_location calls per second, one point per call (as the API does)."""
    lats, lons = random_points(SINGLE_POINTS, SEED + 1)
    pairs = list(zip(lats.tolist(), lons.tolist(), strict=True))
    start = time.perf_counter()
    for lat, lon in pairs:
        check_location(lat=lat, lon=lon, on=DAY)
    return SINGLE_POINTS / (time.perf_counter() - start)


def batch_rows() -> list[tuple[str, float, float, float]]:
    """(label, best s, median s, points/s) for the baseline and each batch scenario."""
    lats, lons = random_points(BATCH_POINTS, SEED)
    country = baseline_country()
    check_batch(lats[:1000], lons[:1000], on=DAY)  # load data and caches outside the timing
    scenarios: list[tuple[str, Callable[[], object]]] = [
        (
            "baseline: shapely.contains_xy(prepared union)",
            lambda: shapely.contains_xy(country, lons, lats),
        ),
        (
            "check_batch, 2024-08-23 policy, non-Mexican group",
            lambda: check_batch(lats, lons, on=DAY, nationalities=["HND"]),
        ),
        (
            "check_batch, 2024-08-23 policy, Mexican group",
            lambda: check_batch(lats, lons, on=DAY, nationalities=["MEX"]),
        ),
        ("check_batch, 2023-01-12 policy", lambda: check_batch(lats, lons, on=date(2023, 6, 1))),
    ]
    # Rounds interleave the scenarios so that a noisy moment hurts them all alike.
    times: dict[str, list[float]] = {label: [] for label, _ in scenarios}
    for _ in range(REPEATS):
        for label, fn in scenarios:
            times[label].append(timed(fn))
    return [
        (label, min(t), statistics.median(t), BATCH_POINTS / min(t)) for label, t in times.items()
    ]


def render(single: float, rows: list[tuple[str, float, float, float]]) -> str:
    """The "## Geofence" section of BENCHMARKS.md."""
    baseline = rows[0][1]
    lines = [
        "## Geofence",
        "",
        f"Measured {date.today().isoformat()} on {machine(LIBRARIES)}.",
        "",
        f"Command: `{COMMAND}`",
        "",
        f"Points: {BATCH_POINTS:,} uniform in lat {LAT_RANGE[0]}..{LAT_RANGE[1]}, "
        f"lon {LON_RANGE[0]}..{LON_RANGE[1]} (numpy seed {SEED}); "
        f"best of {REPEATS} interleaved rounds. "
        "Ratio = baseline time / scenario time (above 1 means faster than bare shapely).",
        "",
        "| what | best (s) | median (s) | points/s | ratio to baseline |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, best, median, rate in rows:
        lines.append(
            f"| {label} | {best:.3f} | {median:.3f} | {rate:,.0f} | {baseline / best:.2f} |"
        )
    lines += [
        "",
        f"Single point: `check_location` {single:,.0f} points/s "
        f"({SINGLE_POINTS:,} calls, one point each, on one core).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    rows = batch_rows()
    single = single_point_rate()
    section = render(single, rows)
    print(section)
    write_section("Geofence", section)


if __name__ == "__main__":
    main()
