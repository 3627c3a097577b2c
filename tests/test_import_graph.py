"""The import graph of mmdata and mmtrain: no cycles, and imports point down the pipeline only.

Every module is parsed (not imported); every ``import`` counts, at module level and inside
functions, except those under ``if TYPE_CHECKING:`` (never run), which only the layer check sees.
``from package import name`` is an edge to ``package.name`` when that is a module, else to the
package's ``__init__``. Lazy exports (``mmdata.lazy``: module names as strings in ``_EXPORTS``) are
resolved on attribute access and are not edges.

Layers, lowest first (a module may import its own layer and the layers below it):

    mmdata: errors, identity, fsutil, yamlfile, lazy, version, progress  <  scene  <  config  <  spec
            <  sources  <  render  <  store  <  formats  <  clibase, cli, mmdata (the package facade)
    mmtrain (above all of mmdata): video, temporal  <  classical  <  analysis  <  model  <  train  <  magnify
            <  evaluate  <  app  <  cli, mmtrain (the facade)

Video I/O, temporal filters, the classical methods and the motion analysis (spectrum) need no network:
they sit below the model.

Inside a layer the order is free, but cycles are not: a package's ``__init__`` re-exporting its
modules means those modules import their siblings, never the package. The command-line modules of
the subpackages (``mmdata.store.cli``, ``mmtrain.model.cli``, ...) are the edge of their package:
they sit in its ``cli`` layer, whatever subpackage holds them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mmdata", "mmtrain")

#: Layers, lowest first: each entry is a tuple of module prefixes (a prefix covers its submodules).
LAYERS: list[tuple[str, ...]] = [
    ("mmdata.errors", "mmdata.identity", "mmdata.fsutil", "mmdata.yamlfile", "mmdata.lazy", "mmdata.version", "mmdata.progress"),
    ("mmdata.scene",),
    ("mmdata.config",),
    ("mmdata.spec",),
    ("mmdata.sources",),
    ("mmdata.render",),
    ("mmdata.store",),
    ("mmdata.formats",),
    ("mmdata.clibase", "mmdata.cli", "mmdata"),
    ("mmtrain.video", "mmtrain.temporal"),
    ("mmtrain.classical",),
    ("mmtrain.analysis",),
    ("mmtrain.model",),
    ("mmtrain.train",),
    ("mmtrain.magnify",),
    ("mmtrain.evaluate",),
    ("mmtrain.app",),
    ("mmtrain.cli", "mmtrain"),
]


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()
PACKAGE_NAMES = {name for name, path in MODULES.items() if path.name == "__init__.py"}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module if module in PACKAGE_NAMES else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
    out = []
    for name in names:
        while name and name not in MODULES:  # `import a.b.c` of a non-module attribute path: its module
            name = name.rpartition(".")[0]
        if name:
            out.append(name)
    return out


def _edges() -> dict[str, dict[str, dict[str, int]]]:
    """module -> {"run": {target: line}, "typing": {target: line}}."""
    graph: dict[str, dict[str, dict[str, int]]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        typing_only: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and _is_type_checking(node):
                typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
        entry: dict[str, dict[str, int]] = {"run": {}, "typing": {}}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                kind = "typing" if id(node) in typing_only else "run"
                for target in _targets(module, node):
                    if target != module:
                        entry[kind].setdefault(target, node.lineno)
        graph[module] = entry
    return graph


GRAPH = _edges()


def _layer(module: str) -> int:
    if module.endswith(".cli"):  # a subpackage's command line: the cli layer of its package
        module = module.partition(".")[0] + ".cli"
    best, rank = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    assert rank >= 0, f"{module}: in no layer of {__name__}.LAYERS; add it"
    return rank


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), of the run-time edges."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]["run"]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        _layer(module)


def test_no_import_cycles() -> None:
    cycles = _cycles()
    detail = []
    for component in cycles:
        members = set(component)
        detail.append("; ".join(f"{m} -> {t} (line {line})" for m in component for t, line in GRAPH[m]["run"].items() if t in members))
    assert not cycles, "import cycles:\n" + "\n".join(detail)


def test_imports_point_down_the_layers() -> None:
    upward = []
    for module, entry in sorted(GRAPH.items()):
        for kind in ("run", "typing"):
            for target, line in sorted(entry[kind].items()):
                if _layer(target) > _layer(module):
                    upward.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {module} imports {target} ({kind})")
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


@pytest.mark.parametrize("package", sorted(PACKAGE_NAMES - {"mmdata", "mmtrain"}))
def test_modules_import_siblings_not_their_package(package: str) -> None:
    """A module inside a package imports from its sibling modules, never from the package's ``__init__``."""
    offenders = [f"{m} (line {e['run'][package]})" for m, e in GRAPH.items()
                 if m.startswith(package + ".") and package in e["run"]]
    assert not offenders, f"import from the package {package} instead of its modules: {offenders}"


def test_the_analysis_does_not_need_the_network() -> None:
    """The library of ``mmtrain.analysis`` (the spectrum of a video's motion) reaches video I/O and the shift
    estimator, never the network, its training or the network's magnification pipeline (run-time edges,
    transitively; command-line modules, which wire every command together, are not followed)."""
    seen: set[str] = set()
    todo = [m for m in MODULES if m == "mmtrain.analysis" or m.startswith("mmtrain.analysis.")]
    while todo:
        module = todo.pop()
        if module not in seen and not module.endswith(".cli"):
            seen.add(module)
            todo += GRAPH[module]["run"]
    network = sorted(m for m in seen if m.startswith(("mmtrain.model", "mmtrain.train", "mmtrain.magnify.pipeline",
                                                       "mmtrain.magnify.api", "mmtrain.evaluate")))
    assert not network, f"mmtrain.analysis needs {network}"
