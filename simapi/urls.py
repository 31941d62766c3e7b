"""The simulator's endpoints at the site root (where the course simulator points), and the
API's OpenAPI schema and docs page. Included before timeline.urls: /register is shared."""

from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from sitewide.request_policy import cross_origin_protect
from timeline import views as timeline_views

from . import views
from .routing import register_route

app_name = "simapi"

# Swagger UI under the site's Content-Security-Policy: the split view serves its start-up
# script as a file (/api/docs/?script) instead of inline, so scripts stay 'self'-only. Its
# page still has a <style> block and the UI sets style attributes and uses data: icons,
# which only this page allows. Nothing on it comes from users.
docs_view = csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="simapi:schema")
)

# /register is shared, and routed here only: the simulator's JSON POST goes to the API,
# the sign-up page's GET, HEAD and form posts to timeline's page, with that page's
# cross-origin protection (the middleware cannot see it inside the API's csrf_exempt
# view). timeline.urls names the page's route too, for reverse(); this one matches first.
register = register_route(
    api=views.RegisterView.as_view(), page=cross_origin_protect(timeline_views.register_view)
)

# The names are part of the interface: simulator requests are counted by them
# (simapi/routing.py). Keep them stable.
urlpatterns = [
    path("latest", views.LatestView.as_view(), name="latest"),
    path("register", register, name="register"),
    path("msgs", views.MessagesView.as_view(), name="msgs"),
    path("msgs/<str:username>", views.UserMessagesView.as_view(), name="msgs_user"),
    path("fllws/<str:username>", views.FollowsView.as_view(), name="fllws"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", docs_view, name="docs"),
]
