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
from fractions import Fraction
import logging
import math
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import yaml

from mmdata.errors import ConfigError
from mmdata.identity import json_sha256
from mmdata.scene import PART_NAMES
from mmdata.yamlfile import read_yaml

if TYPE_CHECKING:
    import jsonschema

__all__ = ["SCHEMA_PATH", "MIX_SUM_TOLERANCE", "MAX_SHARDS_PER_PART", "ResolvedConfig", "mix_counts", "load_schema", "load_config", "validate_config", "section_defaults", "config_hash", "warn_schema_defaults"]

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
    # libyaml's loader when PyYAML has it: the same document, parsed in a tenth of the time (the schema is
    # large, and a command that only needs its defaults, `mmtrain magnify`, would wait for the pure-Python one)
    return yaml.load(_schema_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


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


def _is_integer(checker: Any, instance: Any) -> bool:
    """JSON Schema's ``integer`` without floats: 1e20 read from YAML is a float and stays one (range() refuses it)."""
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.lru_cache(maxsize=1)
def _validator_class() -> Any:
    """Draft 2020-12 with integers that are Python ints only; jsonschema is imported here, on the first
    validation (a command that only reads the schema's defaults does without it)."""
    import jsonschema

    return jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
    )


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
    resolved = _merge(_defaults(schema), _resolve_mix(config))
    validator = _validator_class()(schema)
    errors = sorted(validator.iter_errors(resolved), key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
    _check_finite(resolved, "")
    if errors:
        err = errors[0]
        raise ConfigError(f"{_key_path(err)}: {err.message}")
    _check_cross_field(resolved)
    return ResolvedConfig(resolved)


#: The five built-in parts, in part-number order.
_PART_ORDER = PART_NAMES
#: How far the ratios of dataset.mix may sum from 1.
MIX_SUM_TOLERANCE = 1e-9
#: Most shard stores of one part (dataset.parts.<part> / dataset.shard_size, rounded up): bounds
#: every list of a part's shards (the manifest's missing shards, the workflow's targets).
MAX_SHARDS_PER_PART = 100_000


def mix_counts(total: int, mix: Mapping[str, float], custom: tuple[str, ...] = ()) -> dict[str, int]:
    """Per-part sample counts of ``total`` split by the ratios ``mix``, by largest-remainder rounding.

    Each part first gets ``floor(total * r / sum(mix))`` (exact rational arithmetic on the ratios'
    float values, so no rounding error decides a count); the samples left over go one each to the
    parts with the largest remainders, ties to the part with the lower part number. The counts sum
    to ``total`` exactly; a part missing from ``mix`` (or with ratio 0) gets 0. ``custom`` names the
    parts of ``dataset.custom_parts`` (after the five, in part-number order). Example:
    ``mix_counts(10, {"fg_bg": 1/3, "bg_only": 1/3, "blur_bg": 1/3}) == {"fg_bg": 4, "bg_only": 3,
    "blur_bg": 3, "static": 0, "fg_only": 0}``.

    Raises:
        ConfigError: ``total`` < 0, an unknown part, a negative ratio, or ratios not summing to 1
            within :data:`MIX_SUM_TOLERANCE`; the message names the key.
    """
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise ConfigError(f"dataset.total: expected a non-negative integer, got {total!r}")
    if not isinstance(mix, Mapping) or not mix:
        raise ConfigError(f"dataset.mix: expected a mapping of part name -> ratio, got {mix!r}")
    order = (*_PART_ORDER, *custom)
    for name, ratio in mix.items():
        if name not in order:
            raise ConfigError(f"dataset.mix.{name}: unknown part; expected one of {', '.join(order)}")
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not math.isfinite(ratio):
            raise ConfigError(f"dataset.mix.{name}: expected a finite number, got {ratio!r}")
        if ratio < 0:
            raise ConfigError(f"dataset.mix.{name}: ratio {ratio} is negative")
    ratios = {name: Fraction(float(mix.get(name, 0))) for name in order}
    s = sum(ratios.values())
    if abs(float(s) - 1.0) > MIX_SUM_TOLERANCE:
        raise ConfigError(f"dataset.mix: ratios sum to {float(s)!r}, expected 1 (within {MIX_SUM_TOLERANCE:g})")
    quotas = {name: total * r / s for name, r in ratios.items()}
    counts = {name: math.floor(q) for name, q in quotas.items()}
    left = total - sum(counts.values())
    by_remainder = sorted(order, key=lambda n: (-(quotas[n] - counts[n]), order.index(n)))
    for name in by_remainder[:left]:
        counts[name] += 1
    return counts


def _custom_names(ds: Mapping[str, Any]) -> tuple[str, ...]:
    """Names of the (raw) dataset section's custom parts, in part-number order."""
    custom = ds.get("custom_parts")
    if not isinstance(custom, Mapping):
        return ()
    number = {n: c.get("number") if isinstance(c, Mapping) else None for n, c in custom.items()}
    return tuple(sorted(custom, key=lambda n: (not isinstance(number[n], int), number[n] if isinstance(number[n], int) else 0, str(n))))


def _resolve_mix(config: Mapping[str, Any]) -> dict[str, Any]:
    """The raw config with ``dataset.total`` + ``dataset.mix`` turned into ``dataset.parts`` counts.

    ``total`` and ``mix`` stay in the config (the record of how the counts were made). ``parts``
    given beside ``mix`` is refused, unless it is exactly the counts the mix resolves to (a resolved
    config, read back from a store or a config view, validates again).
    """
    out = dict(config)
    ds = out.get("dataset")
    if not isinstance(ds, Mapping) or ("mix" not in ds and "total" not in ds):
        return out
    for key, other in (("mix", "total"), ("total", "mix")):
        if ds.get(key) is None and ds.get(other) is not None:
            raise ConfigError(f"dataset.{key}: required with dataset.{other} (samples = total x ratio per part)")
    if ds.get("mix") is None:  # both null: the same as absent
        return out
    counts = mix_counts(ds["total"], ds["mix"], _custom_names(ds))
    given = ds.get("parts")
    if given is not None and given != counts:
        raise ConfigError(
            "dataset.parts: give either dataset.parts (samples per part) or dataset.total with dataset.mix, "
            f"not both (the mix resolves to {counts})"
        )
    out["dataset"] = {**ds, "parts": counts}
    return out


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
        ("dataset.axial.theta_deg.min", ds.get("axial", {}).get("theta_deg", {}).get("min"),
         "dataset.axial.theta_deg.max", ds.get("axial", {}).get("theta_deg", {}).get("max")),
        ("dataset.axial.ratio.min", ds.get("axial", {}).get("ratio", {}).get("min"),
         "dataset.axial.ratio.max", ds.get("axial", {}).get("ratio", {}).get("max")),
    ]
    for lo_key, lo, hi_key, hi in pairs:
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"{lo_key}: {lo} exceeds {hi_key} ({hi})")
    _check_custom_parts(ds, cfg.get("workflow", {}))
    _check_shard_counts(ds)
    motion, alpha = ds.get("motion", {}), ds.get("alpha", {})
    if motion and alpha and alpha["min"] * motion["min"] > motion["max_magnified"]:
        raise ConfigError(
            f"dataset.motion.max_magnified: {motion['max_magnified']} is below dataset.alpha.min * "
            f"dataset.motion.min = {alpha['min'] * motion['min']}; no sample could satisfy the cap"
        )


def _check_shard_counts(ds: Mapping[str, Any]) -> None:
    """Every part fits in :data:`MAX_SHARDS_PER_PART` shards of ``dataset.shard_size`` samples."""
    size = ds.get("shard_size")
    for name, n in (ds.get("parts") or {}).items():
        if size and n and -(-n // size) > MAX_SHARDS_PER_PART:
            raise ConfigError(
                f"dataset.parts.{name}: {n} samples make {-(-n // size)} shards of dataset.shard_size {size}; "
                f"at most {MAX_SHARDS_PER_PART} shards per part (raise dataset.shard_size or lower the count)"
            )


def _check_custom_parts(ds: Mapping[str, Any], wf: Mapping[str, Any]) -> None:
    """Custom parts: unique numbers, counts only for recipes with objects, every part named known."""
    custom = ds.get("custom_parts") or {}
    seen: dict[int, str] = {}
    for name, cp in custom.items():
        key = f"dataset.custom_parts.{name}"
        if cp["number"] in seen:
            raise ConfigError(f"{key}.number: {cp['number']} is also the number of custom part {seen[cp['number']]}")
        seen[cp["number"]] = name
        with_objects = cp["recipe"] not in ("bg_only", "static")
        for knob in ("objects_move", "count_min", "count_max"):
            if knob in cp and not with_objects:
                raise ConfigError(f"{key}.{knob}: recipe {cp['recipe']} has no foreground objects")
        lo = cp.get("count_min", ds.get("objects", {}).get("count_min"))
        hi = cp.get("count_max", ds.get("objects", {}).get("count_max"))
        if ("count_min" in cp or "count_max" in cp) and lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"{key}.count_min: {lo} exceeds {key}.count_max ({hi})")
    names = (*_PART_ORDER, *custom)
    for name in ds.get("parts", {}):
        if name not in names:
            raise ConfigError(f"dataset.parts.{name}: unknown part; expected one of {', '.join(names)}")
    numbers = {str(i) for i in range(1, len(_PART_ORDER) + 1)} | {str(cp["number"]) for cp in custom.values()}
    for i, part in enumerate(wf.get("parts", [])):
        if str(part) not in numbers and part not in names:
            raise ConfigError(f"workflow.parts[{i}]: unknown part {part!r}; expected one of {', '.join(names)} or {', '.join(sorted(numbers, key=int))}")


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> ResolvedConfig:
    """Read a YAML config (or none: all defaults), apply ``overrides`` and validate.

    The file is read with :func:`mmdata.yamlfile.read_yaml`: bounded in size, expanded size
    (nested aliases) and depth, UTF-8 only, no key given twice in one mapping.

    Raises:
        ConfigError: the file is missing, not UTF-8 or not YAML, too large, repeats a key, or does
            not validate; the message names the file (and key and line) or the offending key.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        raw = read_yaml(path, error=ConfigError) or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the configuration must be a mapping, got {type(raw).__name__}")
    if overrides:
        raw = _merge(raw, dict(overrides))
    return validate_config(raw)


def warn_schema_defaults(command: str) -> None:
    """Log one warning that ``command`` runs without ``--config``: the schema's defaults are the paper's scale.

    Names the key values (samples per part, image size, training steps) and how to run the demo instead.
    """
    defaults = validate_config({})
    parts = defaults["dataset"]["parts"]
    sizes = sorted(set(parts.values()))
    per_part = str(sizes[0]) if len(sizes) == 1 else "/".join(str(parts[p]) for p in parts)
    logging.getLogger("mmdata.config").warning(
        "%s without --config: the schema's defaults apply, which are the paper's full scale (dataset.parts=%s samples "
        "in each of %d parts, dataset.image_size=%s, train.steps=%s); for the small demo use --config config/config.yaml",
        command, per_part, len(parts), defaults["dataset"]["image_size"], defaults["train"]["steps"])


def config_hash(config: Mapping[str, Any]) -> str:
    """Stable sha256 of a (resolved) config, independent of key order."""
    return json_sha256(config, default=str)
