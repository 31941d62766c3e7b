from django.apps import AppConfig


class SimapiConfig(AppConfig):
    name = "simapi"
    verbose_name = "Simulator API"
