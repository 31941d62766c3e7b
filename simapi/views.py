"""The simulator API: one view per operation. Each parses its input, calls one of
timeline's selectors or services (the same ones the web pages call) and answers.

Authentication, `latest`, body parsing and error bodies (a services.ServiceError is a 400
with its text) come from SimulatorAPIView (simapi/protocol.py). The protocol is described
in docs/api.md.
"""

from functools import cache
from http import HTTPStatus
from typing import cast

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from timeline import read_cache, selectors, services

from . import latest_counter
from .errors import ErrorSerializer
from .protocol import SimulatorAPIView
from .schema import FOLLOW_REQUEST, MESSAGE_REQUEST, REGISTER_REQUEST
from .serializers import (
    FollowInputSerializer,
    FollowsOutputSerializer,
    LatestOutputSerializer,
    LatestQuerySerializer,
    MessageInputSerializer,
    MessageOutputSerializer,
    NoQuerySerializer,
    RegisterInputSerializer,
)

_ERRORS = {
    HTTPStatus.BAD_REQUEST: "Invalid input; `error_msg` says what.",
    HTTPStatus.FORBIDDEN: "Missing or wrong simulator credentials, or a client address "
    "outside SIMULATOR_ALLOWED_IPS. Nothing was changed.",
    HTTPStatus.NOT_FOUND: "No such user.",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The body is larger than the server accepts.",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "The body is not JSON (Content-Type: application/json).",
    HTTPStatus.SERVICE_UNAVAILABLE: "The database is unavailable (down, hung, out of "
    "connections); send the request again after `Retry-After` seconds.",
}


def _responses(success: dict, *errors: HTTPStatus, public: bool = False) -> dict:
    """The documented responses of one operation: its success, its 4xx bodies, and the 503
    of a database outage (minitwit_project/errors.py)."""
    documented = dict(success)
    refused = () if public else (HTTPStatus.FORBIDDEN,)
    for status in (*refused, *errors, HTTPStatus.SERVICE_UNAVAILABLE):
        documented[status.value] = OpenApiResponse(ErrorSerializer, description=_ERRORS[status])
    return documented


_BODY_ERRORS = (
    HTTPStatus.BAD_REQUEST,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
)
_NO_CONTENT = {204: OpenApiResponse(description="Done; no body.")}
_MESSAGES = {
    200: OpenApiResponse(
        MessageOutputSerializer(many=True),
        description="Newest first (posting order breaks ties); flagged messages and "
        "deactivated users' messages are left out.",
    )
}


@cache
def _validator(serializer_class) -> serializers.Serializer:
    """One instance per input serializer, made on first use and reused: DRF deep-copies a
    serializer's fields for every new instance, which was a tenth of a simulator request's
    CPU. Validation keeps no state on the instance (run_validation returns or raises)."""
    return serializer_class()


def _valid(serializer_class, data) -> dict:
    """`data` validated by `serializer_class`; a ValidationError (400) otherwise."""
    return _validator(serializer_class).run_validation(data)


def warm_up() -> None:
    """Build every input serializer's fields before the first request (see
    minitwit_project/warmup.py)."""
    for serializer_class in (
        RegisterInputSerializer,
        MessageInputSerializer,
        FollowInputSerializer,
        NoQuerySerializer,
        LatestQuerySerializer,
    ):
        _validator(serializer_class).fields  # noqa: B018 (building them is the point)


def _cached_json(key: str, compute, *, topics: tuple[str, ...]) -> HttpResponse:
    """A read's JSON answer from the read cache (timeline/read_cache.py), kept as the bytes
    that DRF's JSONRenderer (the API's only renderer) makes of `compute()`'s data: a hit
    then costs neither unpickling the rows nor encoding them again, which was a fifth of a
    cached GET /msgs?no=100. A NotFound from `compute` propagates and is not kept."""
    body = read_cache.get_or_compute(key, lambda: JSONRenderer().render(compute()), topics=topics)
    return HttpResponse(body, content_type=JSONRenderer.media_type)


def _no_such_user(username: str) -> str:
    return f'There is no user named "{username}".'


def _user_ids_or_404(*usernames: str) -> list[int]:
    """The ids of these users, in order, from one query; a 404 naming the first unknown one."""
    found = selectors.user_ids_by_name(usernames=usernames)
    for name in usernames:
        if name not in found:
            raise NotFound(_no_such_user(name))
    return [found[name] for name in usernames]


def _messages_body(rows) -> list[dict]:
    """GET /msgs's JSON list, in MessageOutputSerializer's shape (the schema's; the schema
    tests check the two agree). Built directly: DRF's serializer fields cost most of a
    large answer's time. The rows' pub_date is already RFC 3339 text (selectors)."""
    return [
        {"content": row.text, "pub_date": row.pub_date, "user": row.author__username}
        for row in rows
    ]


def _no(request) -> int:
    return _valid(NoQuerySerializer, request.query_params)["no"]


class LatestView(SimulatorAPIView):
    # Open like the course's reference: the value is only a request counter, and monitoring
    # can read it without the simulator's password. Recording a `latest` still needs it.
    permission_classes = [AllowAny]
    records_latest_counter = False

    @extend_schema(
        operation_id="latest_get",
        summary="The last `latest` received",
        description="Open to anyone. A `latest` sent to this endpoint itself is not recorded, "
        "as in the course's reference.",
        parameters=[LatestQuerySerializer],
        responses=_responses(
            {200: OpenApiResponse(LatestOutputSerializer, description="The value.")}, public=True
        ),
        auth=[],
    )
    def get(self, request):
        return Response({"latest": latest_counter.latest_counter_value()})


class RegisterView(SimulatorAPIView):
    """POST /register with a JSON body. /register is shared with the HTML sign-up page
    (simapi/urls.py routes each request to its view)."""

    @property
    def default_response_headers(self):
        # Allow names the whole resource: GET and HEAD are the sign-up page's.
        headers = super().default_response_headers
        headers["Allow"] = "GET, HEAD, " + headers["Allow"]
        return headers

    @extend_schema(
        operation_id="register",
        summary="Register a user",
        description="Checks, in this order and with the web form's texts: a username, an "
        'email with "@", a password, a valid and free username.',
        parameters=[LatestQuerySerializer],
        request={"application/json": REGISTER_REQUEST},
        responses=_responses(_NO_CONTENT, *_BODY_ERRORS),
    )
    def post(self, request):
        data = _valid(RegisterInputSerializer, request.data)
        services.user_register(username=data["username"], email=data["email"], password=data["pwd"])
        return Response(status=HTTPStatus.NO_CONTENT)


class MessagesView(SimulatorAPIView):
    @extend_schema(
        operation_id="msgs_get",
        summary="Newest messages of everyone",
        parameters=[NoQuerySerializer, LatestQuerySerializer],
        responses=_responses(_MESSAGES, HTTPStatus.BAD_REQUEST),
    )
    def get(self, request):
        limit = _no(request)
        return _cached_json(
            f"json:msgs:{limit}",
            lambda: _messages_body(selectors.newest_messages(limit=limit)),
            topics=(read_cache.MESSAGES,),
        )


class UserMessagesView(SimulatorAPIView):
    @extend_schema(
        operation_id="msgs_user_get",
        summary="Newest messages of one user",
        parameters=[NoQuerySerializer, LatestQuerySerializer],
        responses=_responses(_MESSAGES, HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND),
    )
    def get(self, request, username: str):
        limit = _no(request)

        def messages() -> list[dict]:
            [author_id] = _user_ids_or_404(username)
            return _messages_body(selectors.newest_messages(limit=limit, author_id=author_id))

        return _cached_json(
            f"json:msgs/{username}:{limit}", messages, topics=(read_cache.MESSAGES,)
        )

    @extend_schema(
        operation_id="msgs_user_post",
        summary="Post a message as this user",
        description="The text is stored exactly as sent: 1 to 1000 characters, no control "
        "characters other than newline, carriage return and tab.",
        parameters=[LatestQuerySerializer],
        request={"application/json": MESSAGE_REQUEST},
        responses=_responses(_NO_CONTENT, *_BODY_ERRORS, HTTPStatus.NOT_FOUND),
    )
    def post(self, request, username: str):
        # The author is looked up by the insert itself (one round trip with `latest`).
        try:
            data = _valid(MessageInputSerializer, request.data)
            posted = services.message_create_as(username=username, text=data["content"])
        except (APIException, services.ServiceError):
            # The course's reference answers 404 for an unknown user before it reads the
            # body: a bad body for an unknown user is a 404 here too.
            _user_ids_or_404(username)
            raise
        if not posted:
            raise NotFound(_no_such_user(username))
        return Response(status=HTTPStatus.NO_CONTENT)


class FollowsView(SimulatorAPIView):
    @extend_schema(
        operation_id="fllws_get",
        summary="Whom a user follows",
        parameters=[NoQuerySerializer, LatestQuerySerializer],
        responses=_responses(
            {200: OpenApiResponse(FollowsOutputSerializer, description="Oldest follow first.")},
            HTTPStatus.BAD_REQUEST,
            HTTPStatus.NOT_FOUND,
        ),
    )
    def get(self, request, username: str):
        limit = _no(request)

        def follows() -> list[str]:
            [user_id] = _user_ids_or_404(username)
            return selectors.followed_usernames(user_id=user_id, limit=limit)

        # Who exists and is active is a user's state, which every topic's writes retire.
        return _cached_json(
            f"json:fllws/{username}:{limit}",
            lambda: {"follows": follows()},
            topics=(read_cache.FOLLOWS,),
        )

    @extend_schema(
        operation_id="fllws_post",
        summary="Follow or unfollow someone as this user",
        description="Following someone already followed and unfollowing someone not "
        "followed succeed (204) and change nothing. Following yourself is a 400.",
        parameters=[LatestQuerySerializer],
        request={"application/json": FOLLOW_REQUEST},
        responses=_responses(_NO_CONTENT, *_BODY_ERRORS, HTTPStatus.NOT_FOUND),
    )
    def post(self, request, username: str):
        data = _valid(FollowInputSerializer, request.data)
        # FollowInputSerializer.validate admits exactly one of the two, so one is there.
        target = cast(str, data.get("follow", data.get("unfollow")))
        # Both users in one query: follows and unfollows are over half of the simulator's
        # requests.
        user_id, other_id = _user_ids_or_404(username, target)
        if "follow" in data:
            services.follow_create(follower_id=user_id, followed_id=other_id)
        else:
            services.follow_delete(follower_id=user_id, followed_id=other_id)
        return Response(status=HTTPStatus.NO_CONTENT)
