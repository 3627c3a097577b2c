"""Load and validate the project configuration.

The configuration is one YAML document validated against ``mmdata/schema/config.schema.yaml``
(a JSON Schema written in YAML, with a ``description`` on every key; ``config/config.schema.yaml``
is the same file). Every key has a default in the schema, so a partial config (or none at all) is
completed with the documented defaults before it is used. Validation errors name the offending key
as a dotted path, e.g. ``dataset.alpha.max: -1 is less than or equal to the minimum of 0``.

Parse once at the edge: CLIs and the Snakefile call :func:`load_config` (or :func:`validate_config`)
once and then build the frozen typed objects each stage needs from its section
(:class:`mmdata.spec.DatasetSpec`, :class:`mmdata.store.StoreSettings`,
:class:`mmtrain.train.TrainConfig`, :class:`mmtrain.evaluate.EvalSpec`, ...); libraries take those
objects or plain arguments. A resolved config is a :class:`ResolvedConfig` (a plain ``dict`` that
says it has been validated), so handing it on never validates it again. Every relation between keys
that JSON Schema cannot express is checked in one place, :func:`_check_cross_field`. Defaults live in
the schema only (:func:`section_defaults` gives them to the typed objects).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import jsonschema
import yaml

from mmdata.errors import ConfigError

__all__ = ["SCHEMA_PATH", "ResolvedConfig", "load_schema", "load_config", "validate_config", "section_defaults", "config_hash"]

SCHEMA_PATH = Path(str(resources.files("mmdata") / "schema" / "config.schema.yaml"))


class ResolvedConfig(dict):
    """A configuration completed with the schema's defaults and validated (by :func:`validate_config`).

    A plain ``dict`` otherwise (JSON, YAML and pickle see a mapping); treat it as read-only: a
    changed copy is a plain dict again and is validated when it is used.
    """


yaml.SafeDumper.add_representer(ResolvedConfig, yaml.representer.SafeRepresenter.represent_dict)


@functools.lru_cache(maxsize=1)
def _schema_text() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _parsed_schema() -> dict[str, Any]:
    return yaml.safe_load(_schema_text())


def load_schema() -> dict[str, Any]:
    """Return (a private copy of) the configuration JSON Schema as a dict; parsed once per process."""
    return copy.deepcopy(_parsed_schema())


def _defaults(schema: Mapping[str, Any]) -> Any:
    """Build the default document of an (object) schema from its ``default`` entries."""
    if schema.get("type") == "object" and "properties" in schema:
        out = copy.deepcopy(schema.get("default", {}))
        for key, sub in schema["properties"].items():
            value = _defaults(sub)
            if value is not None:
                out[key] = _merge(value, out[key]) if key in out else value
        return out
    return copy.deepcopy(schema.get("default"))


def _merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` onto ``base`` (mappings merge, everything else replaces)."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(override)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        parts.append(missing)
    if error.validator == "additionalProperties" and "'" in error.message:
        parts.append(error.message.split("'")[1])
    return ".".join(parts) or "<root>"


def section_defaults(section: str) -> dict[str, Any]:
    """The schema's defaults of one top-level section, e.g. ``section_defaults("train")``."""
    return _defaults(_parsed_schema()["properties"][section])


def validate_config(config: Mapping[str, Any]) -> ResolvedConfig:
    """Fill in defaults and validate; return the resolved config (a resolved one is returned as is).

    Raises:
        ConfigError: naming the first offending key (dotted path) and the reason.
    """
    if isinstance(config, ResolvedConfig):
        return config
    if not isinstance(config, Mapping):
        raise ConfigError(f"<root>: the configuration must be a mapping, got {type(config).__name__}")
    schema = _parsed_schema()
    resolved = _merge(_defaults(schema), dict(config))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(resolved), key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
    _check_finite(resolved, "")
    if errors:
        err = errors[0]
        raise ConfigError(f"{_key_path(err)}: {err.message}")
    _check_cross_field(resolved)
    return ResolvedConfig(resolved)


def _check_finite(value: Any, key: str) -> None:
    """NaN and infinities pass JSON Schema's bounds (every comparison with NaN is false): refuse them."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key or '<root>'}: {value} is not a finite number")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_finite(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(v, f"{key}[{i}]")


def _check_cross_field(cfg: Mapping[str, Any]) -> None:
    """Every constraint JSON Schema cannot express (relations between keys), in one place."""
    ds = cfg.get("dataset", {})
    pairs = [
        ("dataset.motion.min", ds.get("motion", {}).get("min"), "dataset.motion.max", ds.get("motion", {}).get("max")),
        ("dataset.alpha.min", ds.get("alpha", {}).get("min"), "dataset.alpha.max", ds.get("alpha", {}).get("max")),
        ("dataset.objects.count_min", ds.get("objects", {}).get("count_min"), "dataset.objects.count_max", ds.get("objects", {}).get("count_max")),
        ("dataset.objects.scale_min", ds.get("objects", {}).get("scale_min"), "dataset.objects.scale_max", ds.get("objects", {}).get("scale_max")),
        ("dataset.background.scale_min", ds.get("background", {}).get("scale_min"), "dataset.background.scale_max", ds.get("background", {}).get("scale_max")),
        ("dataset.blur.sigma_min", ds.get("blur", {}).get("sigma_min"), "dataset.blur.sigma_max", ds.get("blur", {}).get("sigma_max")),
        ("dataset.photometric.read_noise_std.min", ds.get("photometric", {}).get("read_noise_std", {}).get("min"),
         "dataset.photometric.read_noise_std.max", ds.get("photometric", {}).get("read_noise_std", {}).get("max")),
    ]
    for lo_key, lo, hi_key, hi in pairs:
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"{lo_key}: {lo} exceeds {hi_key} ({hi})")
    motion, alpha = ds.get("motion", {}), ds.get("alpha", {})
    if motion and alpha and alpha["min"] * motion["min"] > motion["max_magnified"]:
        raise ConfigError(
            f"dataset.motion.max_magnified: {motion['max_magnified']} is below dataset.alpha.min * "
            f"dataset.motion.min = {alpha['min'] * motion['min']}; no sample could satisfy the cap"
        )


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> ResolvedConfig:
    """Read a YAML config (or none: all defaults), apply ``overrides`` and validate.

    Raises:
        ConfigError: the file is missing, not YAML, or does not validate.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            with open(path, encoding="utf-8") as fh:
                raw = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the configuration must be a mapping, got {type(raw).__name__}")
    if overrides:
        raw = _merge(raw, dict(overrides))
    return validate_config(raw)


def config_hash(config: Mapping[str, Any]) -> str:
    """Stable sha256 of a (resolved) config, independent of key order."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()
