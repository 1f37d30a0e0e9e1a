"""The layers of kdtext, read from the imports: no cycle, and every import points down.

The graph is read from the source with :mod:`ast`: every ``import`` of a kdtext module
counts, at module level, inside functions and under ``if TYPE_CHECKING:``, with no
exemption. From the top: the CLI, the recipe (``pipeline``), the labelling engines and the
student lifecycle, the built-in plugins and the augmentation engine, the core (contracts,
data, labels, IO, the plugin registry), and the kernels. A module imports only modules of
its own layer or of a layer below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "kdtext"

#: Modules whose job is to be plugins: the built-in plugins, the commands they add, and kdtext as a
#: plugin of other tools (spaCy's registry, Hugging Face datasets' map: kdtext.integrations).
PLUGIN_PACKAGES = ("kdtext.default_plugins", "kdtext.cli.commands", "kdtext.integrations")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> dict[str, bool]:
    """kdtext modules that ``name`` imports -> whether only under ``TYPE_CHECKING``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, bool] = {}

    def add(target: str, typing_only: bool) -> None:
        while target and target not in MODULES:  # `from .x import y`: y may be a name in module x
            target = target.rpartition(".")[0]
        if target and target != name:
            found[target] = found.get(target, True) and typing_only

    def visit(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for statement in child.body:
                    visit_statement(statement, True)
                for statement in child.orelse:
                    visit_statement(statement, typing_only)
            else:
                visit_statement(child, typing_only)

    def visit_statement(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "kdtext":
                    add(alias.name, typing_only)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] == "kdtext":
                for alias in node.names:
                    add(f"{module}.{alias.name}", typing_only)
        visit(node, typing_only)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _graph() -> dict[str, set[str]]:
    return {name: set(targets) for name, targets in IMPORTS.items()}


#: Layer of each module, from the top: the longest prefix below that names it decides; the rest is the core.
LAYERS = {
    "kdtext.cli": 6,
    "kdtext.__main__": 6,  # python -m kdtext: the CLI
    "kdtext.pipeline": 5,
    "kdtext.labelling.engine": 4,
    "kdtext.students": 4,
    "kdtext.default_plugins": 3,
    "kdtext.integrations": 3,  # kdtext inside other tools' pipelines: adapters, like the built-in plugins
    "kdtext.augment": 3,
    # What the contracts exchange, though it lives beside its engine: the corpus and the synthetic
    # set (base.py names them), and the files the core writes for student plugins to read
    # (kdtext_student.json, the word vectors' .npz). They import only the core.
    "kdtext.augment.corpus": 2,
    "kdtext.augment.pos_table": 2,
    "kdtext.augment.synthetic": 2,
    "kdtext.students.metadata": 2,
    "kdtext.students.vectors": 2,
    "kdtext._fast": 1,
}
CORE = 2
NAMES = {6: "the CLI", 5: "the recipe", 4: "the engines and students", 3: "the built-in plugins and augmentation", 2: "the core", 1: "the kernels"}


def layer(name: str) -> int:
    found = [prefix for prefix in LAYERS if name == prefix or name.startswith(prefix + ".")]
    return LAYERS[max(found, key=len)] if found else CORE


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _is_plugin(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in PLUGIN_PACKAGES)


def test_the_graph_reader_sees_the_imports_it_should():
    assert "kdtext.errors" in IMPORTS["kdtext.plugins"]  # module level, relative
    assert "kdtext.base" in IMPORTS["kdtext.plugins"]  # inside a function
    assert IMPORTS["kdtext.base"].get("kdtext.augment.corpus") is True  # type-only, counted all the same
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer("kdtext.cli.commands.run") == 6 and layer("kdtext.augment.synthetic") == 2 and layer("kdtext.augment.rounds") == 3
    assert layer("kdtext.labelling") == 2 and layer("kdtext.labelling.engine.ray_engine") == 4 and layer("kdtext._fast._py") == 1


def test_no_import_cycles():
    graph = _graph()
    cycles = _cycles(graph)
    detail = ["; ".join(f"{m} -> {sorted(graph[m] & set(c))}" for m in c) for c in cycles]
    assert not cycles, "import cycles:\n" + "\n".join(detail)


@pytest.mark.parametrize("name", [n for n in MODULES if not _is_plugin(n)])
def test_core_modules_do_not_import_built_in_plugins(name):
    assert not [t for t in IMPORTS[name] if _is_plugin(t)], f"{name} imports {sorted(t for t in IMPORTS[name] if _is_plugin(t))}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_import_points_down_the_layers(name):
    up = sorted(t for t in IMPORTS[name] if layer(t) > layer(name))
    assert not up, f"{name} ({NAMES[layer(name)]}) imports {', '.join(f'{t} ({NAMES[layer(t)]})' for t in up)}"


def test_the_core_imports_no_heavy_library():
    """Outside default_plugins/ and cli/, nothing imports torch, transformers or onnxruntime (the layers
    above keep the CLI out of the core): a third-party teacher brings its own."""
    heavy = ("torch", "transformers", "onnxruntime", "onnx")
    found = []
    for name, path in MODULES.items():
        if _is_plugin(name) or name.startswith("kdtext.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules = [node.module or ""]
            else:
                continue
            found += [f"{name}:{node.lineno} imports {m}" for m in modules if m.split(".")[0] in heavy]
    assert not found, "\n".join(found)


def test_engines_use_only_the_teacher_contract_and_not_the_pipeline():
    for name in (n for n in MODULES if n.startswith("kdtext.labelling.engine")):
        wrong = sorted(t for t in IMPORTS[name] if t.startswith(("kdtext.pipeline", "kdtext.cli", "kdtext.default_plugins")))
        assert not wrong, f"{name} imports {wrong}"


def test_the_contract_imports_nothing_of_kdtext_at_run_time_but_its_errors():
    runtime = {t for t, typing_only in IMPORTS["kdtext.base"].items() if not typing_only}
    assert runtime <= {"kdtext.errors"}, runtime
    # and its types from where they live, not from a package that imports everything
    assert {t for t, typing_only in IMPORTS["kdtext.base"].items() if typing_only} <= {
        "kdtext.augment.corpus", "kdtext.augment.synthetic", "kdtext.data", "kdtext.labels",
    }


def test_parse_params_lives_outside_the_cli():
    from kdtext import params

    assert params.parse_params.__module__ == "kdtext.params"
    assert "kdtext.params" not in IMPORTS["kdtext.cli"]  # no re-export: kdtext.cli.parse_params is a deprecated alias (_compat)


def test_the_top_level_holds_at_most_14_modules():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 14, f"{len(top)} modules directly in src/kdtext: {', '.join(top)}; put new ones in the folder of their concept"


def test_no_module_is_over_600_lines():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600}
    assert not long, f"modules over 600 lines (a file that does two jobs is two files): {long}"
