"""Which requests are the simulator's: the protocol's endpoints, minus the HTML sign-up
page that shares /register with the API.

Used by the shared /register route (simapi/urls.py), and where a request is answered
outside the API's views: simulator traffic metrics (simapi/middleware.py), and the JSON
shape of the 500 and the outage 503 (Django's handler500, minitwit_project/errors.py).
"""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponseBase

from timeline.forms import FORM_CONTENT_TYPES

# The protocol's URL names (simapi/urls.py); the schema and docs pages are not simulator
# traffic.
SIMULATOR_ENDPOINTS = frozenset({"latest", "register", "msgs", "msgs_user", "fllws"})


def is_signup_page_request(request: HttpRequest) -> bool:
    """Whether a request to /register is for the HTML sign-up page (a GET or HEAD, or a
    form post) rather than the simulator API (any other POST, and any other method, which
    the API answers with its 405 and Allow header)."""
    if request.method in ("GET", "HEAD"):
        return True
    return request.method == "POST" and request.content_type in FORM_CONTENT_TYPES


def is_simulator_request(request: HttpRequest) -> bool:
    """Whether the request was routed to one of the simulator API's endpoints (not to the
    HTML sign-up page that shares /register). False before URL resolution."""
    match = getattr(request, "resolver_match", None)
    return (
        match is not None
        and match.url_name in SIMULATOR_ENDPOINTS
        and "simapi" in match.app_names
        and not (match.url_name == "register" and is_signup_page_request(request))
    )


View = Callable[..., HttpResponseBase]


def register_route(*, api: View, page: View) -> View:
    """The one view of /register: the sign-up `page` for its requests (see
    is_signup_page_request), the simulator `api` for the rest.

    The result keeps the API view's attributes (functools.wraps), so DRF's schema
    generator and resolver_match see the API view, and so does csrf_exempt: the
    cross-origin middleware skips this view, and `page` must bring its own protection.
    """

    @wraps(api)
    def register(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if is_signup_page_request(request):
            return page(request, *args, **kwargs)
        return api(request, *args, **kwargs)

    return register
