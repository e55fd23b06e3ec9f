"""SCRAM-SHA-256 verifiers as PostgreSQL stores them (RFC 5802/7677), so that the role can
check a password without sending it anywhere and set it as a verifier, never as plain text."""

import base64
import hashlib
import hmac
import os

ITERATIONS = 4096


def _keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest(), server_key


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def scram_sha256_verifier(password, iterations=ITERATIONS):
    """A new verifier with a random salt: SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>."""
    salt = os.urandom(16)
    stored_key, server_key = _keys(password, salt, iterations)
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def scram_sha256_matches(verifier, password):
    """Whether a stored verifier was made from this password (False for anything else)."""
    try:
        method, iterations_salt, keys = verifier.split("$")
        iterations, salt = iterations_salt.split(":")
        stored_key, server_key = keys.split(":")
        if method != "SCRAM-SHA-256":
            return False
        expected = _keys(password, base64.b64decode(salt), int(iterations))
    except (AttributeError, ValueError):
        return False
    return hmac.compare_digest(_b64(expected[0]), stored_key) and hmac.compare_digest(
        _b64(expected[1]), server_key
    )


class FilterModule:
    def filters(self):
        return {
            "scram_sha256_verifier": scram_sha256_verifier,
            "scram_sha256_matches": scram_sha256_matches,
        }
