"""In production, the course's public simulator password or an allowlist open to every
address makes each process log one clear WARNING at start; it still starts, because the
course simulator sends exactly those credentials."""

import json

import pytest

from minitwit_project.tests.conftest import load_settings

PRODUCTION = {"MINITWIT_ENV": "production", "SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "x"}
PRIVATE = {"SIMULATOR_PASSWORD": "a-private-one", "SIMULATOR_ALLOWED_IPS": "192.0.2.0/24"}


def _warnings(env, tmp_path) -> list[dict]:
    result = load_settings(env, expr="'started'", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("started")
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return [line for line in lines if line["level"] == "WARNING" and line["logger"] == "simapi"]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({}, ["course's public default", "allows every address"]),
        ({"SIMULATOR_ALLOWED_IPS": "192.0.2.0/24"}, ["course's public default"]),
        ({"SIMULATOR_PASSWORD": "a-private-one"}, ["allows every address"]),
    ],
)
def test_production_warns_once_about_an_open_simulator_api(tmp_path, overrides, named):
    # Anything not overridden is the course's default.
    [warning] = _warnings({**PRODUCTION, **overrides}, tmp_path)
    for text in named:
        assert text in warning["message"]
    assert "SIMULATOR_PASSWORD" in warning["message"]


def test_production_with_private_credentials_and_allowlist_is_quiet(tmp_path):
    assert _warnings({**PRODUCTION, **PRIVATE}, tmp_path) == []


def test_development_is_quiet_with_the_course_defaults(tmp_path):
    assert _warnings({"MINITWIT_ENV": "development"}, tmp_path) == []
