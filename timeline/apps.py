from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "timeline"
    verbose_name = "MiniTwit"

    def ready(self):
        from . import read_cache

        read_cache.connect_model_signals()
