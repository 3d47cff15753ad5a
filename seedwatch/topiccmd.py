"""`seedwatch topic show --config FILE`: the topics a config's runs score against."""
from __future__ import annotations

from typing import Any

from seedwatch.config import Config


def configured_topics(cfg: Config) -> list[Any]:
    """The config's topics as the flow loads them (`[[topics]]`, else `seeds/` beside the config,
    else the bundled seeds), each with the threshold the config gives it."""
    from detection import load_topic
    from seedwatch.pipeline import topic_files
    topics = []
    for path, threshold in topic_files(cfg):
        topic = load_topic(path)
        if threshold is not None:
            topic.threshold = threshold
        topics.append(topic)
    return topics
