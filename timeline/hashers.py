"""Password hashers.

Argon2id with OWASP's minimum recommended parameters (19 MiB memory, 2 iterations,
parallelism 1). Django's default PBKDF2 (1,000,000+ iterations) costs several hundred
milliseconds here, which breaks the simulator's 300 ms timeout on /register; Argon2id at
these parameters costs a few tens of milliseconds (benchmarks/password_hash.py measures it).
"""

import hashlib
import hmac

from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher, mask_hash

from .parsing import parse_int

MAX_WERKZEUG_ITERATIONS = 10_000_000


class MiniTwitArgon2Hasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1


class WerkzeugPBKDF2Hasher(BasePasswordHasher):
    """Verifies hashes imported from the original MiniTwit (Werkzeug's generate_password_hash).

    Stored as ``werkzeug$pbkdf2:sha256:<iterations>$<salt>$<hexdigest>``: the Werkzeug string
    behind our own prefix, so Django can tell which hasher owns it. It is never used to
    create a hash: Django re-hashes with the preferred hasher on the next successful login.
    """

    algorithm = "werkzeug"

    @staticmethod
    def from_werkzeug(werkzeug_hash: str) -> str:
        return f"werkzeug${werkzeug_hash}"

    def _split(self, encoded: str):
        algorithm, method, salt, digest = encoded.split("$", 3)
        assert algorithm == self.algorithm
        kind, hash_name, iterations = method.split(":")
        if kind != "pbkdf2":
            raise ValueError(f"unsupported Werkzeug method {method!r}")
        # A legacy row could ask for any number of rounds; beyond this, one sign-in would
        # hold a worker for minutes. Werkzeug's own default is 1,000,000 (3.1).
        rounds = parse_int(iterations, minimum=1, maximum=MAX_WERKZEUG_ITERATIONS)
        if rounds is None:
            raise ValueError(f"unsupported Werkzeug iteration count {iterations!r}")
        return hash_name, rounds, salt, digest

    def encode(self, password, salt):
        raise NotImplementedError("Werkzeug hashes are only verified, never created.")

    def salt(self):
        raise NotImplementedError("Werkzeug hashes are only verified, never created.")

    def verify(self, password, encoded):
        try:
            hash_name, iterations, salt, digest = self._split(encoded)
        except (ValueError, AssertionError):
            return False
        computed = hashlib.pbkdf2_hmac(hash_name, password.encode(), salt.encode(), iterations)
        return hmac.compare_digest(computed.hex(), digest)

    def decode(self, encoded):
        hash_name, iterations, salt, digest = self._split(encoded)
        return {
            "algorithm": self.algorithm,
            "hash": digest,
            "iterations": iterations,
            "salt": salt,
        }

    def safe_summary(self, encoded):
        decoded = self.decode(encoded)
        return {
            "algorithm": self.algorithm,
            "iterations": decoded["iterations"],
            "salt": mask_hash(decoded["salt"], show=2),
            "hash": mask_hash(decoded["hash"]),
        }

    def must_update(self, encoded):
        return True

    def harden_runtime(self, password, encoded):
        pass
