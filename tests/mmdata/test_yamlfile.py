"""The bounded YAML reader of config files: alias bombs, duplicate keys, binary files, depth, size.

Each case through the API (:func:`mmdata.config.load_config`, :mod:`mmdata.yamlfile`) and through
the CLIs that take ``--config`` (one line on stderr naming the file, exit 2).
"""

from __future__ import annotations

import pytest

from mmdata import yamlfile
from mmdata.cli import main
from mmdata.config import load_config
from mmdata.errors import ConfigError, SourceError
from mmdata.yamlfile import parse_yaml, read_yaml


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each level a list of ``width`` aliases to the level below (width**levels values)."""
    lines = ["l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _write(tmp_path, name: str, content: str | bytes):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _generate_args(config, tmp_path) -> list[str]:
    return ["generate", "--config", str(config), "--catalogue", str(tmp_path / "cat"), "--part", "1", "--shard", "0", "--root", str(tmp_path / "ds")]


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.timeout(10)
def test_alias_bomb_is_refused_quickly(tmp_path):
    path = _write(tmp_path, "bomb.yaml", _alias_bomb())
    with pytest.raises(ConfigError, match=r"bomb\.yaml: line \d+: more than \d+ values with its aliases expanded"):
        load_config(path)


@pytest.mark.timeout(10)
def test_alias_bomb_cli_generate_exits_2_with_one_line(tmp_path, capsys):
    path = _write(tmp_path, "bomb.yaml", "dataset:\n  image_size: 64\n" + _alias_bomb())
    assert main(_generate_args(path, tmp_path)) == 2
    _one_line_error(capsys, "mmdata generate: error:", str(path), "aliases expanded")


@pytest.mark.timeout(10)
def test_alias_bomb_cli_sources_build_exits_2(tmp_path, capsys):
    path = _write(tmp_path, "bomb.yaml", _alias_bomb())
    assert main(["sources", "build", "--config", str(path), "-o", str(tmp_path / "cat")]) == 2
    _one_line_error(capsys, str(path), "aliases expanded")
    assert not (tmp_path / "cat").exists()


def test_aliases_within_the_bound_still_work(tmp_path):
    path = _write(tmp_path, "ok.yaml", "dataset:\n  alpha: &a {min: 2.0, max: 50.0}\nevaluate: {}\n" + _alias_bomb(3, 3))
    with pytest.raises(ConfigError, match="l0"):  # read fine: refused by the schema, not the reader
        load_config(path)
    assert parse_yaml(_alias_bomb(3, 3), "x")["l2"] == [[["lol"] * 3] * 3] * 3
    merged = parse_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n", "x")
    assert merged["d"] == {"x": 3, "y": 2}  # a merge key's values are overridden, not duplicates


def test_duplicate_key_names_file_key_and_line(tmp_path, capsys):
    path = _write(tmp_path, "dup.yaml", "dataset:\n  image_size: 64\n  alpha:\n    max: 20\n  image_size: 128\n")
    with pytest.raises(ConfigError, match=r"dup\.yaml: duplicate key 'image_size' at line 5 \(first given at line 2\)"):
        load_config(path)
    assert main(_generate_args(path, tmp_path)) == 2
    _one_line_error(capsys, str(path), "duplicate key 'image_size' at line 5")


def test_duplicate_key_in_flow_mapping(tmp_path):
    with pytest.raises(ConfigError, match="duplicate key 'max'"):
        parse_yaml("alpha: {max: 1, max: 2}\n", "f.yaml")


@pytest.mark.timeout(10)
def test_binary_file_is_refused_before_parsing(tmp_path, capsys):
    path = _write(tmp_path, "cfg.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(ConfigError, match=r"cfg\.yaml: not a UTF-8 text file \(undecodable byte 0x89 at offset 0\)"):
        load_config(path)
    assert main(_generate_args(path, tmp_path)) == 2
    _one_line_error(capsys, "mmdata generate: error:", str(path), "not a UTF-8 text file")
    assert main(["sources", "build", "--config", str(path), "-o", str(tmp_path / "cat")]) == 2
    _one_line_error(capsys, str(path), "not a UTF-8 text file")


def test_control_characters_and_syntax_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"c\.yaml: not valid YAML \(unacceptable character"):
        load_config(_write(tmp_path, "c.yaml", "seed: \x07\n"))
    with pytest.raises(ConfigError, match=r"s\.yaml: not valid YAML \(.*line 1, column \d+\)"):
        load_config(_write(tmp_path, "s.yaml", "dataset: [unclosed"))


def test_recursive_alias_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"r\.yaml: line 2: alias \*a refers to a node that contains it"):
        load_config(_write(tmp_path, "r.yaml", "x: &a\n  k: *a\n"))


def test_deep_nesting_is_refused(tmp_path):
    deep = "seed: " + "[" * 500 + "]" * 500 + "\n"
    with pytest.raises(ConfigError, match=rf"d\.yaml: line 1: nested more than {yamlfile.MAX_DEPTH} levels deep"):
        load_config(_write(tmp_path, "d.yaml", deep))
    via_alias = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n"
    with pytest.raises(ConfigError, match="nested more than"):
        parse_yaml(via_alias, "v.yaml")


def test_large_file_is_refused_before_reading(tmp_path):
    path = _write(tmp_path, "big.yaml", "# " + "x" * 200 + "\n")
    with pytest.raises(ConfigError, match=r"big\.yaml: larger than 100 bytes"):
        read_yaml(path, max_bytes=100)
    assert read_yaml(path, max_bytes=1000) is None


def test_error_class_is_the_callers(tmp_path):
    path = _write(tmp_path, "dup.yaml", "a: 1\na: 2\n")
    with pytest.raises(SourceError, match="duplicate key 'a'"):
        read_yaml(path, error=SourceError)
