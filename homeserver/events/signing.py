"""Signing PDUs and verifying their signatures.

Spec: Server-Server API, "Signing Events": a server signs the redacted form of the
event (after the content hash is set), so the signature stays valid when the event
is later redacted. Appendices, "Signing JSON" describes the signature itself.
"""

from __future__ import annotations

import logging
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from signedjson.sign import sign_json
from unpaddedbase64 import decode_base64

from homeserver.events.canonical import encode_canonical_json
from homeserver.identifiers import get_domain_from_id, is_valid_user_id
from homeserver.events.redaction import prune_event_dict
from homeserver.events.room_versions import RoomVersion

logger = logging.getLogger(__name__)


def sign_event(
    event: dict[str, Any],
    server_name: str,
    signing_key: SigningKey,
    room_version: RoomVersion,
) -> None:
    """Add this server's ed25519 signature to `event["signatures"]`.

    `signing_key` is a signedjson signing key: a PyNaCl `SigningKey` with `alg` and
    `version` attributes, as returned by `signedjson.key.decode_signing_key_base64`.
    The content hash must already be set, because the signature covers `hashes`.
    Signatures already on the event are kept.
    """
    redacted = prune_event_dict(room_version, event)
    redacted.pop("signatures", None)
    signed = sign_json(redacted, server_name, signing_key)

    key_id = f"{signing_key.alg}:{signing_key.version}"
    signature = signed["signatures"][server_name][key_id]

    signatures = event.setdefault("signatures", {})
    signatures.setdefault(server_name, {})[key_id] = signature


def verify_event_signature(
    event: dict[str, Any],
    server_name: str,
    verify_key: VerifyKey,
    key_id: str,
    room_version: RoomVersion,
) -> bool:
    """Return whether `server_name` signed the event's redacted form with this key.

    Only ed25519 keys are supported. A missing signature counts as invalid. Key
    validity periods are the caller's concern, because they need the key's
    `valid_until_ts`.
    """
    signatures = event.get("signatures")
    if not isinstance(signatures, dict):
        return False
    server_signatures = signatures.get(server_name)
    if not isinstance(server_signatures, dict):
        return False
    signature = server_signatures.get(key_id)
    if not isinstance(signature, str):
        return False

    if not key_id.startswith("ed25519:"):
        return False
    try:
        signature_bytes = decode_base64(signature)
    except ValueError:
        return False

    # Signing JSON covers the object without `signatures` and `unsigned`. The
    # redacted form has neither, so only `signatures` needs removing.
    redacted = prune_event_dict(room_version, event)
    redacted.pop("signatures", None)
    try:
        verify_key.verify(encode_canonical_json(redacted), signature_bytes)
    except (BadSignatureError, ValueError) as exc:
        logger.debug("Signature %s of %s is invalid: %s", key_id, server_name, exc)
        return False
    return True


def servers_required_to_sign(
    event: dict[str, Any], room_version: RoomVersion
) -> set[str]:
    """Return the servers whose valid signatures the event must carry.

    Spec: Server-Server API, "Validating hashes and signatures on received events":
    the sender's server. Since v8, a member event with
    `join_authorised_via_users_server` must also be signed by that user's server
    (the member auth rule, sub-rule 2).
    """
    servers = {get_domain_from_id(event["sender"])}
    content = event.get("content")
    if (
        room_version.restricted_join_rule
        and event.get("type") == "m.room.member"
        and isinstance(content, dict)
    ):
        authoriser = content.get("join_authorised_via_users_server")
        if is_valid_user_id(authoriser):
            servers.add(get_domain_from_id(authoriser))
    return servers
