"""A stand-in for the `docker` CLI of a Swarm manager, for testing deploy/deploy.sh here.

There is no Docker engine on CI machines, so test_deploy_script.py puts this first on PATH. It
answers the few commands deploy.sh uses the way a manager answers them, from a JSON state
file (FAKE_DOCKER_STATE), and records every call there. What it encodes about Swarm: a
service update or a stack deploy starts a new iteration of a replicated job; a job task of
that iteration ends "complete" or "failed"; a web update ends "completed" or, when Swarm
rolled it back, "rollback_completed".
"""

import json
import os
import sys

MIGRATE_ATTEMPTS = 6


def main(argv: list[str]) -> int:
    path = os.environ["FAKE_DOCKER_STATE"]
    with open(path) as f:
        state = json.load(f)
    env = {k: v for k, v in os.environ.items() if k.startswith(("MINITWIT_", "CONFIG_"))}
    state["calls"].append({"argv": argv, "env": env})
    try:
        return run(state, argv)
    finally:
        with open(path, "w") as f:
            json.dump(state, f)


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def start_job_iteration(state: dict, image: str) -> None:
    job = state["services"]["minitwit_migrate"]
    job["iteration"] += 1
    job["image"] = image
    outcome = state["migrate_outcome"]
    count = MIGRATE_ATTEMPTS if outcome == "failed" else 1
    for attempt in range(count):
        state["tasks"][f"task{job['iteration']}x{attempt}"] = {
            "iteration": job["iteration"],
            "state": outcome,
            "err": "task: non-zero exit (1)" if outcome == "failed" else "",
        }


def run(state: dict, argv: list[str]) -> int:
    services = state["services"]
    match argv[:2]:
        case ["stack", "config"]:
            return 0
        case ["manifest", "inspect"]:
            return 0 if argv[2] in state["images"] else 1
        case ["secret", "inspect"]:
            return 0 if argv[2] in state["secrets"] else 1
        case ["service", "inspect"]:
            name = argv[-1]
            if name not in services:
                return 1
            template = option(argv, "--format") or ""
            if "JobIteration" in template:
                print(services[name]["iteration"])
            elif "UpdateStatus" in template:
                print(services[name].get("update_state", ""))
            return 0
        case ["service", "update"]:
            name = argv[-1]
            if name == "minitwit_migrate":
                start_job_iteration(state, option(argv, "--image"))
            return 0
        case ["service", "ps"]:
            print("\n".join(state["tasks"]))
            return 0
        case ["service", "ls"]:
            print("2/2")
            return 0
        case ["service", "logs"]:
            print("django.db.utils.OperationalError: the fake migration failed")
            return 0
        case ["inspect", "--format"]:
            for task_id in argv[3:]:
                task = state["tasks"][task_id]
                print(f"{task['iteration']} {task['state']} {task['err']}")
            return 0
        case ["stack", "deploy"]:
            image = f"{os.environ['MINITWIT_IMAGE']}:{os.environ['MINITWIT_TAG']}"
            if "minitwit_migrate" not in services:
                services["minitwit_migrate"] = {"iteration": 0}
                services["minitwit_web"] = {}
            else:
                services["minitwit_web"]["update_state"] = state["web_outcome"]
            start_job_iteration(state, image)
            services["minitwit_web"]["image"] = image
            return 0
    print(f"fake docker: unexpected command {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
