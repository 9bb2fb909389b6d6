"""Identifier generation for SIP: Via branches, tags and Call-IDs (RFC 3261 8.1.1, 19.3).

Every value comes from :mod:`secrets`, so it is globally unique with overwhelming
probability and cannot be guessed by the peer (RFC 3261 19.3 asks for at least 32 bits
of randomness in a tag; the branch must be unique across space and time, 8.1.1.7).
"""

from __future__ import annotations

import secrets

#: RFC 3261 8.1.1.7: every branch of an RFC 3261 element starts with this magic cookie.
MAGIC_COOKIE = "z9hG4bK"


def new_branch() -> str:
    """A fresh Via ``branch`` value with the RFC 3261 magic cookie."""
    return MAGIC_COOKIE + secrets.token_hex(10)


def new_tag() -> str:
    """A fresh From/To ``tag`` (RFC 3261 19.3: at least 32 random bits; here 64)."""
    return secrets.token_hex(8)


def new_call_id(host: str | None = None) -> str:
    """A fresh Call-ID (RFC 3261 8.1.1.4), ``random@host`` when a host is given."""
    local = secrets.token_hex(12)
    return f"{local}@{host}" if host else local


__all__ = ["MAGIC_COOKIE", "new_branch", "new_call_id", "new_tag"]
