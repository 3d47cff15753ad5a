"""Where the labelled evaluation files are, for `make eval`.

They live outside the repository (their texts belong to their publishers and are never
committed): in `shared/eval` beside the main checkout. This finds that folder from the main
checkout, from a `git worktree` of it, and from a local clone of it; EVAL_DIR names another.

`python -m seedwatch.evaldata [DIR]`, run in the checkout, prints the files found (dev.jsonl.gz, then dev2.jsonl.gz
when present), space-separated, or exits 2 with a one-line message.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FILES = ("dev.jsonl.gz", "dev2.jsonl.gz")


def _git(repo: Path, *args: str) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def candidate_dirs(repo: Path) -> list[Path]:
    """Folders that may hold the files, most specific first."""
    repo = repo.resolve()
    dirs = [repo.parent / "shared" / "eval"]
    common = _git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
    if common:  # a worktree: its main checkout is the parent of the common .git folder
        dirs.append(Path(common).resolve().parent.parent / "shared" / "eval")
    origin = _git(repo, "config", "--get", "remote.origin.url")
    if origin.startswith("file://"):
        origin = origin[len("file://"):]
    if origin and "://" not in origin and ":" not in origin.split("/")[0]:  # a local path
        origin_path = (repo / origin).resolve() if not os.path.isabs(origin) else Path(origin)
        dirs.append(origin_path.parent / "shared" / "eval")
    return list(dict.fromkeys(dirs))


def find_eval_files(repo: Path, eval_dir: str | None = None) -> list[Path]:
    dirs = [Path(eval_dir).expanduser()] if eval_dir else candidate_dirs(repo)
    for d in dirs:
        found = [d / f for f in FILES if (d / f).is_file()]
        if found and found[0].name == FILES[0]:
            return found
    return []


def main(argv: list[str]) -> int:
    eval_dir = argv[0] if argv and argv[0] else os.environ.get("EVAL_DIR") or None
    repo = Path.cwd()  # `make` runs in the checkout
    found = find_eval_files(repo, eval_dir)
    if not found:
        where = eval_dir or ", ".join(str(d) for d in candidate_dirs(repo))
        print(f"no labelled evaluation data (dev.jsonl.gz) in {where}; "
              "give its folder with: make eval EVAL_DIR=/path/to/eval", file=sys.stderr)
        return 2
    print(" ".join(str(p) for p in found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
