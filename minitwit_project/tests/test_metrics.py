"""/metrics: who may read it, and what it says about the site and the simulator."""

import time
from http import HTTPStatus

import pytest
from django.db import OperationalError, connection
from django.test import Client

from simapi.tests.conftest import basic_auth
from timeline import metrics as timeline_metrics
from timeline.models import SimulatorState
from timeline.tests.factories import FollowFactory, MessageFactory, UserFactory

from .conftest import load_settings, scrape

pytestmark = pytest.mark.django_db

PROMETHEUS_IN_THE_STACK = "10.20.0.17"
MONITORING_NETWORK = "10.20.0.0/24"
SOMEONE_ON_THE_INTERNET = "203.0.113.9"
# What a public client looks like after Swarm's ingress routing mesh.
THROUGH_SWARM_INGRESS = "10.0.0.2"


@pytest.fixture
def stack_allowlist(settings):
    settings.METRICS_ALLOWED_IPS = [MONITORING_NETWORK]


def basic(username: str, password: str) -> dict:
    return {"Authorization": basic_auth(username, password)}


# Access ------------------------------------------------------------------------------


def test_by_default_only_this_machine_may_scrape(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == HTTPStatus.OK
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == HTTPStatus.OK
    for outsider in (PROMETHEUS_IN_THE_STACK, THROUGH_SWARM_INGRESS, SOMEONE_ON_THE_INTERNET):
        response = client.get("/metrics", REMOTE_ADDR=outsider)
        assert response.status_code == HTTPStatus.FORBIDDEN, outsider
        assert "minitwit_http" not in response.text


def test_prometheus_on_the_monitoring_network_may_scrape(client, stack_allowlist):
    response = client.get("/metrics", REMOTE_ADDR=PROMETHEUS_IN_THE_STACK)
    assert response.status_code == HTTPStatus.OK
    assert "minitwit_http_request_duration_seconds" in response.text


def test_the_internet_may_not(client, stack_allowlist):
    for outsider in (SOMEONE_ON_THE_INTERNET, THROUGH_SWARM_INGRESS):
        assert client.get("/metrics", REMOTE_ADDR=outsider).status_code == HTTPStatus.FORBIDDEN


def test_scraping_works_whatever_the_host_header(client, settings, stack_allowlist):
    # Prometheus scrapes each replica by its overlay address, not the public name.
    settings.ALLOWED_HOSTS = ["minitwit.example.org"]

    response = client.get(
        "/metrics",
        REMOTE_ADDR=PROMETHEUS_IN_THE_STACK,
        headers={"Host": f"{PROMETHEUS_IN_THE_STACK}:8000"},
    )

    assert response.status_code == HTTPStatus.OK


def test_the_allowlist_is_configurable(client, settings):
    settings.METRICS_ALLOWED_IPS = ["198.51.100.0/24"]

    assert client.get("/metrics", REMOTE_ADDR="198.51.100.20").status_code == HTTPStatus.OK
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == HTTPStatus.FORBIDDEN


def test_a_visitor_relayed_by_an_untrusted_proxy_is_refused(client, settings):
    # The public reverse proxy sits on a private overlay network; if it is not in
    # TRUSTED_PROXIES its own address must not vouch for whoever it relays.
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.TRUSTED_PROXIES = ["127.0.0.1"]

    response = client.get(
        "/metrics",
        REMOTE_ADDR="10.0.0.5",
        headers={"X-Forwarded-For": SOMEONE_ON_THE_INTERNET},
    )

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_a_visitor_relayed_by_a_trusted_proxy_is_judged_by_their_own_address(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.TRUSTED_PROXIES = ["10.0.0.5"]

    outsider = client.get(
        "/metrics", REMOTE_ADDR="10.0.0.5", headers={"X-Forwarded-For": SOMEONE_ON_THE_INTERNET}
    )
    insider = client.get(
        "/metrics", REMOTE_ADDR="10.0.0.5", headers={"X-Forwarded-For": "10.0.9.9"}
    )

    assert outsider.status_code == HTTPStatus.FORBIDDEN
    assert insider.status_code == HTTPStatus.OK


def test_credentials_open_metrics_from_anywhere(client, settings):
    settings.METRICS_USERNAME, settings.METRICS_PASSWORD = "prometheus", "s3cr3t:with:colons"

    response = client.get(
        "/metrics",
        REMOTE_ADDR=SOMEONE_ON_THE_INTERNET,
        headers=basic("prometheus", "s3cr3t:with:colons"),
    )

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("prometheus", "wrong"),
        basic("someone", "s3cr3t"),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Bearer s3cr3t"},
    ],
)
def test_missing_or_wrong_credentials_get_a_challenge(client, settings, headers):
    settings.METRICS_USERNAME, settings.METRICS_PASSWORD = "prometheus", "s3cr3t"

    response = client.get("/metrics", REMOTE_ADDR=SOMEONE_ON_THE_INTERNET, headers=headers)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="metrics"')


def test_credentials_only_when_the_allowlist_is_empty(client, settings):
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_USERNAME, settings.METRICS_PASSWORD = "prometheus", "s3cr3t"

    anonymous = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    with_credentials = client.get(
        "/metrics", REMOTE_ADDR="127.0.0.1", headers=basic("prometheus", "s3cr3t")
    )

    assert anonymous.status_code == HTTPStatus.UNAUTHORIZED
    assert with_credentials.status_code == HTTPStatus.OK


def test_credentials_can_come_from_docker_secret_files(tmp_path):
    (tmp_path / "user").write_text("prometheus\n")
    (tmp_path / "password").write_text("from-a-secret\n")
    result = load_settings(
        {
            "METRICS_USERNAME_FILE": str(tmp_path / "user"),
            "METRICS_PASSWORD_FILE": str(tmp_path / "password"),
        },
        expr="settings.METRICS_USERNAME + '/' + settings.METRICS_PASSWORD",
        tmp_path=tmp_path,
    )
    assert result.stdout.strip() == "prometheus/from-a-secret", result.stderr


def test_half_configured_credentials_are_refused_at_startup(tmp_path):
    result = load_settings({"METRICS_USERNAME": "prometheus"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "METRICS_PASSWORD" in result.stderr


def test_a_malformed_allowlist_is_refused_at_startup(tmp_path):
    result = load_settings({"METRICS_ALLOWED_IPS": "10.0.0.0/8,intranet"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS" in result.stderr


def test_metrics_only_take_get(client):
    assert client.post("/metrics").status_code == HTTPStatus.METHOD_NOT_ALLOWED


# What it says ------------------------------------------------------------------------


def test_requests_are_counted_by_view_method_and_status(client):
    key = (
        "minitwit_http_request_duration_seconds_count",
        (("method", "GET"), ("status", "200"), ("view", "timeline:public")),
    )
    before = scrape().get(key, 0)

    for _ in range(3):
        client.get("/public")

    assert scrape()[key] == before + 3


def test_latency_is_a_histogram_by_view(client):
    client.get("/public")

    after = scrape()

    labels = (("method", "GET"), ("status", "200"), ("view", "timeline:public"))
    count = after[("minitwit_http_request_duration_seconds_count", labels)]
    infinite = after[("minitwit_http_request_duration_seconds_bucket", (("le", "+Inf"), *labels))]
    assert count >= 1
    assert infinite == count


def test_probes_and_unresolved_paths_have_their_own_view_labels(client):
    client.get("/health")
    client.get("/no/such/page/at/all")

    after = scrape()

    health = (("method", "GET"), ("status", "200"), ("view", "probe:health"))
    unresolved = (("method", "GET"), ("status", "404"), ("view", "unresolved"))
    assert after[("minitwit_http_request_duration_seconds_count", health)] >= 1
    assert after[("minitwit_http_request_duration_seconds_count", unresolved)] >= 1


def test_database_queries_are_counted(client):
    vendor = connection.vendor
    key = ("django_db_execute_total", (("alias", "default"), ("vendor", vendor)))
    before = scrape().get(key, 0)

    client.get("/public")

    assert scrape()[key] > before


def wait_for_gauges(expected: dict[str, float], timeout: float = 20.0) -> dict:
    """Scrape until the business gauges show `expected`.

    On PostgreSQL they come from the statistics collector, which a backend updates
    about once a second after its transaction commits; on SQLite the first scrape
    already has them.
    """
    deadline = time.monotonic() + timeout
    while True:
        current = {name: scrape().get((name, ())) for name in expected}
        if current == expected or time.monotonic() > deadline:
            return current
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_business_gauges_count_users_messages_and_follows():
    alice, bob, carol = UserFactory.create_batch(3)
    MessageFactory.create_batch(4, author=alice)
    last = MessageFactory(author=bob)
    FollowFactory(follower=alice, followed=bob)
    FollowFactory(follower=carol, followed=bob)

    assert wait_for_gauges(
        {
            "minitwit_users": 3,
            "minitwit_messages": 5,
            "minitwit_follows": 2,
            "minitwit_messages_posted_total": last.id,
            "minitwit_database_up": 1,
        }
    ) == {
        "minitwit_users": 3,
        "minitwit_messages": 5,
        "minitwit_follows": 2,
        "minitwit_messages_posted_total": last.id,
        "minitwit_database_up": 1,
    }


def test_the_latest_value_is_exported():
    assert scrape()[("minitwit_simulator_latest", ())] == -1

    SimulatorState.objects.update_or_create(pk=1, defaults={"latest": 4711})

    assert scrape()[("minitwit_simulator_latest", ())] == 4711


def test_a_database_outage_shows_as_database_down_not_as_a_broken_scrape(monkeypatch):
    def unreachable():
        raise OperationalError("no database")

    monkeypatch.setattr(timeline_metrics.selectors, "site_totals", unreachable)

    after = scrape()

    assert after[("minitwit_database_up", ())] == 0
    assert ("minitwit_users", ()) not in after
    assert any(name == "minitwit_http_request_duration_seconds_count" for name, _ in after)


def test_per_process_metrics_are_left_out_as_in_multiprocess_mode():
    names = {name for name, _ in scrape()}
    assert not [name for name in names if name.startswith(("process_", "python_gc_"))]


# Simulator traffic -------------------------------------------------------------------


def simulator_count(endpoint: str, method: str, status: int) -> float:
    labels = (("endpoint", endpoint), ("method", method), ("status", str(status)))
    return scrape().get(("minitwit_simulator_requests_total", labels), 0)


@pytest.mark.urls("minitwit_project.tests.observed_urls")
def test_simulator_requests_are_counted_by_endpoint_method_and_status():
    client = Client(raise_request_exception=False)
    before = {
        "latest": simulator_count("latest", "GET", 200),
        "created": simulator_count("msgs_user", "POST", 204),
        "unknown": simulator_count("msgs_user", "POST", 404),
        "broken": simulator_count("register", "POST", 500),
    }

    client.get("/sim/latest")
    client.get("/sim/latest")
    client.post("/sim/msgs/alice")
    client.post("/sim/msgs/nobody")
    client.post("/sim/register", "{}", content_type="application/json")

    assert simulator_count("latest", "GET", 200) == before["latest"] + 2
    assert simulator_count("msgs_user", "POST", 204) == before["created"] + 1
    assert simulator_count("msgs_user", "POST", 404) == before["unknown"] + 1
    assert simulator_count("register", "POST", 500) == before["broken"] + 1


@pytest.mark.urls("minitwit_project.tests.observed_urls")
def test_web_pages_are_not_simulator_traffic(client):
    total_before = sum(
        value for (name, _), value in scrape().items() if name.startswith("minitwit_simulator_r")
    )

    client.get("/public")
    client.get("/no-such-user")

    total_after = sum(
        value for (name, _), value in scrape().items() if name.startswith("minitwit_simulator_r")
    )
    assert total_after == total_before
