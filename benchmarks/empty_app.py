"""A WSGI app that answers 204 at once: served like the reference, it shows what the
benchmark's client and gunicorn alone can do on this machine (the client's ceiling)."""


def application(environ, start_response):
    start_response("204 No Content", [])
    return []
