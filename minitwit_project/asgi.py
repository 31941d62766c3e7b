"""ASGI entry point (`minitwit_project.asgi:application`) for `make run`'s asyncio worker.

Django's ASGI handler reads a request's whole body in the event loop before any view
runs, so a client that sends its body slowly holds a coroutine, not a worker (see
docs/security.md, "Slow bodies"). Production serves the WSGI app behind nginx.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minitwit_project.settings")

application = get_asgi_application()
