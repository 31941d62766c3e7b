"""deploy/deploy.sh and deploy/rollback.sh: the order of a deploy, and when it stops.

No Docker engine runs here, so `docker` is fake_docker.py (see its docstring for what it
assumes about Swarm). The scripts run from a copy of stack.yml and deploy/ in a temporary
directory, with stand-ins for the observability configs when those are not in the tree.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "registry.example.org/team/minitwit"
SECRETS = [
    "minitwit_secret_key",
    "minitwit_db_password",
    "minitwit_simulator_password",
    "minitwit_tls_cert",
    "minitwit_tls_key",
    "minitwit_grafana_admin_password",
]


@pytest.fixture
def swarm(tmp_path):
    """A copy of the deploy files, a fake `docker` first on PATH, and its state."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "deploy", checkout / "deploy", ignore=shutil.ignore_patterns("tests"))
    shutil.copy(ROOT / "stack.yml", checkout / "stack.yml")
    for config in (
        "deploy/prometheus/prometheus.yml",
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/provisioning/datasources/datasources.yml",
        "deploy/grafana/provisioning/dashboards/dashboards.yml",
        "deploy/grafana/dashboards/minitwit.json",
        "deploy/loki/loki.yml",
        "deploy/alloy/config.alloy",
    ):
        path = checkout / config
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# stand-in for {config}\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name("fake_docker.py")}" "$@"\n'
    )
    docker.chmod(0o755)
    # deploy.sh polls Swarm with pauses; the fake moves on at every look, so no need to wait.
    sleep = bin_dir / "sleep"
    sleep.write_text("#!/bin/sh\nexit 0\n")
    sleep.chmod(0o755)
    state_file = tmp_path / "docker-state.json"
    state = {
        "services": {},
        "tasks": {},
        "images": [f"{IMAGE}:v1", f"{IMAGE}:v2"],
        "secrets": list(SECRETS),
        "migrate_outcome": "complete",
        "web_outcome": "completed",
        "calls": [],
    }
    state_file.write_text(json.dumps(state))
    return Swarm(checkout, bin_dir, state_file, tmp_path / "state")


class Swarm:
    def __init__(self, checkout: Path, bin_dir: Path, state_file: Path, history_dir: Path):
        self.checkout = checkout
        self.bin_dir = bin_dir
        self.state_file = state_file
        self.history_dir = history_dir

    @property
    def state(self) -> dict:
        return json.loads(self.state_file.read_text())

    def set(self, **changes) -> None:
        state = self.state
        state.update(changes)
        self.state_file.write_text(json.dumps(state))

    def run(self, script: str, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "PATH": f"{self.bin_dir}:{os.environ['PATH']}",
            "FAKE_DOCKER_STATE": str(self.state_file),
            "MINITWIT_IMAGE": IMAGE,
            "MINITWIT_DOMAIN": "minitwit.example.org",
            "MINITWIT_STATE_DIR": str(self.history_dir),
            **extra_env,
        }
        return subprocess.run(
            [str(self.checkout / "deploy" / script), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def commands(self) -> list[str]:
        return [" ".join(call["argv"]) for call in self.state["calls"]]

    def history(self) -> list[str]:
        path = self.history_dir / "releases"
        return [line.split()[1] for line in path.read_text().splitlines()] if path.exists() else []


def test_a_first_deploy_creates_the_stack_and_waits_for_its_migrations(swarm):
    result = swarm.run("deploy.sh", "v1")

    assert result.returncode == 0, result.stderr
    assert "migrations applied" in result.stderr
    assert swarm.state["services"]["minitwit_web"]["image"] == f"{IMAGE}:v1"
    assert swarm.history() == ["v1"]


def test_an_upgrade_migrates_with_the_new_image_before_the_web_replicas_roll(swarm):
    swarm.run("deploy.sh", "v1")

    result = swarm.run("deploy.sh", "v2")

    assert result.returncode == 0, result.stderr
    commands = swarm.commands()
    migrate = commands.index(
        "service update --detach --quiet --force --with-registry-auth "
        f"--image {IMAGE}:v2 minitwit_migrate"
    )
    deploys = [i for i, command in enumerate(commands) if command.startswith("stack deploy")]
    assert migrate < deploys[-1]
    assert swarm.state["services"]["minitwit_web"]["image"] == f"{IMAGE}:v2"
    assert swarm.history() == ["v1", "v2"]


def test_an_upgrade_is_live_only_once_every_replica_runs_the_new_image(swarm):
    # Right after `docker stack deploy` Swarm has reset the update status and the old
    # replicas all run: that is not success yet.
    swarm.run("deploy.sh", "v1")

    result = swarm.run("deploy.sh", "v2")

    assert result.returncode == 0, result.stderr
    web = swarm.state["services"]["minitwit_web"]
    assert web["update_reads"][-1] == "completed"
    assert {task["image"] for task in web["tasks"].values()} == {f"{IMAGE}:v2"}
    assert "web: 2 replicas running v2" in result.stderr


def test_each_failed_migration_attempt_is_reported_once(swarm):
    swarm.run("deploy.sh", "v1")
    swarm.set(migrate_outcome="failed")

    result = swarm.run("deploy.sh", "v2")

    assert result.returncode != 0
    assert result.stderr.count("migration attempt failed") == 6


def test_a_failed_migration_stops_the_deploy_before_the_web_replicas_change(swarm):
    swarm.run("deploy.sh", "v1")
    swarm.set(migrate_outcome="failed")

    result = swarm.run("deploy.sh", "v2")

    assert result.returncode != 0
    assert "the migrations failed; the running release is untouched" in result.stderr
    assert "the fake migration failed" in result.stderr  # the job's log is shown
    assert sum(c.startswith("stack deploy") for c in swarm.commands()) == 1
    assert swarm.state["services"]["minitwit_web"]["image"] == f"{IMAGE}:v1"
    assert swarm.history() == ["v1"]


def test_a_release_swarm_rolled_back_is_reported_and_not_recorded(swarm):
    swarm.run("deploy.sh", "v1")
    swarm.set(web_outcome="rollback_completed")

    result = swarm.run("deploy.sh", "v2")

    assert result.returncode != 0
    assert "Swarm rolled back to the previous release" in result.stderr
    assert "Swarm is rolling back: update rolled back due to failure" in result.stderr
    assert swarm.history() == ["v1"]


def test_a_paused_update_is_reported_and_not_recorded(swarm):
    swarm.run("deploy.sh", "v1")
    swarm.set(web_outcome="paused")

    result = swarm.run("deploy.sh", "v2")

    assert result.returncode != 0
    assert "the web update is paused" in result.stderr
    assert swarm.history() == ["v1"]


def test_an_override_file_is_layered_over_stack_yml(swarm, tmp_path):
    override = tmp_path / "site.yml"
    override.write_text('version: "3.9"\n')

    result = swarm.run("deploy.sh", "v1", STACK_OVERRIDE=str(override))

    assert result.returncode == 0, result.stderr
    for verb in ("config", "deploy"):
        command = next(c for c in swarm.commands() if c.startswith(f"stack {verb}"))
        assert f"--compose-file stack.yml --compose-file {override}" in command


def test_a_missing_override_file_changes_nothing(swarm, tmp_path):
    result = swarm.run("deploy.sh", "v1", STACK_OVERRIDE=str(tmp_path / "missing.yml"))

    assert result.returncode != 0
    assert "STACK_OVERRIDE" in result.stderr
    assert swarm.commands() == []


@pytest.mark.parametrize(
    "repository, insecure",
    [
        ("127.0.0.1:5000/minitwit", True),
        ("localhost:5000/team/minitwit", True),
        ("registry.example.org/team/minitwit", False),
        ("ghcr.io/team/minitwit", False),
    ],
)
def test_only_a_registry_on_loopback_is_asked_over_plain_http(swarm, repository, insecure):
    swarm.set(images=[f"{repository}:v1"])

    result = swarm.run("deploy.sh", "v1", MINITWIT_IMAGE=repository)

    assert result.returncode == 0, result.stderr
    manifest = next(c for c in swarm.commands() if c.startswith("manifest inspect"))
    assert ("--insecure" in manifest.split()) is insecure


def test_a_release_missing_from_the_registry_changes_nothing(swarm):
    result = swarm.run("deploy.sh", "v3")

    assert result.returncode != 0
    assert f"{IMAGE}:v3 is not in the registry" in result.stderr
    assert not any(c.startswith(("stack deploy", "service update")) for c in swarm.commands())


def test_a_missing_secret_is_named_and_changes_nothing(swarm):
    swarm.set(secrets=[s for s in SECRETS if s != "minitwit_tls_key"])

    result = swarm.run("deploy.sh", "v1")

    assert result.returncode != 0
    assert "Docker secret minitwit_tls_key is missing" in result.stderr
    assert not any(c.startswith("stack deploy") for c in swarm.commands())


def test_config_names_carry_the_digest_of_their_files(swarm):
    swarm.run("deploy.sh", "v1")

    env = next(c["env"] for c in swarm.state["calls"] if c["argv"][:2] == ["stack", "deploy"])
    proxy_conf = (swarm.checkout / "deploy" / "nginx" / "proxy.conf").read_bytes()
    assert env["CONFIG_NGINX_PROXY"] == hashlib.sha256(proxy_conf).hexdigest()[:12]
    assert env["MINITWIT_TAG"] == "v1"


def test_rollback_deploys_the_release_before_the_current_one(swarm):
    swarm.run("deploy.sh", "v1")
    swarm.run("deploy.sh", "v2")

    result = swarm.run("rollback.sh")

    assert result.returncode == 0, result.stderr
    assert swarm.state["services"]["minitwit_web"]["image"] == f"{IMAGE}:v1"
    assert swarm.state["services"]["minitwit_migrate"]["image"] == f"{IMAGE}:v1"
    assert swarm.history() == ["v1", "v2", "v1"]


def test_rollback_without_history_asks_for_a_tag(swarm):
    result = swarm.run("rollback.sh")

    assert result.returncode != 0
    assert "name the tag" in result.stderr
    assert not any(c.startswith("stack deploy") for c in swarm.commands())
