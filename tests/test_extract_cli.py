"""`seedwatch extract FILE.html --json` on a saved page."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import FIXTURES


def test_extract_json_has_the_contract_keys():
    page = FIXTURES / "site" / "news" / "accept.html"
    proc = subprocess.run([sys.executable, "-m", "seedwatch.cli", "extract", str(page), "--json",
                           "--url", "https://news.example/accept.html"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"text", "title", "published", "language", "extractor"} <= set(out)
    assert out["title"] == "Seoul accepts Pyongyang's offer of talks"
    assert out["published"].startswith("2026-11-16")
    assert out["language"] == "en" and out["extractor"].startswith("trafilatura")
    assert "Panmunjom" in out["text"] and "Privacy policy" not in out["text"]


def test_extract_missing_file_is_a_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "seedwatch.cli", "extract", str(tmp_path / "no.html")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "cannot read" in proc.stderr and "Traceback" not in proc.stderr
