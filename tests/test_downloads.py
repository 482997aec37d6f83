"""downloads: a written file offered once, streamed by app.py's route, deleted when served or dropped."""

from __future__ import annotations

import asyncio
import gc

import pytest
from starlette.applications import Starlette

import downloads


def fetch(url: str, method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None
          ) -> tuple[int, dict[str, str], bytes]:
    """``url`` from the route app.py mounts, through ASGI as the server calls it."""
    app = Starlette(routes=downloads.routes())
    scope = {"type": "http", "method": method, "path": url, "raw_path": url.encode(), "query_string": b"",
             "headers": headers or [], "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80),
             "root_path": ""}
    sent: list[dict] = []
    requests = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if requests:
            return requests.pop()
        await asyncio.Event().wait()  # the client stays connected until the response is sent
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_an_offer_is_served_once_as_an_attachment_then_deleted() -> None:
    path = downloads.new_file(".zip")
    path.write_bytes(b"PK" + bytes(300_000))
    offer = downloads.Offer(path, "annotated.zip", "application/zip")
    assert not offer.served and oct(path.parent.stat().st_mode)[-3:] == "700"
    status, headers, body = fetch(offer.url)
    assert status == 200 and body == b"PK" + bytes(300_000)
    assert headers["content-type"] == "application/zip" and 'filename="annotated.zip"' in headers["content-disposition"]
    assert offer.served and not path.exists()
    status, _, body = fetch(offer.url)
    assert status == 404 and b"served already or has expired" in body


def test_an_unfetched_offer_is_deleted_when_its_holder_goes() -> None:
    path = downloads.new_file(".zip")
    path.write_bytes(b"private")
    offer = downloads.Offer(path, "a.zip")
    url = offer.url
    del offer  # the page's session state dropped with the session
    gc.collect()
    assert not path.exists() and fetch(url)[0] == 404


def test_a_guessed_address_finds_nothing() -> None:
    assert fetch(f"/{downloads.PREFIX}/not-a-token")[0] == 404


def test_a_probe_or_a_range_request_does_not_spend_the_offer_on_part_of_the_file() -> None:
    path = downloads.new_file(".zip")
    path.write_bytes(bytes(range(256)) * 100)
    offer = downloads.Offer(path, "a.zip")
    status, headers, body = fetch(offer.url, "HEAD")
    assert status == 200 and body == b"" and not offer.served and path.exists()
    assert headers["cache-control"] == "no-store"
    status, _, body = fetch(offer.url, headers=[(b"range", b"bytes=0-99")])
    assert status == 200 and body == bytes(range(256)) * 100 and not path.exists()


def test_an_expired_offer_is_refused_and_its_file_deleted(monkeypatch: pytest.MonkeyPatch) -> None:
    path = downloads.new_file(".zip")
    path.write_bytes(b"private")
    offer = downloads.Offer(path, "a.zip")
    monkeypatch.setattr(downloads, "MAX_AGE_S", -1.0)  # every offer older than it
    status, _, body = fetch(offer.url)
    assert status == 404 and b"served already or has expired" in body
    assert not path.exists()
