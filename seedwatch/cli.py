"""The `seedwatch` command: parse arguments, call one library function, report errors in one line.

Heavy imports (Prefect, trafilatura) happen inside the commands that need them, so that
`seedwatch --help` and quick commands start fast.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

from seedwatch.config import DEFAULT_CONFIG, ConfigError, load_config


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def _config(args: argparse.Namespace):
    return load_config(args.config)


# --- monitor -------------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    from seedwatch.runcmd import run_command
    return run_command(args.config, wait=args.wait)


def cmd_rescore(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone
    cfg = _config(args)
    from seedwatch.pipeline import load_detectors
    names = [td.name for td in load_detectors(cfg)]
    if args.topic and args.topic not in names:
        raise UserError(f"no topic named {args.topic!r} (configured: {', '.join(names)})")
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise UserError(f"--since: not a date (YYYY-MM-DD or ISO time): {args.since!r}") from None
        since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    from seedwatch.prefect_env import local_api
    from seedwatch.runcmd import _waiting
    from warehouse.runlock import run_lock
    warehouse = cfg.resolve(cfg.warehouse.path)
    # A rescore writes like a run: it takes the warehouse's run lock (waiting for a run).
    with run_lock(warehouse, wait=True, on_wait=_waiting(warehouse)), local_api():
        from flows.rescore import rescore_flow
        result = rescore_flow(config_path=str(Path(args.config).resolve()), topic=args.topic,
                              since=since.isoformat() if since else None)
    print("\n".join(result["lines"]))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from seedwatch.runcmd import serve_command
    ui = _start_ui_beside(_config(args))
    try:
        return serve_command(args.config)
    finally:
        if ui is not None:
            ui.stop()


def _start_ui_beside(cfg):
    """`seedwatch serve` runs the web UI too; a UI that cannot start is reported, not fatal."""
    from ui.server import UiError, start_background
    try:
        ui = start_background(cfg)
    except UiError as exc:
        print(f"seedwatch: warning: web UI not started: {exc}", file=sys.stderr, flush=True)
        return None
    print(f"seedwatch UI (stories, feedback) at {ui.url}/", flush=True)
    return ui


def cmd_demo(args: argparse.Namespace) -> int:
    from seedwatch.runcmd import demo_command
    return demo_command(Path(args.out), args.port, serve_only=args.serve_only)


# --- extraction and detection --------------------------------------------------------------

def cmd_extract(args: argparse.Namespace) -> int:
    from extractors.article import extract_article
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {args.file}: {exc.strerror}") from None
    if args.file.endswith(".gz"):
        import gzip
        data = gzip.decompress(data)
    result = extract_article(data, args.url).as_dict()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"title: {result['title']}\npublished: {result['published']}\n"
              f"language: {result['language']}\nextractor: {result['extractor']}\n\n{result['text']}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.feedback:
        from seedwatch.uicmds import eval_feedback_command
        return eval_feedback_command(_config(args), args.topic, args.json)
    if not args.files:
        raise UserError("eval: give labelled JSONL files, or --feedback for the analyst's labels")
    from detection.evaluate import evaluate_files, format_report
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise UserError(f"no such file: {', '.join(missing)}")
    result = evaluate_files(args.files, topic_name=args.topic, topics_dir=args.seeds,
                            threshold=args.threshold)
    print(json.dumps(result, ensure_ascii=False) if args.json else format_report(result))
    return 0


def cmd_topic_show(args: argparse.Namespace) -> int:
    from detection import describe_profile, load_topics, profile_as_dict
    if args.config and not args.seeds:  # the topics that config's runs use, with its thresholds
        from seedwatch.topiccmd import configured_topics
        topics, where = configured_topics(load_config(args.config)), args.config
    else:
        topics, where = load_topics(args.seeds or "seeds"), args.seeds or "seeds"
    if args.topic:
        topics = [t for t in topics if t.name == args.topic]
        if not topics:
            raise UserError(f"no topic named {args.topic!r} in {where}")
    from seedwatch import uicmds
    labels = _feedback_config(args)
    if args.json:
        print(json.dumps([{**profile_as_dict(t), **({"feedback": uicmds.feedback_as_json(
            uicmds.topic_feedback(labels, t.name))} if labels else {})} for t in topics],
            ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(describe_profile(t) + ("\n\n" + uicmds.describe_feedback(
            t.name, uicmds.topic_feedback(labels, t.name)) if labels else "") for t in topics))
    return 0


def _feedback_config(args: argparse.Namespace):
    """The config whose warehouse holds the analyst's labels: --config, or ./seedwatch.toml
    when there is one (else no labels are listed)."""
    if args.config is not None:
        return load_config(args.config)
    try:
        return load_config(DEFAULT_CONFIG) if Path(DEFAULT_CONFIG).is_file() else None
    except ConfigError:
        return None  # not asked for: the profile alone


# --- warehouse -----------------------------------------------------------------------------

def cmd_sql(args: argparse.Namespace) -> int:
    from warehouse.query import interactive, run_query
    cfg = _config(args)
    path = cfg.resolve(cfg.warehouse.path)
    if args.query is None:
        return interactive(path)
    fmt = "csv" if args.csv else "json" if args.json else "table"
    return run_query(path, args.query, fmt)


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse.export import export_parquet
    cfg = _config(args)
    if args.format == "atom":
        from ui.atom import export_atom
        try:
            topic, n = export_atom(cfg.resolve(cfg.warehouse.path), args.dir, args.topic)
        except (ValueError, OSError) as exc:
            raise UserError(f"export: {exc}") from None
        print(f"{args.dir}: Atom feed of {topic}, {n} stor{'y' if n == 1 else 'ies'}")
        return 0
    for table, rows in export_parquet(cfg.resolve(cfg.warehouse.path), Path(args.dir)).items():
        print(f"{table}: {rows} row{'' if rows == 1 else 's'}")
    return 0


def cmd_stories(args: argparse.Namespace) -> int:
    from seedwatch.uicmds import CommandError, stories_command
    try:
        return stories_command(_config(args), args.topic, args.since, args.json)
    except CommandError as exc:
        raise UserError(str(exc)) from None


def cmd_ui(args: argparse.Namespace) -> int:
    from ui.server import UiError, run_ui
    try:
        return run_ui(_config(args), args.host, args.port)
    except UiError as exc:
        raise UserError(str(exc)) from None


def cmd_feeds(args: argparse.Namespace) -> int:
    from seedwatch.feedcmd import feeds_command
    return feeds_command(_config(args), args.action, args.feed)


def cmd_alerts_test(args: argparse.Namespace) -> int:
    from alerts.testsend import send_test
    results = send_test(_config(args))
    for channel, ok, answer in results:
        print(f"{'ok    ' if ok else 'FAILED'} {channel}: {answer}")
    return 0 if all(ok for _, ok, _ in results) else 1


# --- parser --------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seedwatch", description="Open news monitor: feeds → seed-based "
                                "topic detection → DuckDB warehouse → alerts.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str,
            config: bool = True) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        if config:
            sp.add_argument("--config", default=DEFAULT_CONFIG, help="config file (default: %(default)s)")
        sp.set_defaults(func=func)
        return sp

    sp = add("run", cmd_run, "run one monitoring cycle (a Prefect flow run)")
    sp.add_argument("--wait", action="store_true",
                    help="if another run holds the warehouse, wait for it (default: exit at once)")
    sp = add("rescore", cmd_rescore, "score stored articles again with the current detector and threshold")
    sp.add_argument("--topic", help="only this topic (default: every configured topic)")
    sp.add_argument("--since", help="only articles published (or first seen) on or after this date")
    add("serve", cmd_serve, "run the monitor on the configured schedule as a Prefect deployment")
    sp = add("demo", cmd_demo, "run the whole pipeline offline on the bundled demo news", config=False)
    sp.add_argument("--out", default="demo-run", help="folder for the demo warehouse (default: %(default)s)")
    sp.add_argument("--port", type=int, default=8941, help="port of the demo news server (default: %(default)s)")
    sp.add_argument("--serve-only", action="store_true",
                    help="only serve the demo news on 127.0.0.1 until Ctrl-C, for runs by hand")

    sp = add("extract", cmd_extract, "show what the extractor makes of one HTML page", config=False)
    sp.add_argument("file", help="an HTML file (.html or .html.gz)")
    sp.add_argument("--url", help="the page's URL, if known")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("eval", cmd_eval, "score labelled JSONL files with the flow's detector and two baselines",
             config=False)
    sp.add_argument("files", nargs="*", metavar="FILE",
                    help="JSONL or JSONL.gz with id, title, text, lang, label (YES/BRIEF/NO)")
    sp.add_argument("--threshold", type=float, help="override the detector's threshold")
    sp.add_argument("--feedback", action="store_true",
                    help="instead of files: the analyst's labels from the warehouse of --config")
    sp.add_argument("--config", default=DEFAULT_CONFIG, help="config file, for --feedback (default: %(default)s)")
    sp.add_argument("--topic", help="topic name (default: the only or first topic)")
    sp.add_argument("--seeds", default="seeds", help="folder of topic files (default: %(default)s)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")

    sp = add("topic", cmd_topic_show, "show the readable profile derived from a topic's seeds", config=False)
    sp.add_argument("action", choices=["show"])
    sp.add_argument("--topic", help="only this topic")
    sp.add_argument("--seeds", help="folder of topic files (default: seeds, or the topics of "
                    "--config when that is given)")
    sp.add_argument("--config", help="show the topics of this config file ([[topics]], with "
                       "their thresholds), as its runs use them, and the analyst's labels in its "
                       f"warehouse (default for the labels: {DEFAULT_CONFIG} when it exists)")
    sp.add_argument("--json", action="store_true", help="print JSON")

    sp = add("sql", cmd_sql, "query the warehouse (its read snapshot) with SQL; no query: a prompt")
    sp.add_argument("query", nargs="?", help="SQL to run; omit for an interactive prompt")
    fmt = sp.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    fmt.add_argument("--json", action="store_true", help="print JSON lines")

    sp = add("export", cmd_export, "write every warehouse table as Parquet into DIR, or a topic's "
             "stories as an Atom feed into FILE")
    sp.add_argument("--format", choices=["parquet", "atom"], default="parquet")
    sp.add_argument("--topic", help="atom: the topic (default: the only one)")
    sp.add_argument("dir", metavar="DIR|FILE", help="output folder (parquet) or file (atom)")

    sp = add("stories", cmd_stories, "list the matched stories, newest first")
    sp.add_argument("--topic", help="only this topic")
    sp.add_argument("--since", help="first seen on or after this day (YYYY-MM-DD, UTC) or time")
    sp.add_argument("--json", action="store_true", help="print JSON lines, one story per line")

    sp = add("ui", cmd_ui, "the web UI: stories, coverage, feeds, alerts, runs, feedback; Atom feeds")
    sp.add_argument("--port", type=int, help="port (default: [ui] port, 8942)")
    sp.add_argument("--host", help="address to listen on (default: [ui] host, 127.0.0.1); "
                    "another than loopback needs [ui] token")

    sp = add("feeds", cmd_feeds, "list feeds with their health, or enable/disable one")
    sp.add_argument("action", choices=["list", "enable", "disable"])
    sp.add_argument("feed", nargs="?", help="feed URL or id (enable/disable)")

    sp = add("alerts", cmd_alerts_test, "send a test message to every configured alert channel")
    sp.add_argument("action", choices=["test"])

    from seedwatch import reextract
    reextract.add_parser(add)
    return p


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "apprise"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    if not verbose:
        from seedwatch.session import quiet_interrupts
        quiet_interrupts()


def main(argv: list[str] | None = None) -> int:
    from seedwatch import session
    args = build_parser().parse_args(argv)
    session.prepare(args)  # Prefect's environment, before anything imports Prefect
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("seedwatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if not session.stdout_is_closed():
            raise
        session.silence_stdout()  # `| head` has read enough
        return 141
    except (ConfigError, UserError) as exc:
        print(f"seedwatch: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - known library errors become one line
        from seedwatch.checks import user_facing
        message = user_facing(exc)
        if message is None or args.verbose:
            raise
        status = getattr(exc, "exit_status", 2)  # 75: another run holds the warehouse
        print(f"seedwatch: {message}" if status == 130 else f"seedwatch: error: {message}",
              file=sys.stderr)
        return status

if __name__ == "__main__":
    sys.exit(main())
