"""Structured JSON logs: one event per line on stderr.

Use ``log = get_logger(__name__)`` and ``log.info("reading_stored", meter_id=..., count=...)``:
the first argument is a stable event name, keyword arguments become JSON fields.
"""

from __future__ import annotations

import logging
import sys
import time

import orjson

__all__ = ["EventLogger", "configure_logging", "get_logger"]

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            event.update(fields)
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(event, default=str).decode()


class EventLogger:
    """A thin wrapper that turns keyword arguments into JSON fields."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def _log(self, level: int, event: str, exc_info: bool, fields: dict[str, object]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, exc_info=exc_info, extra={"fields": fields})

    def debug(self, event: str, **fields: object) -> None:
        self._log(logging.DEBUG, event, False, fields)

    def info(self, event: str, **fields: object) -> None:
        self._log(logging.INFO, event, False, fields)

    def warning(self, event: str, **fields: object) -> None:
        self._log(logging.WARNING, event, False, fields)

    def error(self, event: str, **fields: object) -> None:
        self._log(logging.ERROR, event, False, fields)

    def exception(self, event: str, **fields: object) -> None:
        self._log(logging.ERROR, event, True, fields)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger to one JSON line per event on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def get_logger(name: str) -> EventLogger:
    return EventLogger(logging.getLogger(name))
