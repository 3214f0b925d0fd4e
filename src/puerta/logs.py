"""Logging set-up: one line per event, no personal data (paths only, never bodies or queries).

Lines are written in batches: a line per request written (and flushed) on its own cost a
tenth of the event loop's time under load (BENCHMARKS.md, "Request intake"). A batch is
written when it holds ``BATCH_LINES`` lines, when a warning or worse arrives (at once, with
what came before it), and at the latest ``FLUSH_SECONDS`` after its first line, by a timer
thread; and at exit.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from typing import TextIO

from puerta.config import get_settings

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
BATCH_LINES = 256
FLUSH_SECONDS = 0.5


class BatchedStreamHandler(logging.Handler):
    """A StreamHandler that writes its lines a batch at a time (see the module's docstring)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self._lines: list[str] = []
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._timer = threading.Thread(target=self._flush_later, name="puerta-log", daemon=True)
        self._timer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # logging must never break the request
            self.handleError(record)
            return
        with self._guard:
            self._lines.append(line)
            urgent = record.levelno >= logging.WARNING or len(self._lines) >= BATCH_LINES
            if urgent:
                self._write()
            elif len(self._lines) == 1:
                self._wake.set()

    def flush(self) -> None:
        with self._guard:
            self._write()

    def close(self) -> None:
        self.flush()
        self._closed = True
        self._wake.set()
        super().close()

    def _write(self) -> None:
        if not self._lines:
            return
        text = "\n".join(self._lines) + "\n"
        self._lines.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or full stream: the lines are lost, the request is not

    def _flush_later(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            threading.Event().wait(FLUSH_SECONDS)
            self.flush()


def configure_logging() -> None:
    handler = BatchedStreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(level=get_settings().log_level.upper(), handlers=[handler])
    atexit.register(handler.flush)
