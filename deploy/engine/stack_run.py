"""`docker run` arguments that run one service of stack.yml the way Swarm runs it.

    stack_run.py options SERVICE --secrets-dir DIR [--env NAME=VALUE ...]
    stack_run.py command SERVICE

`options` prints one argument per line: --read-only, the service's tmpfs mounts (with their
size), its secrets as read-only files under /run/secrets owned by the stack's uid and gid with
the stack's mode, its environment (each --env given here replaces the stack's value), and its
stop grace period. The secret files are made in --secrets-dir from files named after each
secret's source (the caller writes the values there). `command` prints the service's command,
one word per line. The stack is rendered with `docker stack config`, so the variables of the
environment apply, as they would for `docker stack deploy`.

Used by deploy/engine/check.sh (the real-engine check): the container it starts must be the
stack's, not a look-alike.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def render_service(name: str) -> dict:
    result = subprocess.run(
        ["docker", "stack", "config", "--compose-file", str(ROOT / "stack.yml")],
        capture_output=True,
        text=True,
        check=True,
    )
    return yaml.safe_load(result.stdout)["services"][name]


def seconds(duration: str) -> int:
    """'30s', '1m', '1m30s' -> seconds (the forms stack.yml uses)."""
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    if not match or not duration:
        raise ValueError(f"unsupported duration {duration!r}")
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def options(service: dict, secrets_dir: Path, overrides: list[str]) -> list[str]:
    args: list[str] = []
    if service.get("read_only"):
        args.append("--read-only")
    for volume in service.get("volumes", []):
        if volume["type"] != "tmpfs":
            raise SystemExit(f"stack_run.py: a {volume['type']} mount is not supported here")
        mount = f"type=tmpfs,destination={volume['target']}"
        size = (volume.get("tmpfs") or {}).get("size")
        if size:
            mount += f",tmpfs-size={size}"
        args += ["--mount", mount]
    mounted = secrets_dir / "mounted"
    mounted.mkdir(exist_ok=True)
    for secret in service.get("secrets", []):
        # Swarm's defaults for a secret without uid, gid or mode: root, root, 0444.
        target = mounted / secret["target"]
        shutil.copyfile(secrets_dir / secret["source"], target)
        os.chown(target, int(secret.get("uid", 0)), int(secret.get("gid", 0)))
        os.chmod(target, int(secret.get("mode", 0o444)))
        args += [
            "--mount",
            f"type=bind,source={target},target=/run/secrets/{secret['target']},readonly",
        ]
    environment = dict(service.get("environment", {}))
    for override in overrides:
        name, _, value = override.partition("=")
        environment[name] = value
    for name, value in environment.items():
        args += ["--env", f"{name}={value}"]
    if service.get("stop_grace_period"):
        args += ["--stop-timeout", str(seconds(service["stop_grace_period"]))]
    return args


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["options", "command"])
    parser.add_argument("service")
    parser.add_argument("--secrets-dir", type=Path)
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    service = render_service(args.service)
    if args.what == "command":
        words = service.get("command", [])
    else:
        if args.secrets_dir is None:
            parser.error("options needs --secrets-dir")
        words = options(service, args.secrets_dir, args.env)
    for word in words:
        if "\n" in word:
            raise SystemExit(f"stack_run.py: a newline in {word!r}")
        print(word)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
