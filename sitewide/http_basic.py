"""HTTP Basic credentials (RFC 7617), for the two places that take them: the simulator API
(simapi/authentication.py) and /metrics (sitewide/metrics.py).

Neither Django nor DRF has a parser to reuse: DRF's BasicAuthentication checks Django
users and raises on a malformed header, where both callers here compare against one
configured account and treat a malformed header as no credentials.
"""

import base64
import binascii
import hmac


def basic_credentials(authorization: bytes | str) -> tuple[bytes, bytes] | None:
    """(username, password) as bytes from an Authorization header's value, or None when it
    is absent, not Basic, not valid base64 or without the colon."""
    if isinstance(authorization, str):
        authorization = authorization.encode("latin-1", errors="replace")
    scheme, _, encoded = authorization.partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    username, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return username, password


def credentials_match(given: tuple[bytes, bytes] | None, username: str, password: str) -> bool:
    """Whether `given` (from basic_credentials) is this account; False for None.

    Both halves are always compared (no short-circuit `and`), each in constant time, so
    the response time says nothing about which half or how much of it was right.
    """
    if given is None:
        return False
    user_ok = hmac.compare_digest(given[0], username.encode())
    password_ok = hmac.compare_digest(given[1], password.encode())
    return user_ok & password_ok
