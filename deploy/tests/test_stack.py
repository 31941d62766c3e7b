"""stack.yml, as Docker Swarm will read it, has the properties docs/operations.md promises.

The stack is rendered with `docker stack config` (the Docker CLI; no engine needed), which
interpolates the variables and rejects what `docker stack deploy` would reject. Without the
CLI these tests are skipped, unless REQUIRE_DOCKER_CLI=1 (CI) makes that a failure.
"""

import os
import re
import runpy
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STACK_FILE = ROOT / "stack.yml"
DEPLOY_SCRIPT = ROOT / "deploy" / "deploy.sh"
IMAGE = "registry.example.org/team/minitwit"
TAG = "v9.8.7"
DOMAIN = "minitwit.example.org"
REQUIRED = {"MINITWIT_IMAGE": IMAGE, "MINITWIT_TAG": TAG, "MINITWIT_DOMAIN": DOMAIN}
# Services that run all the time (not the migrate job).
LONG_RUNNING = {
    "proxy",
    "web",
    "db",
    "cache",
    "backup",
    "housekeeping",
    "prometheus",
    "grafana",
    "loki",
    "alloy",
    "node-exporter",
}
APP_SECRETS = {
    "SECRET_KEY_FILE": "secret_key",
    "DATABASE_PASSWORD_FILE": "db_password",
    "SIMULATOR_PASSWORD_FILE": "simulator_password",
}
# Files other parts of the project provide (observability); checked once they are merged.
OBSERVABILITY_DIRS = ("deploy/prometheus", "deploy/grafana", "deploy/loki", "deploy/alloy")


def render(**overrides: str | None) -> subprocess.CompletedProcess:
    if shutil.which("docker") is None:
        if os.environ.get("REQUIRE_DOCKER_CLI") == "1":
            pytest.fail("REQUIRE_DOCKER_CLI=1 but the docker CLI is not installed")
        pytest.skip("the docker CLI is not installed")
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    for name, value in {**REQUIRED, **overrides}.items():
        if value is not None:
            env[name] = value
    return subprocess.run(
        ["docker", "stack", "config", "--compose-file", str(STACK_FILE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def stack() -> dict:
    result = render()
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def services(stack) -> dict:
    return stack["services"]


def _raw_stack() -> dict:
    return yaml.safe_load(STACK_FILE.read_text())


def test_the_stack_has_every_service_of_the_design(services):
    assert set(services) == LONG_RUNNING | {"migrate"}


def test_a_release_is_chosen_by_its_image_tag(services):
    assert services["web"]["image"] == f"{IMAGE}:{TAG}"
    assert services["migrate"]["image"] == f"{IMAGE}:{TAG}"
    older = yaml.safe_load(render(MINITWIT_TAG="v9.8.6").stdout)["services"]
    assert older["web"]["image"] == f"{IMAGE}:v9.8.6"


@pytest.mark.parametrize("missing", ["MINITWIT_TAG", "MINITWIT_IMAGE", "MINITWIT_DOMAIN"])
def test_the_stack_refuses_to_render_without_its_required_variables(missing):
    result = render(**{missing: None})
    assert result.returncode != 0
    assert missing in result.stderr


def test_third_party_images_are_pinned_to_a_version(services):
    for name, service in services.items():
        if name in {"web", "migrate"}:
            continue
        repository, _, tag = service["image"].rpartition(":")
        assert repository and re.match(r"v?\d+\.\d+", tag), f"{name}: {service['image']}"


def test_web_runs_at_least_two_replicas(services):
    assert services["web"]["deploy"]["replicas"] >= 2


def test_web_updates_start_the_new_replica_first_and_roll_back_on_failure(services):
    update = services["web"]["deploy"]["update_config"]
    assert update["order"] == "start-first"
    assert update["failure_action"] == "rollback"
    assert update["parallelism"] == 1
    assert update["monitor"] not in (None, "0s")
    rollback = services["web"]["deploy"]["rollback_config"]
    assert rollback["order"] == "start-first"
    assert rollback["parallelism"] == 1


def test_web_replicas_are_health_checked_on_the_health_endpoint(services):
    healthcheck = services["web"]["healthcheck"]
    assert "http://127.0.0.1:8000/health" in " ".join(healthcheck["test"])
    assert healthcheck["retries"] >= 1


def test_web_outlives_gunicorns_graceful_timeout_when_stopped(services, monkeypatch):
    # gunicorn's graceful timeout as the container computes it: gunicorn.conf.py read with
    # the stack's environment.
    monkeypatch.delenv("GUNICORN_GRACEFUL_TIMEOUT", raising=False)
    for name, value in services["web"]["environment"].items():
        if name.startswith("GUNICORN_"):
            monkeypatch.setenv(name, value)
    graceful_timeout = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]
    grace = services["web"]["stop_grace_period"]
    assert int(grace.rstrip("s")) > graceful_timeout


def test_long_running_services_have_resource_limits_and_restart(services):
    for name in LONG_RUNNING:
        deploy = services[name]["deploy"]
        assert deploy["resources"]["limits"]["memory"], name
        assert deploy["restart_policy"]["condition"] == "any", name
    assert services["web"]["deploy"]["resources"]["reservations"]["memory"]


def test_app_secrets_arrive_as_docker_secret_files(services):
    for name in ("web", "migrate", "housekeeping"):
        service = services[name]
        environment = service["environment"]
        mounted = {secret["target"] for secret in service["secrets"]}
        for variable, secret in APP_SECRETS.items():
            assert environment[variable] == f"/run/secrets/{secret}", (name, variable)
            assert secret in mounted, (name, secret)
        for plain in ("SECRET_KEY", "DATABASE_PASSWORD", "SIMULATOR_PASSWORD"):
            assert plain not in environment, (name, plain)
        # The URL names the user and host only; the password is the secret's.
        assert re.fullmatch(r"postgres://\w+@db:5432/\w+", environment["DATABASE_URL"])
    db = services["db"]
    assert db["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db_password"
    assert "POSTGRES_PASSWORD" not in db["environment"]


def test_no_service_has_a_secret_in_its_environment(services):
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$")
    for name, service in services.items():
        for variable in service.get("environment", {}):
            if secretish.search(variable):
                assert variable.endswith("_FILE"), f"{name}: {variable} should be *_FILE"


def test_secrets_come_from_the_swarm_never_from_files_in_the_repository(stack):
    for name, secret in stack["secrets"].items():
        assert secret.get("external") is True, name
        assert "file" not in secret, name


def test_the_database_publishes_no_port_and_keeps_its_data_in_a_named_volume(stack, services):
    db = services["db"]
    assert not db.get("ports")
    data = [volume for volume in db["volumes"] if volume["target"] == "/var/lib/postgresql/data"]
    assert data and data[0]["type"] == "volume"
    assert data[0]["source"] in stack["volumes"]
    assert "external" not in stack["volumes"][data[0]["source"]]


def test_only_the_proxy_publishes_ports_and_only_80_and_443(services):
    published = {
        (name, port["published"], port.get("mode"))
        for name, service in services.items()
        for port in service.get("ports", [])
    }
    assert published == {("proxy", 80, "host"), ("proxy", 443, "host")}


def test_every_service_rotates_its_log(services):
    for name, service in services.items():
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", name
        assert logging["options"]["max-size"], name
        assert int(logging["options"]["max-file"]) >= 1, name


def _networks(service: dict) -> set[str]:
    return set(service.get("networks") or {})


def test_public_and_internal_traffic_use_separate_networks(stack, services):
    assert _networks(services["proxy"]) == {"public"}
    assert _networks(services["db"]) == {"backend"}
    assert {"public", "backend", "monitoring"} <= _networks(services["web"])
    for name in ("migrate", "backup"):
        assert _networks(services[name]) == {"backend"}, name
    for name in ("prometheus", "loki", "alloy", "node-exporter"):
        assert _networks(services[name]) == {"monitoring"}, name
    networks = stack["networks"]
    assert all(network["driver"] == "overlay" for network in networks.values())
    assert networks["backend"]["internal"] is True
    assert networks["monitoring"]["internal"] is True
    subnets = [network["ipam"]["config"][0]["subnet"] for network in networks.values()]
    assert len(set(subnets)) == len(subnets)


def test_django_trusts_forwarded_headers_only_from_the_proxys_network(stack, services):
    public_subnet = stack["networks"]["public"]["ipam"]["config"][0]["subnet"]
    environment = services["web"]["environment"]
    assert environment["TRUSTED_PROXIES"] == public_subnet
    assert environment["BEHIND_TLS_PROXY"] == "true"
    monitoring_subnet = stack["networks"]["monitoring"]["ipam"]["config"][0]["subnet"]
    assert environment["METRICS_ALLOWED_IPS"] == monitoring_subnet


@pytest.mark.parametrize("name", ["web", "migrate", "housekeeping"])
def test_the_app_runs_read_only_and_writes_only_to_its_tmpfs(services, name):
    # deploy/engine/check.sh runs both this way in a real engine.
    service = services[name]
    assert service["read_only"] is True
    tmpfs = {volume["target"] for volume in service["volumes"] if volume["type"] == "tmpfs"}
    # gunicorn makes the metrics directory under /tmp; a directory of its own elsewhere would
    # be a root-owned tmpfs the app user cannot write (the stack cannot set a tmpfs mode).
    assert tmpfs == {"/tmp"}
    metrics_dir = service["environment"].get("PROMETHEUS_MULTIPROC_DIR")
    assert metrics_dir is None or metrics_dir.startswith("/tmp/")


def _hosts_named_in_the_stack_and_its_configs(services: dict) -> dict[str, set[str]]:
    """Host names each client service uses to reach another: from the environment (URLs,
    PGHOST) and from the configuration files of Prometheus, Grafana and Alloy."""
    named: dict[str, set[str]] = {}
    for client, service in services.items():
        for value in (service.get("environment") or {}).values():
            host = urllib.parse.urlsplit(value).hostname if "://" in str(value) else None
            named.setdefault(client, set()).update({host} if host else set())
        if "PGHOST" in (service.get("environment") or {}):
            named[client].add(service["environment"]["PGHOST"])
    configs = {
        "prometheus": ROOT / "deploy/prometheus/prometheus.yml",
        "grafana": ROOT / "deploy/grafana/provisioning/datasources/datasources.yml",
        "alloy": ROOT / "deploy/alloy/config.alloy",
    }
    for client, path in configs.items():
        if path.exists():
            text = path.read_text()
            hosts = re.findall(r"https?://([\w.-]+)", text)
            hosts += re.findall(r"targets:\s*\[([^\]]*)\]", text)
            named.setdefault(client, set()).update(
                host.strip().split(":")[0] for entry in hosts for host in entry.split(",")
            )
    return named


def test_services_reached_by_name_are_reached_without_a_virtual_ip(services):
    """A service's virtual IP goes through IPVS, which drops a TCP connection left idle for
    about 15 minutes without telling either end (persistent database connections,
    kept-alive HTTP) and which a kernel without IPVS cannot serve at all: every service
    another one reaches by its plain name answers that name with DNS round-robin."""
    reached = {
        host
        for hosts in _hosts_named_in_the_stack_and_its_configs(services).values()
        for host in hosts
        if host in services
    }
    assert "db" in reached  # the check below checks something
    for name in sorted(reached):
        assert services[name]["deploy"].get("endpoint_mode") == "dnsrr", name


def test_migrations_run_once_per_deploy_as_a_job(services):
    migrate = services["migrate"]
    assert migrate["deploy"]["mode"] == "replicated-job"
    assert migrate["deploy"]["replicas"] == 1
    assert migrate["command"][-2:] == ["migrate", "--noinput"]
    assert migrate["deploy"]["restart_policy"]["condition"] == "on-failure"
    assert "migrate" not in " ".join(services["web"].get("command", []))


def _db_setting(db: dict, name: str) -> int:
    for argument in db["command"]:
        if argument.startswith(f"{name}="):
            return int(argument.split("=", 1)[1])
    raise AssertionError(f"{name} is not set on the db command line")


def test_web_replicas_cannot_exhaust_the_database_connections(services):
    """docs/operations.md, "Database connections": every gunicorn thread may hold one
    persistent connection; during a start-first update a new replica runs beside the old
    ones while a stopped one may still be draining."""
    web = services["web"]
    per_replica = int(web["environment"]["WEB_CONCURRENCY"]) * int(
        web["environment"]["GUNICORN_THREADS"]
    )
    parallelism = web["deploy"]["update_config"]["parallelism"]
    peak_replicas = web["deploy"]["replicas"] + 2 * parallelism
    # the migrate job, housekeeping, pg_dump, and an operator's psql/manage.py shell
    others = 1 + 1 + 1 + 5
    db = services["db"]
    available = _db_setting(db, "max_connections") - _db_setting(
        db, "superuser_reserved_connections"
    )
    assert peak_replicas * per_replica + others <= available


def test_backups_run_on_a_schedule_with_retention_and_an_off_site_copy(stack, services):
    backup = services["backup"]
    assert backup["entrypoint"] == ["/usr/local/bin/minitwit-backup-schedule"]
    environment = backup["environment"]
    assert int(environment["BACKUP_RETENTION_DAYS"]) >= 1
    assert re.fullmatch(r"\d\d:\d\d", environment["BACKUP_TIME"])
    mounts = {volume["target"]: volume["source"] for volume in backup["volumes"]}
    assert mounts[environment["BACKUP_DIR"]] in stack["volumes"]
    assert mounts[environment["BACKUP_OFFSITE_DIR"]] in stack["volumes"]
    assert environment["PGPASSWORD_FILE"] == "/run/secrets/db_password"
    # pg_dump from the same PostgreSQL release as the server.
    assert backup["image"] == services["db"]["image"]
    scripts = {config["source"] for config in backup["configs"]}
    assert {"backup_script", "restore_script", "backup_schedule"} <= scripts
    assert backup["healthcheck"]["test"][-2:] == [
        "/usr/local/bin/minitwit-backup-schedule",
        "check",
    ]


def test_expired_sessions_are_purged_on_a_schedule(services):
    housekeeping = services["housekeeping"]
    # The release's own image and settings, so clearsessions sees the same database.
    assert housekeeping["image"] == services["web"]["image"]
    for variable, value in services["web"]["environment"].items():
        if variable != "METRICS_ALLOWED_IPS":
            assert housekeeping["environment"][variable] == value, variable
    script = housekeeping["command"][-1]
    assert housekeeping["command"][:2] == ["sh", "-c"]
    assert "python manage.py clearsessions" in script
    assert re.search(r"while :; do", script) and 'sleep "${HOUSEKEEPING_INTERVAL}"' in script
    assert 60 <= int(housekeeping["environment"]["HOUSEKEEPING_INTERVAL"]) <= 86400
    # Not the image's healthcheck (gunicorn's /health): a recent successful run.
    assert "/tmp/housekeeping-ok" in housekeeping["healthcheck"]["test"][-1]
    assert "touch /tmp/housekeeping-ok" in script
    assert housekeeping["deploy"]["replicas"] == 1


def test_the_housekeeping_loop_purges_and_stops_on_term(services, tmp_path):
    """The loop itself, run by sh with a stand-in `python`: it runs the command, marks the
    success, and a TERM during the sleep ends it at once."""
    script = services["housekeeping"]["command"][-1]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "python").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    (bin_dir / "python").chmod(0o755)
    marker_dir = tmp_path / "tmp"
    marker_dir.mkdir()
    script = script.replace("/tmp/housekeeping-ok", str(marker_dir / "ok"))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOUSEKEEPING_INTERVAL": "3600"}
    process = subprocess.Popen(["sh", "-c", script], env=env)
    try:
        for _ in range(100):
            if (marker_dir / "ok").exists():
                break
            time.sleep(0.05)
        assert calls.read_text() == "manage.py clearsessions\n"
        process.terminate()
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()


@pytest.mark.parametrize("name, config", sorted(_raw_stack()["configs"].items()))
def test_every_config_file_exists(name, config):
    path = Path(config["file"])
    owner = next((d for d in OBSERVABILITY_DIRS if path.as_posix().startswith(f"{d}/")), None)
    if owner and not (ROOT / owner).exists():
        pytest.skip(f"{owner} comes with the observability work")
    assert (ROOT / path).is_file(), f"config {name}: {path} is missing"


def test_deploy_sh_versions_every_config_by_its_file_digest():
    configs = _raw_stack()["configs"]
    digests = dict(
        re.findall(r'^\s*(CONFIG_\w+)="\$\(digest ([^)]+)\)"$', DEPLOY_SCRIPT.read_text(), re.M)
    )
    for name, config in configs.items():
        variable = re.search(r"\$\{(CONFIG_\w+):-dev\}", config["name"]).group(1)
        assert variable in digests, f"deploy.sh does not set {variable} for config {name}"
        assert f"./{digests[variable]}" == config["file"], name
