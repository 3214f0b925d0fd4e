"""Referred cases in the shape of the HURIDOCS Events Standard Formats (ESF).

Pure. One record per referred report: an Event (100 series) holding an Act (2100 series,
act type, dates, location), an Involvement (2400 series, perpetrator type) and an
Information record (2500 series, the source and its reliability). Keys carry the ESF field
numbers (``"2109_type_of_act"``), so that a receiving system can map them. Field numbers
and names follow HURIDOCS ESF (Dueck, Guzman and Verstappen, 2001); see docs/incidents.md.
Only codes, places and dates leave: never the free text, the contact or anything sealed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

STANDARD = "HURIDOCS Events Standard Formats (2001)"
# Every report is the victim's or a witness's own account, not yet checked by anyone.
SOURCE_TYPE = "anonymous_report"
SOURCE_CONNECTION = "victim_or_witness_unverified"
RELIABILITY = "unverified"


@dataclass(frozen=True)
class ReferredCase:
    id: int
    incident_type: str
    perpetrator: str
    state: str
    state_name: str
    municipality: str
    municipality_name: str
    occurred_month: str
    occurred_day: int | None
    referred_to: str
    received_on: dt.date


def _dates(case: ReferredCase) -> tuple[str, str]:
    """Initial and final date: the day when known, else the month (ESF allows a partial date)."""
    if case.occurred_day is None:
        return case.occurred_month, case.occurred_month
    day = f"{case.occurred_month}-{case.occurred_day:02d}"
    return day, day


def event(case: ReferredCase) -> dict[str, Any]:
    initial, final = _dates(case)
    location = {
        "country": "MX", "state": case.state, "state_name": case.state_name,
        "municipality_inegi": case.municipality, "municipality_name": case.municipality_name,
    }  # fmt: skip
    return {
        "101_event_record_number": f"puerta-incident-{case.id}",
        "102_event_title": f"{case.incident_type} ({case.municipality_name}, {case.state_name})",
        "111_geographical_term": case.state,
        "112_local_geographical_area": case.municipality_name,
        "113_initial_date": initial,
        "114_final_date": final,
        "act": {
            "2101_act_record_number": f"puerta-incident-{case.id}-act-1",
            "2109_type_of_act": case.incident_type,
            "2111_initial_date": initial,
            "2112_exact_location": location,
            "2121_final_date": final,
        },
        "involvement": {
            "2401_involvement_record_number": f"puerta-incident-{case.id}-involvement-1",
            "2412_type_of_perpetrator": case.perpetrator,
        },
        "information": {
            "2501_information_record_number": f"puerta-incident-{case.id}-information-1",
            "2509_source_connection_to_information": SOURCE_CONNECTION,
            "2511_date_of_source_material": case.received_on.isoformat(),
            "2512_type_of_source_material": SOURCE_TYPE,
            "2553_reliability_of_source": RELIABILITY,
        },
        "intervention": {"2609_type_of_intervention": "referral", "referred_to": case.referred_to},
    }


def export(cases: list[ReferredCase], *, generated_on: dt.date) -> dict[str, Any]:
    return {
        "standard": STANDARD,
        "generated_on": generated_on.isoformat(),
        "events": [event(case) for case in cases],
    }
