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

DEFAULT_GATE = {"actor_a": "actor_a", "actor_b": "actor_b", "joint": "joint",
                "joint_weak": "joint_weak", "event": "event", "conflict": "conflict",
                "third_party": "third_party", "scope": "scope", "counter": "counter"}
# The learned model shipped with the package; its features are defined on lexicon roles, so it
# serves any topic whose lexicon fills the roles. A topic may name its own (`model = "..."`).
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "inter-korean-diplomacy.json"

# Role names of topic files written before the roles were made generic.
GATE_ALIASES = {"north": "actor_a", "south": "actor_b"}
GROUP_ALIASES = {"actor_north": "actor_a", "actor_south": "actor_b"}


@dataclass
class Topic:
    name: str
    description: str
    path: Path
    threshold: float | None                 # None: the model's own (detection-cost) threshold
    lexicon: Lexicon
    seeds: list[tuple[str, str]]            # (file name, text)
    positive_examples: list[str] = field(default_factory=list)
    negative_examples: list[str] = field(default_factory=list)
    gate: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_GATE))
    model_path: Path = DEFAULT_MODEL


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
        role = GATE_ALIASES.get(role, role)
        group = GROUP_ALIASES.get(group, group)
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
    threshold = data.get("threshold")
    if threshold is not None:
        if not isinstance(threshold, (int, float)) or not 0.0 < float(threshold) < 1.0:
            raise TopicError(f"topic file {path}: threshold must be a number within (0, 1), "
                             f"got {threshold!r}")
        threshold = float(threshold)
    if "lexicon" not in data:
        raise TopicError(f"topic file {path}: no `lexicon`. seedwatch scores articles in a concept "
                         f"space (two actors, joint forms, engagement events); a topic needs a "
                         f"lexicon file with those groups (see seeds/lexicon/korea.toml)")
    lexicon = load_lexicon(path.parent / _require(data, "lexicon", str, path))
    model = data.get("model")
    model_path = (path.parent / str(model)) if model else DEFAULT_MODEL
    examples = data.get("examples", {})
    topic = Topic(
        name=name,
        description=str(data.get("description", "")).strip(),
        path=path,
        threshold=threshold,
        lexicon=lexicon,
        seeds=_read_seeds(_require(data, "seeds", list, path), path),
        positive_examples=[str(t) for t in examples.get("positive", [])],
        negative_examples=[str(t) for t in examples.get("negative", [])],
        gate=_read_gate(data, path),
        model_path=model_path,
    )
    check_coverage(topic)
    return topic


def check_coverage(topic: Topic) -> None:
    """Refuse a topic whose seed the lexicon cannot describe.

    The detector sees an article only through the lexicon's concepts. A seed on another
    subject (say US-China trade talks scored with the Korea lexicon) names none of the
    lexicon's actors, so every verdict would be about the lexicon's subject, not the seed's:
    silently wrong. Require the seed to name both actor roles and an engagement event.
    """
    from detection.text import analyse  # text imports lexicon only; avoid a cycle at import

    by_group = {group: role for role, group in topic.gate.items()}
    found: set[str] = set()
    for _name, text in topic.seeds:
        title, _, body = text.partition("\n")
        for seg in analyse(topic.lexicon, title, body).segments:
            for concept in seg.concepts:
                for group in topic.lexicon.concepts[concept].roles:
                    if group in by_group:
                        found.add(by_group[group])
    has_pair = "joint" in found or {"actor_a", "actor_b"} <= found
    missing = []
    if not has_pair:
        missing.append("both actors (" + ", ".join(
            r for r in ("actor_a", "actor_b") if r not in found) + " not found)")
    if "event" not in found:
        missing.append("an engagement event")
    if missing:
        raise TopicError(
            f"topic file {topic.path}: its seed names no {' and no '.join(missing)} of its "
            f"lexicon, so the lexicon does not describe this subject. Write a lexicon whose actor_a/actor_b/event groups "
            f"fit the seed (see seeds/lexicon/korea.toml)")


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
