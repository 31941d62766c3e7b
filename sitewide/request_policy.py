"""What the site accepts at its door, in one place: canonical paths and requests from its own
origin. The rest of the stack (views, the simulator API) can assume both.

- CanonicalPathMiddleware: repeated slashes are served as the single-slash path (a client
  whose base URL ends in "/" sends //register), and a path that only differs from a real
  one by a trailing slash gets a 308, which keeps the method and body (Django's
  APPEND_SLASH answers a 301, which turns a POST into a GET).
- CrossOriginProtectionMiddleware: state changes only from this site's pages or from
  clients that are not browsers, by the browser's Fetch Metadata and Origin headers
  (django-modern-csrf); is_cross_origin() and may_act_on_get() apply the same rules to
  the classic MiniTwit's GET links that change something.
"""

import re

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import is_valid_path
from django.utils.decorators import decorator_from_middleware
from django.utils.encoding import escape_uri_path, iri_to_uri
from modern_csrf.middleware import ModernCsrfViewMiddleware

_REPEATED_SLASHES = re.compile(r"/{2,}")


class CanonicalPathMiddleware:
    """Serves each resource at one path.

    Sits right after CommonMiddleware in settings.MIDDLEWARE: the slashes are collapsed
    before the URL is resolved, and a 404 becomes a 308 before CommonMiddleware would turn it
    into APPEND_SLASH's 301 (the admin still uses that for its own pages). Resolving is only
    attempted again for requests that are already a 404, so the common path costs one
    substring test.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "//" in request.path_info:
            _rewrite_path(request, _REPEATED_SLASHES.sub("/", request.path_info))
        response = self.get_response(request)
        if response.status_code == 404:
            canonical = _slash_variant(request)
            if canonical is not None:
                # preserve_request: a 308, which clients repeat with the same method and body.
                return HttpResponsePermanentRedirect(
                    _full_path(request, canonical), preserve_request=True
                )
        return response


def _rewrite_path(request: HttpRequest, path_info: str) -> None:
    script_name = request.path[: len(request.path) - len(request.path_info)]
    request.path_info = path_info
    request.path = script_name + path_info
    request.META["PATH_INFO"] = path_info


def _slash_variant(request: HttpRequest) -> str | None:
    """The path with its trailing slashes removed, or with one added, when the request's own
    path has no route and that variant has one; None otherwise."""
    path = request.path_info
    urlconf = getattr(request, "urlconf", None)
    if path == "/" or is_valid_path(path, urlconf):
        return None
    variant = path.rstrip("/") if path.endswith("/") else path + "/"
    if not variant:
        return None
    match = is_valid_path(variant, urlconf)
    # Django's marker for views that must not be reached by adding a slash (the admin's
    # catch-all page).
    if not match or not getattr(match.func, "should_append_slash", True):
        return None
    return variant


def _full_path(request: HttpRequest, path_info: str) -> str:
    script_name = request.path[: len(request.path) - len(request.path_info)]
    query = request.META.get("QUERY_STRING", "")
    location = escape_uri_path(script_name + path_info)
    # "//evil.example" would be a different host to the client.
    location = "/%2F" + location[2:] if location.startswith("//") else location
    return location + ("?" + iri_to_uri(query) if query else "")


class CrossOriginProtectionMiddleware(ModernCsrfViewMiddleware):
    """django-modern-csrf's protection of unsafe methods (POST, ...) against cross-site
    requests, the model of Go 1.25's CrossOriginProtection, in place of Django's tokens:

    - `Sec-Fetch-Site: same-origin` or `none` (typed by the user) passes;
    - any other `Sec-Fetch-Site` (cross-site, same-site) is refused unless `Origin` is one of
      CSRF_TRUSTED_ORIGINS (or this site's own);
    - without Sec-Fetch-Site, an `Origin` that is not this site's (or a trusted one) is
      refused, `null` included;
    - with neither header the request is not from a browser that another site could steer
      (curl, requests, the course's tests), and passes.

    Refusals are 403s rendered by CSRF_FAILURE_VIEW.
    """

    def process_view(self, request, callback, callback_args, callback_kwargs):
        response = super().process_view(request, callback, callback_args, callback_kwargs)
        # The package marks a checked request with the attribute Django's own
        # CsrfViewMiddleware reads to skip its check. The admin keeps Django's token check
        # (its views are wrapped in csrf_protect), so that mark must not stick.
        request.csrf_processing_done = False
        return response


_cross_origin_check = CrossOriginProtectionMiddleware(lambda request: HttpResponse())

# The same protection for one view, where the middleware cannot see it: /register's
# sign-up page sits inside the simulator API's csrf_exempt view.
cross_origin_protect = decorator_from_middleware(CrossOriginProtectionMiddleware)


def is_cross_origin(request: HttpRequest) -> bool:
    """Whether a browser says `request` was sent by another site, by the same rules the
    middleware applies to unsafe methods. Used where a GET changes something, as the
    classic MiniTwit's /logout and /<user>/follow links do."""
    meta = request.META
    if "HTTP_SEC_FETCH_SITE" in meta:
        return meta["HTTP_SEC_FETCH_SITE"] not in {
            "same-origin",
            "none",
        } and not _cross_origin_check.has_verified_origin(request)
    return "HTTP_ORIGIN" in meta and not _cross_origin_check.has_verified_origin(request)


def may_act_on_get(request: HttpRequest) -> bool:
    """Whether a GET (never a HEAD) may do what a link of the classic MiniTwit does: not
    when another site sent it (the session cookie is SameSite=Lax, so a link on another
    site arrives signed in), and not when the browser is only prefetching the page."""
    return (
        request.method == "GET"
        and not is_cross_origin(request)
        and "prefetch" not in request.headers.get("Sec-Purpose", "")
    )
