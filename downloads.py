"""Large downloads streamed from a temporary file and deleted once served.

Streamlit's ``download_button`` keeps the bytes it offers in the server's memory while the page
is open, and an annotated ZIP of a photo collection is hundreds of megabytes. Here a page writes
such a file into a private temporary folder and offers it under an unguessable one-time address;
the route that app.py mounts streams it from disk and deletes it. A file never fetched is deleted
when the page's session ends (``Offer`` lives in its session state) or after ``MAX_AGE_S``.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

PREFIX = "fer-download"
MAX_AGE_S = 3600


@dataclass(frozen=True)
class _Pending:
    path: Path
    filename: str
    media_type: str
    created: float


_pending: dict[str, _Pending] = {}
_lock = threading.Lock()
_folder: Path | None = None


def new_file(suffix: str) -> Path:
    """A fresh path in the private folder (mode 0700, made once per process), for a page to write."""
    global _folder
    with _lock:
        if _folder is None or not _folder.is_dir():
            _folder = Path(tempfile.mkdtemp(prefix="fer-downloads-"))
    return _folder / f"{secrets.token_hex(16)}{suffix}"


class Offer:
    """A written file offered for one download. Keep it in the page's session state: when the
    session ends and it is collected, an unfetched file is deleted."""

    def __init__(self, path: Path, filename: str, media_type: str = "application/octet-stream") -> None:
        _sweep()
        self.token = secrets.token_urlsafe(32)
        with _lock:
            _pending[self.token] = _Pending(path, filename, media_type, time.monotonic())
        self.url = f"/{PREFIX}/{self.token}"
        weakref.finalize(self, _discard, self.token)

    @property
    def served(self) -> bool:
        with _lock:
            return self.token not in _pending


def _discard(token: str) -> None:
    # No lock here: the collector may run this finalizer in a thread that holds ``_lock``, and a
    # dict's pop is atomic on its own.
    pending = _pending.pop(token, None)
    if pending is not None:
        pending.path.unlink(missing_ok=True)


def _sweep() -> None:
    now = time.monotonic()
    with _lock:
        expired = [token for token, p in _pending.items() if now - p.created > MAX_AGE_S]
    for token in expired:
        _discard(token)


async def serve(request: Request) -> Response:
    """The offered file, streamed from disk once, whole; deleted when the response is sent. A HEAD
    request (a link preview, a download manager's probe) leaves it offered."""
    token = request.path_params["token"]
    _sweep()  # an expired offer's file goes with it, whoever asks for it
    with _lock:
        pending = _pending.get(token)
        if pending is not None and request.method == "GET":
            del _pending[token]
    if pending is None or not pending.path.is_file():
        return PlainTextResponse("This download was served already or has expired: make it again on the page.",
                                 status_code=404)
    response = FileResponse(pending.path, media_type=pending.media_type, filename=pending.filename,
                            headers={"Cache-Control": "no-store"})
    if request.method == "GET":
        # One whole response: a range request would end the offer with part of the file.
        request.scope["headers"] = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"range"]
        response.background = BackgroundTask(pending.path.unlink, missing_ok=True)
    return response


def routes() -> list[Route]:
    return [Route(f"/{PREFIX}/{{token}}", serve, methods=["GET"])]
