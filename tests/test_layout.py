"""The package's dependencies point one way: the screens (crmadmin/admin/) use the domain, never the reverse."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "crmadmin"
WIRING = {PACKAGE / "__init__.py"}  # the app factory mounts the screens: it is above them


def _imported(path: Path) -> set[str]:
    """The absolute names of the modules `path` imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_does_nothing_below_admin_import_it():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if path in WIRING or (PACKAGE / "admin") in path.parents:
            continue
        wrong = sorted(n for n in _imported(path) if n == "crmadmin.admin" or n.startswith("crmadmin.admin."))
        if wrong:
            offenders[str(path.relative_to(PACKAGE))] = wrong
    assert offenders == {}
