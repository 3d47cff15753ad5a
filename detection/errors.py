"""Exceptions raised by the detection package."""


class DetectionError(Exception):
    """Base class for errors raised by detection."""


class TopicError(DetectionError):
    """A topic or lexicon file is missing, unreadable or inconsistent; the message says which."""


class EvaluationDataError(DetectionError):
    """An evaluation file is missing or has a malformed line."""
