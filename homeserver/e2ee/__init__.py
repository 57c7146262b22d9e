"""End-to-end encryption support: keys, signatures, to-device messages and backups.

`E2EE` (in `service`) is the component registered as `services.components["e2ee"]`.
"""

from homeserver.e2ee.room_encryption import check_state_event
from homeserver.e2ee.service import E2EE

__all__ = ["E2EE", "check_state_event"]
