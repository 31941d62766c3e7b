"""The benchmark's verdicts on issue 12's targets, and its place in docs/performance.md."""

import report


def _run(rps, p99=10.0, p95=10.0, errors=0, timeouts=0, group="read"):
    return {"rps": rps, "p99": p99, "p95": p95, "errors": errors, "timeouts": timeouts,
            "group": group}  # fmt: skip


def _verdicts(results):
    return {row["target"]: row["ok"] for row in report.targets(results)}


def _simulator(ours, reference=None):
    servers = {"ours": ours}
    if reference:
        servers["reference"] = reference
    return {
        "sequential": {"clients": 1, "servers": servers},
        "concurrent": {"clients": 8, "servers": servers},
    }


def test_the_simulator_targets_compare_with_the_reference_of_the_same_run():
    results = {"simulator": _simulator(_run(150, p99=19.0), _run(100))}

    verdicts = _verdicts(results)

    assert verdicts["simulator pattern, sequential: ≥ 1.5× the reference's throughput"] is True
    assert verdicts["simulator pattern, sequential: p99 ≤ 20 ms"] is True
    assert verdicts["simulator pattern, 8 clients: ≥ 2× the reference's throughput"] is False


def test_without_the_reference_its_comparison_is_skipped_not_passed():
    verdicts = _verdicts({"simulator": _simulator(_run(150))})

    assert verdicts["simulator pattern, sequential: ≥ 1.5× the reference's throughput"] is None


def test_a_reference_that_fell_over_is_no_baseline_to_pass_against():
    collapsed = {**_run(5, timeouts=400), "gave_up": 8}

    verdicts = _verdicts({"simulator": _simulator(_run(150), collapsed)})

    assert verdicts["simulator pattern, 8 clients: ≥ 2× the reference's throughput"] is None


def test_a_time_out_fails_the_zero_errors_target():
    verdicts = _verdicts({"simulator": _simulator(_run(150, timeouts=1), _run(10))})

    assert verdicts["simulator pattern, 8 clients: 0 errors (time-outs included)"] is False


def _scale(points, **extra):
    return {
        "messages": 1_000_000,
        "deep_depth": 1000,
        "endpoints": points,
        "reader_hash_scheme": "argon2$argon2id$v=19$m=19456,t=2,p=1",
        **extra,
    }


def test_reads_are_judged_as_shares_of_the_health_floor():
    points = {
        "/health": _run(1000, group="floor"),
        "/public": _run(399, group="hot read"),
        "GET /fllws/<user>": _run(250, group="read"),
    }

    verdicts = _verdicts({"scale": {"large": _scale(points)}})

    assert verdicts["at scale: /public ≥ 40% of /health's throughput"] is False
    assert verdicts["at scale: GET /fllws/<user> ≥ 25% of /health's throughput"] is True


def test_growth_fails_when_any_endpoint_slows_down_with_the_data():
    large = {"/health": _run(1000, p95=5, group="floor"), "/public": _run(300, p95=16)}
    small = {"/health": _run(1000, p95=5, group="floor"), "/public": _run(300, p95=10)}
    results = {"scale": {"large": _scale(large), "small": _scale(small, messages=10_000)}}

    verdicts = _verdicts(results)

    growth = [ok for target, ok in verdicts.items() if "grows" in target]
    assert growth == [False]


def test_argon2id_below_owasp_minimum_fails():
    assert report.argon2_at_least_owasp("argon2$argon2id$v=19$m=19456,t=2,p=1") is True
    assert report.argon2_at_least_owasp("argon2$argon2id$v=19$m=47104,t=1,p=1") is True
    assert report.argon2_at_least_owasp("argon2$argon2id$v=19$m=19456,t=1,p=1") is False
    assert report.argon2_at_least_owasp("argon2$argon2i$v=19$m=65536,t=3,p=1") is False
    assert report.argon2_at_least_owasp("pbkdf2_sha256$1000000") is False


def test_worker_memory_over_150_mb_fails():
    results = {"rss": [{"phase": "at scale", "workers_mb": [151.0, 90.0], "workers_seen": 2}]}

    assert _verdicts(results) == {"worker RSS stays under 150 MB after every run": False}


def test_the_generated_part_replaces_only_what_is_between_the_markers(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nhand-written\n\n{report.BEGIN}\nold\n{report.END}\n\nafter\n")

    report.write_doc(doc, "new figures")

    text = doc.read_text()
    assert "hand-written" in text and "after" in text
    assert "new figures" in text and "old" not in text


def test_a_scale_run_that_stopped_before_its_readers_still_gets_its_tables():
    # A run that fails while signing its reader in must print what it measured and the
    # failure, not a KeyError from the report.
    options = {"seed": 12, "clients": 8, "duration": 2, "warmup": 0.5, "scale_timeout": 5,
               "follows": 1000}  # fmt: skip
    health = {**_run(1000, group="floor"), "p50": 4.0, "examples": []}
    large = {**_scale({"/health": health}), "users": 2000, "follows": 19829}
    results = {"meta": {"options": options}, "scale": {"large": large}}

    text = "\n".join(report._scale_tables(results))

    assert "/health" in text
    assert "most messages" not in text
