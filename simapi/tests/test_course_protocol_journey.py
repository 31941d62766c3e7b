"""The journey the course's API test takes, in our own words: each step carries the next
`latest`, and GET /latest answers it right after. Course teams run that test against their
MiniTwit; this keeps us passing it."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_simulator_session_from_sign_ups_to_unfollowing(sim):
    def step(latest: int, method: str, path: str, body=None, status: int = 204):
        separator = "&" if "?" in path else "?"
        url = f"{path}{separator}latest={latest}"
        response = sim.get(url) if method == "GET" else sim.post(url, body)
        assert response.status_code == status, (url, response.content)
        assert sim.get("/latest").json() == {"latest": latest}
        return response

    step(1337, "POST", "/register", {"username": "test", "email": "test@test", "pwd": "foo"})
    step(1, "POST", "/register", {"username": "a", "email": "a@a.a", "pwd": "a"})
    step(2, "POST", "/msgs/a", {"content": "Blub!"})
    mine = step(3, "GET", "/msgs/a?no=20", status=200).json()
    assert {"content": "Blub!", "user": "a"}.items() <= mine[0].items()
    everyone = step(4, "GET", "/msgs?no=20", status=200).json()
    assert any(m["content"] == "Blub!" and m["user"] == "a" for m in everyone)
    step(5, "POST", "/register", {"username": "b", "email": "b@b.b", "pwd": "b"})
    step(6, "POST", "/register", {"username": "c", "email": "c@c.c", "pwd": "c"})
    step(7, "POST", "/fllws/a", {"follow": "b"})
    step(8, "POST", "/fllws/a", {"follow": "c"})
    assert step(9, "GET", "/fllws/a?no=20", status=200).json() == {"follows": ["b", "c"]}
    step(10, "POST", "/fllws/a", {"unfollow": "b"})
    assert step(11, "GET", "/fllws/a?no=20", status=200).json() == {"follows": ["c"]}
