from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path(settings.ADMIN_PATH, admin.site.urls),
    # The simulator's endpoints sit at the site root, where the course simulator points.
    path("", include("simapi.urls")),
    path("", include("timeline.urls")),
]

handler400 = "timeline.errors.bad_request"
handler403 = "timeline.errors.permission_denied"
handler404 = "timeline.errors.page_not_found"
# 503 for a database outage, JSON for the simulator API (minitwit_project/errors.py).
handler500 = "minitwit_project.errors.server_error"
