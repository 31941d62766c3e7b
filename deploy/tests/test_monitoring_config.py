"""The monitoring configuration under deploy/ matches the app it monitors.

Prometheus, Grafana, Loki and Alloy do not run here, so their files are checked the way
they would fail in the stack: every metric a dashboard panel or an alert asks for must be
one the app really exports (read from a live /metrics page), the scrape config must find
each replica through Swarm DNS, alerts must be complete and documented, log queries must
use labels the log shipper sets, and Loki must delete old logs. With promtool available
(PROMTOOL, or on PATH; CI installs it) the Prometheus files are also checked by promtool
itself, alert rules are unit-tested, and the dashboard's queries are parsed by it.
"""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from minitwit_project.tests.conftest import free_port

DEPLOY = Path(__file__).resolve().parents[1]
ROOT = DEPLOY.parent
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "minitwit.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml"
LOKI = DEPLOY / "loki" / "loki.yml"
ALLOY = DEPLOY / "alloy" / "config.alloy"
DOCS = ROOT / "docs" / "monitoring.md"

# Series Prometheus makes itself: `up` for every target, ALERTS for every firing alert.
PROMETHEUS_BUILTIN = {"up", "ALERTS", "ALERTS_FOR_STATE"}
# Queries of the node job (node-exporter); checked against a real node exporter below.
NODE_PREFIX = "node_"

REQUIRE_TOOLS = os.environ.get("REQUIRE_MONITORING_TOOLS") == "1"


def tool(env_name: str, *names: str) -> str | None:
    found = os.environ.get(env_name) or next(filter(None, map(shutil.which, names)), None)
    if not found and REQUIRE_TOOLS:
        pytest.fail(f"{env_name} is required (REQUIRE_MONITORING_TOOLS=1) but not found")
    return found


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


# PromQL ------------------------------------------------------------------------------

_GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "and", "or", "unless", "inf", "nan", "atan2",
}  # fmt: skip


def grafana_to_promql(expr: str) -> str:
    for variable, value in _GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    expr = grafana_to_promql(expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\b\d+(\.\d+)?([eE][+-]?\d+)?\b", " ", expr)  # numbers
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        followed_by = expr[match.end() :].lstrip()[:1]
        if followed_by == "(" or match.group() in _PROMQL_WORDS:
            continue  # a function or aggregation, or a keyword
        names.add(match.group())
    return names


def test_metric_names_are_found_in_promql():
    expr = (
        'sum by (status) (rate(minitwit_http_request_duration_seconds_count{status=~"5.."}'
        "[$__rate_interval])) / on (instance) group_left max(up) > 0.05 or vector(0)"
    )
    assert metric_names(expr) == {"minitwit_http_request_duration_seconds_count", "up"}


def alert_rules() -> list[dict]:
    return [
        rule for group in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for rule in group["rules"]
    ]


def dashboard_panels() -> list[dict]:
    panels = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def dashboard_queries(datasource_type: str) -> list[tuple[str, str]]:
    """(panel title, expression) of every query against one kind of datasource."""
    return [
        (panel["title"], target["expr"])
        for panel in dashboard_panels()
        for target in panel.get("targets", [])
        if target.get("datasource", panel.get("datasource", {})).get("type") == datasource_type
    ]


def all_promql() -> list[tuple[str, str]]:
    alerts = [(rule["alert"], rule["expr"]) for rule in alert_rules()]
    return alerts + dashboard_queries("prometheus")


@pytest.fixture
def exported_names(db) -> set[str]:
    """Every series name the app's /metrics can hold, read from the live page after some
    traffic: counters with _total, histograms with _bucket, _sum and _count."""
    client = Client(raise_request_exception=False)
    client.get("/public")
    client.get("/no-such-user")
    client.post("/login", {"username": "nobody", "password": "x"})
    response = client.get("/metrics")
    assert response.status_code == 200
    names = set()
    for family in text_string_to_metric_families(response.text):
        suffixes = {
            "counter": ["_total"],
            "histogram": ["_bucket", "_sum", "_count"],
            "summary": ["", "_sum", "_count"],
        }.get(family.type, [""])
        names.update(family.name + suffix for suffix in suffixes)
        names.update(sample.name for sample in family.samples)
    return names


def test_dashboard_and_alerts_ask_only_for_metrics_the_app_exports(exported_names):
    # Sanity: the live page really was read, and holds our own families.
    assert {"minitwit_users", "minitwit_simulator_requests_total"} <= exported_names
    unknown = {
        (where, name)
        for where, expr in all_promql()
        for name in metric_names(expr)
        if name not in exported_names
        and name not in PROMETHEUS_BUILTIN
        and not name.startswith(NODE_PREFIX)
    }
    assert not unknown, f"queries name metrics nobody exports: {sorted(unknown)}"


def test_every_query_names_some_metric():
    assert all(metric_names(expr) for _, expr in all_promql())


# Prometheus --------------------------------------------------------------------------


def test_prometheus_scrapes_each_replica_through_swarm_dns():
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "minitwit"]

    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert "static_configs" not in job  # the service's VIP would hit a random replica
    assert job["dns_sd_configs"] == [
        {"names": ["tasks.web"], "type": "A", "port": 8000, "refresh_interval": "30s"}
    ]


def test_prometheus_loads_the_alert_rules():
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    assert [(PROMETHEUS / path).exists() for path in config["rule_files"]] == [True]


def test_every_alert_has_a_severity_a_summary_and_what_to_do():
    rules = alert_rules()
    assert len(rules) >= 10
    for rule in rules:
        assert set(rule) >= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description", "action"}, rule["alert"]
        assert rule["annotations"]["action"] == f"docs/monitoring.md#{rule['alert'].lower()}"


def test_every_alert_is_explained_in_the_docs():
    headings = set(re.findall(r"^### (\w+)$", DOCS.read_text(), flags=re.MULTILINE))
    missing = {rule["alert"] for rule in alert_rules()} - headings
    assert not missing, f"docs/monitoring.md does not explain {sorted(missing)}"


def test_the_issue_asks_for_these_alerts():
    expressions = " ".join(rule["expr"] for rule in alert_rules())
    assert 'up{job="minitwit"}' in expressions  # app down
    assert 'status=~"5.."' in expressions  # 5xx rate
    assert "histogram_quantile(0.99" in expressions  # p99 latency
    assert "minitwit_simulator_requests_total" in expressions  # simulator errors
    assert "node_filesystem_avail_bytes" in expressions  # disk
    assert "minitwit_database_up" in expressions  # database


# Grafana -----------------------------------------------------------------------------


def test_the_dashboard_has_the_panels_operators_asked_for():
    titles = {panel["title"] for panel in dashboard_panels()}
    assert titles >= {
        "Responses by status code",
        "Error responses",
        "Latency p50 / p95 / p99",
        "Average latency",
        "Registered users",
        "Messages per minute",
        "Follow relations",
        "Simulator traffic by endpoint",
        "Simulator errors by endpoint",
    }


def test_dashboard_panels_have_unique_ids_and_a_place():
    panels = dashboard_panels()
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}, panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]


def test_every_datasource_the_dashboard_uses_is_provisioned():
    provisioned = {
        (source["type"], source["uid"]) for source in load_yaml(DATASOURCES)["datasources"]
    }
    used = {
        (source["type"], source["uid"])
        for panel in dashboard_panels()
        for source in [panel.get("datasource")]
        + [target.get("datasource") for target in panel.get("targets", [])]
        if source
    }
    assert used <= provisioned
    assert {("prometheus", "prometheus"), ("loki", "loki")} <= provisioned


def test_the_datasources_point_at_the_stack_services():
    urls = {source["uid"]: source["url"] for source in load_yaml(DATASOURCES)["datasources"]}
    assert urls == {"prometheus": "http://prometheus:9090", "loki": "http://loki:3100"}


# Logs --------------------------------------------------------------------------------


def alloy_labels() -> set[str]:
    return set(re.findall(r'target_label\s*=\s*"(\w+)"', ALLOY.read_text()))


def test_log_queries_use_labels_the_shipper_sets():
    queries = dashboard_queries("loki")
    assert queries
    for title, expr in queries:
        selector = re.match(r"\{([^}]*)\}", expr).group(1)
        labels = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", selector))
        assert labels and labels <= alloy_labels(), title


def test_alloy_ships_every_containers_logs_to_loki():
    config = ALLOY.read_text()
    code = re.sub(r"^\s*//[^\n]*", "", config, flags=re.MULTILINE)
    assert code.count("{") == code.count("}")
    assert 'discovery.docker "containers"' in code
    assert 'loki.source.docker "containers"' in code
    assert "unix:///var/run/docker.sock" in code
    assert 'url = "http://loki:3100/loki/api/v1/push"' in code
    assert {"service", "stack", "container", "stream"} <= alloy_labels()


def hours(duration: str) -> float:
    number, unit = re.fullmatch(r"(\d+)([hdw])", duration).groups()
    return int(number) * {"h": 1, "d": 24, "w": 168}[unit]


def test_loki_deletes_old_logs_and_caps_ingestion():
    config = load_yaml(LOKI)
    retention = hours(config["limits_config"]["retention_period"])

    assert 24 <= retention <= 31 * 24
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    assert config["limits_config"]["ingestion_rate_mb"] <= 16
    assert config["server"]["http_listen_port"] == 3100


# promtool and node exporter (skipped where they are not installed) --------------------


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess:
    binary = tool("PROMTOOL", "promtool")
    if binary is None:
        pytest.skip("promtool not installed (see .ci/run for how CI gets it)")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_prometheus_config():
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_alert_rules():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_pass_their_unit_tests():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_parses_every_dashboard_query(tmp_path):
    # promtool parses expressions in rule files; each query becomes a recording rule.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{index}", "expr": grafana_to_promql(expr)}
                    for index, (_, expr) in enumerate(dashboard_queries("prometheus"))
                ],
            }
        ]
    }
    (tmp_path / "dashboard_rules.yml").write_text(yaml.safe_dump(rules))

    result = promtool("check", "rules", "dashboard_rules.yml", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr


def test_node_queries_name_metrics_node_exporter_exports():
    binary = tool("NODE_EXPORTER", "prometheus-node-exporter", "node_exporter")
    if binary is None:
        pytest.skip("node exporter not installed (see .ci/run for how CI gets it)")
    port = free_port()
    exporter = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    text = r.read().decode()
                break
            except OSError:
                assert exporter.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
    exported = {sample.name for f in text_string_to_metric_families(text) for sample in f.samples}
    wanted = {
        name for _, expr in all_promql() for name in metric_names(expr) if name.startswith("node_")
    }
    assert wanted
    assert wanted <= exported, sorted(wanted - exported)
