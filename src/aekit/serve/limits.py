"""What ``aekit serve`` accepts: its limits, the refusal every bad request gets, and the body-size guard.

A refusal is a :class:`RequestError`: an HTTP status in the 4xx range and a
message naming what is wrong (the field, its shape or dtype, the index of a
NaN, the limit exceeded). The app turns it into ``{"error": message}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Awaitable, Callable

from aekit.config import OPEN_FRACTION, Config, Range

BYTES = Range(1024, 1 << 34, integer=True)
BATCH = Range(1, 1 << 20, integer=True)
PIXELS = Range(1, 1 << 30, integer=True)
POINTS = Range(2, 100_000, integer=True)


@dataclass
class ServeLimits(Config):
    """The limits of one server; every request beyond one is refused with 413 and the limit's name."""

    max_body_bytes: Annotated[int, BYTES] = 8 << 20  # largest request body (JSON or upload), in bytes
    max_batch: Annotated[int, BATCH] = 256  # most rows (examples, codes, samples) in one request
    max_image_pixels: Annotated[int, PIXELS] = 1 << 20  # largest uploaded PNG, width x height
    contamination: Annotated[float, OPEN_FRACTION] = 0.05  # /score flags rows scoring above this share of training rows
    explorer_points: Annotated[int, POINTS] = 1000  # test examples on the explorer's map


class RequestError(Exception):
    """A request the server refuses: ``status`` (4xx) and a message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def too_large(what: str, size: int, limit: int, option: str) -> RequestError:
    """413 for ``what`` of ``size`` over ``limit``, naming the server option that sets it."""
    return RequestError(413, f"{what}: {size:,} exceeds the server's limit of {limit:,} ({option})")


Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyLimit:
    """ASGI middleware refusing request bodies over ``limit`` bytes before they are read in full.

    A declared ``Content-Length`` over the limit is answered at once; a body
    sent in chunks is counted as it arrives, and the reader of the body gets a
    :class:`RequestError` (413) as soon as the count passes the limit, so no
    request can make the server hold more than ``limit`` bytes of it.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _send_json(send, 413, too_large("request body", int(declared), self.limit, "--max-body-bytes").message)
            return
        received = 0

        async def counted() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise too_large("request body", received, self.limit, "--max-body-bytes")
            return message

        await self.app(scope, counted, send)


async def _send_json(send: Send, status: int, message: str) -> None:
    import json

    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["BodyLimit", "RequestError", "ServeLimits", "too_large"]
