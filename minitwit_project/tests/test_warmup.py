"""A new worker builds what its first requests need before it accepts any
(minitwit_project/warmup.py), and a failure there never keeps it from serving."""

import importlib.util
import logging

import pytest
from django.template import engines

from minitwit_project import warmup

pytestmark = pytest.mark.django_db


def test_the_warm_up_compiles_every_page_template(caplog):
    loader = engines["django"].engine.template_loaders[0]
    loader.reset()
    with caplog.at_level(logging.INFO, logger="minitwit.warmup"):
        warmup.warm_up()
    compiled = {key.split("-")[0] for key in loader.get_template_cache}
    assert {"timeline/timeline.html", "timeline/login.html", "error.html"} <= compiled
    assert "warm-up done" in caplog.text


def test_a_database_that_is_down_only_skips_its_step(database_outage, caplog):
    with caplog.at_level(logging.INFO, logger="minitwit.warmup"):
        warmup.warm_up()
    assert "database connection and queries skipped" in caplog.text
    assert "warm-up done" in caplog.text


def test_a_step_that_breaks_is_logged_not_raised(monkeypatch, caplog):
    def broken():
        raise RuntimeError("something unforeseen")

    monkeypatch.setattr(warmup, "_urls", broken)
    with caplog.at_level(logging.WARNING, logger="minitwit.warmup"):
        warmup.warm_up()
    assert "URL resolver failed" in caplog.text
    assert "something unforeseen" in caplog.text


def test_gunicorn_warms_each_worker_up_before_it_serves(monkeypatch, settings):
    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", settings.BASE_DIR / "gunicorn.conf.py"
    )
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    calls = []
    monkeypatch.setattr(warmup, "warm_up", lambda: calls.append("warm_up"))
    conf.post_worker_init(worker=None)
    assert calls == ["warm_up"]
