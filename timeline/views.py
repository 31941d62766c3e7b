"""The classic MiniTwit pages. Views parse input, call one service or selector, render."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from . import errors, selectors, services
from .models import MESSAGE_MAX_LENGTH, User
from .parsing import parse_int

# Deep pages cost an OFFSET scan; nobody reads 30 x 10,000 messages back by paging.
MAX_PAGE = 10_000


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


def _page_number(request: HttpRequest) -> int:
    number = parse_int(request.GET.get("page", "1"), minimum=1, maximum=MAX_PAGE)
    if number is None:
        raise BadRequest(f"The page number must be a whole number from 1 to {MAX_PAGE}.")
    return number


def _render_timeline(request, template_context: dict, page) -> HttpResponse:
    if page.page > 1 and not page.messages:
        raise Http404("There are no messages on this page.")
    context = {"page": page, "messages_list": page.messages, **template_context}
    return render(request, "timeline/timeline.html", context)


@allow_methods("GET")
def timeline(request: HttpRequest) -> HttpResponse:
    """My timeline: own and followed users' messages. Visitors see the public one."""
    if not request.user.is_authenticated:
        return redirect("timeline:public")
    number = _page_number(request)
    page = selectors.personal_timeline(
        user=request.user, page=number, per_page=settings.MESSAGES_PER_PAGE
    )
    return _render_timeline(
        request,
        {"title": "My Timeline", "kind": "personal", "max_length": MESSAGE_MAX_LENGTH},
        page,
    )


@allow_methods("GET")
def public_timeline(request: HttpRequest) -> HttpResponse:
    number = _page_number(request)
    page = selectors.public_timeline(page=number, per_page=settings.MESSAGES_PER_PAGE)
    return _render_timeline(request, {"title": "Public Timeline", "kind": "public"}, page)


@allow_methods("GET")
def user_timeline(request: HttpRequest, username: str) -> HttpResponse:
    profile_user = _user_or_404(username)
    number = _page_number(request)
    followed = request.user.is_authenticated and selectors.is_following(
        follower=request.user, followed=profile_user
    )
    page = selectors.user_timeline(
        user=profile_user, page=number, per_page=settings.MESSAGES_PER_PAGE
    )
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


@allow_methods("POST")
@login_required
def follow_user(request: HttpRequest, username: str) -> HttpResponse:
    whom = _user_or_404(username)
    try:
        services.follow_create(follower=request.user, followed=whom)
    except services.ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f'You are now following "{whom.username}"')
    return redirect("timeline:user", username=whom.username)


@allow_methods("POST")
@login_required
def unfollow_user(request: HttpRequest, username: str) -> HttpResponse:
    whom = _user_or_404(username)
    services.follow_delete(follower=request.user, followed=whom)
    messages.success(request, f'You are no longer following "{whom.username}"')
    return redirect("timeline:user", username=whom.username)


@allow_methods("GET", "POST")
@login_required
def add_message(request: HttpRequest) -> HttpResponse:
    """POST shares a message; a GET (a bookmark, a reload) shows the box to write one in."""
    if request.method != "POST":
        return render(request, "timeline/add_message.html", {"max_length": MESSAGE_MAX_LENGTH})
    try:
        services.message_create(author=request.user, text=request.POST.get("text", ""))
    except services.ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Your message was recorded")
    return redirect("timeline:timeline")


@allow_methods("GET", "POST")
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("timeline:timeline")
    error = None
    if request.method == "POST":
        try:
            user = services.user_authenticate(
                username=request.POST.get("username", ""),
                password=request.POST.get("password", ""),
            )
        except services.ServiceError as exc:
            error = exc.message
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "You were logged in")
            return redirect("timeline:timeline")
    return render(
        request,
        "timeline/login.html",
        {"error": error, "username": request.POST.get("username", "")},
    )


@allow_methods("GET", "POST")
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET shows a sign-out button; only the POST (CSRF-protected) signs out, so a
    third-party page cannot sign a visitor out with an <img src="/logout">."""
    if request.method == "POST":
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
    error = None
    if request.method == "POST":
        try:
            services.user_register(
                username=request.POST.get("username", ""),
                email=request.POST.get("email", ""),
                password=request.POST.get("password", ""),
                password_repeat=request.POST.get("password2", ""),
            )
        except services.ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, "You were successfully registered and can login now")
            return redirect("timeline:login")
    form = {key: request.POST.get(key, "") for key in ("username", "email")}
    return render(
        request,
        "timeline/register.html",
        {"error": error, "form": form},
    )
