"""Project-wide pytest setup: where tests get their settings and shared fixtures."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 at production parameters costs ~30 ms per hash; the tests hash hundreds of
    # passwords. Tests that are about hashing itself override this back.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
