"""The shape of the code: lines per module and the imports from ``assessments/`` into
``guidelines/`` (every import statement, lazy ones included, read from the AST).

    .venv/bin/python bench/structure.py            # this checkout
    .venv/bin/python bench/structure.py --ref main # another commit, read with git

Prints one line per module (lines), then every import edge
``assessments.module -> guidelines.module``, then the totals.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("assessments", "guidelines", "mr_cds")


def sources(ref: str | None) -> dict[str, str]:
    """Every Python module of the apps (migrations left out): path -> text."""
    if ref is None:
        return {
            str(path.relative_to(ROOT)): path.read_text()
            for app in APPS
            for path in sorted((ROOT / app).rglob("*.py"))
            if "migrations" not in path.parts
        }
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, *APPS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        name: subprocess.run(
            ["git", "show", f"{ref}:{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for name in names
        if name.endswith(".py") and "/migrations/" not in name
    }


def module_name(path: str) -> str:
    name = path.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def imported_modules(path: str, text: str) -> set[str]:
    """The absolute names of the modules (or names) ``path`` imports."""
    package = module_name(path)
    if not path.endswith("__init__.py"):
        package = package.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module == "guidelines":  # from guidelines import engine
                names.update(f"guidelines.{alias.name}" for alias in node.names)
            else:
                names.add(module)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="a git commit to read instead of the checkout")
    args = parser.parse_args()
    texts = sources(args.ref)
    total = 0
    for path, text in sorted(texts.items()):
        lines = len(text.splitlines())
        total += lines
        print(f"{lines:6d}  {path}")
    edges = sorted(
        (module_name(path), target)
        for path, text in texts.items()
        if path.startswith("assessments/")
        for target in imported_modules(path, text)
        if target.split(".")[0] == "guidelines"
    )
    print()
    for source, target in edges:
        print(f"{source} -> {target}")
    targets = sorted({target for _, target in edges})
    print()
    print(f"lines in {len(texts)} modules: {total}")
    print(f"import edges assessments -> guidelines: {len(edges)}")
    print(
        f"guidelines modules imported by assessments: {len(targets)}: "
        + ", ".join(targets)
    )


if __name__ == "__main__":
    main()
