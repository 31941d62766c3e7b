"""The simulator's endpoints at the site root (where the course simulator points), and the
API's OpenAPI schema and docs page. Included before timeline.urls: /register is shared."""

from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

app_name = "simapi"

# Swagger UI under the site's Content-Security-Policy: the split view serves its start-up
# script as a file (/api/docs/?script) instead of inline, so scripts stay 'self'-only. Its
# page still has a <style> block and the UI sets style attributes and uses data: icons,
# which only this page allows. Nothing on it comes from users.
docs_view = csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="simapi:schema")
)

# The names are part of the interface: the metrics middleware counts simulator requests by
# them. Keep them stable.
urlpatterns = [
    path("latest", views.LatestView.as_view(), name="latest"),
    path("register", views.RegisterView.as_view(), name="register"),
    path("msgs", views.MessagesView.as_view(), name="msgs"),
    path("msgs/<str:username>", views.UserMessagesView.as_view(), name="msgs_user"),
    path("fllws/<str:username>", views.FollowsView.as_view(), name="fllws"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", docs_view, name="docs"),
]
