"""`python -m bench`: throughput, poll latency and memory of seedwatch on a local corpus.

Phases run in child processes so each one's peak memory is its own; see `bench/__main__.py`.
"""
