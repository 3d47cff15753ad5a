"""Topic detection for seedwatch: seed-derived bilingual concept profiles with actor-pair gating.

Public API:
    load_topic(path) -> Topic, load_topics(dir_or_paths) -> list[Topic]
    describe_profile(topic) -> str, profile_as_dict(topic) -> dict
    Detector(topic).score(title, text, lang) -> Verdict; .score_many(items); .version
    detection.evaluate.evaluate_file(path, topic_name, topics_dir), format_report(result)
    detection.speed.measure(...)
"""
import logging

from detection.errors import DetectionError, EvaluationDataError, TopicError
from detection.describe import describe_profile, profile_as_dict
from detection.scoring import DETECTOR_VERSION, Detector, Verdict
from detection.topic import Topic, find_topic, load_topic, load_topics

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DETECTOR_VERSION", "DetectionError", "Detector", "EvaluationDataError", "Topic",
    "TopicError", "Verdict", "describe_profile", "find_topic", "load_topic", "load_topics",
    "profile_as_dict",
]
