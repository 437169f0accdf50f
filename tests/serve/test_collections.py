"""A collection's status only to its owner: the user who queued it, or an anonymous caller with its owner token;
and a cap on the collections one caller may have waiting."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.serve.conftest import ApiUser

from miles.config import Settings
from miles.serve.services import collections
from miles.store.db import session_scope
from miles.store.repos.jobs import Requester

API = "/api/v1"


def _queue(settings: Settings, query: str, requester: Requester) -> collections.Queued:
    with session_scope(settings) as session:
        return collections.queue(session=session, settings=settings, query=query, requester=requester)


def test_a_users_collection_is_shown_to_that_user_only(
    client: TestClient, db_settings: Settings, user_factory: Callable[[str], ApiUser]
) -> None:
    alice, bob = user_factory("alice@example.com"), user_factory("bob@example.com")
    mine = _queue(db_settings, "secret topic", Requester(alice.user_id, f"user:{alice.user_id}"))
    assert mine.run_id is not None and mine.token is None  # signed-in users need no token
    shown = client.get(f"{API}/collections/{mine.run_id}", headers=alice.headers)
    assert shown.status_code == 200 and shown.json()["counts"]["query"] == "secret topic"
    # Before: anyone could read any collection's topic by counting up the ids.
    for headers in (bob.headers, {}):
        hidden = client.get(f"{API}/collections/{mine.run_id}", headers=headers)
        assert hidden.status_code == 404 and "secret" not in hidden.text
    forged = collections.owner_token(db_settings, mine.run_id)  # a token does not open a user's collection...
    assert client.get(f"{API}/collections/{mine.run_id}", params={"token": forged}).status_code == 200
    # ...unless it is the right one, which only the server (MILES_SECRET_KEY) can make; guesses are 404:
    assert client.get(f"{API}/collections/{mine.run_id}", params={"token": "0" * 32}).status_code == 404
    assert client.get(f"{API}/collections/{mine.run_id}", params={"token": "é" * 10}).status_code == 404


def test_an_anonymous_collection_needs_its_owner_token(client: TestClient, db_settings: Settings) -> None:
    queued = _queue(db_settings, "cozy knitting", Requester(None, "ip:203.0.113.5"))
    assert queued.run_id is not None and queued.token
    assert client.get(f"{API}/collections/{queued.run_id}").status_code == 404
    shown = client.get(f"{API}/collections/{queued.run_id}", params={"token": queued.token})
    assert shown.status_code == 200 and shown.json()["status"] == "queued"
    other = _queue(db_settings, "cozy knitting", Requester(None, "ip:203.0.113.6"))
    assert other.run_id == queued.run_id and other.token == queued.token  # one anonymous request per topic
    assert client.get(f"{API}/collections/{queued.run_id + 1}", params={"token": queued.token}).status_code == 404


def test_queued_collections_are_capped_per_caller(db_settings: Settings) -> None:
    settings = db_settings.model_copy(update={"max_queued_collections": 3})
    anonymous = Requester(None, "ip:198.51.100.7")
    runs = [_queue(settings, f"topic {i}", anonymous) for i in range(5)]
    assert [r.run_id is not None for r in runs] == [True, True, True, False, False]
    assert runs[3].refused and "3 collections waiting" in runs[3].refused
    assert "the most this Miles takes from one caller" in runs[3].refused  # no setting named to a creator
    assert _queue(settings, "topic 0", anonymous).run_id == runs[0].run_id  # asking again for a waiting one is fine
    assert _queue(settings, "topic 4", Requester(None, "ip:198.51.100.8")).run_id is not None  # another caller
