"""Accounts: registration, passwords, login, devices, profiles and admin registration.

`Accounts` in `component.py` wires the parts together; the Client-Server routes are in
`clientapi.accounts` and the modules it installs.
"""

from homeserver.accounts.component import Accounts

__all__ = ["Accounts"]
