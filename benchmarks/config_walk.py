"""How far the raw configuration travels when one shard is generated: ``mmdata generate`` traced.

Runs ``mmdata generate`` (the command-line edge: the YAML is loaded, then the library generates one
shard of 4 samples) in this process under a profiler hook and counts the *stops* of the raw config:

* the walk starts with every dict and list of the config ``load_config`` returns;
* a *stop* is a call of a function of ``mmdata``/``mmtrain`` one of whose arguments is such a dict (or
  list), or directly holds one (a dict, list or tuple of them, ``**kwargs``, an object's attributes);
* a *return* is a stop whose return value is, or holds, a dict or list that is new to the walk: the
  walk then goes on with that value too (``validate_config``'s resolved copy, ``render_config``'s
  subset, a section dict) -- the raw config handed back out for yet another function to read.

Stops are counted as calls and as distinct functions, in distinct modules, in all and inside the library
entry point ``generate_shard`` (the rest is the edge: the CLI loading and parsing the YAML). A library that takes typed
objects validated once at the edge shows the config stop at the edge and the few places that record
it (provenance); one that takes the dict shows every reader of every key. Usage::

    python benchmarks/config_walk.py --catalogue CATALOGUE_DIR [--json out.json] [--list]

(build a catalogue with ``mmdata sources build --kind builtin -o CATALOGUE_DIR``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

_OWN = ("mmdata", "mmtrain")
ENTRY = "generate_shard"  # the library entry point; everything before it is the edge (CLI, config parsing)
CONFIG = {
    "seed": 3,
    "dataset": {"image_size": 32, "shard_size": 4, "parts": {"fg_bg": 4, "bg_only": 0, "blur_bg": 0, "static": 0, "fg_only": 0},
                "objects": {"count_min": 1, "count_max": 3}},
    "store": {"zarr_shard_samples": 4, "pool": "threads"},
}


class Walk:
    """The profiler hook: follows the config's containers from function to function."""

    def __init__(self) -> None:
        self.tracked: dict[int, Any] = {}  # id -> the object (kept alive, so ids are not reused)
        self.stops: list[tuple[str, str]] = []  # (module, qualname) per call
        self.inside: list[bool] = []  # per stop: whether it ran inside the library entry point (generate_shard)
        self.returns: list[tuple[str, str]] = []
        self._open: set[int] = set()  # frames of stops, to see their returns

    def track(self, obj: Any, depth: int = 0) -> bool:
        """Add ``obj``'s dicts and lists (recursively) to the walk; whether anything was new."""
        new = False
        if isinstance(obj, (dict, list)):
            if id(obj) not in self.tracked:
                self.tracked[id(obj)] = obj
                new = True
            items = obj.values() if isinstance(obj, dict) else obj
            for v in list(items):
                new |= self.track(v, depth + 1)
        elif isinstance(obj, tuple) and depth < 2:
            for v in obj:
                new |= self.track(v, depth + 1)
        return new

    def _is_tracked(self, value: Any) -> bool:
        return isinstance(value, (dict, list)) and id(value) in self.tracked

    def _holds(self, value: Any) -> bool:
        """``value`` is config data, or directly holds some (a container, ``**kwargs``, an object's attributes)."""
        if self._is_tracked(value):
            return True
        if isinstance(value, (dict, list, tuple)):
            return any(self._is_tracked(v) for v in (value.values() if isinstance(value, dict) else value))
        attrs = getattr(value, "__dict__", None)
        if isinstance(attrs, dict) and not isinstance(value, type) and type(value).__module__.split(".")[0] in _OWN:
            return any(self._is_tracked(v) for v in attrs.values())
        return False

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] not in _OWN or module == __name__:
            return
        code = frame.f_code
        if event == "call":
            n = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4) + bool(code.co_flags & 8)
            values = [frame.f_locals.get(name) for name in code.co_varnames[:n]]
            if any(self._holds(v) for v in values):
                self.stops.append((module, code.co_qualname))
                self.inside.append(_inside_entry(frame))
                self._open.add(id(frame))
        elif event == "return" and id(frame) in self._open:
            self._open.discard(id(frame))
            if self.track(arg):
                self.returns.append((module, code.co_qualname))


def _inside_entry(frame: Any) -> bool:
    """Whether ``frame`` is the library entry point ``generate_shard`` or runs inside it."""
    while frame is not None:
        if frame.f_code.co_name == ENTRY and frame.f_globals.get("__name__") == "mmdata.store.generate":
            return True
        frame = frame.f_back
    return False


def walk(catalogue: Path) -> Walk:
    """Trace one ``mmdata generate`` of a 4-sample shard; the config's walk."""
    from mmdata import config as config_module
    from mmdata.cli import main

    hook = Walk()
    original = config_module.load_config

    def load_and_track(*args: Any, **kwargs: Any) -> Any:
        loaded = original(*args, **kwargs)
        hook.track(loaded)
        return loaded

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "config.yaml"
        cfg.write_text(yaml.safe_dump(CONFIG))
        config_module.load_config = load_and_track
        try:
            sys.setprofile(hook)
            threading.setprofile(hook)
            code = main(["-q", "generate", "--config", str(cfg), "--catalogue", str(catalogue), "--root", f"{tmp}/ds",
                         "--part", "1", "--shard", "0", "--workers", "1"])
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
            config_module.load_config = original
    if code != 0:
        raise SystemExit(f"mmdata generate failed ({code})")
    return hook


def summary(hook: Walk) -> dict[str, Any]:
    functions = Counter(hook.stops)
    inside = Counter(stop for stop, flag in zip(hook.stops, hook.inside) if flag)
    return {
        "stops": len(hook.stops),
        "stops_in_library": sum(inside.values()),
        "functions_in_library": len(inside),
        "modules_in_library": sorted({m for m, _ in inside}),
        "functions": len(functions),
        "modules": sorted({m for m, _ in functions}),
        "returns": len(hook.returns),
        "by_function": {f"{m}.{q}": n for (m, q), n in sorted(functions.items())},
        "library_functions": sorted(f"{m}.{q}" for m, q in inside),
        "returning": sorted({f"{m}.{q}" for m, q in hook.returns}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", type=Path, required=True, help="a catalogue folder (mmdata sources build)")
    parser.add_argument("--json", type=Path, help="write the counts here")
    parser.add_argument("--list", action="store_true", help="list the functions the config stops at")
    args = parser.parse_args()
    result = summary(walk(args.catalogue))
    print(f"{result['stops']} stops (calls) at {result['functions']} functions in {len(result['modules'])} modules; "
          f"{result['returns']} returns hand config data back; inside generate_shard: {result['stops_in_library']} stops at "
          f"{result['functions_in_library']} functions in {len(result['modules_in_library'])} modules")
    if args.list:
        for name, n in result["by_function"].items():
            marks = ("  (returns config data)" if name in result["returning"] else "") + (
                "  [inside generate_shard]" if name in result["library_functions"] else "")
            print(f"  {n:3d}  {name}{marks}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
