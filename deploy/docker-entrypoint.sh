#!/bin/sh
# The container's commands:
#   web [GUNICORN OPTIONS]   serve the site (the default)
#   manage COMMAND [ARGS]    run a management command, e.g. `manage migrate --noinput`
#   anything else            run as given (e.g. `sh` for a look around)
set -eu

command="${1:-web}"
if [ "$#" -gt 0 ]; then
    shift
fi

case "$command" in
    web)
        # exec: gunicorn replaces this shell, so Swarm's SIGTERM reaches it directly and a
        # stop is gunicorn's graceful shutdown. /dev/shm keeps worker heartbeat files off the
        # read-only image filesystem.
        exec gunicorn --config gunicorn.conf.py --worker-tmp-dir /dev/shm "$@" \
            minitwit_project.wsgi:application
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    *)
        exec "$command" "$@"
        ;;
esac
