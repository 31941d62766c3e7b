"""Imports run one way (docs/architecture.md, "Import graph"):

    minitwit_project (settings, urls, handler500)  ->  simapi  ->  timeline  ->  sitewide

A package may import the packages to its right, never one to its left: sitewide imports no
package of ours, timeline only sitewide, simapi timeline and sitewide, and the settings
package may wire them all. Every non-test module is parsed with `ast`; imports inside
functions count, and so does a dotted path in a string ("simapi.metrics.X"), which is how
Django and DRF settings load code.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Lower number: lower in the graph. A module may only import its own package or lower ones.
LAYERS = {"sitewide": 0, "timeline": 1, "simapi": 2, "minitwit_project": 3}
DOTTED_PATH = re.compile(rf"^({'|'.join(LAYERS)})(\.\w+)+$")


def modules() -> list[Path]:
    found = []
    for package in LAYERS:
        found += [p for p in (ROOT / package).rglob("*.py") if "tests" not in p.parts]
    return sorted(found)


def references(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every import and dotted-path string in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and DOTTED_PATH.match(node.value)
        ):
            found.append((node.lineno, node.value.split(".")[0]))
    return found


def wrong_way(package: str, source: str) -> list[str]:
    """What `source`, a module of `package`, imports against the graph: "line: target"."""
    return [
        f"{line}: {target}"
        for line, target in references(source)
        if target in LAYERS and LAYERS[target] > LAYERS[package]
    ]


def test_no_module_imports_a_package_above_its_own():
    violations = []
    for path in modules():
        package = path.relative_to(ROOT).parts[0]
        for found in wrong_way(package, path.read_text()):
            violations.append(f"{path.relative_to(ROOT)}:{found}")
    assert not violations, "imports against docs/architecture.md's graph:\n" + "\n".join(violations)


def test_the_scan_covers_every_package():
    scanned = {path.relative_to(ROOT).as_posix() for path in modules()}
    assert {
        "sitewide/middleware.py",
        "timeline/services.py",
        "simapi/views.py",
        "minitwit_project/settings.py",
    } <= scanned
    assert not [path for path in scanned if "/tests/" in path]


def test_each_kind_of_wrong_way_import_is_caught():
    assert wrong_way("timeline", "import simapi.views") == ["1: simapi"]
    assert wrong_way("simapi", "from minitwit_project.errors import server_error") == [
        "1: minitwit_project"
    ]
    assert wrong_way("sitewide", "def f():\n    from timeline import selectors") == ["2: timeline"]
    assert wrong_way("sitewide", 'COLLECTOR = "simapi.metrics.LatestCounterCollector"') == [
        "1: simapi"
    ]


def test_imports_down_the_graph_and_within_a_package_are_allowed():
    assert wrong_way("simapi", "from timeline import services\nfrom sitewide import outage") == []
    assert wrong_way("timeline", "from . import selectors\nfrom timeline.models import User") == []
    assert wrong_way("minitwit_project", "from simapi.routing import is_simulator_request") == []
    # A URL name is not a module path.
    assert wrong_way("timeline", 'RESERVED = ["simapi:msgs_user"]') == []
