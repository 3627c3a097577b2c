"""Package exports are lazy (mmdata.lazy): every public name still resolves, and importing one module
does not import the heavy libraries other modules need (each check in a fresh interpreter)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import types

import pytest

from mmdata.lazy import lazy_exports

LAZY_PACKAGES = ["mmtrain", "mmtrain.magnify", "mmtrain.video", "mmtrain.temporal", "mmtrain.classical", "mmtrain.analysis",
                 "mmtrain.app", "mmtrain.model", "mmtrain.train", "mmtrain.evaluate",
                 "mmdata", "mmdata.render", "mmdata.sources", "mmdata.store", "mmdata.formats"]


def _fresh(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_resolves_to_its_defining_module(package: str) -> None:
    """In a fresh interpreter: each name of ``__all__`` is the object its module defines, and is listed by dir()."""
    code = f"""
import importlib, json, types
pkg = importlib.import_module({package!r})
bad = []
for name in pkg.__all__:
    module = next(m for m, names in pkg._EXPORTS.items() if name in names) if name in sum(pkg._EXPORTS.values(), []) else None
    value = getattr(pkg, name)
    if module is None:
        continue  # defined or imported eagerly by the package itself
    source = importlib.import_module(module)
    expected = source if module == pkg.__name__ + "." + name else getattr(source, name)
    if value is not expected or name not in dir(pkg):
        bad.append(name)
print(json.dumps({{"bad": bad, "n": len(pkg.__all__)}}))
"""
    result = _fresh(code)
    assert result["n"] > 0
    assert result["bad"] == []


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_exported_names_do_not_shadow_submodules(package: str) -> None:
    """A name that is also a submodule would turn into the module once that submodule is imported."""
    pkg = importlib.import_module(package)
    submodules = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
    for module, names in pkg._EXPORTS.items():
        for name in names:
            if name in submodules:
                assert module == f"{package}.{name}", f"{package}.{name} is both a submodule and a name of {module}"
    assert set(pkg.__all__) >= {n for names in pkg._EXPORTS.values() for n in names}


def test_magnifying_does_not_import_plotting_pyramids_or_evaluation() -> None:
    code = """
import json, sys
import mmtrain.magnify.pipeline
from mmtrain.magnify import MagnifySettings
print(json.dumps(sorted(k for k in ("pyrtools", "matplotlib", "mmtrain.evaluate", "mmdata.render.preview")
                        if k in sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_magnify_is_a_plain_package_and_unknown_names_fail() -> None:
    import mmtrain
    from mmtrain.magnify import magnify

    assert type(mmtrain.magnify) is types.ModuleType and not callable(mmtrain.magnify)  # no swapped module class
    assert magnify is mmtrain.magnify.magnify is importlib.import_module("mmtrain.magnify.api").magnify
    code = "import json, mmtrain; print(json.dumps([mmtrain.temporal.spill.__name__, mmtrain.evaluate.cases.__name__]))"
    assert _fresh(code) == ["mmtrain.temporal.spill", "mmtrain.evaluate.cases"]  # submodules reachable as before
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        mmtrain.magnify.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        exec("from mmtrain.model import no_such_name", {})


def test_lazy_exports_imports_on_first_use_only() -> None:
    name = "_lazy_probe_pkg"
    module = types.ModuleType(name)
    module.__path__ = []  # a package with no submodules on disk
    sys.modules[name] = module
    try:
        getter, lister = lazy_exports(name, {"json": ["dumps"], f"{name}.sub": ["sub"]})
        module.__getattr__ = getter
        assert "dumps" in lister() and "dumps" not in vars(module)
        assert module.dumps is json.dumps and vars(module)["dumps"] is json.dumps  # cached after first use
        with pytest.raises(ModuleNotFoundError):
            module.sub  # noqa: B018  (the submodule of that name, which does not exist)
        with pytest.raises(AttributeError):
            module.other  # noqa: B018
    finally:
        del sys.modules[name]


def test_mmtrain_train_is_the_subpackage_and_its_function_is_imported_from_it() -> None:
    """No function hides the subpackage of its name: ``mmtrain.train`` is the package however it is reached."""
    code = """
import json, types
import mmtrain
first = isinstance(mmtrain.train, types.ModuleType)
from mmtrain.train import train
import mmtrain.train.loop
print(json.dumps([first, mmtrain.train.__name__, train is mmtrain.train.loop.train, callable(train),
                  mmtrain.TrainConfig is mmtrain.train.loop.TrainConfig]))
"""
    assert _fresh(code) == [True, "mmtrain.train", True, True, True]


def test_importing_mmtrain_imports_neither_torch_nor_training() -> None:
    code = """
import json, sys
import mmtrain
print(json.dumps(sorted(k for k in ("torch", "mmtrain.train.loop", "mmtrain.model.network") if k in sys.modules)))
"""
    assert _fresh(code) == []
