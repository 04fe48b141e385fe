"""The folder layout is the architecture: no import circle between the backend's packages, and
`core/` knows no bounded context (docs: ../STYLE.md, README "Layout")."""

import ast
import pathlib

BACKEND = pathlib.Path(__file__).resolve().parent.parent / "backend" / "noxus"
CONTEXTS = {"tenancy", "ingest", "fleet", "hr", "billing", "privacy", "auth", "ops", "devstack"}
# composition roots: they assemble every context and nobody imports them
ROOTS = {"main", "cli"}


def _package_imports() -> dict[str, set[str]]:
    """package -> packages it imports (at module level or inside functions)."""
    edges: dict[str, set[str]] = {}
    for path in BACKEND.rglob("*.py"):
        rel = path.relative_to(BACKEND).parts
        if len(rel) == 1:
            continue  # noxus/main.py, noxus/cli.py, noxus/__init__.py
        pkg = rel[0]
        if pkg == "migrations" and rel[1] == "versions":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "noxus" and len(parts) > 1 and parts[1] != pkg and parts[1] not in ROOTS:
                    edges.setdefault(pkg, set()).add(parts[1])
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_circle_between_backend_packages():
    cycle = _cycle(_package_imports())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_core_imports_no_context():
    bad = sorted(_package_imports().get("core", set()) & CONTEXTS)
    assert not bad, f"core/ imports contexts {bad}: move that code into the context, or invert the dependency"


def test_web_layer_imports_no_context():
    bad = sorted(_package_imports().get("web", set()) & CONTEXTS)
    assert not bad, f"web/ (layout, error pages) imports contexts {bad}"


def test_tenancy_depends_on_nobody_but_core():
    # web/ is the layout layer (templates, error pages, forms) and itself knows no context
    assert _package_imports().get("tenancy", set()) <= {"core", "web"}


def test_no_import_circle_between_core_modules():
    """accounts (makes principals) and security (checks them) once imported each other."""
    core = BACKEND / "core"
    edges: dict[str, set[str]] = {}
    for path in core.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("noxus.core"):
                targets = (
                    [node.module.split(".")[2]]
                    if node.module.count(".") >= 2
                    else [a.name for a in node.names]
                )
                for t in targets:
                    if t != path.stem and (core / f"{t}.py").exists():
                        edges.setdefault(path.stem, set()).add(t)
    cycle = _cycle(edges)
    assert cycle is None, "import circle inside core/: " + " -> ".join(cycle or [])
