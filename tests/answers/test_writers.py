"""The write clients against local stand-ins for Mastodon, Bluesky and X."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from bot.answers.writers import PublishError, writer_for
from bot.answers.writers.bluesky import BlueskyWriter
from bot.answers.writers.mastodon import MastodonWriter
from bot.answers.writers.x import XWriter
from bot.mention import Mention
from tests.answers.conftest import make_settings
from tests.answers.standins import (
    BSKY_DID,
    BSKY_HANDLE,
    BSKY_PASSWORD,
    MASTODON_TOKEN,
    X_TOKEN,
    WriteStandIn,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _mention(source: str, native_id: str = "109", **extra: str) -> Mention:
    return Mention(source, native_id, "original post", "https://example.com/p", NOW,
                   extra=dict(extra))


def test_mastodon_posts_a_reply_with_bearer_token_and_idempotency_key(
        writes: WriteStandIn) -> None:
    writer = MastodonWriter(writes.url, MASTODON_TOKEN, requests.Session())
    result = writer.publish(_mention("mastodon", "4242"), "Thanks, we're on it",
                            idempotency_key="draft-1")
    [req] = writes.to("/api/v1/statuses")
    assert req.headers["Authorization"] == f"Bearer {MASTODON_TOKEN}"
    assert req.headers["Idempotency-Key"] == "draft-1"
    assert req.body == {"status": "Thanks, we're on it", "in_reply_to_id": "4242",
                        "visibility": "public"}
    assert result.url == f"{writes.url}/@acme/{result.native_id}"


def test_mastodon_retry_with_the_same_key_returns_the_first_status(
        writes: WriteStandIn) -> None:
    writer = MastodonWriter(writes.url, MASTODON_TOKEN, requests.Session())
    first = writer.publish(_mention("mastodon"), "once", idempotency_key="draft-2")
    again = writer.publish(_mention("mastodon"), "once", idempotency_key="draft-2")
    assert again == first
    assert len(writes.idempotent) == 1


def test_x_posts_a_reply_with_the_user_token(writes: WriteStandIn) -> None:
    writer = XWriter(f"{writes.url}/2", X_TOKEN, requests.Session())
    result = writer.publish(_mention("x", "1850"), "We hear you", idempotency_key="d")
    [req] = writes.to("/2/tweets")
    assert req.headers["Authorization"] == f"Bearer {X_TOKEN}"
    assert req.body == {"text": "We hear you", "reply": {"in_reply_to_tweet_id": "1850"}}
    assert result.url == f"https://x.com/i/web/status/{result.native_id}"


def test_bluesky_logs_in_then_creates_a_reply_record_with_root_and_parent(
        writes: WriteStandIn) -> None:
    writer = BlueskyWriter(f"{writes.url}/xrpc", BSKY_HANDLE, BSKY_PASSWORD,
                           requests.Session(), clock=lambda: NOW)
    mention = _mention("bluesky", "3abc", uri="at://did:plc:cust/app.bsky.feed.post/3abc",
                       cid="bafyparent", root_uri="at://did:plc:cust/app.bsky.feed.post/3root",
                       root_cid="bafyroot")
    result = writer.publish(mention, "Sorry about that!", idempotency_key="d")
    [login] = writes.to("createSession")
    assert login.body == {"identifier": BSKY_HANDLE, "password": BSKY_PASSWORD}
    [create] = writes.to("createRecord")
    assert create.headers["Authorization"] == "Bearer jwt-1"
    assert create.body == {
        "repo": BSKY_DID, "collection": "app.bsky.feed.post",
        "record": {"$type": "app.bsky.feed.post", "text": "Sorry about that!",
                   "createdAt": "2026-11-23T12:00:00Z",
                   "reply": {"root": {"uri": "at://did:plc:cust/app.bsky.feed.post/3root",
                                      "cid": "bafyroot"},
                             "parent": {"uri": "at://did:plc:cust/app.bsky.feed.post/3abc",
                                        "cid": "bafyparent"}}}}
    rkey = result.native_id.rsplit("/", 1)[-1]
    assert result.url == f"https://bsky.app/profile/{BSKY_HANDLE}/post/{rkey}"


def test_bluesky_top_level_post_is_its_own_root_and_session_is_reused(
        writes: WriteStandIn) -> None:
    writer = BlueskyWriter(f"{writes.url}/xrpc", BSKY_HANDLE, BSKY_PASSWORD,
                           requests.Session(), clock=lambda: NOW)
    mention = _mention("bluesky", uri="at://did:plc:c/app.bsky.feed.post/1", cid="bafy1")
    writer.publish(mention, "one", idempotency_key="a")
    writer.publish(mention, "two", idempotency_key="b")
    assert len(writes.to("createSession")) == 1
    reply = writes.to("createRecord")[0].body["record"]["reply"]
    assert reply["root"] == reply["parent"] == {"uri": "at://did:plc:c/app.bsky.feed.post/1",
                                                "cid": "bafy1"}


def test_bluesky_logs_in_again_once_when_the_token_expired(writes: WriteStandIn) -> None:
    writer = BlueskyWriter(f"{writes.url}/xrpc", BSKY_HANDLE, BSKY_PASSWORD,
                           requests.Session(), clock=lambda: NOW)
    mention = _mention("bluesky", uri="at://did:plc:c/app.bsky.feed.post/1", cid="bafy1",
                       root_uri="at://did:plc:c/app.bsky.feed.post/1", root_cid="bafy1")
    writer.publish(mention, "one", idempotency_key="a")
    writes.jwt_generation = 2  # the server rotated: jwt-1 is now expired
    writer.publish(mention, "two", idempotency_key="b")
    assert len(writes.to("createSession")) == 2
    assert [r.headers["Authorization"] for r in writes.to("createRecord")] == [
        "Bearer jwt-1", "Bearer jwt-1", "Bearer jwt-2"]


def test_bluesky_without_a_uri_cannot_reply(writes: WriteStandIn) -> None:
    writer = BlueskyWriter(f"{writes.url}/xrpc", BSKY_HANDLE, BSKY_PASSWORD,
                           requests.Session())
    with pytest.raises(PublishError, match="at:// uri"):
        writer.publish(_mention("bluesky"), "hi", idempotency_key="a")
    assert writes.requests == []


def test_bluesky_looks_up_cid_and_thread_root_when_the_mention_lacks_them(
        writes: WriteStandIn) -> None:
    parent_uri = "at://did:plc:c/app.bsky.feed.post/3child"
    root = {"uri": "at://did:plc:op/app.bsky.feed.post/3root", "cid": "bafyroot"}
    writes.bsky_posts[parent_uri] = {"cid": "bafychild", "root": root}
    writer = BlueskyWriter(f"{writes.url}/xrpc", BSKY_HANDLE, BSKY_PASSWORD,
                           requests.Session(), clock=lambda: NOW)
    writer.publish(_mention("bluesky", parent_uri, uri=parent_uri), "hi", idempotency_key="a")
    [lookup] = writes.to("getPosts")
    assert lookup.method == "GET" and lookup.body == {"uris": parent_uri}
    assert lookup.headers["Authorization"] == "Bearer jwt-1"
    reply = writes.to("createRecord")[0].body["record"]["reply"]
    assert reply == {"root": root, "parent": {"uri": parent_uri, "cid": "bafychild"}}


def test_bluesky_reply_to_a_deleted_post_fails_without_posting(writes: WriteStandIn) -> None:
    uri = "at://did:plc:c/app.bsky.feed.post/3gone"
    writes.bsky_missing.add(uri)
    writer = BlueskyWriter(f"{writes.url}/xrpc", BSKY_HANDLE, BSKY_PASSWORD,
                           requests.Session())
    with pytest.raises(PublishError, match="not found"):
        writer.publish(_mention("bluesky", uri, uri=uri), "hi", idempotency_key="a")
    assert writes.to("createRecord") == []


def test_mastodon_replies_to_the_local_status_id_not_the_uri(writes: WriteStandIn) -> None:
    writer = MastodonWriter(writes.url, MASTODON_TOKEN, requests.Session())
    mention = _mention("mastodon", "https://mastodon.social/users/c/statuses/77", id="77")
    writer.publish(mention, "hi", idempotency_key="k")
    assert writes.to("/api/v1/statuses")[0].body["in_reply_to_id"] == "77"
    no_id = _mention("mastodon", "https://mastodon.social/users/c/statuses/78")
    with pytest.raises(PublishError, match="status id"):
        writer.publish(no_id, "hi", idempotency_key="k2")
    assert len(writes.requests) == 1


@pytest.mark.parametrize(("path", "status", "expected"), [
    ("/api/v1/statuses", 422, "HTTP 422"), ("/api/v1/statuses", 503, "HTTP 503"),
    ("/2/tweets", 403, "HTTP 403"), ("/2/tweets", 500, "HTTP 500"),
    ("/xrpc/com.atproto.repo.createRecord", 400, "HTTP 400"),
    ("/xrpc/com.atproto.repo.createRecord", 502, "HTTP 502"),
])
def test_4xx_and_5xx_become_a_publish_error_naming_the_status(
        writes: WriteStandIn, tmp_path: Path, path: str, status: int, expected: str) -> None:
    settings = make_settings(tmp_path, writes.url)
    source = {"/api/v1/statuses": "mastodon", "/2/tweets": "x"}.get(path, "bluesky")
    writer = writer_for(settings.sources[source], requests.Session())
    assert writer is not None
    writes.fail_next(path, status=status, body={"error": "nope"})
    mention = _mention(source, uri="at://did:plc:c/app.bsky.feed.post/1", cid="bafy1")
    with pytest.raises(PublishError, match=expected) as info:
        writer.publish(mention, "hi", idempotency_key="k")
    assert info.value.status == status
    assert MASTODON_TOKEN not in str(info.value) and X_TOKEN not in str(info.value)


def test_a_timeout_becomes_a_publish_error(writes: WriteStandIn) -> None:
    writer = XWriter(f"{writes.url}/2", X_TOKEN, requests.Session(), timeout=0.3)
    writes.fail_next("/2/tweets", hang=1.5)
    with pytest.raises(PublishError, match="did not answer within 0.3 s"):
        writer.publish(_mention("x"), "hi", idempotency_key="k")


def test_wrong_credentials_are_refused_by_the_standin(writes: WriteStandIn) -> None:
    writer = MastodonWriter(writes.url, "wrong", requests.Session())
    with pytest.raises(PublishError, match="HTTP 401"):
        writer.publish(_mention("mastodon"), "hi", idempotency_key="k")


def test_writer_for_needs_the_write_credential(writes: WriteStandIn, tmp_path: Path) -> None:
    full = make_settings(tmp_path, writes.url)
    assert isinstance(writer_for(full.sources["x"], requests.Session()), XWriter)
    no_user_token = make_settings(tmp_path, writes.url, env={"X_USER": ""})
    assert writer_for(no_user_token.sources["x"], requests.Session()) is None
    assert writer_for(None, requests.Session()) is None
