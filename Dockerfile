# syntax=docker/dockerfile:1
# MiniTwit's production image (docs/operations.md). Wheels are built in their own stage so the
# runtime stage carries no build tools; the app runs as an unprivileged user, serves its own
# static files (whitenoise) and is started by deploy/docker-entrypoint.sh.

FROM python:3.11.14-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
# PyICU (look-alike usernames, timeline/usernames.py) has no wheels: it compiles against the
# distribution's ICU. Unpinned versions: the base image fixes the distribution release, and
# its security updates must still install.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ pkg-config libicu-dev \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels --requirement requirements.txt


FROM python:3.11.14-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MINITWIT_ENV=production \
    GUNICORN_BIND=0.0.0.0:8000 \
    WEB_CONCURRENCY=3 \
    GUNICORN_THREADS=1

# ICU's shared library, which the PyICU wheel from the builder links to.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libicu72 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 minitwit \
    && useradd --system --uid 10001 --gid minitwit --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin minitwit

# Only the wheels cross over from the builder: no compiler, no pip cache in the final image.
COPY --from=builder /wheels /wheels
COPY requirements.txt /wheels/requirements.txt
RUN pip install --no-index --find-links=/wheels --requirement /wheels/requirements.txt \
    && rm -rf /wheels

WORKDIR /app
COPY . .

# Static files are collected into the image so every replica serves identical hashed names.
# The key and host below exist only for this build step (production settings refuse to load
# without them); the real ones arrive at run time as Docker secrets and never enter the image.
RUN MINITWIT_ENV=production \
    SECRET_KEY=collectstatic-build-step-only-not-used-at-runtime \
    ALLOWED_HOSTS=build.invalid \
    python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q minitwit_project sitewide timeline simapi

# At run time the app writes only to temporary directories: /tmp (gunicorn's metrics
# directory for its workers, uploads) and /dev/shm (worker heartbeats). Both are mode 1777 in
# the image, and a tmpfs the engine mounts over a directory keeps that directory's mode, so
# they stay writable for this user under a read-only root. gunicorn.conf.py checks that at
# start and exits once, naming the directory, if not.

USER 10001:10001
EXPOSE 8000

# Liveness only (no database): a replica that cannot reach PostgreSQL is not restarted in a loop.
# /health answers before Django's ALLOWED_HOSTS check, so 127.0.0.1 is a fine host name.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ['GUNICORN_BIND'].rsplit(':', 1)[1]; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=2).status == 200 else 1)"]

ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["web"]
