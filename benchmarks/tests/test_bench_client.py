"""The benchmark's client tells answers, time-outs and broken connections apart, times an
answer when it is complete, and a run that falls over is reported as such."""

import socket
import time

import bench
import httpload

GET = httpload.build_request("GET", "/", host="127.0.0.1")


def test_an_answer_is_timed_when_complete_not_when_the_server_closes(tcp_server, reply):
    body = b'{"ok": true}'
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    server = tcp_server(reply(answer, linger=0.5))

    status, elapsed, received = httpload.fetch(server.address, GET, 2.0, keep_body=True)

    assert status == 200
    assert elapsed < 0.4
    assert received == body


def test_a_204_without_content_length_is_complete_at_once(tcp_server, reply):
    server = tcp_server(reply(b"HTTP/1.1 204 No Content\r\n\r\n", linger=0.5))

    status, elapsed, _ = httpload.fetch(server.address, GET, 2.0)

    assert (status, elapsed < 0.4) == (204, True)


def test_a_body_without_length_lasts_until_the_server_closes(tcp_server, reply):
    server = tcp_server(reply(b"HTTP/1.1 200 OK\r\n\r\npartial", linger=0.3))

    status, elapsed, received = httpload.fetch(server.address, GET, 2.0, keep_body=True)

    assert status == 200
    assert elapsed >= 0.3
    assert received == b"partial"


def test_no_answer_within_the_timeout_is_a_timeout(tcp_server, reply):
    server = tcp_server(lambda connection, request: time.sleep(1.0))

    status, elapsed, _ = httpload.fetch(server.address, GET, 0.2)

    assert status == httpload.TIMEOUT
    assert 0.2 <= elapsed < 0.9


def test_a_connection_closed_without_an_answer_is_a_connection_error(tcp_server):
    server = tcp_server(lambda connection, request: None)

    assert httpload.fetch(server.address, GET, 1.0)[0] == httpload.CONNECTION_ERROR


def test_a_refused_connection_is_a_connection_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = sock.getsockname()  # bound, never listening: connecting is refused

        assert httpload.fetch(address, GET, 1.0)[0] == httpload.CONNECTION_ERROR


def test_every_request_opens_a_new_connection_that_asks_to_be_closed(tcp_server, reply):
    seen = []

    def answer(connection, request):
        seen.append(request)
        connection.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    server = tcp_server(answer)
    result = httpload.run(
        server.address,
        2,
        lambda i, n: (GET, 0, frozenset({204})) if n < 5 else None,
        timeout=2.0,
    )

    assert result.requests == 10
    assert server.accepted == 10
    assert all(b"\r\nConnection: close\r\n" in request for request in seen)


def test_a_run_counts_wrong_statuses_as_errors_and_time_outs_apart(tcp_server, reply):
    ok = tcp_server(reply(b"HTTP/1.1 204 No Content\r\n\r\n"))
    broken = tcp_server(reply(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"))
    stuck = tcp_server(lambda connection, request: time.sleep(1.0))
    requests = {
        0: httpload.build_request("GET", "/ok", host="x"),
        1: httpload.build_request("GET", "/broken", host="x"),
        2: httpload.build_request("GET", "/stuck", host="x"),
    }
    addresses = {0: ok.address, 1: broken.address, 2: stuck.address}
    results = {
        index: httpload.run(
            addresses[index],
            1,
            lambda i, n, index=index: (requests[index], 0, frozenset({204})) if n < 3 else None,
            timeout=0.2,
        )
        for index in addresses
    }

    assert (results[0].errors, results[0].timeouts) == (0, 0)
    assert (results[1].errors, results[1].timeouts) == (3, 0)
    assert results[1].unexpected == {"HTTP 500": 3}
    assert results[1].examples == ["HTTP 500: GET /broken HTTP/1.1 ''"] * 2  # 2 per kind
    assert (results[2].errors, results[2].timeouts) == (0, 3)


def test_a_timed_run_stops_starting_requests_after_its_duration(tcp_server, reply):
    server = tcp_server(reply(b"HTTP/1.1 204 No Content\r\n\r\n"))

    result = httpload.run(
        server.address, 2, lambda i, n: (GET, 0, frozenset({204})), timeout=1.0, duration=0.3
    )

    assert result.requests > 10
    assert 0.3 <= result.seconds < 1.0
    assert result.errors == 0


def test_a_client_gives_up_on_a_server_that_fails_every_request(tcp_server, reply):
    server = tcp_server(reply(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))

    result = httpload.run(
        server.address,
        2,
        lambda i, n: (GET, 0, frozenset({204})) if n < 1000 else None,
        timeout=1.0,
        give_up_after=7,
    )

    assert (result.requests, result.gave_up, result.throughput) == (14, 2, 0.0)


def test_throughput_counts_only_the_expected_answers(tcp_server):
    answers = iter([b"204 No Content", b"500 Internal Server Error"] * 10)

    def answer(connection, request):
        connection.sendall(b"HTTP/1.1 %s\r\nContent-Length: 0\r\n\r\n" % next(answers))

    server = tcp_server(answer)
    result = httpload.run(
        server.address, 1, lambda i, n: (GET, 0, frozenset({204})) if n < 20 else None, timeout=1.0
    )

    assert (result.requests, result.succeeded, result.errors) == (20, 10, 10)
    assert result.throughput == 10 / result.seconds


def test_a_run_that_reaches_its_time_limit_is_marked_cut_short(tcp_server, reply):
    server = tcp_server(reply(b"HTTP/1.1 204 No Content\r\n\r\n"))

    result = httpload.run(
        server.address, 1, lambda i, n: (GET, 0, frozenset({204})), timeout=1.0, max_seconds=0.2
    )

    assert result.cut_short == 1
    assert result.errors == 0


def _summary(requests=1000, errors=0, timeouts=0, gave_up=0):
    unexpected = {}
    if errors:
        unexpected["HTTP 500"] = errors
    if timeouts:
        unexpected["timeout"] = timeouts
    return {
        "requests": requests,
        "errors": errors,
        "timeouts": timeouts,
        "unexpected": unexpected,
        "examples": [],
        "gave_up": gave_up,
    }


def _run():
    return bench.Run(bench.parse_args(["--quick", "--no-write"]))


def test_one_error_means_the_endpoint_fell_over():
    run = _run()

    run.judge("POST /msgs/<user>", _summary(errors=1))

    assert run.fell_over == ["POST /msgs/<user>: 1 error(s): 1 x HTTP 500"]


def test_a_client_that_gave_up_means_the_server_fell_over():
    run = _run()

    run.judge("sequential", _summary(timeouts=5, gave_up=1))

    assert run.fell_over == ["sequential: 1 client(s) gave up after 50 failures in a row"]


def test_time_outs_fall_over_only_beyond_one_percent():
    run = _run()

    run.judge("within", _summary(timeouts=10))
    run.judge("beyond", _summary(timeouts=11))

    assert [problem.split(":")[0] for problem in run.fell_over] == ["beyond"]


def test_the_older_link_is_found_by_class_rel_or_text():
    assert bench.older_link('<a class="older" href="?page=2">older messages</a>') == "?page=2"
    assert bench.older_link('<a rel="next" href="/public?before=42">next</a>') == (
        "/public?before=42"
    )
    assert bench.older_link('<a href="?cursor=x">Older messages &rarr;</a>') == "?cursor=x"
    assert bench.older_link('<a class="newer" href="?page=1">newer messages</a>') is None
