"""The README's configuration table and the code agree on which variables exist.

Users configure the site from the table in README.md ("Configuration"), so a variable the
code reads but the table leaves out is a knob nobody can find, and a row the code never
reads is a knob that silently does nothing.

Where a variable counts as read:
- Python: every tracked .py file (app code, settings, gunicorn.conf.py, manage.py, deploy
  and test helpers), parsed with `ast`: a call of the settings helpers `envstr`, `envint`,
  `envbool`, `envlist`, `envallowlist`, `os.environ.get`, `os.getenv`, or a load of
  `os.environ[...]`. Setting a variable (`setdefault`, `monkeypatch.setenv`, assignments)
  is not a read.
- Everything else that runs: shell scripts (`*.sh`), the Dockerfiles, `stack.yml` and the
  other compose/YAML files under deploy/, nginx templates, the Alloy config and the
  Makefile, where a read is a shell-style expansion (`$NAME`, `${NAME...}`, `$(NAME)`) or
  Alloy's `env("NAME")`. CI workflow files and .ci/ only set variables, so they are left out.

The other direction covers what the site itself reads: settings.py, gunicorn.conf.py,
manage.py and the app packages (minitwit_project, sitewide, timeline, simapi), tests
excluded.
The *secret* mark (may be given as NAME_FILE) must sit on exactly what settings.envstr reads.
"""

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV_HELPERS = {"envstr", "envint", "envbool", "envlist", "envallowlist"}
# Read by gunicorn.conf.py but owned by the operating system, not by this project: it is
# where every program puts temporary files, and the PROMETHEUS_MULTIPROC_DIR row says so.
NOT_OURS = {"TMPDIR"}
VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def tracked_files() -> list[Path]:
    try:
        listing = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs a git checkout to know which files are the project's")
    return [ROOT / line for line in listing.splitlines() if (ROOT / line).is_file()]


def readme_rows() -> list[str]:
    """First cells of the rows of the README's configuration table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]


def names_in(cell: str) -> set[str]:
    return {name for name in re.findall(r"`([^`]+)`", cell) if VARIABLE.match(name)}


def readme_variables() -> set[str]:
    """Names in the first column of the README's configuration table."""
    return set().union(*(names_in(cell) for cell in readme_rows()))


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _is_os_lookup(func: ast.AST) -> bool:
    """os.environ.get or os.getenv."""
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr == "get":
        return _is_os_environ(func.value)
    return func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os"


def python_reads(path: Path, helpers: set[str] = ENV_HELPERS, os_environ: bool = True) -> set[str]:
    """Variables this Python file reads from the environment by a literal name: through
    the `helpers` functions, and, when `os_environ` is true, through os.environ/os.getenv."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        literal = None
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            by_helper = isinstance(node.func, ast.Name) and node.func.id in helpers
            if by_helper or (os_environ and _is_os_lookup(node.func)):
                literal = node.args[0].value
        elif (
            os_environ
            and isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and _is_os_environ(node.value)
            and isinstance(node.slice, ast.Constant)
        ):
            literal = node.slice.value
        if isinstance(literal, str) and VARIABLE.match(literal):
            names.add(literal)
    return names


def is_config_file(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    if relative.startswith((".github/", ".ci/")):
        return False
    return path.suffix in {".sh", ".yml", ".template", ".alloy"} or path.name in {
        "Dockerfile",
        "Makefile",
    }


def config_file_reads(path: Path) -> set[str]:
    text = path.read_text()
    expansions = re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", text)
    expansions += re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", text)
    expansions += re.findall(r'env\("([A-Z][A-Z0-9_]*)"\)', text)
    return set(expansions)


def code_reads() -> dict[str, set[str]]:
    """Every variable read anywhere in the project, mapped to the files that read it."""
    readers: dict[str, set[str]] = {}
    for path in tracked_files():
        if path.suffix == ".py":
            names = python_reads(path)
        elif is_config_file(path):
            names = config_file_reads(path)
        else:
            continue
        for name in names:
            readers.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    return readers


def site_reads() -> set[str]:
    """Variables the running site reads: settings, gunicorn, manage.py and the apps."""
    files = [ROOT / "gunicorn.conf.py", ROOT / "manage.py"]
    for package in ("minitwit_project", "sitewide", "timeline", "simapi"):
        files += [p for p in (ROOT / package).rglob("*.py") if "tests" not in p.parts]
    return set().union(*(python_reads(path) for path in files))


def test_every_variable_in_the_readme_table_is_read_by_the_code():
    documented = readme_variables()
    assert {"SECRET_KEY", "GUNICORN_BIND", "MINITWIT_TAG"} <= documented  # the table parsed
    readers = code_reads()
    unread = sorted(documented - readers.keys())
    assert not unread, f"README documents variables no code reads: {unread}"


def test_every_variable_the_site_reads_is_in_the_readme_table():
    read = site_reads()
    assert {"SECRET_KEY", "DB_LOCK_TIMEOUT", "GUNICORN_TIMEOUT"} <= read  # the scan works
    undocumented = sorted(read - readme_variables() - NOT_OURS)
    assert not undocumented, f"the code reads variables README.md does not list: {undocumented}"


def test_the_variables_marked_secret_are_the_ones_that_accept_a_file():
    """README: "Any variable marked *secret* may instead be given as `<NAME>_FILE`"; only
    settings.envstr reads NAME_FILE, so the mark must sit exactly on what envstr reads."""
    marked = set().union(*(names_in(cell) for cell in readme_rows() if "*secret*" in cell))
    assert "SECRET_KEY" in marked
    read_by_envstr = python_reads(
        ROOT / "minitwit_project" / "settings.py", helpers={"envstr"}, os_environ=False
    )
    assert marked == read_by_envstr
