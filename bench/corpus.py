"""A news site on disk for the benchmark: article pages plus the RSS feeds that link them.

Two sources of pages:

* generated (the default): N pages built from templates with seeded random text, shaped like
  real news pages (navigation, teasers, scripts, JSON-LD, a byline and a dated article body),
  about 90 KB each, so trafilatura spends on them about what it spends on real pages;
* a folder of real pages (`*.html` or `*.html.gz`, e.g. the article extraction benchmark):
  unpacked once and linked N times under distinct URLs (symlinks), cycling if N is larger.

Feeds are RSS 2.0 files under `feeds/`, each linking `pages / feeds` articles, with `{{BASE}}`
in place of the server's address (see `seedwatch.sitesrv`).
"""
from __future__ import annotations

import gzip
import html
import json
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

# --- text ----------------------------------------------------------------------------------

_PLACES = ["Seoul", "Busan", "Incheon", "Tokyo", "Osaka", "Beijing", "Shanghai", "Washington",
           "New York", "London", "Berlin", "Paris", "Geneva", "Jakarta", "Hanoi", "Manila",
           "Singapore", "Sydney", "Ottawa", "Brussels", "Daejeon", "Gwangju", "Ulsan", "Jeju"]
_PEOPLE = ["the finance minister", "a central bank official", "the mayor", "the prime minister",
           "a government spokesperson", "the opposition leader", "industry analysts",
           "the trade minister", "the health ministry", "local residents", "union leaders",
           "the defense ministry", "the foreign minister", "the chief executive", "economists",
           "the weather agency", "prosecutors", "the national assembly", "coastal officials"]
_SUBJECTS = {
    "economy": ["exports", "chip shipments", "consumer prices", "the won", "bond yields",
                "household debt", "factory output", "retail sales", "housing prices", "tariffs"],
    "weather": ["the typhoon", "heavy rain", "the cold wave", "fine dust", "the heat wave",
                "flood warnings", "snowfall", "the drought", "strong winds", "landslides"],
    "tech": ["the new smartphone", "battery makers", "artificial intelligence chips",
             "the data centre", "electric vehicles", "the satellite launch", "cloud services",
             "semiconductor equipment", "the software update", "robotics startups"],
    "sports": ["the national team", "the league final", "the marathon", "the coach",
               "the transfer window", "the baseball season", "the Olympic qualifiers",
               "the stadium", "the tournament", "the championship"],
    "society": ["the school reform", "the pension plan", "the housing subsidy", "the census",
                "the subway line", "birth rates", "the hospital strike", "tourism",
                "the festival", "the recycling rules"],
    "korea": ["inter-Korean talks", "the unification ministry", "the military hotline",
              "Pyongyang's offer of talks", "the envoy to Pyongyang", "family reunions",
              "the Kaesong industrial complex", "the border village of Panmunjom",
              "the North's delegation", "the joint liaison office"],
}
_VERBS = ["rose", "fell", "surged", "slowed", "stabilised", "drew criticism", "won approval",
          "was delayed", "was expanded", "came under review", "beat expectations",
          "missed forecasts", "remained uncertain", "gained momentum", "faced new hurdles"]
_ADVERBS = ["sharply", "slightly", "unexpectedly", "for a third straight month", "this week",
            "on Monday", "late on Tuesday", "after weeks of debate", "despite objections",
            "as expected", "in early trading", "over the weekend"]
_CLAUSES = ["according to figures released on {day}", "{person} said in a statement",
            "{person} told reporters in {place}", "citing data from {place}",
            "officials in {place} said", "in a move welcomed by {person}",
            "raising questions about the year ahead", "the first such change since {year}",
            "with {num} percent of respondents in favour", "ahead of a meeting in {place}"]
_KOREA = [
    "North Korea proposed holding high-level talks with South Korea at Panmunjom, {person} said.",
    "The unification ministry said Seoul would respond to Pyongyang's offer through the hotline.",
    "Seoul and Pyongyang agreed to discuss the North's participation in the games and family reunions.",
    "The two Koreas restored the military hotline after a pause of nearly two years.",
    "South Korea's envoy met North Korean officials to prepare an inter-Korean summit.",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_SECTIONS = ["Politics", "Economy", "World", "Tech", "Sports", "Society", "Culture", "Opinion",
             "Weather", "Science", "Health", "Travel", "Markets", "Video", "Photos"]


def _sentence(rng: random.Random, topic: str) -> str:
    if topic == "korea" and rng.random() < 0.35:
        core = rng.choice(_KOREA)
    else:
        subject = rng.choice(_SUBJECTS[topic])
        core = f"{subject[0].upper()}{subject[1:]} {rng.choice(_VERBS)} {rng.choice(_ADVERBS)}"
        if rng.random() < 0.7:
            core += ", " + rng.choice(_CLAUSES)
        core += "."
    return core.format(person=rng.choice(_PEOPLE), place=rng.choice(_PLACES), day=rng.choice(_DAYS),
                       year=rng.randint(1995, 2024), num=rng.randint(3, 97))


def _paragraphs(rng: random.Random, topic: str) -> list[str]:
    out = []
    for _ in range(rng.randint(6, 14)):
        sentences = [_sentence(rng, topic) for _ in range(rng.randint(2, 5))]
        if rng.random() < 0.2:
            sentences.append(f'"We will {rng.choice(["act", "wait", "review this", "keep talking"])} '
                             f'{rng.choice(_ADVERBS)}," {rng.choice(_PEOPLE)} said.')
        out.append(" ".join(sentences))
    return out


def _headline(rng: random.Random, topic: str) -> str:
    subject = rng.choice(_SUBJECTS[topic])
    return f"{subject[0].upper()}{subject[1:]} {rng.choice(_VERBS)} {rng.choice(_ADVERBS)} in {rng.choice(_PLACES)}"


# --- pages ---------------------------------------------------------------------------------

# Inline script and style of about the size news sites carry (trafilatura drops both, but
# it still parses them). Deterministic filler, not copied from any site.
_SCRIPT = "\n".join(
    f"window.__cfg{i} = {{slot: 'ad-{i}', sizes: [[300, 250], [728, 90]], lazy: {str(i % 2 == 0).lower()}, "
    f"targeting: {{section: 'news', pos: {i}, kw: ['a{i}', 'b{i}', 'c{i}']}}}};"
    for i in range(140))
_STYLE = "\n".join(f".c{i} {{ margin: {i % 7}px {i % 5}px; color: #{i * 7919 % 0xffffff:06x}; "
                   f"font-size: {12 + i % 6}px; }}" for i in range(220))


@dataclass
class Page:
    path: str  # relative to the site root, e.g. news/wire-0001/0003.html
    title: str
    summary: str
    published: datetime
    topic: str


def render_page(page: Page, rng: random.Random, paragraphs: list[str]) -> str:
    """One article page with the furniture of a real news site around the article."""
    e = html.escape
    nav = "".join(f'<li><a href="{{{{BASE}}}}/section/{s.lower()}/{j}">{s} {j}</a></li>'
                  for s in _SECTIONS for j in range(4))
    teasers = "".join(
        f'<li class="teaser"><a href="{{{{BASE}}}}/news/more/{rng.randint(1, 10**6)}.html">'
        f'{e(_headline(rng, rng.choice(list(_SUBJECTS))))}</a><span class="time">{rng.randint(1, 59)} min ago</span></li>'
        for _ in range(24))
    cards = "".join(
        f'<div class="card"><div class="card-inner"><figure><a href="{{{{BASE}}}}/news/more/{rng.randint(1, 10**6)}.html">'
        f'<img src="{{{{BASE}}}}/img/{k}.jpg" alt="" width="300" height="200"></a><figcaption><span>Photo</span></figcaption></figure>'
        f'<div class="card-body"><span class="kicker">{rng.choice(_SECTIONS)}</span><h4><a href="{{{{BASE}}}}/news/more/{k}.html">'
        f'{e(_headline(rng, rng.choice(list(_SUBJECTS))))}</a></h4><p class="dek">{e(_sentence(rng, rng.choice(list(_SUBJECTS))))}</p>'
        f'<div class="meta"><span class="author">Staff</span><span class="time">{rng.randint(1, 23)}h</span></div></div></div></div>'
        for k in range(48))
    comments = "".join(
        f'<div class="comment"><div class="comment-head"><span class="user">reader{rng.randint(1, 9999)}</span>'
        f'<span class="when">{rng.randint(1, 59)} minutes ago</span></div><div class="comment-body"><p>'
        f'{e(_sentence(rng, rng.choice(list(_SUBJECTS))))}</p></div><div class="comment-actions"><a href="#">Reply</a>'
        f'<a href="#">Like</a><a href="#">Report</a></div></div>' for _ in range(rng.randint(5, 25)))
    footer = "".join(f'<a href="{{{{BASE}}}}/about/{k}">{w}</a> ' for k, w in enumerate(
        ["About us", "Contact", "Careers", "Advertise", "Privacy", "Terms", "Cookies", "Help",
         "Newsletters", "Archive", "RSS", "Corrections", "Ethics", "Licensing"] * 3))
    when = page.published.isoformat()
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": page.title,
                     "datePublished": when, "author": {"@type": "Person", "name": "Staff reporter"},
                     "publisher": {"@type": "Organization", "name": "Bench Daily"}})
    body = "".join(f"<p>{e(p)}</p>" + (
        f'<aside class="inline-related"><a href="{{{{BASE}}}}/news/more/{k}.html">Read more: '
        f"{e(_headline(rng, page.topic))}</a></aside>" if k == 3 else "")
        for k, p in enumerate(paragraphs))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(page.title)} | Bench Daily</title>
<meta name="description" content="{e(page.summary)}">
<meta property="og:title" content="{e(page.title)}">
<meta property="article:published_time" content="{when}">
<link rel="canonical" href="{{{{BASE}}}}/{page.path}">
<style>{_STYLE}</style>
<script type="application/ld+json">{ld}</script>
<script>{_SCRIPT}</script>
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept</button></div>
<header><div class="logo"><a href="{{{{BASE}}}}/">Bench Daily</a></div><nav><ul>{nav}</ul></nav>
<form class="search"><input name="q" placeholder="Search"></form></header>
<main><div class="breadcrumb"><a href="{{{{BASE}}}}/">Home</a> &gt; <a href="{{{{BASE}}}}/section/{page.topic}">{page.topic.title()}</a></div>
<article><h1>{e(page.title)}</h1>
<div class="byline">By Staff reporter · <time datetime="{when}">{page.published:%B %d, %Y %H:%M}</time></div>
<p class="lead"><strong>{e(page.summary)}</strong></p>
{body}
<div class="share"><a href="#">Share</a> <a href="#">Tweet</a> <a href="#">Email</a> <a href="#">Print</a></div>
</article>
<section class="comments"><h3>Comments</h3>{comments}<p>Log in to comment.</p></section>
<aside class="most-read"><h3>Most read</h3><ul>{teasers}</ul></aside>
<section class="more-news"><h3>More news</h3><div class="grid">{cards}</div></section>
</main>
<footer><div class="links">{footer}</div><p>© 2026 Bench Daily. All rights reserved.</p></footer>
<script>{_SCRIPT[:4000]}</script>
</body></html>
"""


def _rss(name: str, items: list[Page]) -> str:
    e = html.escape
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
             f"<title>{e(name)}</title><link>{{{{BASE}}}}/</link><description>Bench feed {e(name)}</description>"
             "<language>en</language>"]
    for p in items:
        parts.append(f"<item><title>{e(p.title)}</title><link>{{{{BASE}}}}/{p.path}</link>"
                     f'<guid isPermaLink="false">{p.path}</guid><pubDate>{format_datetime(p.published)}</pubDate>'
                     f"<description>{e(p.summary)}</description></item>")
    parts.append("</channel></rss>\n")
    return "".join(parts)


@dataclass
class Corpus:
    root: Path
    feeds: list[str]  # paths of the feeds relative to root
    pages: list[str]  # paths of the article pages relative to root
    source: str  # "generated" or the folder of real pages


def _write_feeds(root: Path, pages: list[Page], feeds: int) -> list[str]:
    feeds = max(1, min(feeds, len(pages))) if pages else max(1, feeds)
    (root / "feeds").mkdir(parents=True, exist_ok=True)
    out = []
    for f in range(feeds):
        path = f"feeds/feed-{f:05d}.xml"
        (root / path).write_text(_rss(f"Bench feed {f}", pages[f::feeds]), encoding="utf-8")
        out.append(path)
    return out


def generate(root: Path, pages: int, feeds: int, seed: int = 6, korea_share: float = 0.05) -> Corpus:
    """Write `pages` generated article pages and `feeds` RSS feeds under `root`."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)
    topics = [t for t in _SUBJECTS if t != "korea"]
    made: list[Page] = []
    for i in range(pages):
        topic = "korea" if rng.random() < korea_share else rng.choice(topics)
        title = _headline(rng, topic)
        paragraphs = _paragraphs(rng, topic)
        page = Page(f"news/{i // 500:03d}/{i:06d}.html", title, paragraphs[0][:240],
                    start + timedelta(minutes=7 * i), topic)
        target = root / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_page(page, rng, paragraphs), encoding="utf-8")
        made.append(page)
    return Corpus(root, _write_feeds(root, made, feeds), [p.path for p in made], "generated")


def from_folder(root: Path, html_dir: Path, pages: int, feeds: int) -> Corpus:
    """Serve real pages from `html_dir` (`.html` / `.html.gz`), each linked under one or more URLs."""
    files = sorted(p for p in Path(html_dir).iterdir() if p.name.endswith((".html", ".htm", ".html.gz")))
    if not files:
        raise SystemExit(f"no .html or .html.gz files in {html_dir}")
    src = root / "src"
    src.mkdir(parents=True, exist_ok=True)
    names = []
    for f in files:
        name = f.name[:-3] if f.name.endswith(".gz") else f.name
        data = gzip.decompress(f.read_bytes()) if f.name.endswith(".gz") else f.read_bytes()
        (src / name).write_bytes(data)
        names.append(name)
    pages = pages or len(names)
    start = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)
    made = []
    for i in range(pages):
        name = names[i % len(names)]
        rel = f"news/{i // 500:03d}/{i:06d}.html"
        link = root / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(os.path.relpath(src / name, link.parent), link)
        made.append(Page(rel, f"Article {i} ({name[:12]})", "", start + timedelta(minutes=7 * i), "real"))
    return Corpus(root, _write_feeds(root, made, feeds), [p.path for p in made], str(html_dir))
