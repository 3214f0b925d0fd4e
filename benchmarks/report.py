"""What every benchmark shares: a timer, the machine's description, and BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def machine(libraries: str) -> str:
    """CPU model and core count, Python and the given library versions, for the record."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, {libraries}"


def write_section(heading: str, section: str, path: Path = REPORT) -> None:
    """Replace the ``## heading`` section of the report, keeping every other section."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(f"## {heading}")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("" if end < 0 else "\n" + text[end + 1 :])
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def python_loop_s() -> float:
    """Seconds for ten million additions in a Python loop: how fast this machine is now."""
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - start
