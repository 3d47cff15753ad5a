"""The interactive SQL prompt of `seedwatch sql`: readline history, dot-commands, and a note on
stderr of which file is read (the snapshot or the main file) and how old it is."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Iterator

import duckdb

from warehouse.db import WarehouseError
from warehouse.query import FORMATS, Source, execute, missing_versions, reading, source_for

HELP = """\
End each SQL statement with ';' (it may span several lines). Commands:
  .tables           list tables and views
  .schema [NAME]    the CREATE statement of a table or view (all without NAME)
  .mode [FORMAT]    output format: table (default), csv or json
  .source           which file is read, and how old it is
  .help             this text
  .quit             leave (also .exit or Ctrl-D)"""

TABLES_SQL = """
SELECT table_name AS name,
       CASE WHEN table_type = 'VIEW' AND TABLE_COMMENT IS DISTINCT FROM 'seedwatch table (read snapshot)'
            THEN 'view' ELSE 'table' END AS kind
FROM information_schema.tables WHERE table_schema = 'main' ORDER BY kind, name"""

SCHEMA_SQL = """
SELECT table_name, sql FROM duckdb_tables() WHERE schema_name = 'main' AND ($name IS NULL OR table_name = $name)
UNION ALL
SELECT view_name, sql FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal
  AND ($name IS NULL OR view_name = $name)
ORDER BY 1"""


def history_file() -> Path:
    return Path(os.environ.get("SEEDWATCH_SQL_HISTORY") or Path.home() / ".seedwatch_sql_history")


@contextlib.contextmanager
def readline_history() -> Iterator[None]:
    """Load the prompt's history from its file, and save it on the way out."""
    try:
        import readline
    except ImportError:  # pragma: no cover - platforms without readline
        yield
        return
    path = history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            readline.write_history_file(path)


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Prompt:
    """Reads statements from stdin until .quit or end of input; one connection per statement."""

    def __init__(self, path: Path):
        self.path = path
        self.fmt = "table"
        self.errors = 0
        self.tty = sys.stdin.isatty()
        self.seen: tuple[Path, float] | None = None

    def loop(self) -> int:
        source = source_for(self.path)
        self._announce(source)
        with readline_history() if self.tty else contextlib.nullcontext():
            for item in self._statements():
                if item.startswith("."):
                    if not self.command(item):
                        break
                else:
                    self.run(item)
        # Piped input behaves like a script: an error makes the exit status 1.
        return 1 if self.errors and not self.tty else 0

    # --- input ---------------------------------------------------------------------------

    def _read(self, continued: bool) -> str:
        prompt = ("   ...> " if continued else "seedwatch> ") if self.tty else ""
        return input(prompt)

    def _statements(self) -> Iterator[str]:
        """Dot-commands (a line of their own) and complete SQL statements (ending with ';')."""
        lines: list[str] = []
        while True:
            try:
                line = self._read(bool(lines))
            except EOFError:
                break
            except KeyboardInterrupt:  # Ctrl-C drops the statement being typed
                lines = []
                print(file=sys.stderr)
                continue
            if not lines and line.strip().startswith("."):
                yield line.strip()
                continue
            lines.append(line)
            text = "\n".join(lines).strip()
            if not text:
                lines = []
            elif text.endswith(";"):
                lines = []
                yield text
        if "\n".join(lines).strip():
            yield "\n".join(lines).strip()
        if self.tty:
            print(file=sys.stderr)

    # --- what is read --------------------------------------------------------------------

    def _announce(self, source: Source) -> None:
        self.seen = (source.path, source.path.stat().st_mtime)
        _note(f"seedwatch sql: reading {source.describe()}")
        with reading(self.path) as (_, con):
            behind = missing_versions(con)
        if behind:
            _note(f"note: this copy lacks schema version {', '.join(map(str, behind))} (new views); "
                  "it gets them after the monitor's next run")
        if self.tty:
            _note("End statements with ';'. .help for commands, .quit to leave.")

    def _current(self) -> Source:
        """The file read now; says so on stderr when it changed since the last statement."""
        source = source_for(self.path)
        key = (source.path, source.path.stat().st_mtime)
        if key != self.seen:
            _note(f"(now reading {source.describe()})")
            self.seen = key
        return source

    def run(self, sql: str, fmt: str | None = None) -> None:
        try:
            self._current()
            ok = execute(self.path, sql, fmt or self.fmt)
        except WarehouseError as exc:
            return self._error(str(exc))
        self.errors += not ok

    # --- dot-commands --------------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run a dot-command; False means leave the prompt."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in (".quit", ".exit", ".q"):
            return False
        if name == ".help":
            print(HELP)
        elif name == ".tables":
            self.run(TABLES_SQL, "table")
        elif name == ".schema":
            self.schema(arg or None)
        elif name == ".source":
            print(self._current().describe())
        elif name == ".mode" and arg in FORMATS:
            self.fmt = arg
        elif name == ".mode":
            print(f"mode {self.fmt} (choose from {', '.join(FORMATS)})")
        else:
            self._error(f"unknown command {name} (.help lists them)")
        return True

    def schema(self, name: str | None) -> None:
        try:
            self._current()
            with reading(self.path) as (_, con):
                rows = con.execute(SCHEMA_SQL, {"name": name}).fetchall()
        except (WarehouseError, duckdb.Error) as exc:
            return self._error(str(exc).splitlines()[0])
        if not rows:
            return self._error(f"no table or view named {name}")
        for _, sql in rows:
            print(sql.strip().rstrip(";") + ";")

    def _error(self, message: str) -> None:
        _note(f"seedwatch: error: {message}")
        self.errors += 1
