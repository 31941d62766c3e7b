"""The classic MiniTwit pages. Views parse input, call one service or selector, render."""

from functools import wraps
from http import HTTPStatus

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.cache import patch_vary_headers
from django.utils.encoding import escape_uri_path

from sitewide.request_policy import may_act_on_get

from . import avatars, errors, read_cache, selectors, services
from .forms import MessageForm, SignInForm, SignUpForm
from .models import MESSAGE_MAX_LENGTH, User
from .parsing import parse_int


class AuthenticatedRequest(HttpRequest):
    """The request a @login_required view receives, for the type checker: `user` is a
    signed-in User, never AnonymousUser."""

    user: User


# Old-style `?page=N` links (before the older/newer links carried a message id) still
# work: numbers up to MAX_PAGE are understood, but one past OLD_PAGE_CAP redirects to that
# page, because a page number costs an OFFSET scan that grows with the number (page 10,000
# walked 300,000 rows, over 2 s at a million messages); page 100 walks 3,000.
MAX_PAGE = 10_000
OLD_PAGE_CAP = 100
# Message ids are PostgreSQL bigints.
MAX_CURSOR = 2**63 - 1


def allow_methods(*methods: str):
    """Django's require_http_methods with two differences: HEAD is allowed wherever GET is
    (as the HTTP standard and the original Flask MiniTwit do), and a refused method gets a
    page in the site's layout rather than an empty 405."""
    allowed = [*methods, "HEAD"] if "GET" in methods and "HEAD" not in methods else [*methods]

    def decorator(view):
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in allowed:
                return errors.method_not_allowed(request, allowed)
            return view(request, *args, **kwargs)

        return checked

    return decorator


def _visitor_page_cached(view):
    """Serve an anonymous visitor's page from the read cache (timeline/read_cache.py).

    A request with neither a session cookie nor a flash-message cookie is a visitor the page
    cannot tell from any other: the page depends only on its URL and the stored data, so
    one rendering serves them all until the next write retires it. Anyone else (signed in,
    or with a flash message waiting, both of which change the page) gets it rendered. Only
    200 responses without cookies are kept; redirects and errors are rendered every time.
    """

    @wraps(view)
    def cached(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or any(
            name in request.COOKIES
            for name in (settings.SESSION_COOKIE_NAME, CookieStorage.cookie_name)
        ):
            return view(request, *args, **kwargs)
        response = read_cache.get_or_compute(
            f"page:{request.get_full_path()}",
            lambda: view(request, *args, **kwargs),
            topics=(read_cache.MESSAGES,),
            cacheable=lambda response: (
                response.status_code == HTTPStatus.OK and not response.cookies
            ),
        )
        # A page served from the cache never touches the session, so the session middleware
        # would not add this; any cache downstream must still tell visitors from users.
        patch_vary_headers(response, ("Cookie",))
        return response

    return cached


def _position(request: HttpRequest) -> selectors.PagePosition | HttpResponse:
    """Where the page starts: `?before=<message id>` or `?after=<message id>` (the pages'
    own links), or an old `?page=N`; a page number past OLD_PAGE_CAP redirects there."""
    before, after = request.GET.get("before"), request.GET.get("after")
    if before is not None or after is not None:
        if before is not None and after is not None:
            raise BadRequest("A page is either before or after a message, not both.")
        cursor = parse_int(before if after is None else after, minimum=1, maximum=MAX_CURSOR)
        if cursor is None:
            raise BadRequest("The before and after values must be message numbers.")
        if after is None:
            return selectors.PagePosition(before=cursor)
        return selectors.PagePosition(after=cursor)
    number = parse_int(request.GET.get("page", "1"), minimum=1, maximum=MAX_PAGE)
    if number is None:
        raise BadRequest(f"The page number must be a whole number from 1 to {MAX_PAGE}.")
    if number > OLD_PAGE_CAP:
        return redirect(f"{escape_uri_path(request.path)}?page={OLD_PAGE_CAP}")
    return selectors.PagePosition(page=number)


def _render_timeline(request, template_context: dict, page) -> HttpResponse:
    if page.has_newer and not page.messages:
        raise Http404("There are no messages on this page.")
    context = {"page": page, "messages_list": page.messages, **template_context}
    return render(request, "timeline/timeline.html", context)


@allow_methods("GET")
def timeline(request: HttpRequest) -> HttpResponse:
    """My timeline: own and followed users' messages. Visitors see the public one."""
    if not request.user.is_authenticated:
        return redirect("timeline:public")
    at = _position(request)
    if isinstance(at, HttpResponse):
        return at
    page = selectors.personal_timeline(
        user=request.user, at=at, per_page=settings.MESSAGES_PER_PAGE
    )
    return _render_timeline(
        request,
        {"title": "My Timeline", "kind": "personal", "max_length": MESSAGE_MAX_LENGTH},
        page,
    )


@allow_methods("GET")
@_visitor_page_cached
def public_timeline(request: HttpRequest) -> HttpResponse:
    at = _position(request)
    if isinstance(at, HttpResponse):
        return at
    page = selectors.public_timeline(at=at, per_page=settings.MESSAGES_PER_PAGE)
    return _render_timeline(request, {"title": "Public Timeline", "kind": "public"}, page)


@allow_methods("GET")
@_visitor_page_cached
def user_timeline(request: HttpRequest, username: str) -> HttpResponse:
    profile_user = _user_or_404(username)
    at = _position(request)
    if isinstance(at, HttpResponse):
        return at
    followed = request.user.is_authenticated and selectors.is_following(
        follower=request.user, followed=profile_user
    )
    page = selectors.user_timeline(user=profile_user, at=at, per_page=settings.MESSAGES_PER_PAGE)
    context = {
        "title": f"{profile_user.username}'s Timeline",
        "kind": "profile",
        "profile_user": profile_user,
        "followed": followed,
    }
    return _render_timeline(request, context, page)


@allow_methods("GET")
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for by themselves, is the static icon, not a profile.
    Pages link the icon directly; this serves browsers and tools that only know the path."""
    response = redirect(static("favicon.ico"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _user_or_404(username: str) -> User:
    user = selectors.user_get(username=username)
    if user is None:
        raise Http404("No such user.")
    return user


# The classic MiniTwit follows, unfollows and signs out with plain links (GET), and the
# course's tests use them. They act when the request comes from this site or from a client
# that is not a browser; a GET another site sent (its link arrives with the SameSite=Lax
# session cookie) only shows a page offering the action as a button, whose POST the
# cross-origin protection then checks like any other.


@allow_methods("GET", "POST")
@login_required
def follow_user(request: AuthenticatedRequest, username: str) -> HttpResponse:
    whom = _user_or_404(username)
    if request.method != "POST" and not may_act_on_get(request):
        return _offer(request, "follow", whom)
    try:
        services.follow_create(follower_id=request.user.pk, followed_id=whom.pk)
    except services.ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f'You are now following "{whom.username}"')
    return redirect("timeline:user", username=whom.username)


@allow_methods("GET", "POST")
@login_required
def unfollow_user(request: AuthenticatedRequest, username: str) -> HttpResponse:
    whom = _user_or_404(username)
    if request.method != "POST" and not may_act_on_get(request):
        return _offer(request, "unfollow", whom)
    services.follow_delete(follower_id=request.user.pk, followed_id=whom.pk)
    messages.success(request, f'You are no longer following "{whom.username}"')
    return redirect("timeline:user", username=whom.username)


def _offer(request: AuthenticatedRequest, action: str, whom: User) -> HttpResponse:
    context = {
        "action": action,
        "profile_user": whom,
        "followed": selectors.is_following(follower=request.user, followed=whom),
    }
    return render(request, "timeline/follow.html", context)


@allow_methods("GET", "POST")
@login_required
def add_message(request: AuthenticatedRequest) -> HttpResponse:
    """POST shares a message; a GET (a bookmark, a reload) shows the box to write one in."""
    if request.method != "POST":
        return render(request, "timeline/add_message.html", {"max_length": MESSAGE_MAX_LENGTH})
    form = MessageForm(request)
    try:
        if not form.is_valid():
            raise services.ServiceError(form.first_error())
        services.message_create(author_id=request.user.pk, text=form.cleaned_data["text"])
    except services.ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Your message was recorded")
    return redirect("timeline:timeline")


@allow_methods("GET", "POST")
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("timeline:timeline")
    form = SignInForm(request)
    error = None
    if form.is_bound:
        try:
            if not form.is_valid():
                raise services.ServiceError(form.first_error())
            user = services.user_authenticate(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except services.ServiceError as exc:
            error = exc.message
        else:
            login(request, user)
            messages.success(request, "You were logged in")
            return redirect("timeline:timeline")
    return render(
        request,
        "timeline/login.html",
        {"error": error, "username": form.data.get("username", "")},
        status=_form_status(form),
    )


def _form_status(form) -> int:
    # A body that is not text, or an impossible password, is a bad request; MiniTwit's own
    # refusals ("Invalid password") are pages like any other, as in the original.
    return HTTPStatus.BAD_REQUEST if form.refused_outright else HTTPStatus.OK


@allow_methods("GET", "POST")
def logout_view(request: HttpRequest) -> HttpResponse:
    """Signs out on a POST, and on a GET that may act (see follow_user); a GET from another
    site shows the sign-out button instead, so a third-party page cannot sign anyone out."""
    if request.method == "POST" or may_act_on_get(request):
        if request.user.is_authenticated:
            logout(request)
            messages.success(request, "You were logged out")
        return redirect("timeline:public")
    if not request.user.is_authenticated:
        return redirect("timeline:public")
    return render(request, "timeline/logout.html")


@allow_methods("GET", "POST")
def register_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("timeline:timeline")
    form = SignUpForm(request)
    error = None
    if form.is_bound:
        try:
            if not form.is_valid():
                raise services.ServiceError(form.first_error())
            services.user_register(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                password_repeat=form.cleaned_data["password2"],
            )
        except services.ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, "You were successfully registered and can login now")
            return redirect("timeline:login")
    typed = {key: form.data.get(key, "") for key in ("username", "email")}
    return render(
        request,
        "timeline/register.html",
        {"error": error, "typed": typed},
        status=_form_status(form),
    )


# A year, the longest lifetime caches honour; the URL changes whenever the picture would.
AVATAR_MAX_AGE = 365 * 24 * 3600


@allow_methods("GET")
def avatar(request: HttpRequest, digest: str) -> HttpResponse:
    """The identicon for a digest from avatars.username_digest (the URL pattern only lets
    DIGEST_LENGTH lowercase hex digits through). Public and immutable: no database, no user."""
    if request.headers.get("If-None-Match") == f'"{avatars.VERSION}-{digest}"':
        response = HttpResponse(status=HTTPStatus.NOT_MODIFIED)
    else:
        response = HttpResponse(avatars.identicon_svg(digest), content_type="image/svg+xml")
    response["ETag"] = f'"{avatars.VERSION}-{digest}"'
    response["Cache-Control"] = f"public, max-age={AVATAR_MAX_AGE}, immutable"
    # An SVG opened on its own is a document; this one has nothing to run or fetch.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
