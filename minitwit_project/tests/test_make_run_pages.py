"""`make run` shows what a visitor would see: the designed error pages, not Django's
debug pages (which list settings, URLs and local paths). DEBUG=1 asks for those."""

from .conftest import Gunicorn, get, load_settings


def test_make_run_serves_the_designed_404_and_400_pages(tmp_path):
    # The environment `make run` starts gunicorn with: nothing set.
    with Gunicorn(tmp_path, DEBUG="", MINITWIT_ENV="development") as server:
        status, body = get(f"{server.url}/nobody-by-this-name")
        assert status == 404
        assert "<h2>404 Not Found</h2>" in body and "No such user." in body
        status, body = get(f"{server.url}/public?page=x")
        assert status == 400
        assert "<h2>400 Bad Request</h2>" in body
        status, body = get(f"{server.url}/no/such/page/here")
        assert status == 404
        assert "<h2>404 Not Found</h2>" in body
        assert "URLconf" not in body and "DEBUG = True" not in body


def test_debug_pages_are_only_there_when_asked_for(tmp_path):
    assert load_settings({}, "settings.DEBUG", tmp_path=tmp_path).stdout.strip() == "False"
    result = load_settings({"DEBUG": "1"}, "settings.DEBUG", tmp_path=tmp_path)
    assert result.stdout.strip() == "True"
