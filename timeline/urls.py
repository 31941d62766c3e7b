from django.urls import path, re_path

from . import avatars, views

app_name = "timeline"

urlpatterns = [
    path("", views.timeline, name="timeline"),
    path("public", views.public_timeline, name="public"),
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    # Served through simapi's /register route, which matches first and sends the sign-up
    # page's requests here (simapi/urls.py); named here for reverse("timeline:register").
    path("register", views.register_view, name="register"),
    path("add_message", views.add_message, name="add_message"),
    path("favicon.ico", views.favicon, name="favicon"),
    re_path(
        rf"^avatars/{avatars.VERSION}/(?P<digest>[0-9a-f]{{{avatars.DIGEST_LENGTH}}})\.svg$",
        views.avatar,
        name="avatar",
    ),
    # Profile URLs last: any other first segment is a username.
    path("<str:username>", views.user_timeline, name="user"),
    path("<str:username>/follow", views.follow_user, name="follow"),
    path("<str:username>/unfollow", views.unfollow_user, name="unfollow"),
]
