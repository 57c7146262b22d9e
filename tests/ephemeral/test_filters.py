"""Filter validation, matching, field projection and storage."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.errors import BadJSON, NotFound, NotJSON
from homeserver.filters import Filter, FilterStore, project_fields, split_field_path
from tests.ephemeral.conftest import ALICE, BOB, Core

INVALID_FILTERS: list[tuple[str, Any]] = [
    ("not an object", []),
    ("event_format value", {"event_format": "raw"}),
    ("event_fields type", {"event_fields": "content.body"}),
    ("event_fields item", {"event_fields": [1]}),
    ("limit type", {"room": {"timeline": {"limit": "10"}}}),
    ("limit bool", {"room": {"timeline": {"limit": True}}}),
    ("limit float", {"presence": {"limit": 1.5}}),
    ("limit negative", {"account_data": {"limit": -1}}),
    ("types type", {"room": {"state": {"types": "m.room.member"}}}),
    ("not_types item", {"room": {"ephemeral": {"not_types": [None]}}}),
    ("senders sigil", {"presence": {"senders": ["alice:test"]}}),
    ("rooms sigil", {"room": {"rooms": ["#alias:test"]}}),
    ("not_rooms type", {"room": {"timeline": {"not_rooms": "!a:test"}}}),
    ("include_leave type", {"room": {"include_leave": "yes"}}),
    ("lazy_load type", {"room": {"state": {"lazy_load_members": 1}}}),
    ("contains_url type", {"room": {"timeline": {"contains_url": "true"}}}),
    ("section type", {"room": {"timeline": []}}),
    ("room type", {"room": "all"}),
]


@pytest.mark.parametrize(
    "definition",
    [case[1] for case in INVALID_FILTERS],
    ids=[c[0] for c in INVALID_FILTERS],
)
def test_invalid_filter_rejected(definition: Any) -> None:
    with pytest.raises(BadJSON):
        Filter.parse(definition)


def test_full_filter_parsed() -> None:
    parsed = Filter.parse(
        {
            "event_fields": ["type", "content.body"],
            "event_format": "federation",
            "presence": {"not_types": ["*"]},
            "account_data": {"types": ["m.*"], "limit": 5},
            "room": {
                "rooms": ["!a:test"],
                "not_rooms": ["!b:test"],
                "include_leave": True,
                "timeline": {"limit": 20, "unread_thread_notifications": True},
                "state": {"lazy_load_members": True, "include_redundant_members": True},
                "ephemeral": {"not_types": ["m.receipt"]},
                "account_data": {"limit": 0},
                "org.example.unknown": 1,
            },
        }
    )
    assert parsed.event_fields == ("type", "content.body")
    assert parsed.event_format == "federation"
    assert parsed.account_data.limit == 5
    assert parsed.room.rooms == ("!a:test",)
    assert parsed.room.not_rooms == ("!b:test",)
    assert parsed.room.include_leave is True
    assert parsed.room.timeline.limit == 20
    assert parsed.room.timeline.unread_thread_notifications is True
    assert parsed.room.state.lazy_load_members is True
    assert parsed.room.state.include_redundant_members is True
    assert parsed.room.account_data.limit == 0


def test_empty_filter_defaults() -> None:
    parsed = Filter.parse({})
    assert parsed.event_format == "client"
    assert parsed.event_fields is None
    assert parsed.room.include_leave is False
    assert parsed.room.timeline.limit is None
    assert parsed.room.timeline.limit_or(10, 100) == 10
    assert parsed.room.state.lazy_load_members is False


def test_limit_capped() -> None:
    parsed = Filter.parse({"room": {"timeline": {"limit": 5000}}})
    assert parsed.room.timeline.limit_or(10, 1000) == 1000


def _event(event_type: str, sender: str = ALICE, **extra: Any) -> dict[str, Any]:
    return {"type": event_type, "sender": sender, "room_id": "!a:test", **extra}


def test_type_wildcards() -> None:
    timeline = Filter.parse(
        {"room": {"timeline": {"types": ["m.room.*"], "not_types": ["m.room.member"]}}}
    ).room.timeline
    assert timeline.matches(_event("m.room.message")) is True
    assert timeline.matches(_event("m.room.member")) is False
    assert timeline.matches(_event("m.reaction")) is False


def test_wildcard_only_star_special() -> None:
    timeline = Filter.parse(
        {"room": {"timeline": {"types": ["m.room.?"]}}}
    ).room.timeline
    assert timeline.matches(_event("m.room.a")) is False
    assert timeline.matches(_event("m.room.?")) is True


def test_not_types_wins_over_types() -> None:
    timeline = Filter.parse(
        {"room": {"timeline": {"types": ["*"], "not_types": ["*"]}}}
    ).room.timeline
    assert timeline.matches(_event("m.room.message")) is False


def test_senders_and_not_senders() -> None:
    timeline = Filter.parse(
        {"room": {"timeline": {"senders": [ALICE, BOB], "not_senders": [BOB]}}}
    ).room.timeline
    assert timeline.matches(_event("m.room.message", ALICE)) is True
    assert timeline.matches(_event("m.room.message", BOB)) is False
    assert timeline.matches(_event("m.room.message", "@carol:test")) is False


def test_contains_url() -> None:
    with_url = _event("m.room.message", content={"url": "mxc://test/a"})
    without_url = _event("m.room.message", content={"body": "hi"})
    only_urls = Filter.parse({"room": {"timeline": {"contains_url": True}}})
    no_urls = Filter.parse({"room": {"timeline": {"contains_url": False}}})
    assert only_urls.room.timeline.matches(with_url) is True
    assert only_urls.room.timeline.matches(without_url) is False
    assert no_urls.room.timeline.matches(with_url) is False
    assert no_urls.room.timeline.matches(without_url) is True


def test_room_lists() -> None:
    room = Filter.parse(
        {"room": {"rooms": ["!a:test", "!b:test"], "not_rooms": ["!b:test"]}}
    ).room
    assert room.matches_room("!a:test") is True
    assert room.matches_room("!b:test") is False
    assert room.matches_room("!c:test") is False


def test_room_event_filter_rooms() -> None:
    timeline = Filter.parse({"room": {"timeline": {"not_rooms": ["!a:test"]}}})
    assert timeline.room.timeline.matches(_event("m.room.message")) is False


def test_field_path_escapes() -> None:
    assert split_field_path("content.m\\.relates_to.rel_type") == [
        "content",
        "m.relates_to",
        "rel_type",
    ]
    assert split_field_path("a\\\\b") == ["a\\b"]


def test_event_fields_projection() -> None:
    event = {
        "type": "m.room.message",
        "event_id": "$e",
        "content": {"body": "hi", "msgtype": "m.text", "m.new": {"x": 1}},
    }
    projected = project_fields(
        event, ["type", "content.body", "content.m\\.new", "nope"]
    )
    assert projected == {
        "type": "m.room.message",
        "content": {"body": "hi", "m.new": {"x": 1}},
    }


async def test_store_ids_count_per_user(core: Core) -> None:
    store = FilterStore(core.services.db)
    assert await store.create(ALICE, {}) == "0"
    assert await store.create(ALICE, {"room": {"timeline": {"limit": 3}}}) == "1"
    assert await store.create(BOB, {}) == "0"
    parsed = await store.get(ALICE, "1")
    assert parsed.room.timeline.limit == 3
    assert await store.get_definition(ALICE, "1") == {
        "room": {"timeline": {"limit": 3}}
    }


async def test_store_invalid_not_stored(core: Core) -> None:
    store = FilterStore(core.services.db)
    with pytest.raises(BadJSON):
        await store.create(ALICE, {"event_format": "xml"})
    assert await core.services.db.fetchvalue("SELECT COUNT(*) FROM filters") == 0


@pytest.mark.parametrize("filter_id", ["5", "abc", "-1", "99999999999999999999999"])
async def test_store_unknown_id_not_found(core: Core, filter_id: str) -> None:
    store = FilterStore(core.services.db)
    await store.create(ALICE, {})
    with pytest.raises(NotFound):
        await store.get(ALICE, filter_id)


async def test_other_users_filter_not_found(core: Core) -> None:
    store = FilterStore(core.services.db)
    await store.create(ALICE, {})
    with pytest.raises(NotFound):
        await store.get(BOB, "0")


async def test_parse_param_id_and_inline(core: Core) -> None:
    store = FilterStore(core.services.db)
    filter_id = await store.create(ALICE, {"room": {"timeline": {"limit": 7}}})
    by_id = await store.parse_filter_param(filter_id, ALICE)
    inline = await store.parse_filter_param('{"room":{"timeline":{"limit":4}}}', ALICE)
    absent = await store.parse_filter_param(None, ALICE)
    assert by_id.room.timeline.limit == 7
    assert inline.room.timeline.limit == 4
    assert absent == Filter()


async def test_parse_param_bad_inline(core: Core) -> None:
    store = FilterStore(core.services.db)
    with pytest.raises(NotJSON):
        await store.parse_filter_param("{not json", ALICE)
    with pytest.raises(BadJSON):
        await store.parse_filter_param('{"room": 1}', ALICE)
