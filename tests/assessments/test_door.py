"""``assessments`` reaches ``guidelines`` only through its door (CONTRIBUTING, Layering):
``guidelines.services`` (evaluate, replay, catalogue) and ``guidelines.vocabulary``.
Every import statement of every module under ``assessments/`` counts, lazy ones too."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOOR = {"guidelines.services", "guidelines.vocabulary"}


def guidelines_imports(path: Path) -> list[str]:
    """The ``guidelines`` modules (or names) one module imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [
                a.name for a in node.names if a.name.split(".")[0] == "guidelines"
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "guidelines":  # from guidelines import engine
                found += [f"guidelines.{a.name}" for a in node.names]
            elif node.module.split(".")[0] == "guidelines":
                found.append(node.module)
    return found


MODULES = sorted(
    path
    for path in (ROOT / "assessments").rglob("*.py")
    if "migrations" not in path.parts
)


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=str(p.relative_to(ROOT))) for p in MODULES]
)
def test_assessments_imports_guidelines_only_through_the_door(path):
    assert [name for name in guidelines_imports(path) if name not in DOOR] == []


def test_the_check_sees_every_kind_of_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "import guidelines.engine\n"
        "from guidelines import loaders\n"
        "from guidelines.models import RuleSet\n"
        "def f():\n    from guidelines.services import guideline_evaluate\n"
        "from .records import x\n"
    )
    assert guidelines_imports(module) == [
        "guidelines.engine",
        "guidelines.loaders",
        "guidelines.models",
        "guidelines.services",
    ]
    assert len(MODULES) > 40


def test_services_enqueue_tasks_by_name_without_importing_the_tasks_module():
    """``tasks`` imports the services it wraps; they look their task up by name, so the
    two never import each other (no cycle, no lazy import)."""
    from assessments import replay_runs, reports, tasks
    from mr_cds.celery import task

    for module in (reports, replay_runs):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert "tasks" not in imported
    assert task(reports.GENERATE_TASK).name == tasks.report_generate_task.name
    assert task(replay_runs.CHUNK_TASK).name == tasks.replay_chunk_task.name
