"""A URL configuration for the observability tests: the site's pages, plus stand-ins for
three of the simulator API's endpoints (same app name and URL names as simapi/urls.py) and
views that log or fail.

The request log and the metrics name a request by where it resolved (`simapi:latest`: app
and URL name), not by its view function, so a stand-in is named exactly as the real
endpoint is, and can answer or fail on demand
(a 404, a crash in register) without a simulator user, credentials or a database row.
"""

import logging

from django.http import HttpResponse, JsonResponse
from django.urls import include, path

logger = logging.getLogger("timeline.observed")


def latest(request):
    return JsonResponse({"latest": 7})


def msgs_user(request, username):
    if username == "nobody":
        return JsonResponse({"error": "no such user"}, status=404)
    return HttpResponse(status=204)


def register(request):
    raise RuntimeError("the register stand-in broke")


def chatty(request):
    logger.info("working on it")
    logger.warning("still working")
    return HttpResponse("done")


def broken(request):
    raise RuntimeError("kaput")


simapi_patterns = (
    [
        path("latest", latest, name="latest"),
        path("register", register, name="register"),
        path("msgs/<str:username>", msgs_user, name="msgs_user"),
    ],
    "simapi",
)

urlpatterns = [
    path("test/chatty", chatty),
    path("test/broken", broken, name="broken"),
    # Under a prefix so the stand-ins do not shadow the pages' /register.
    path("sim/", include(simapi_patterns)),
    path("", include("timeline.urls")),
]
