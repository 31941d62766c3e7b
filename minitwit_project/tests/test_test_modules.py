"""No test module imports another test module: shared fixtures and helpers live in the
conftest.py files (or a helper module such as timeline/tests/factories.py), so each test file
can be read, run and deleted on its own."""

import ast
from pathlib import Path

from .conftest import ROOT

# Where tests live; the virtualenv and npm's packages hold test files of their own.
SKIPPED_DIRS = {".venv", "node_modules", ".git"}


def find_test_modules(root: Path) -> list[Path]:
    """Every test_*.py under ROOT, outside the virtualenv and node_modules."""
    return sorted(
        path
        for path in root.rglob("test_*.py")
        if not SKIPPED_DIRS.intersection(path.relative_to(root).parts)
    )


def imported_test_modules(path: Path, root: Path) -> list[str]:
    """The test modules PATH imports, as dotted names relative to ROOT (e.g.
    "timeline.tests.test_browser"), once per import statement that names one."""
    package = list(path.relative_to(root).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # `from .x import y`: level 1 is this package, 2 its parent, and so on.
            base = package[: len(package) - node.level + 1] if node.level else []
            module = base + (node.module.split(".") if node.module else [])
            # `from . import test_x` names a module; `from .test_x import y` names one too.
            candidates = [module] + [module + [alias.name] for alias in node.names]
        else:
            continue
        for parts in candidates:
            if (
                parts
                and parts[-1].startswith("test_")
                and root.joinpath(*parts).with_suffix(".py").is_file()
            ):
                found.append(".".join(parts))
    return found


def test_no_test_module_imports_another():
    offenders = {
        str(path.relative_to(ROOT)): imported
        for path in find_test_modules(ROOT)
        if (imported := imported_test_modules(path, ROOT))
    }
    assert offenders == {}, "move what they share into a conftest.py"


def test_the_check_sees_every_way_of_importing_a_test_module(tmp_path):
    tests = tmp_path / "app" / "tests"
    tests.mkdir(parents=True)
    for name in ("test_a.py", "conftest.py", "factories.py"):
        (tests / name).write_text("X = 1\n")
    (tests / "test_b.py").write_text(
        "from .test_a import X\n"
        "from . import test_a\n"
        "from app.tests.test_a import X\n"
        "import app.tests.test_a\n"
        "from .conftest import X\n"
        "from . import conftest, factories\n"
        "from app.tests.factories import X\n"
    )

    found = imported_test_modules(tests / "test_b.py", tmp_path)

    assert found == ["app.tests.test_a"] * 4
