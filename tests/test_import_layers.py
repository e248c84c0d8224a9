"""Imports point down only (DESIGN.md "Layers"): data → vision → models → training /
evaluation → serving → command lines. Every import in the package is read from the source
(imports inside functions included), so a lazy back-import fails here too."""
import ast
import os

import pytest

PACKAGE_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tfvisrec")

# Lowest first. A module may import its own layer and the ones below it.
LAYERS = (
    ("foundation", ("tfvisrec", "tfvisrec.atomic", "tfvisrec.temp_folders", "tfvisrec.config", "tfvisrec.losses",
                    "tfvisrec.metrics", "tfvisrec.tensorflow_startup", "tfvisrec.progress",
                    "tfvisrec.image_sheets", "tfvisrec.explanation_picture", "tfvisrec.checkpoint_files")),
    ("data", ("tfvisrec.data",)),
    ("vision", ("tfvisrec.vision",)),
    ("models", ("tfvisrec.models",)),
    ("training/evaluation", ("tfvisrec.training", "tfvisrec.evaluation", "tfvisrec.design")),
    ("serving", ("tfvisrec.serving", "tfvisrec.client")),
    ("command lines", ("tfvisrec.train", "tfvisrec.evaluate", "tfvisrec.export", "tfvisrec.server",
                       "tfvisrec.demo", "tfvisrec.demo_models", "tfvisrec.demo_serving", "tfvisrec.default_world",
                       "tfvisrec.interactive", "tfvisrec.trends", "tfvisrec.interpretable_run",
                       "tfvisrec.explain")),
)
# Command lines living inside a lower package: they may import anything below the command lines.
ENTRY_POINTS = ("__main__",)


def layer_of(module: str) -> int:
    best, best_len = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    if best is None:
        raise AssertionError(f"module {module} belongs to no layer: add it to LAYERS")
    return best


def package_modules():
    for folder, _, files in os.walk(PACKAGE_ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, os.path.dirname(PACKAGE_ROOT))[:-3]
                module = relative.replace(os.sep, ".")
                yield module[:-len(".__init__")] if module.endswith(".__init__") else module, path


def imported_modules(path, module):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    is_package = path.endswith("__init__.py")
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parts = parts if is_package else parts[:-1]
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                yield (f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base), node.lineno


def _is_module(name):
    path = os.path.join(os.path.dirname(PACKAGE_ROOT), *name.split("."))
    return os.path.isdir(path) or os.path.exists(path + ".py")


def back_imports(modules):
    found = []
    for module, path in modules:
        own = len(LAYERS) - 1 if module.rsplit(".", 1)[-1] in ENTRY_POINTS else layer_of(module)
        for imported, line in imported_modules(path, module):
            if imported != "tfvisrec" and not imported.startswith("tfvisrec."):
                continue
            if layer_of(imported) > own:
                found.append(f"{os.path.relpath(path, os.path.dirname(PACKAGE_ROOT))}:{line}: "
                             f"{module} ({LAYERS[own][0]}) imports {imported} "
                             f"({LAYERS[layer_of(imported)][0]})")
    return found


def test_no_module_imports_a_higher_layer():
    problems = back_imports(package_modules())
    assert not problems, "imports must point down:\n" + "\n".join(problems)


def test_a_back_import_is_caught(tmp_path):
    fake = tmp_path / "tfvisrec" / "data" / "leaky.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from tfvisrec.models import registry\n")
    problems = back_imports([("tfvisrec.data.leaky", str(fake))])
    assert len(problems) == 1 and "tfvisrec.data.leaky (data) imports tfvisrec.models.registry (models)" in problems[0]


def test_every_module_has_a_layer():
    for module, _ in package_modules():
        layer_of(module)
