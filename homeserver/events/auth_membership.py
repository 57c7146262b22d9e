"""Authorization rules for `m.room.member` events.

Spec: Room Versions v10, v11 and v12, "Authorisation rules", the `m.room.member`
rule (rule 4 in v10 and v11, rule 5 in v12). The sub-rule numbers in the comments
(`.3.1` and so on) follow those documents. `check_member_event` dispatches to one
function per membership value.
"""

from __future__ import annotations

from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from unpaddedbase64 import decode_base64

from homeserver.events.canonical import encode_canonical_json
from homeserver.events.errors import AuthError
from homeserver.events.event import Event
from homeserver.identifiers import get_domain_from_id, is_valid_user_id
from homeserver.events.power_levels import (
    CREATE_KEY,
    JOIN_RULES_KEY,
    POWER_LEVELS_KEY,
    StateMap,
    get_named_level,
    get_user_power_level,
)
from homeserver.events.room_versions import RoomVersion

# Without an `m.room.join_rules` event, the room behaves as invite-only.
DEFAULT_JOIN_RULE = "invite"


def get_membership(user_id: str, auth_events: StateMap) -> str:
    """Return a user's current membership, `leave` if they have no member event."""
    member_event = auth_events.get(("m.room.member", user_id))
    if member_event is None:
        return "leave"
    membership = member_event.content.get("membership")
    return membership if isinstance(membership, str) else "leave"


def get_join_rule(auth_events: StateMap) -> str:
    join_rules_event = auth_events.get(JOIN_RULES_KEY)
    if join_rules_event is None:
        return DEFAULT_JOIN_RULE
    join_rule = join_rules_event.content.get("join_rule")
    return join_rule if isinstance(join_rule, str) else DEFAULT_JOIN_RULE


def check_member_event(
    room_version: RoomVersion, event: Event, auth_events: StateMap
) -> None:
    """Raise `AuthError` unless the membership change is allowed."""
    # .1: a member event needs a state key and a membership.
    if event.state_key is None or "membership" not in event.content:
        raise AuthError("member event has no state_key or no content.membership")

    # .2: a restricted join must carry the authorising server's signature.
    if "join_authorised_via_users_server" in event.content:
        _check_authorising_server_signed(event)

    membership = event.content["membership"]
    if membership == "join":
        _check_join(room_version, event, auth_events)
    elif membership == "invite":
        _check_invite(room_version, event, auth_events)
    elif membership == "leave":
        _check_leave(room_version, event, auth_events)
    elif membership == "ban":
        _check_ban(room_version, event, auth_events)
    elif membership == "knock" and room_version.knock_join_rule:
        _check_knock(room_version, event, auth_events)
    else:
        # .8: unknown membership.
        raise AuthError(f"unknown membership {membership!r}")


def _check_authorising_server_signed(event: Event) -> None:
    # NOTE: this checks that the authorising server's signature is present. Whether
    # it is valid is checked with the other signatures on receipt, so the caller
    # must include that server in `servers_required_to_sign`.
    authoriser = event.content["join_authorised_via_users_server"]
    if not is_valid_user_id(authoriser):
        raise AuthError(
            f"join_authorised_via_users_server is not a user ID: {authoriser!r}"
        )
    server_name = get_domain_from_id(authoriser)
    signatures = event.pdu.get("signatures", {})
    if not signatures.get(server_name):
        raise AuthError(
            f"join authorised by {authoriser} is not signed by {server_name}"
        )


def _check_join(room_version: RoomVersion, event: Event, auth_events: StateMap) -> None:
    target = event.state_key
    create_event = auth_events.get(CREATE_KEY)

    # .3.1: the creator's own join straight after the create event. Up to v10 the
    # creator is `content.creator`, since v11 the create event's sender.
    prev_event_ids = list(event.prev_event_ids)
    if (
        create_event is not None
        and prev_event_ids == [create_event.event_id]
        and _original_creator(create_event, room_version) == target
    ):
        return

    # .3.2
    if event.sender != target:
        raise AuthError(f"{event.sender} cannot join on behalf of {target}")

    # .3.3
    current = get_membership(target, auth_events)
    if current == "ban":
        raise AuthError(f"{target} is banned from the room")

    join_rule = get_join_rule(auth_events)
    # .3.4
    if join_rule == "invite" or (join_rule == "knock" and room_version.knock_join_rule):
        if current in ("invite", "join"):
            return
        raise AuthError(f"join rule is {join_rule} and {target} is not invited")

    # .3.5
    if _is_restricted(join_rule, room_version):
        if current in ("invite", "join"):
            return
        _check_join_authoriser(room_version, event, auth_events)
        return

    # .3.6
    if join_rule == "public":
        return

    # .3.7
    raise AuthError(f"join rule {join_rule!r} does not allow {target} to join")


def _original_creator(create_event: Event, room_version: RoomVersion) -> Any:
    if room_version.implicit_room_creator:
        return create_event.sender
    return create_event.content.get("creator")


def _is_restricted(join_rule: str, room_version: RoomVersion) -> bool:
    if join_rule == "restricted":
        return room_version.restricted_join_rule
    if join_rule == "knock_restricted":
        return room_version.knock_restricted_join_rule
    return False


def _check_join_authoriser(
    room_version: RoomVersion, event: Event, auth_events: StateMap
) -> None:
    # .3.5.2: the authorising user must be joined and able to invite.
    authoriser = event.content.get("join_authorised_via_users_server")
    if not isinstance(authoriser, str):
        raise AuthError("restricted join has no join_authorised_via_users_server")
    if get_membership(authoriser, auth_events) != "join":
        raise AuthError(f"authorising user {authoriser} is not joined to the room")
    invite_level = get_named_level(
        "invite", auth_events.get(POWER_LEVELS_KEY), room_version
    )
    if get_user_power_level(authoriser, auth_events, room_version) < invite_level:
        raise AuthError(f"authorising user {authoriser} cannot invite users")


def _check_invite(
    room_version: RoomVersion, event: Event, auth_events: StateMap
) -> None:
    target = event.state_key
    assert target is not None

    # .4.1
    if "third_party_invite" in event.content:
        _check_third_party_invite(event, auth_events)
        return

    # .4.2
    if get_membership(event.sender, auth_events) != "join":
        raise AuthError(f"inviter {event.sender} is not joined to the room")

    # .4.3
    target_membership = get_membership(target, auth_events)
    if target_membership in ("join", "ban"):
        raise AuthError(
            f"cannot invite {target}, whose membership is {target_membership}"
        )

    # .4.4 and .4.5
    _require_level(room_version, event.sender, "invite", auth_events, action="invite")


def _check_third_party_invite(event: Event, auth_events: StateMap) -> None:
    target = event.state_key
    # .4.1.1
    if get_membership(target, auth_events) == "ban":
        raise AuthError(f"{target} is banned from the room")

    # .4.1.2 and .4.1.3
    third_party_invite = event.content["third_party_invite"]
    signed = (
        third_party_invite.get("signed")
        if isinstance(third_party_invite, dict)
        else None
    )
    if not isinstance(signed, dict):
        raise AuthError("third_party_invite has no signed object")
    mxid = signed.get("mxid")
    token = signed.get("token")
    if not isinstance(mxid, str) or not isinstance(token, str):
        raise AuthError("third_party_invite.signed has no mxid or token")

    # .4.1.4
    if mxid != target:
        raise AuthError(f"third-party invite is for {mxid}, not {target}")

    # .4.1.5
    invite_event = auth_events.get(("m.room.third_party_invite", token))
    if invite_event is None:
        raise AuthError(f"no m.room.third_party_invite event with token {token!r}")

    # .4.1.6
    if event.sender != invite_event.sender:
        raise AuthError(
            f"{event.sender} did not send the third-party invite (sent by "
            f"{invite_event.sender})"
        )

    # .4.1.7 and .4.1.8
    if not _third_party_signature_matches(signed, invite_event):
        raise AuthError("no signature in third_party_invite.signed is valid")


def _third_party_signature_matches(signed: dict[str, Any], invite_event: Event) -> bool:
    """Return whether any ed25519 signature in `signed` verifies with a public key
    from the `m.room.third_party_invite` event (`public_key` or `public_keys`)."""
    public_keys: list[str] = []
    content = invite_event.content
    if isinstance(content.get("public_key"), str):
        public_keys.append(content["public_key"])
    for entry in content.get("public_keys") or []:
        if isinstance(entry, dict) and isinstance(entry.get("public_key"), str):
            public_keys.append(entry["public_key"])

    signatures = signed.get("signatures")
    if not isinstance(signatures, dict):
        return False
    message = encode_canonical_json(
        {k: v for k, v in signed.items() if k not in ("signatures", "unsigned")}
    )

    for server_signatures in signatures.values():
        if not isinstance(server_signatures, dict):
            continue
        for key_id, signature in server_signatures.items():
            if not key_id.startswith("ed25519:") or not isinstance(signature, str):
                continue
            for public_key in public_keys:
                if _verify_ed25519(public_key, message, signature):
                    return True
    return False


def _verify_ed25519(public_key: str, message: bytes, signature: str) -> bool:
    try:
        verify_key = VerifyKey(decode_base64(public_key))
        verify_key.verify(message, decode_base64(signature))
    except (BadSignatureError, ValueError):
        return False
    return True


def _check_leave(
    room_version: RoomVersion, event: Event, auth_events: StateMap
) -> None:
    target = event.state_key
    assert target is not None
    target_membership = get_membership(target, auth_events)

    # .5.1: leaving, or rejecting an invite or knock.
    if event.sender == target:
        allowed = {"invite", "join"}
        if room_version.knock_join_rule:
            allowed.add("knock")
        if target_membership in allowed:
            return
        raise AuthError(f"{target} cannot leave with membership {target_membership}")

    # .5.2
    if get_membership(event.sender, auth_events) != "join":
        raise AuthError(f"{event.sender} is not joined to the room")

    # .5.3: unbanning needs the ban level.
    sender_level = get_user_power_level(event.sender, auth_events, room_version)
    power_levels_event = auth_events.get(POWER_LEVELS_KEY)
    if target_membership == "ban":
        ban_level = get_named_level("ban", power_levels_event, room_version)
        if sender_level < ban_level:
            raise AuthError(f"{event.sender} is below the ban level to unban {target}")

    # .5.4 and .5.5
    kick_level = get_named_level("kick", power_levels_event, room_version)
    target_level = get_user_power_level(target, auth_events, room_version)
    if sender_level >= kick_level and target_level < sender_level:
        return
    raise AuthError(
        f"{event.sender} (level {sender_level}) cannot kick {target} "
        f"(level {target_level}, kick level {kick_level})"
    )


def _check_ban(room_version: RoomVersion, event: Event, auth_events: StateMap) -> None:
    target = event.state_key
    assert target is not None

    # .6.1
    if get_membership(event.sender, auth_events) != "join":
        raise AuthError(f"{event.sender} is not joined to the room")

    # .6.2 and .6.3
    sender_level = get_user_power_level(event.sender, auth_events, room_version)
    target_level = get_user_power_level(target, auth_events, room_version)
    ban_level = get_named_level("ban", auth_events.get(POWER_LEVELS_KEY), room_version)
    if sender_level >= ban_level and target_level < sender_level:
        return
    raise AuthError(
        f"{event.sender} (level {sender_level}) cannot ban {target} "
        f"(level {target_level}, ban level {ban_level})"
    )


def _check_knock(
    room_version: RoomVersion, event: Event, auth_events: StateMap
) -> None:
    # .7.1
    join_rule = get_join_rule(auth_events)
    knock_rules = {"knock"}
    if room_version.knock_restricted_join_rule:
        knock_rules.add("knock_restricted")
    if join_rule not in knock_rules:
        raise AuthError(f"join rule {join_rule!r} does not allow knocking")

    # .7.2
    if event.sender != event.state_key:
        raise AuthError(f"{event.sender} cannot knock on behalf of {event.state_key}")

    # .7.3 and .7.4
    current = get_membership(event.sender, auth_events)
    if current in ("ban", "invite", "join"):
        raise AuthError(f"{event.sender} cannot knock with membership {current}")


def _require_level(
    room_version: RoomVersion,
    user_id: str,
    level_name: str,
    auth_events: StateMap,
    *,
    action: str,
) -> None:
    required = get_named_level(
        level_name, auth_events.get(POWER_LEVELS_KEY), room_version
    )
    level = get_user_power_level(user_id, auth_events, room_version)
    if level < required:
        raise AuthError(
            f"{user_id} has power level {level}, below the {level_name} level "
            f"{required} needed to {action}"
        )

