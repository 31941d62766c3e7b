app_name = "simapi"

urlpatterns: list = []
