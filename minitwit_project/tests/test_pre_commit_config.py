"""The pre-commit hooks run exactly what `make check` runs, so a commit that passes them
passes `make check` (and CI's first step), and neither list can grow without the other."""

import re
import shlex

import yaml

from .conftest import ROOT


def make_variables(makefile: str) -> dict[str, str]:
    """The Makefile's simple assignments (`NAME ?= value`, `NAME := value`), expanded."""
    values: dict[str, str] = {}
    for name, value in re.findall(r"^([A-Z_]+)\s*[?:]?=\s*(.*)$", makefile, re.MULTILINE):
        values[name] = expand(value.strip(), values)
    return values


def expand(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\((\w+)\)", lambda match: variables[match.group(1)], text)


def recipe_commands(makefile: str, target: str, setup: frozenset = frozenset({"install"})):
    """The commands `make TARGET` runs, prerequisites first, as argument lists; SETUP
    targets (installing the tools) are left out. Comments and blank lines are skipped."""
    variables = make_variables(makefile)
    rule = re.search(rf"^{re.escape(target)}:([^\n]*)\n((?:\t[^\n]*\n)*)", makefile, re.MULTILINE)
    assert rule, f"no rule for {target} in the Makefile"
    prerequisites, recipe = rule.groups()
    commands = []
    for prerequisite in prerequisites.split("|")[0].split():
        if prerequisite not in setup:
            commands += recipe_commands(makefile, prerequisite, setup)
    for line in recipe.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            commands.append(shlex.split(expand(line, variables)))
    return commands


def hook_commands(config: dict) -> list[list[str]]:
    """The commands of the local hooks as argument lists (entry, then args)."""
    return [
        shlex.split(hook["entry"]) + hook.get("args", [])
        for repo in config["repos"]
        for hook in repo["hooks"]
    ]


def test_pre_commit_runs_what_make_check_runs():
    makefile = (ROOT / "Makefile").read_text()
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())

    make_check = recipe_commands(makefile, "check")

    assert sorted(hook_commands(config)) == sorted(make_check)
    # The tools named here are the ones `make install` puts in .venv.
    assert all(command[0].startswith(".venv/bin/") for command in make_check)


def test_the_hooks_are_local_and_see_the_whole_project():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    for repo in config["repos"]:
        # No hook repository to fetch: the machines that run this cannot reach GitHub.
        assert repo["repo"] == "local"
        for hook in repo["hooks"]:
            assert hook["language"] == "system", hook["id"]
            # As in `make check`: the whole project, not only the files being committed
            # (mypy and makemigrations need all of it).
            assert hook["pass_filenames"] is False, hook["id"]


def test_the_makefile_reader_follows_prerequisites_and_skips_setup():
    makefile = (
        "VENV ?= .venv\nBIN := $(VENV)/bin\n\n"
        "lint: install\n\t$(BIN)/ruff check .\n\n"
        "install:\n\tpip install x\n\n"
        "check: lint\n\t# a comment\n\t$(BIN)/mypy --strict\n"
    )
    assert recipe_commands(makefile, "check") == [
        [".venv/bin/ruff", "check", "."],
        [".venv/bin/mypy", "--strict"],
    ]
