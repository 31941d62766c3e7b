"""A stand-in for the `docker` CLI of a Swarm manager, for testing deploy/deploy.sh here.

test_deploy_script.py puts this first on PATH (with a `sleep` that returns at once). It answers
the few commands deploy.sh uses the way a manager answers them, from a JSON state file
(FAKE_DOCKER_STATE), and records every call there. The real engine is exercised by
deploy/engine/check.sh; this fake encodes what that run showed about Swarm:

- a service update or a stack deploy starts a new iteration of a replicated job; each attempt
  is a task of that iteration, ending "complete" or "failed", and attempts appear one after
  the other;
- updating a service resets its UpdateStatus to none while the old replicas keep running;
  the orchestrator then reports "updating", and finally "completed" (the replicas now run the
  new image) or, when a new replica failed, "rollback_started" (the spec is back to the old
  image) and "rollback_completed".
"""

import json
import os
import sys

MIGRATE_ATTEMPTS = 6
WEB_REPLICAS = 2
# What the orchestrator reports after an update, one state per look, by outcome.
WEB_UPDATES = {
    "completed": ["updating", "completed"],
    "rollback_completed": ["updating", "rollback_started", "rollback_completed"],
    "paused": ["updating", "paused"],
}


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
    # Failed attempts appear one per look (`service ps`), as Swarm retries.
    job["attempts_due"] = MIGRATE_ATTEMPTS if outcome == "failed" else 1


def reveal_job_attempt(state: dict) -> None:
    job = state["services"].get("minitwit_migrate")
    if not job or not job.get("attempts_due"):
        return
    job["attempts_due"] -= 1
    outcome = state["migrate_outcome"]
    number = sum(1 for task in state["tasks"].values() if task["iteration"] == job["iteration"])
    state["tasks"][f"task{job['iteration']}x{number}"] = {
        "iteration": job["iteration"],
        "state": outcome,
        "err": "task: non-zero exit (1)" if outcome == "failed" else "",
    }


def start_web(state: dict, image: str) -> None:
    state["services"]["minitwit_web"] = {
        "image": image,
        "update_state": "",
        "pending": [],
        "tasks": {f"web{n}": {"image": image, "state": "running"} for n in range(WEB_REPLICAS)},
        "update_reads": [],
    }


def update_web(state: dict, image: str) -> None:
    web = state["services"]["minitwit_web"]
    web["previous_image"] = web["image"]
    web["image"] = image
    web["update_state"] = ""
    web["pending"] = list(WEB_UPDATES[state["web_outcome"]])


def read_web_update_state(web: dict) -> str:
    """The state as of this look; the orchestrator moves on between looks."""
    current = web["update_state"]
    web["update_reads"].append(current)
    if web["pending"]:
        web["update_state"] = web["pending"].pop(0)
        if web["update_state"] == "completed":
            for task in web["tasks"].values():
                task["image"] = web["image"]
        elif web["update_state"] == "rollback_started":
            web["image"] = web["previous_image"]
    return current


def run(state: dict, argv: list[str]) -> int:
    services = state["services"]
    match argv[:2]:
        case ["stack", "config"]:
            return 0
        case ["manifest", "inspect"]:
            return 0 if argv[-1] in state["images"] else 1
        case ["secret", "inspect"]:
            return 0 if argv[2] in state["secrets"] else 1
        case ["service", "inspect"]:
            name = argv[-1]
            if name not in services:
                return 1
            template = option(argv, "--format") or ""
            if "UpdateStatus.Message" in template:
                print("update rolled back due to failure or early termination of task web9")
            elif "JobIteration" in template:
                print(services[name]["iteration"])
            elif "UpdateStatus" in template:
                print(read_web_update_state(services[name]))
            elif "ContainerSpec.Image" in template:
                print(f"{services[name]['image']} {WEB_REPLICAS}")
            return 0
        case ["service", "update"]:
            name = argv[-1]
            if name == "minitwit_migrate":
                start_job_iteration(state, option(argv, "--image"))
            return 0
        case ["service", "ps"]:
            name = argv[-1]
            if name == "minitwit_web":
                print("\n".join(services[name]["tasks"]))
            else:
                reveal_job_attempt(state)
                print("\n".join(state["tasks"]))
            return 0
        case ["service", "ls"]:
            # Running tasks / desired: the old replicas count as running during an update.
            web = services["minitwit_web"]
            print(f"{len(web['tasks'])}/{WEB_REPLICAS}")
            return 0
        case ["service", "logs"]:
            print("django.db.utils.OperationalError: the fake migration failed")
            return 0
        case ["inspect", "--format"]:
            template = argv[2]
            for task_id in argv[3:]:
                if task_id.startswith("web"):
                    task = services["minitwit_web"]["tasks"][task_id]
                    print(f"{task['image']} {task['state']}")
                    continue
                task = state["tasks"][task_id]
                fields = [task_id] if "{{.ID}}" in template else []
                fields += [str(task["iteration"]), task["state"], task["err"]]
                print(" ".join(fields))
            return 0
        case ["stack", "deploy"]:
            image = f"{os.environ['MINITWIT_IMAGE']}:{os.environ['MINITWIT_TAG']}"
            if "minitwit_migrate" not in services:
                services["minitwit_migrate"] = {"iteration": 0}
                start_web(state, image)
            else:
                update_web(state, image)
            start_job_iteration(state, image)
            return 0
    print(f"fake docker: unexpected command {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
