"""Auth rules for `m.room.member` events (v10/v11 rule 4, v12 rule 5)."""

import pytest
from signedjson.key import generate_signing_key
from signedjson.sign import sign_json
from unpaddedbase64 import encode_base64

from homeserver.events.auth import AuthError
from homeserver.events.room_versions import KNOWN_ROOM_VERSIONS

from tests.events.room_builder import ALICE, BOB, CAROL, DAVE, Room

V10 = KNOWN_ROOM_VERSIONS["10"]
V11 = KNOWN_ROOM_VERSIONS["11"]
V12 = KNOWN_ROOM_VERSIONS["12"]
ALL_VERSIONS = pytest.mark.parametrize(
    "room_version", [V10, V11, V12], ids=lambda version: version.identifier
)


def make_room(room_version, join_rule="invite", users=None, **levels) -> Room:
    """Return a room with Alice as creator (level 100 or infinite) and given rules."""
    room = Room(room_version)
    user_levels = dict(users or {})
    if not room_version.privileged_creators:
        user_levels.setdefault(ALICE, 100)
    room.force("m.room.power_levels", "", {"users": user_levels, **levels})
    room.force("m.room.join_rules", "", {"join_rule": join_rule})
    return room


# Join


@ALL_VERSIONS
def test_creator_first_join_allowed(room_version) -> None:
    room = Room(room_version, bare=True)
    room.check(room.member(ALICE, "join"))


@ALL_VERSIONS
def test_non_creator_first_join_rejected(room_version) -> None:
    room = Room(room_version, bare=True)
    with pytest.raises(AuthError):
        room.check(room.member(BOB, "join"))


@ALL_VERSIONS
def test_join_for_other_user_rejected(room_version) -> None:
    room = make_room(room_version, "public")
    with pytest.raises(AuthError, match="on behalf"):
        room.check(room.member(BOB, "join", sender=CAROL))


@ALL_VERSIONS
def test_banned_user_join_rejected(room_version) -> None:
    room = make_room(room_version, "public")
    room.set_membership(BOB, "ban")
    with pytest.raises(AuthError, match="banned"):
        room.check(room.member(BOB, "join"))


@ALL_VERSIONS
def test_public_join_allowed(room_version) -> None:
    room = make_room(room_version, "public")
    room.check(room.member(BOB, "join"))


@ALL_VERSIONS
@pytest.mark.parametrize("join_rule", ["invite", "knock"])
def test_invite_only_join_uninvited_rejected(room_version, join_rule) -> None:
    room = make_room(room_version, join_rule)
    with pytest.raises(AuthError, match="not invited"):
        room.check(room.member(BOB, "join"))


@ALL_VERSIONS
@pytest.mark.parametrize("join_rule", ["invite", "knock"])
@pytest.mark.parametrize("membership", ["invite", "join"])
def test_invite_only_join_invited_allowed(room_version, join_rule, membership) -> None:
    room = make_room(room_version, join_rule)
    room.set_membership(BOB, membership)
    room.check(room.member(BOB, "join"))


@ALL_VERSIONS
def test_join_without_join_rules_rejected(room_version) -> None:
    room = Room(room_version)
    with pytest.raises(AuthError, match="not invited"):
        room.check(room.member(BOB, "join"))


@ALL_VERSIONS
@pytest.mark.parametrize("join_rule", ["private", "unknown_rule"])
def test_unusable_join_rule_rejected(room_version, join_rule) -> None:
    room = make_room(room_version, join_rule)
    with pytest.raises(AuthError, match="does not allow"):
        room.check(room.member(BOB, "join"))


def authorised_join(room: Room, authoriser: str):
    event = room.event(
        "m.room.member",
        BOB,
        {"membership": "join", "join_authorised_via_users_server": authoriser},
        BOB,
    )
    server_name = authoriser.split(":", 1)[1]
    event.pdu["signatures"] = {server_name: {"ed25519:k": "sig"}}
    return event


@ALL_VERSIONS
@pytest.mark.parametrize("join_rule", ["restricted", "knock_restricted"])
def test_restricted_join_authorised_allowed(room_version, join_rule) -> None:
    room = make_room(room_version, join_rule)
    room.set_membership(DAVE, "join")
    room.check(authorised_join(room, DAVE))


@ALL_VERSIONS
@pytest.mark.parametrize("join_rule", ["restricted", "knock_restricted"])
def test_restricted_join_invited_allowed(room_version, join_rule) -> None:
    room = make_room(room_version, join_rule)
    room.set_membership(BOB, "invite")
    room.check(room.member(BOB, "join"))


@ALL_VERSIONS
def test_restricted_join_without_authoriser_rejected(room_version) -> None:
    room = make_room(room_version, "restricted")
    with pytest.raises(AuthError, match="join_authorised_via_users_server"):
        room.check(room.member(BOB, "join"))


@ALL_VERSIONS
def test_restricted_join_authoriser_not_joined_rejected(room_version) -> None:
    room = make_room(room_version, "restricted")
    with pytest.raises(AuthError, match="not joined"):
        room.check(authorised_join(room, DAVE))


@ALL_VERSIONS
def test_restricted_join_authoriser_cannot_invite(room_version) -> None:
    room = make_room(room_version, "restricted", invite=50)
    room.set_membership(DAVE, "join")
    with pytest.raises(AuthError, match="cannot invite"):
        room.check(authorised_join(room, DAVE))


@ALL_VERSIONS
def test_authorised_join_unsigned_by_authoriser_rejected(room_version) -> None:
    room = make_room(room_version, "restricted")
    room.set_membership(CAROL, "join")
    event = authorised_join(room, CAROL)
    event.pdu["signatures"] = {"b.example": {"ed25519:k": "sig"}}
    with pytest.raises(AuthError, match="not signed by c.example"):
        room.check(event)


# Invite


@ALL_VERSIONS
def test_invite_by_member_allowed(room_version) -> None:
    room = make_room(room_version)
    room.check(room.member(BOB, "invite", sender=ALICE))


@ALL_VERSIONS
def test_invite_by_non_member_rejected(room_version) -> None:
    room = make_room(room_version)
    with pytest.raises(AuthError, match="not joined"):
        room.check(room.member(BOB, "invite", sender=CAROL))


@ALL_VERSIONS
@pytest.mark.parametrize("membership", ["join", "ban"])
def test_invite_of_joined_or_banned_rejected(room_version, membership) -> None:
    room = make_room(room_version)
    room.set_membership(BOB, membership)
    with pytest.raises(AuthError, match="cannot invite"):
        room.check(room.member(BOB, "invite", sender=ALICE))


@ALL_VERSIONS
def test_invite_below_invite_level_rejected(room_version) -> None:
    room = make_room(room_version, invite=50)
    room.set_membership(CAROL, "join")
    with pytest.raises(AuthError, match="invite level"):
        room.check(room.member(BOB, "invite", sender=CAROL))


class ThirdPartyInvite:
    """An `m.room.third_party_invite` event and a matching signed block."""

    def __init__(self, room: Room, *, use_public_keys_list: bool = False) -> None:
        self.key = generate_signing_key("0")
        public_key = encode_base64(self.key.verify_key.encode())
        content = {"display_name": "b...", "key_validity_url": "https://id.example"}
        if use_public_keys_list:
            content["public_keys"] = [{"public_key": public_key}]
        else:
            content["public_key"] = public_key
        room.force("m.room.third_party_invite", "tok", content)

    def signed(self, mxid: str = BOB, token: str = "tok") -> dict:
        return sign_json({"mxid": mxid, "token": token}, "id.example", self.key)


def third_party_member(room: Room, third_party_invite: dict, sender: str = ALICE):
    content = {"membership": "invite", "third_party_invite": third_party_invite}
    return room.event("m.room.member", sender, content, BOB)


@ALL_VERSIONS
@pytest.mark.parametrize("use_public_keys_list", [False, True])
def test_third_party_invite_allowed(room_version, use_public_keys_list) -> None:
    room = make_room(room_version)
    invite = ThirdPartyInvite(room, use_public_keys_list=use_public_keys_list)
    room.check(third_party_member(room, {"signed": invite.signed()}))


@ALL_VERSIONS
def test_third_party_invite_bad_signature_rejected(room_version) -> None:
    room = make_room(room_version)
    ThirdPartyInvite(room)
    forged = ThirdPartyInvite.__new__(ThirdPartyInvite)
    forged.key = generate_signing_key("0")
    with pytest.raises(AuthError, match="signature"):
        room.check(third_party_member(room, {"signed": forged.signed()}))


@ALL_VERSIONS
def test_third_party_invite_tampered_signed_rejected(room_version) -> None:
    room = make_room(room_version)
    invite = ThirdPartyInvite(room)
    signed = invite.signed()
    signed["extra"] = "changed after signing"
    with pytest.raises(AuthError, match="signature"):
        room.check(third_party_member(room, {"signed": signed}))


@ALL_VERSIONS
def test_third_party_invite_without_signed_rejected(room_version) -> None:
    room = make_room(room_version)
    ThirdPartyInvite(room)
    with pytest.raises(AuthError, match="no signed"):
        room.check(third_party_member(room, {"display_name": "b"}))


@ALL_VERSIONS
def test_third_party_invite_without_token_rejected(room_version) -> None:
    room = make_room(room_version)
    invite = ThirdPartyInvite(room)
    signed = invite.signed()
    del signed["token"]
    with pytest.raises(AuthError, match="mxid or token"):
        room.check(third_party_member(room, {"signed": signed}))


@ALL_VERSIONS
def test_third_party_invite_wrong_mxid_rejected(room_version) -> None:
    room = make_room(room_version)
    invite = ThirdPartyInvite(room)
    with pytest.raises(AuthError, match="not @bob"):
        room.check(third_party_member(room, {"signed": invite.signed(mxid=CAROL)}))


@ALL_VERSIONS
def test_third_party_invite_unknown_token_rejected(room_version) -> None:
    room = make_room(room_version)
    invite = ThirdPartyInvite(room)
    with pytest.raises(AuthError, match="token"):
        room.check(third_party_member(room, {"signed": invite.signed(token="other")}))


@ALL_VERSIONS
def test_third_party_invite_other_sender_rejected(room_version) -> None:
    room = make_room(room_version)
    room.set_membership(DAVE, "join")
    invite = ThirdPartyInvite(room)
    event = third_party_member(room, {"signed": invite.signed()}, sender=DAVE)
    with pytest.raises(AuthError, match="did not send"):
        room.check(event)


@ALL_VERSIONS
def test_third_party_invite_banned_target_rejected(room_version) -> None:
    room = make_room(room_version)
    invite = ThirdPartyInvite(room)
    room.set_membership(BOB, "ban")
    with pytest.raises(AuthError, match="banned"):
        room.check(third_party_member(room, {"signed": invite.signed()}))


# Leave


@ALL_VERSIONS
@pytest.mark.parametrize("membership", ["join", "invite", "knock"])
def test_self_leave_allowed(room_version, membership) -> None:
    room = make_room(room_version)
    room.set_membership(BOB, membership)
    room.check(room.member(BOB, "leave"))


@ALL_VERSIONS
@pytest.mark.parametrize("membership", ["leave", "ban"])
def test_self_leave_without_membership_rejected(room_version, membership) -> None:
    room = make_room(room_version)
    room.set_membership(BOB, membership)
    with pytest.raises(AuthError, match="cannot leave"):
        room.check(room.member(BOB, "leave"))


@ALL_VERSIONS
def test_kick_by_higher_level_allowed(room_version) -> None:
    room = make_room(room_version)
    room.set_membership(BOB, "join")
    room.check(room.member(BOB, "leave", sender=ALICE))


@ALL_VERSIONS
def test_kick_by_non_member_rejected(room_version) -> None:
    room = make_room(room_version, users={CAROL: 100})
    room.set_membership(BOB, "join")
    with pytest.raises(AuthError, match="not joined"):
        room.check(room.member(BOB, "leave", sender=CAROL))


@ALL_VERSIONS
def test_kick_below_kick_level_rejected(room_version) -> None:
    room = make_room(room_version, users={CAROL: 49})
    room.set_membership(CAROL, "join")
    room.set_membership(BOB, "join")
    with pytest.raises(AuthError, match="cannot kick"):
        room.check(room.member(BOB, "leave", sender=CAROL))


@ALL_VERSIONS
def test_kick_of_equal_level_rejected(room_version) -> None:
    room = make_room(room_version, users={CAROL: 50, BOB: 50})
    room.set_membership(CAROL, "join")
    room.set_membership(BOB, "join")
    with pytest.raises(AuthError, match="cannot kick"):
        room.check(room.member(BOB, "leave", sender=CAROL))


@ALL_VERSIONS
def test_unban_needs_ban_level(room_version) -> None:
    room = make_room(room_version, users={CAROL: 60}, ban=70, kick=50)
    room.set_membership(CAROL, "join")
    room.set_membership(BOB, "ban")
    with pytest.raises(AuthError, match="ban level"):
        room.check(room.member(BOB, "leave", sender=CAROL))


@ALL_VERSIONS
def test_unban_with_ban_and_kick_level_allowed(room_version) -> None:
    room = make_room(room_version, users={CAROL: 70}, ban=70, kick=50)
    room.set_membership(CAROL, "join")
    room.set_membership(BOB, "ban")
    room.check(room.member(BOB, "leave", sender=CAROL))


# Ban


@ALL_VERSIONS
def test_ban_by_higher_level_allowed(room_version) -> None:
    room = make_room(room_version)
    room.check(room.member(BOB, "ban", sender=ALICE))


@ALL_VERSIONS
def test_ban_by_non_member_rejected(room_version) -> None:
    room = make_room(room_version, users={CAROL: 100})
    with pytest.raises(AuthError, match="not joined"):
        room.check(room.member(BOB, "ban", sender=CAROL))


@ALL_VERSIONS
def test_ban_below_ban_level_rejected(room_version) -> None:
    room = make_room(room_version, users={CAROL: 40})
    room.set_membership(CAROL, "join")
    with pytest.raises(AuthError, match="cannot ban"):
        room.check(room.member(BOB, "ban", sender=CAROL))


@ALL_VERSIONS
def test_ban_of_higher_level_rejected(room_version) -> None:
    room = make_room(room_version, users={CAROL: 60, BOB: 70})
    room.set_membership(CAROL, "join")
    with pytest.raises(AuthError, match="cannot ban"):
        room.check(room.member(BOB, "ban", sender=CAROL))


# Knock


@ALL_VERSIONS
@pytest.mark.parametrize("join_rule", ["knock", "knock_restricted"])
def test_knock_allowed(room_version, join_rule) -> None:
    room = make_room(room_version, join_rule)
    room.check(room.member(BOB, "knock"))


@ALL_VERSIONS
@pytest.mark.parametrize("join_rule", ["public", "invite", "restricted"])
def test_knock_with_other_join_rule_rejected(room_version, join_rule) -> None:
    room = make_room(room_version, join_rule)
    with pytest.raises(AuthError, match="knocking"):
        room.check(room.member(BOB, "knock"))


@ALL_VERSIONS
def test_knock_for_other_user_rejected(room_version) -> None:
    room = make_room(room_version, "knock")
    with pytest.raises(AuthError, match="on behalf"):
        room.check(room.member(BOB, "knock", sender=ALICE))


@ALL_VERSIONS
@pytest.mark.parametrize("membership", ["ban", "invite", "join"])
def test_knock_with_membership_rejected(room_version, membership) -> None:
    room = make_room(room_version, "knock")
    room.set_membership(BOB, membership)
    with pytest.raises(AuthError, match="cannot knock"):
        room.check(room.member(BOB, "knock"))


# Malformed


@ALL_VERSIONS
def test_unknown_membership_rejected(room_version) -> None:
    room = make_room(room_version, "public")
    with pytest.raises(AuthError, match="unknown membership"):
        room.check(room.member(BOB, "dance"))


@ALL_VERSIONS
def test_member_without_membership_rejected(room_version) -> None:
    room = make_room(room_version, "public")
    event = room.event("m.room.member", BOB, {"displayname": "B"}, BOB)
    with pytest.raises(AuthError, match="membership"):
        room.check(event)


# Room version 12 creators


def test_v12_creator_bans_user_with_max_integer_level() -> None:
    room = make_room(V12, users={BOB: 2**53 - 1})
    room.set_membership(BOB, "join")
    room.check(room.member(BOB, "ban", sender=ALICE))


def test_v12_additional_creator_cannot_be_kicked() -> None:
    room = Room(V12, create_content={"additional_creators": [BOB]})
    room.force("m.room.power_levels", "", {"users": {CAROL: 2**53 - 1}})
    room.set_membership(BOB, "join")
    room.set_membership(CAROL, "join")
    with pytest.raises(AuthError, match="cannot kick"):
        room.check(room.member(BOB, "leave", sender=CAROL))


def test_v12_additional_creator_can_kick() -> None:
    room = Room(V12, create_content={"additional_creators": [BOB]})
    room.force("m.room.power_levels", "", {"users": {CAROL: 100}})
    room.set_membership(BOB, "join")
    room.set_membership(CAROL, "join")
    room.check(room.member(CAROL, "leave", sender=BOB))


@pytest.mark.parametrize("room_version", [V10, V11], ids=["10", "11"])
def test_pre_v12_creator_limited_by_power_levels(room_version) -> None:
    room = make_room(room_version, users={ALICE: 50, BOB: 60})
    room.set_membership(BOB, "join")
    with pytest.raises(AuthError, match="cannot kick"):
        room.check(room.member(BOB, "leave", sender=ALICE))
