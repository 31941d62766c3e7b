"""The simulator's endpoints at the site root (where the course simulator points), and the
API's OpenAPI schema and docs page. Included before timeline.urls: /register is shared."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

app_name = "simapi"

# The names are part of the interface: the metrics middleware counts simulator requests by
# them. Keep them stable.
urlpatterns = [
    path("latest", views.LatestView.as_view(), name="latest"),
    path("register", views.RegisterView.as_view(), name="register"),
    path("msgs", views.MessagesView.as_view(), name="msgs"),
    path("msgs/<str:username>", views.UserMessagesView.as_view(), name="msgs_user"),
    path("fllws/<str:username>", views.FollowsView.as_view(), name="fllws"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="simapi:schema"), name="docs"),
]
