"""The app must say once, clearly, when it cannot write where it has to, not crash-loop.

A tmpfs or volume that a container engine mounts is often owned by root while the app runs
as an unprivileged user; these tests recreate that with directory modes. Root may write
anywhere, so as root the server runs without CAP_DAC_OVERRIDE and obeys modes as the
image's user does.
"""

import os
import subprocess
import sys
from http import HTTPStatus

import pytest

from minitwit_project import runtime_dirs

from .conftest import PUBLIC_200, ROOT, Gunicorn, free_port, get

OBEYING_FILE_MODES = (
    ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--") if os.geteuid() == 0 else ()
)
GUNICORN = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]


def test_unwritable_reports_each_directory_it_cannot_write(tmp_path):
    writable = tmp_path / "fine" / "created"
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")

    failed = runtime_dirs.unwritable({"ok": str(writable), "bad": str(not_a_directory / "metrics")})

    assert writable.is_dir()
    assert list(failed) == ["bad"]
    assert failed["bad"][0] == str(not_a_directory / "metrics")


def test_the_message_names_the_directory_the_user_and_the_fix(tmp_path):
    error = PermissionError(13, "Permission denied")
    message = runtime_dirs.describe("metric files", str(tmp_path / "missing"), error)

    assert f"cannot write to {tmp_path / 'missing'} (metric files)" in message
    assert f"as uid {os.geteuid()}" in message
    assert f"it does not exist and {tmp_path} is owned by uid {os.geteuid()}" in message
    assert "Fix:" in message and "1777" in message


@pytest.mark.slow
@pytest.mark.parametrize("variable", ["PROMETHEUS_MULTIPROC_DIR", "TMPDIR"])
def test_gunicorn_exits_once_with_the_reason_when_a_directory_is_not_writable(tmp_path, variable):
    locked = tmp_path / "root-owned"
    locked.mkdir(mode=0o555)
    target = locked / "metrics" if variable == "PROMETHEUS_MULTIPROC_DIR" else locked
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PROMETHEUS_MULTIPROC_DIR", "TMPDIR", "DATABASE_URL"}
    }
    env.update(
        {
            variable: str(target),
            "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
            "MINITWIT_DATA_DIR": str(tmp_path / "data"),
            "WEB_CONCURRENCY": "2",
        }
    )

    finished = subprocess.run(
        [*OBEYING_FILE_MODES, *GUNICORN, "minitwit_project.wsgi:application"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = finished.stdout + finished.stderr

    assert finished.returncode == 78, output
    assert f"MiniTwit cannot write to {target}" in output
    assert variable in output
    assert "Traceback" not in output
    # Stopped in the master: no worker was ever started to crash.
    assert "Booting worker" not in output


@pytest.mark.slow
def test_gunicorn_serves_from_a_directory_of_another_owner_that_is_open_to_all(tmp_path):
    # A root-owned tmpfs keeps the mode of the directory it covers: 1777, like /tmp.
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    os.chown(shared, 65534, 65534) if os.geteuid() == 0 else None

    with Gunicorn(tmp_path, command_prefix=OBEYING_FILE_MODES, TMPDIR=str(shared)) as server:
        assert get(f"{server.url}/public")[0] == HTTPStatus.OK
        assert server.metric("minitwit_http_request_duration_seconds_count", PUBLIC_200) == 1
