"""How long one password hash costs with our hasher (and, for contrast, Django's default).

Usage: .venv/bin/python benchmarks/password_hash.py [rounds]
"""

import os
import statistics
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minitwit_project.settings")
django.setup()

from django.contrib.auth.hashers import PBKDF2PasswordHasher  # noqa: E402

from timeline.hashers import MiniTwitArgon2Hasher  # noqa: E402


def measure(hasher, rounds: int) -> list[float]:
    timings = []
    for i in range(rounds):
        start = time.perf_counter()
        hasher.encode(f"password-{i}", hasher.salt())
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    results = {}
    for name, hasher in [
        ("argon2id m=19MiB t=2 p=1 (ours)", MiniTwitArgon2Hasher()),
        (
            f"pbkdf2-sha256 {PBKDF2PasswordHasher.iterations} (Django default)",
            PBKDF2PasswordHasher(),
        ),
    ]:
        timings = measure(hasher, rounds)
        results[name] = statistics.median(timings)
        print(f"{name:45s} median {results[name]:7.1f} ms   max {max(timings):7.1f} ms")
    ours, default = results.values()
    print(f"ratio default/ours: {default / ours:.1f}x")


if __name__ == "__main__":
    main()
