"""Topic files: a topic is a TOML file naming its seed articles, lexicon and threshold.

Adding a topic means adding a .toml file (and its seed texts) under seeds/; no code.
See seeds/inter-korean-diplomacy.toml for a commented example.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from detection.errors import TopicError
from detection.lexicon import GROUPS, Lexicon, load_lexicon

DEFAULT_GATE = {"north": "actor_north", "south": "actor_south", "joint": "joint",
                "joint_weak": "joint_weak", "event": "event", "conflict": "conflict",
                "third_party": "third_party"}


@dataclass
class Topic:
    name: str
    description: str
    path: Path
    threshold: float
    lexicon: Lexicon
    seeds: list[tuple[str, str]]            # (file name, text)
    positive_examples: list[str] = field(default_factory=list)
    negative_examples: list[str] = field(default_factory=list)
    gate: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_GATE))


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TopicError(f"topic file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopicError(f"topic file {path} is not valid TOML: {exc}") from None


def _require(data: dict, key: str, kind: type, path: Path):
    value = data.get(key)
    if value is None:
        raise TopicError(f"topic file {path} lacks the required key '{key}'")
    if not isinstance(value, kind):
        raise TopicError(f"topic file {path}: '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def _read_seeds(names: list, path: Path) -> list[tuple[str, str]]:
    if not names:
        raise TopicError(f"topic file {path}: 'seeds' must list at least one seed file")
    seeds = []
    for name in names:
        seed_path = path.parent / str(name)
        try:
            text = seed_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TopicError(f"topic file {path}: seed file not found: {seed_path}") from None
        if not text.strip():
            raise TopicError(f"topic file {path}: seed file is empty: {seed_path}")
        seeds.append((str(name), text))
    return seeds


def _read_gate(data: dict, path: Path) -> dict[str, str]:
    gate = dict(DEFAULT_GATE)
    for role, group in data.get("gate", {}).items():
        if role not in DEFAULT_GATE:
            raise TopicError(f"topic file {path}: unknown gate role '{role}'; "
                             f"known roles: {', '.join(DEFAULT_GATE)}")
        if group not in GROUPS:
            raise TopicError(f"topic file {path}: gate.{role} = {group!r} is not a lexicon group")
        gate[role] = group
    return gate


def load_topic(path) -> Topic:
    """Load one topic file; raises TopicError with the file and key at fault."""
    path = Path(path)
    data = _read_toml(path)
    name = _require(data, "name", str, path)
    threshold = _require(data, "threshold", (int, float), path)
    if not 0.0 <= float(threshold) <= 1.0:
        raise TopicError(f"topic file {path}: threshold must be within [0, 1], got {threshold}")
    lexicon = load_lexicon(path.parent / _require(data, "lexicon", str, path))
    examples = data.get("examples", {})
    return Topic(
        name=name,
        description=str(data.get("description", "")).strip(),
        path=path,
        threshold=float(threshold),
        lexicon=lexicon,
        seeds=_read_seeds(_require(data, "seeds", list, path), path),
        positive_examples=[str(t) for t in examples.get("positive", [])],
        negative_examples=[str(t) for t in examples.get("negative", [])],
        gate=_read_gate(data, path),
    )


def load_topics(dir_or_paths="seeds") -> list[Topic]:
    """Load every *.toml topic in a directory (not its lexicon/ folder), or the given paths."""
    if isinstance(dir_or_paths, (str, Path)) and Path(dir_or_paths).is_dir():
        paths: Iterable[Path] = sorted(Path(dir_or_paths).glob("*.toml"))
    elif isinstance(dir_or_paths, (str, Path)):
        paths = [Path(dir_or_paths)]
    else:
        paths = [Path(p) for p in dir_or_paths]
    topics = [load_topic(p) for p in paths]
    if not topics:
        raise TopicError(f"no topic files (*.toml) found in {dir_or_paths}")
    names = [t.name for t in topics]
    if len(set(names)) != len(names):
        raise TopicError(f"duplicate topic names in {dir_or_paths}: {names}")
    return topics


def find_topic(topics: list[Topic], name: str | None) -> Topic:
    """Pick a topic by name; with no name there must be exactly one topic."""
    if name is None:
        if len(topics) != 1:
            raise TopicError(f"several topics loaded ({', '.join(t.name for t in topics)}); "
                             "name the one to use")
        return topics[0]
    for topic in topics:
        if topic.name == name:
            return topic
    raise TopicError(f"no topic named '{name}'; known: {', '.join(t.name for t in topics)}")
