"""The real-engine check's own files (deploy/engine/), checked without an engine.

deploy/engine/check.sh itself needs root and a few minutes; CI runs it in its own section.
These tests keep its pieces honest between runs: the CI override of stack.yml changes only
what it says it changes, stack_run.py turns the stack's service into the same container
options, and the load client counts a failure as a failure.
"""

import http.server
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "deploy" / "engine"
REQUIRED = {
    "MINITWIT_IMAGE": "registry.example.org/minitwit",
    "MINITWIT_TAG": "v1",
    "MINITWIT_DOMAIN": "minitwit.example.org",
    "ENGINE_POSTGRES_IMAGE": "minitwit-engine/postgres:15",
    "ENGINE_REDIS_IMAGE": "minitwit-engine/redis:7",
}
# Services the override leaves out, and why (each needs an image only Docker Hub has).
LEFT_OUT = {"proxy", "grafana", "loki", "alloy", "prometheus", "node-exporter"}


def render(*files: Path) -> dict:
    if shutil.which("docker") is None:
        if os.environ.get("REQUIRE_DOCKER_CLI") == "1":
            pytest.fail("REQUIRE_DOCKER_CLI=1 but the docker CLI is not installed")
        pytest.skip("the docker CLI is not installed")
    command = ["docker", "stack", "config"]
    for path in files:
        command += ["--compose-file", str(path)]
    env = {**os.environ, **REQUIRED}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def unordered(value):
    """The same value with every list sorted: merging compose files may reorder lists."""
    if isinstance(value, dict):
        return {key: unordered(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted((unordered(item) for item in value), key=json.dumps)
    return value


@pytest.fixture(scope="module")
def stacks() -> tuple[dict, dict]:
    return (
        unordered(render(ROOT / "stack.yml")),
        unordered(render(ROOT / "stack.yml", ENGINE / "stack.ci.yml")),
    )


def test_the_override_runs_web_and_migrate_exactly_as_the_stack_does(stacks):
    stack, rehearsal = stacks
    for name in ("web", "migrate"):
        assert rehearsal["services"][name] == stack["services"][name], name


def test_the_override_replaces_only_the_image_of_the_database_and_its_backups(stacks):
    stack, rehearsal = stacks
    for name in ("db", "backup"):
        ours = dict(rehearsal["services"][name])
        assert ours.pop("image") == REQUIRED["ENGINE_POSTGRES_IMAGE"]
        theirs = dict(stack["services"][name])
        theirs.pop("image")
        assert ours == theirs, name


def test_the_override_replaces_only_the_image_of_the_cache(stacks):
    stack, rehearsal = stacks
    ours = dict(rehearsal["services"]["cache"])
    assert ours.pop("image") == REQUIRED["ENGINE_REDIS_IMAGE"]
    theirs = dict(stack["services"]["cache"])
    theirs.pop("image")
    assert ours == theirs


def test_the_override_leaves_out_only_services_whose_images_cannot_be_made(stacks):
    stack, rehearsal = stacks
    assert set(rehearsal["services"]) == set(stack["services"])
    for name, service in rehearsal["services"].items():
        running = service.get("deploy", {}).get("replicas", 1) != 0
        assert running == (name not in LEFT_OUT), name


def test_the_override_keeps_every_network_as_the_stack_defines_it(stacks):
    # A network named in an override replaces the stack's whole definition.
    stack, rehearsal = stacks
    for name, network in stack["networks"].items():
        ours = dict(rehearsal["networks"][name])
        if name == "public":
            assert ours.pop("attachable") is True  # the rehearsal's client joins it
        assert ours == network, name


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ENGINE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stack_run_gives_the_container_the_stacks_mounts_secrets_and_environment(
    tmp_path, monkeypatch
):
    if os.geteuid() != 0:
        pytest.skip("giving secret files to uid 10001 needs root")
    stack_run = load_module("stack_run")
    web = render(ROOT / "stack.yml")["services"]["web"]
    for secret in ("secret_key", "db_password", "simulator_password"):
        (tmp_path / secret).write_text(f"value of {secret}")

    args = stack_run.options(web, tmp_path, ["DATABASE_URL=postgres://elsewhere/db"])

    assert "--read-only" in args
    mounts = [args[i + 1] for i, arg in enumerate(args) if arg == "--mount"]
    assert "type=tmpfs,destination=/tmp,tmpfs-size=67108864" in mounts
    for secret in ("secret_key", "db_password", "simulator_password"):
        source = tmp_path / "mounted" / secret
        assert f"type=bind,source={source},target=/run/secrets/{secret},readonly" in mounts
        assert source.stat().st_uid == 10001
        assert source.stat().st_mode & 0o777 == 0o400
        assert source.read_text() == f"value of {secret}"
    environment = [args[i + 1] for i, arg in enumerate(args) if arg == "--env"]
    assert "DATABASE_URL=postgres://elsewhere/db" in environment
    assert "SECRET_KEY_FILE=/run/secrets/secret_key" in environment
    assert args[args.index("--stop-timeout") + 1] == "30"


class _Replica(http.server.ThreadingHTTPServer):
    """A web replica that answers the load client's requests, or fails the ones asked."""

    def __init__(self, failing_path: str | None = None):
        self.failing_path = failing_path
        self.seen: list[str] = []
        super().__init__(("127.0.0.1", 0), _ReplicaHandler)


class _ReplicaHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status: int, body: bytes = b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.seen.append(self.path)
        if self.server.failing_path and self.path.startswith(self.server.failing_path):
            self.answer(502, b"bad gateway")
        else:
            self.answer(200, json.dumps({"latest": 1}).encode())

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        self.server.seen.append(self.path)
        self.answer(204)


def run_load(monkeypatch, tmp_path, addresses: list[tuple[str, int]]) -> dict:
    """The load client against the given addresses (as if tasks.web listed them), for a
    moment; its summary."""
    client = load_module("client")
    password = tmp_path / "password"
    password.write_text("secret")
    ports = {address[1] for address in addresses}
    assert len(ports) == 1, "one port, as for the replicas of a service"

    real_getaddrinfo = socket.getaddrinfo

    def resolve(name, port, *args, **kwargs):
        if name != "tasks.web":
            return real_getaddrinfo(name, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip, _ in addresses]

    monkeypatch.setattr(client.socket, "getaddrinfo", resolve)
    args = client.argparse.Namespace(
        resolve="tasks.web",
        port=ports.pop(),
        host="minitwit.example.org",
        simulator_password_file=str(password),
        prefix="t-",
    )
    runner = client.Load(args)
    thread = threading.Thread(target=runner.user_loop, args=(0,))
    thread.start()
    threading.Event().wait(0.5)
    runner.stop.set()
    thread.join(10)
    return runner.summary(0.5)


def serve(replica: _Replica) -> tuple[str, int]:
    threading.Thread(target=replica.serve_forever, daemon=True).start()
    return replica.server_address


def test_the_load_client_counts_no_failure_when_every_answer_is_right(monkeypatch, tmp_path):
    replica = _Replica()
    summary = run_load(monkeypatch, tmp_path, [serve(replica)])
    replica.shutdown()

    assert summary["requests"] > 7
    assert summary["failures"] == 0
    assert any(path.startswith("/fllws/") for path in replica.seen)


def test_the_load_client_counts_a_5xx_as_a_failure(monkeypatch, tmp_path):
    replica = _Replica(failing_path="/public")
    summary = run_load(monkeypatch, tmp_path, [serve(replica)])
    replica.shutdown()

    assert summary["failures"] == summary["by_kind"]["public page"] > 0
    assert "502" in summary["first_failures"][0]


def test_the_load_client_moves_a_refused_request_to_another_replica(monkeypatch, tmp_path):
    # 127.0.0.2 on the same port refuses: a replica that has just stopped. nginx tries the
    # next one, and so does the client; the user sees no failure.
    replica = _Replica()
    address, port = serve(replica)
    summary = run_load(monkeypatch, tmp_path, [("127.0.0.2", port), (address, port)])
    replica.shutdown()

    assert summary["failures"] == 0
    assert summary["moved_to_another_replica"] > 0
