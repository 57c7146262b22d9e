"""The device-list stream skips its membership query only when it safely can."""

from __future__ import annotations

from types import SimpleNamespace

from homeserver.e2ee.device_lists import DeviceListStream
from homeserver.notifier import Notifier


def _item(event_type: str, position: int) -> SimpleNamespace:
    return SimpleNamespace(
        event=SimpleNamespace(type=event_type), stream_ordering=position
    )


def _stream() -> DeviceListStream:
    return DeviceListStream(db=None, notifier=Notifier())  # type: ignore[arg-type]


def test_untracked_range_needs_query() -> None:
    stream = _stream()
    assert stream._may_have_member_events(5, 10)
    stream.start_tracking(20)
    # Events from before start-up were never seen.
    assert stream._may_have_member_events(5, 25)


def test_tracked_range_without_members_skips_query() -> None:
    stream = _stream()
    stream.start_tracking(20)
    stream.note_events([_item("m.room.message", 21), _item("m.room.member", 23)])
    assert not stream._may_have_member_events(20, 22)
    assert stream._may_have_member_events(22, 23)
    assert stream._may_have_member_events(20, 30)
    assert not stream._may_have_member_events(23, 30)
