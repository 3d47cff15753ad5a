"""The analyst's web UI: a Starlette app over the warehouse's read snapshot.

Pages: stories (home), a story, coverage, feeds, alerts, runs, feedback; the Atom feed of a
topic. It reads only the snapshot (`warehouse.ui_queries.SnapshotReader`), so it never blocks
the flow; what it changes (labels, "enable this feed again") is appended to the inbox
(`warehouse.feedback`) and taken in by the next run. No JavaScript; one CSS file.

Safety: every article-supplied string goes through `ui.render.clean` and Jinja's autoescape;
links to articles must be http(s); a strict Content-Security-Policy; POSTs need the CSRF token
(double-submit cookie, SameSite=Strict) and a same-origin Origin when the browser sends one;
with a `[ui] token` every request needs it; bound to loopback, a request for any other Host
is refused (DNS rebinding).
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ui import atom, charts
from ui.render import clean, forms_of, highlight, score, when
from warehouse import feedback as fb
from warehouse import ui_queries as q
from warehouse.db import WarehouseError

PER_PAGE = 25
COVERAGE_DAYS = (7, 30, 90)
CSRF_COOKIE = "seedwatch_csrf"
TOKEN_COOKIE = "seedwatch_token"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


@dataclass(frozen=True)
class UiSettings:
    warehouse: Path
    token: str = ""
    host: str = "127.0.0.1"
    port: int = 8942


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- templates ---------------------------------------------------------------------------------

def _safe_url(value: Any) -> str:
    url = clean(value, 2000)
    return url if url.lower().startswith(("http://", "https://")) else "#"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("ui") / "templates")),
        autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(t=clean, when=when, score=score, safe_url=_safe_url, highlight=highlight)
    env.globals.update(forms_of=forms_of, urlencode=urlencode)
    return env


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


# --- the app -----------------------------------------------------------------------------------

def create_app(settings: UiSettings) -> Starlette:
    reader = q.SnapshotReader(settings.warehouse)
    env = _environment()
    loopback_hosts = {"127.0.0.1", "localhost", "[::1]", "::1", settings.host.lower()}

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("source_note", "")
        html = env.get_template(name).render(request=request, csrf=request.state.csrf,
                                             path=request.url.path, **context)
        return HTMLResponse(html, status_code=status)

    def read(request: Request, fn: Callable[[Any], dict[str, Any]], template: str) -> Response:
        """Run `fn(con)` on the snapshot and render `template` with what it returns."""
        try:
            with reader.connect() as (source, con):
                context = fn(con)
                if isinstance(context, Response):
                    return context
                age = time.time() - source.path.stat().st_mtime
                context["source_note"] = (f"snapshot taken {_ago(age)} ago (after the monitor's last run)"
                                          if source.kind == "snapshot" else
                                          "live warehouse (no snapshot yet)")
        except WarehouseError as exc:
            return page(request, "error.html", 503, title="No warehouse yet", message=str(exc))
        return page(request, template, **context)

    # -- pages --

    def stories(request: Request) -> Response:
        args = request.query_params
        errors: list[str] = []
        flt = q.StoryFilter(topic=args.get("topic") or None, language=args.get("language") or None,
                            outlet=args.get("outlet") or None,
                            since=_date(args.get("from"), "from", errors),
                            until=_date(args.get("to"), "to", errors),
                            min_score=_float(args.get("min_score"), errors),
                            q=clean(args.get("q"), 200) or None)
        pageno = max(1, _int(args.get("page"), 1))

        def fetch(con: Any) -> dict[str, Any]:
            rows, total = q.list_stories(con, flt, PER_PAGE, (pageno - 1) * PER_PAGE)
            kept = {k: args.get(k, "") for k in ("topic", "language", "outlet", "from", "to",
                                                  "min_score", "q")}
            return {"stories": rows, "total": total, "choices": q.filter_choices(con), "flt": flt,
                    "args": kept, "keep": [(k, v) for k, v in kept.items() if v],
                    "page": pageno, "pages": max(1, -(-total // PER_PAGE)), "errors": errors,
                    "title": "Stories"}
        return read(request, fetch, "stories.html")

    def story_page(request: Request) -> Response:
        story_id = request.path_params["story_id"]

        def fetch(con: Any) -> Any:
            st = q.story(con, story_id)
            if st is None:
                return page(request, "error.html", 404, title="No such story",
                            message="There is no story with this id in the snapshot.")
            queued = fb.queued_records(con, settings.warehouse)
            labels = {r["article_id"]: r for r in fb.feedback_list(con, st["topic"], queued)
                      if r["article_id"] in {a["article_id"] for a in st["articles"]}}
            return {"story": st, "groups": _fold(st["articles"]), "labels": labels,
                    "threshold": next((a["explanation"].get("threshold") for a in st["articles"]
                                       if isinstance(a["explanation"].get("threshold"), (int, float))), None),
                    "title": clean(st["headline"], 80)}
        return read(request, fetch, "story.html")

    def coverage(request: Request) -> Response:
        args = request.query_params
        days = _int(args.get("days"), 30)
        days = days if days in COVERAGE_DAYS else 30
        topic = args.get("topic") or None

        def fetch(con: Any) -> dict[str, Any]:
            charts_ = []
            for by in ("language", "outlet"):
                axis, series = q.coverage(con, days, by, topic)
                charts_.append({"by": by, "total": sum(map(sum, series.values())),
                                "svg": charts.stacked_bars(axis, series, title=f"Matches per day by {by}")})
            return {"charts": charts_, "days": days, "topic": topic or "", "all_days": COVERAGE_DAYS,
                    "topics": q.topics(con), "title": "Coverage"}
        return read(request, fetch, "coverage.html")

    def feeds(request: Request) -> Response:
        def fetch(con: Any) -> dict[str, Any]:
            queued = {r["feed_id"] for r in fb.queued_records(con, settings.warehouse)
                      if r["kind"] == "feed_enable"}
            return {"feeds": q.feeds(con), "queued": queued, "title": "Feeds",
                    "notice": request.query_params.get("queued") == "1"}
        return read(request, fetch, "feeds.html")

    def alerts(request: Request) -> Response:
        return read(request, lambda con: {"alerts": q.alerts(con), "totals": q.alert_totals(con),
                                          "failures": q.failed_attempts(con), "title": "Alerts"},
                    "alerts.html")

    def runs(request: Request) -> Response:
        def fetch(con: Any) -> dict[str, Any]:
            rows = q.runs(con)
            stages = list(dict.fromkeys(k for r in rows for k in r["stage_seconds"]))
            return {"runs": rows, "stages": stages, "title": "Runs"}
        return read(request, fetch, "runs.html")

    def feedback_page(request: Request) -> Response:
        topic = request.query_params.get("topic") or None

        def fetch(con: Any) -> dict[str, Any]:
            queued = fb.queued_records(con, settings.warehouse)
            return {"labels": fb.feedback_list(con, topic, queued), "topic": topic or "",
                    "topics": q.topics(con), "title": "Feedback"}
        return read(request, fetch, "feedback.html")

    def atom_feed(request: Request) -> Response:
        name = request.path_params["name"]
        if not name.endswith(".atom"):
            return PlainTextResponse("not found", status_code=404)
        topic = name[: -len(".atom")]
        try:
            with reader.connect() as (_, con):
                if topic not in q.topics(con):
                    return PlainTextResponse(f"no topic {clean(topic, 100)!r}", status_code=404)
                rows = q.stories_with_articles(con, topic, limit=atom.MAX_ENTRIES)
        except WarehouseError as exc:
            return PlainTextResponse(str(exc), status_code=503)
        base = str(request.base_url).rstrip("/")
        xml = atom.render(topic, rows, base_url=base, self_url=base + request.url.path)
        return Response(xml, media_type="application/atom+xml; charset=utf-8")

    # -- state changes: queued in the inbox --

    async def post_feedback(request: Request) -> Response:
        form = await _form(request)
        label, topic = form.get("label", ""), form.get("topic", "")
        story_id, article_id = form.get("story_id") or None, form.get("article_id") or None
        if label not in fb.LABELS or not (story_id or article_id):
            return PlainTextResponse("bad feedback: label and a story or an article are needed", 400)

        def queue() -> Response | None:
            with reader.connect() as (_, con):
                if article_id:
                    if not topic or not q.article_topic_known(con, article_id, topic):
                        return PlainTextResponse("no such article on this topic", 404)
                    fb.queue_feedback(settings.warehouse, topic, label, [article_id], story_id)
                else:
                    found = q.story_article_ids(con, story_id)
                    if found is None:
                        return PlainTextResponse("no such story", 404)
                    fb.queue_feedback(settings.warehouse, found[0], label, found[1], story_id)
            return None
        error = await run_in_threadpool(queue)
        return error or RedirectResponse(_local(form.get("next"), "/"), status_code=303)

    async def enable_feed(request: Request) -> Response:
        await _form(request)
        feed_id = request.path_params["feed_id"]

        def queue() -> Response | None:
            with reader.connect() as (_, con):
                state = q.disabled_feed(con, feed_id)
            if state is None:
                return PlainTextResponse("no such feed", 404)
            fb.queue_feed_enable(settings.warehouse, feed_id)
            return None
        error = await run_in_threadpool(queue)
        return error or RedirectResponse("/feeds?queued=1", status_code=303)

    async def _form(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > 64_000:
            raise _Refused(413, "request too large")
        try:
            parsed = parse_qs(body.decode("utf-8"), max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            raise _Refused(400, "malformed form") from None
        form = {k: v[0] for k, v in parsed.items()}
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(form.get("csrf", ""), cookie):
            raise _Refused(403, "missing or wrong CSRF token: reload the page and try again")
        return form

    routes = [
        Route("/", stories), Route("/stories/{story_id}", story_page), Route("/coverage", coverage),
        Route("/feeds", feeds), Route("/alerts", alerts), Route("/runs", runs),
        Route("/feedback", feedback_page), Route("/feedback", post_feedback, methods=["POST"]),
        Route("/feeds/{feed_id}/enable", enable_feed, methods=["POST"]),
        Route("/topics/{name}", atom_feed),
        Mount("/static", app=StaticFiles(directory=str(resources.files("ui") / "static")), name="static"),
    ]
    async def guard(request: Request, call_next: Callable) -> Response:
        host = _host_only(request.headers.get("host") or "")
        if is_loopback(settings.host) and host not in loopback_hosts:
            return _headers(PlainTextResponse("unknown host", status_code=421))
        if settings.token:
            given = (request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                     or request.cookies.get(TOKEN_COOKIE) or request.query_params.get("token", ""))
            if not hmac.compare_digest(given.encode(), settings.token.encode()):
                return _headers(PlainTextResponse("token required: open the address with ?token=...",
                                                  status_code=401))
            if request.query_params.get("token") and request.method == "GET" \
                    and not request.url.path.endswith(".atom"):
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                resp = RedirectResponse(request.url.path + ("?" + urlencode(rest) if rest else ""), 303)
                resp.set_cookie(TOKEN_COOKIE, settings.token, httponly=True, samesite="strict")
                return _headers(resp)
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            if origin and urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower():
                return _headers(PlainTextResponse("cross-origin request refused", status_code=403))
        csrf = request.cookies.get(CSRF_COOKIE)
        new_cookie = None
        if not csrf or len(csrf) < 20:
            csrf = new_cookie = secrets.token_urlsafe(24)
        request.state.csrf = csrf
        response = await call_next(request)
        if new_cookie:
            response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="strict")
        return _headers(response)

    app = Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)])
    app.state.reader = reader
    return app


def _Refused(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


def _host_only(header: str) -> str:
    """The host part of a Host header ("[::1]:8942" -> "[::1]", "a:1" -> "a")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if ":" in header else header


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _fold(articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Articles grouped under their original: near or exact duplicates of an article of the story
    go under it; the original is the group's first article in the story."""
    groups: dict[str, dict[str, Any]] = {}
    for a in articles:
        gid = a.get("dup_group_id") or a["article_id"]
        if gid not in groups:
            groups[gid] = {"original": a, "duplicates": []}
        else:
            groups[gid]["duplicates"].append(a)
    return list(groups.values())


def _local(target: str | None, default: str) -> str:
    """A redirect target on this site only."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return clean(target, 2000)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _float(value: str | None, errors: list[str]) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        errors.append(f"minimum score is not a number: {clean(value, 40)!r}")
        return None


def _date(value: str | None, name: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(f"{name}: not a date (YYYY-MM-DD): {clean(value, 40)!r}")
        return None
