"""What changed between status reports, over several series of reports.

A series is one organisation's reports (a region's half-year bilans, a hospital group's quarterly reviews), or,
for a roadmap whose progress is published without a structured report here (the national roadmap's semiannual
"état d'avancement des 65 objectifs"), the record of that publication and the dated decisions about it. Which
series a question means: the report clicked, the roadmap or organisation named, the publication named, the
record named (the series that reports on it), the words naming a series (cadence: semestriel/half-year,
trimestriel/quarterly; kind: bilan, revue), the months its reports were published in; several left: ask which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .. import roadmaps
from ..model import Answer
from ..phrases import say, shown_status
from ..store import Reader
from ..text import STOPWORDS, clip, fold
from ..understand import Candidate, Question, coverage_of
from .common import _FRAME_WORDS, MAX_LIST, _dedupe, _result, _source, _sources, _topic_readings
from .councils import _decision_line

# How a question or a report's title says how often a series is published.
_CADENCES = (
    re.compile(r"\b(semestr\w*|half year\w*|semi ?annual\w*|biannual\w*|twice yearly|six month\w*|s[12])\b"),
    re.compile(r"\b(trimestr\w*|quarter\w*)\b"),
)
# The French words a series' titles call its reports by; English "review", "report" fit any series.
_KIND = re.compile(r"\b(revue|bilan)s?\b")
_REPORT = re.compile(
    r"\b(revues?|bilans?|reviews?|reports?|rapports?|point d etape|etat d avancement|semestr\w*|trimestr\w*|"
    r"half year\w*|quarterly)\b"
)
# Asking what changed, beside the "changes" cue: read on the question as typed too (a correction may bend
# "évolution" into "évaluation").
_CHANGED = re.compile(r"\b(evolu\w*|bouge|moved|changed|progresse\w*|went|passe|passes|passed|turned|devenus?)\b")
_BETWEEN = re.compile(r"\b(entre|between|vs|versus)\b")
_SINCE = re.compile(r"\b(depuis|since)\b")
_LAST = re.compile(r"\b(dernier|derniere|last|latest|au|d apres le|selon le)( \w+)? (revue|bilan|review|report)s?\b")
_FORWARD = re.compile(r"\b(moved forward|went forward|progressed|ont progresse|ont avance|advanced)\b")
# A roadmap named without saying whose: the national one ("la feuille de route"; a region's is "régionale").
_ROADMAP = re.compile(r"\b(feuille de route|roadmap)\b")
# How the national progress publication is named in its record's aliases.
_PUBLICATION_NAMES = ["etat d avancement de la feuille de route", "roadmap progress"]
# Words about the reports themselves or about changing, not the topic of a record's history.
_NOT_TOPIC = frozenset(
    "revue revues bilan bilans review reviews report reports rapport rapports semestre semestriel semestriels "
    "semestrielle semestrielles trimestre trimestriel trimestrielle quarterly half year deux two dernier derniere "
    "last latest avancement progress publication publiee published etat evolution evaluation bouge moved move "
    "forward entre between since depuis changed change changes quoi neuf went passe passes".split()
)


@dataclass
class Series:
    """One family's reports, newest first; or a publication with no structured report, with its dated mentions."""

    home: tuple[str, str]
    reports: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""  # folded titles (names and aliases of a publication): the words that name the series
    dates: list[str] = field(default_factory=list)
    publication: dict[str, Any] | None = None
    mentions: list[dict[str, Any]] = field(default_factory=list)


def asks_changes(q: Question) -> bool:
    """The question asks what changed between reports, or what the last report of a series says."""
    text = f"{q.folded} | {q.plain}"
    report = bool(_REPORT.search(text))
    months = len(_months(q))
    if "changes" in q.cues or (q.since and ("list" in q.cues or q.mentions_report)):
        return True
    if _BETWEEN.search(text) and (report or months >= 2):  # "entre mars et septembre", "between the two reviews"
        return True
    if report and (_LAST.search(text) or (_SINCE.search(text) and _CHANGED.search(text))):
        return True
    return bool(_CHANGED.search(text) and (q.status or q.colour) and months)  # "passés en retard entre mars..."


def _named_change(candidates: list[Candidate]) -> bool:
    """'Changement d'hébergeur du Health Data Hub' names a record; it does not ask what changed."""
    return any(c.how == "exact" and re.search(r"\b(chang|evolu|nouveau)", c.matched) for c in candidates[:3])


def names_a_series(reader: Reader, candidates: list[Candidate]) -> dict[str, Any] | None:
    """The organisation the question names whose source holds a series of reports ("la revue du GH3R")."""
    for c in candidates[:3]:
        if c.kind == "actors" and c.how == "exact" and (actor := reader.record("actors", c.id)):
            if actor.get("source_title") and any(
                roadmaps.family(r) == roadmaps.family(actor) for r in _all_reports(reader)
            ):
                return actor
    return None


def _all_reports(reader: Reader) -> list[dict[str, Any]]:
    # Only the columns needed: a report's `statuses` can hold thousands of rows.
    if "reports" not in reader.memo:
        reader.memo["reports"] = reader.rows(
            "SELECT id, published, title, url, roadmap, source_title FROM reports ORDER BY published DESC, id DESC"
        )
    return reader.memo["reports"]


def _all_series(reader: Reader) -> list[Series]:
    """Every series, the national one first (as roadmaps list theirs), then by newest report."""
    if "series" not in reader.memo:
        found: dict[tuple[str, str], Series] = {}
        for r in _all_reports(reader):
            s = found.setdefault(roadmaps.family(r), Series(roadmaps.family(r)))
            s.reports.append(r)
            s.text += f" {fold(r.get('title') or '')}"
            s.dates.append(r.get("published") or "")
        series = list(found.values())
        if (publication := _publication(reader)) and publication["home"] not in found:
            series.insert(0, publication["series"])
        reader.memo["series"] = series
    return reader.memo["series"]


def _publication(reader: Reader) -> dict[str, Any] | None:
    """The national roadmap's progress publication, when its record is loaded: named by its aliases."""
    ids = [m["id"] for m in reader.names(_PUBLICATION_NAMES) if m["kind"] == "programmes"]
    record = next((r for r in (reader.record("programmes", i) for i in dict.fromkeys(ids)) if r), None)
    if record is None:
        return None
    home = roadmaps.family(record)
    mentions = [
        d
        for d in reader.records("decisions", "extra LIKE ? ORDER BY date, id", (f'%"{record["id"]}"%',))
        if record["id"] in ((d.get("extra") or {}).get("programmes") or [])
    ]
    text = fold(" ".join([record.get("name") or "", *(record.get("aliases") or [])]))
    dates = [d["date"] for d in mentions if d.get("date")]
    return {"home": home, "series": Series(home, [], f" {text}", dates, record, mentions)}


def _months(q: Question) -> list[str]:
    """The months the question names, as 'MM' or 'YYYY-MM' when a year follows."""
    found = []
    for m in roadmaps.MONTH_WORDS.finditer(q.folded):
        year = re.match(r"\s+((?:19|20)\d\d)\b", q.folded[m.end() :])
        found.append(f"{year[1]}-{roadmaps.month_number(m[1])}" if year else roadmaps.month_number(m[1]))
    return found


def _narrow(series: list[Series], keep: Any) -> list[Series]:
    """The series `keep` accepts, or all of them when it accepts none (a rule that fits nothing says nothing)."""
    kept = [s for s in series if keep(s)]
    return kept or series


def _history(reader: Reader, objective: str, series: Series) -> list[dict[str, Any]]:
    ids = [r["id"] for r in series.reports]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return reader.rows(
        f"SELECT * FROM history WHERE objective = ? AND report IN ({marks}) ORDER BY published", (objective, *ids)
    )


def _topic_record(
    q: Question, reader: Reader, candidates: list[Candidate], series: list[Series], named: bool
) -> tuple[dict[str, Any], Series] | None:
    """The objective the question names, with the series that reports on it (the one holding it in two
    reports first: "between the two reviews" speaks of a record both hold)."""
    topic = _topic(q, reader)
    if not topic and not named:
        return None
    found = []
    for c in candidates[:12]:
        if c.kind != "objectives" or (named and c.how != "exact"):
            continue
        held = reader.record_words(c.kind, c.id)
        if not named and not any(min(coverage_of([w], held) for w in r) >= 0.75 for r in topic):
            continue
        for s in series:
            if rows := _history(reader, c.id, s):
                found.append((len(rows) >= 2, c.score, c.id, s))
    if not found:
        return None
    best = max(found, key=lambda f: (f[0], f[1]))
    rivals = [f for f in found if (f[0], f[1]) == (best[0], best[1]) and f[2] != best[2]]
    record = reader.record("objectives", best[2])
    return (record, best[3]) if record and not rivals else None


def _topic(q: Question, reader: Reader) -> list[list[str]]:
    """The words naming what the question is about, one list per reading (as normalised, translated, typed):
    a short name stays as typed ("ROR"), where a correction may have bent it."""
    typed = [w for w in q.plain.split() if len(w) >= 3 and w in reader.name_words()]
    readings = [*_topic_readings(q, reader), typed]
    cleaned = [[w for w in r if w not in _NOT_TOPIC and w not in _FRAME_WORDS and w not in STOPWORDS] for r in readings]
    return [r for r in cleaned if r]


def changes_answer(q: Question, reader: Reader, candidates: list[Candidate], named: bool) -> Answer | None:
    """What changed, for a question that asks it; None when it names a record no series reports on (its
    news is its own answer: "quoi de neuf sur Mon espace santé")."""
    best = candidates[0] if candidates else None
    publication = next((s for s in _all_series(reader) if s.publication), None)
    if named and best and publication and (best.kind, best.id) == ("programmes", publication.publication["id"]):
        return _published(q, reader, publication)
    series = _all_series(reader)
    if named and not _topic_record(q, reader, candidates, series, named=True):
        return None
    if (q.status or q.colour) and all(len(s.reports) < 2 for s in _pick(q, reader, candidates, None)):
        return None  # "went red in the last bilan" with one bilan: the list of what it rates red
    return _changes(q, reader, candidates, named=named)


def _pick(q: Question, reader: Reader, candidates: list[Candidate], report: dict[str, Any] | None) -> list[Series]:
    """The series the question means (several when nothing tells them apart)."""
    series = _all_series(reader)
    if report:
        return [s for s in series if s.home == roadmaps.family(report)]
    text = f"{q.folded} | {q.plain}"
    # The publication holds no status: a question that names no report, or filters statuses, is not about it.
    if not _REPORT.search(text) or q.status or q.colour or _FORWARD.search(text):
        series = [s for s in series if not s.publication] or series
    if asked := roadmaps.scope(q, reader):
        series = [s for s in series if s.home[0] in asked]
    if actor := names_a_series(reader, candidates):
        series = _narrow(series, lambda s: s.home == roadmaps.family(actor))
    for pattern in _CADENCES:
        if pattern.search(text):
            series = _narrow(series, lambda s, p=pattern: bool(p.search(s.text)))
    for word in {m[1] for m in _KIND.finditer(text)}:
        series = _narrow(series, lambda s, w=word: bool(re.search(rf"\b{w}s?\b", s.text)))
    if months := _months(q):
        series = _narrow(series, lambda s: any(d[: len(m)] == m or d[4:7] == f"-{m}" for d in s.dates for m in months))
    if q.when and len(q.when) == 4:
        series = _narrow(series, lambda s: any(d.startswith(q.when or "") for d in s.dates))
    if _ROADMAP.search(text) and not asked:
        series = _narrow(series, lambda s: s.home[0] == roadmaps.NATIONAL and not s.home[1])
    return series


def _changes(
    q: Question,
    reader: Reader,
    candidates: list[Candidate] | None = None,
    report: dict[str, Any] | None = None,
    named: bool = False,
) -> Answer:
    """What changed between the last two reports of the series the question means; a record's own history
    when it names one; with several series and nothing to choose between them, ask which."""
    candidates = candidates or []
    series = _pick(q, reader, candidates, report)
    if not report and (topic := _topic_record(q, reader, candidates, series, named)):
        return _record_history(q, reader, *topic)
    if len(series) > 1:
        return _which_series(q, series)
    if series and series[0].publication:
        return _published(q, reader, series[0])
    return _compare(q, reader, series[0].reports if series else [])


def _compare(q: Question, reader: Reader, reports: list[dict[str, Any]]) -> Answer:
    """The objectives whose status or progress moved between two reports of one series (newest first),
    filtered by the status they moved to ("passés en retard") or by progress ("moved forward")."""
    lang = q.lang
    if q.since:
        newer = [r for r in reports if (r.get("published") or "") >= q.since]
        older = [r for r in reports if (r.get("published") or "") < q.since]
        if older and newer:
            pair = (older[0], newer[0])
        else:
            pair = (newer[-1], newer[0]) if len(newer) >= 2 else None
    else:
        pair = (reports[1], reports[0]) if len(reports) >= 2 else None
    lines: list[str] = []
    sources: list[dict[str, str]] = []
    results: list[dict[str, str]] = []
    title = ""
    if pair:
        old, new = pair
        results.append(_result("reports", new))  # what the answer is about first, then what moved
        title = say("changes_title", lang, old=_dated(old), new=_dated(new))
        # The status asked and "moved forward" filter in SQL (a large series moves thousands of rows): the
        # first lines and a count; a colour, read in the region's own status words, in Python.
        where, params = _filters(q)
        if q.colour and q.colour != "none":
            changed = [r for r in _moved(reader, old["id"], new["id"], where, params) if _coloured(q, r)]
            total = len(changed)
        else:
            changed = _moved(reader, old["id"], new["id"], where, params, limit=MAX_LIST)
            total = _moved_count(reader, old["id"], new["id"], where, params)
        for row in changed[:MAX_LIST]:
            objective = reader.record("objectives", row["objective"])
            name = f"{row['objective']}" + (f" — {clip(objective['title'], 80)}" if objective else "")
            was = _state({k[4:]: row[k] for k in ("was_status", "was_status_text", "was_progress")}, lang)
            was = was if row["was_objective"] else "—"
            comment = f" ({row['comment']})" if row.get("comment") else ""
            lines.append(say("change_line", lang, name=name, was=was, now=_state(row, lang)) + comment)
            if objective:
                results.append(_result("objectives", objective))
        if total > MAX_LIST:
            lines.append(say("list_more", lang, more=total - MAX_LIST))
        if not changed:
            lines.append(say("changes_none", lang))
        sources += [
            _source(old.get("title") or old["id"], old["url"]),
            _source(new.get("title") or new["id"], new["url"]),
        ]
    elif not q.since:
        if reports:
            r = reports[0]
            lines.append(say("changes_one_report", lang, report=r.get("title") or r["id"], date=r.get("published")))
            sources.append(_source(r.get("title") or r["id"], r["url"]))
        else:
            lines.append(say("changes_no_report", lang))
    if q.since:
        title = title or say("changes_since_title", lang, date=q.since)
        decisions = reader.records("decisions", "date >= ? ORDER BY date DESC", (q.since,), limit=MAX_LIST)
        if decisions:
            lines.append(say("changes_new_decisions", lang, date=q.since))
            lines += [_decision_line(d, lang) + (f" ({d['date']})" if d.get("date") else "") for d in decisions]
            sources += [s for d in decisions for s in _sources("decisions", d)]
            results += [_result("decisions", d) for d in decisions]
        if not pair and not decisions:
            lines.append(say("changes_nothing_since", lang, date=q.since))
    return Answer(
        intent="changes",
        lang=lang,
        title=title,
        text="\n".join(lines),
        sources=_dedupe(sources)[:6],
        confidence=0.9 if (pair or results) else 0.6,
        results=results,
    )


_MOVED = (
    "FROM history n LEFT JOIN history o ON o.report = ? AND o.objective = n.objective "
    "WHERE n.report = ? AND (o.objective IS NULL OR o.status IS NOT n.status OR o.progress IS NOT n.progress)"
)


def _moved(
    reader: Reader, old: str, new: str, where: str = "", params: tuple[Any, ...] = (), limit: int = -1
) -> list[dict[str, Any]]:
    """The rows of `new` whose objective is new or whose status or progress differs from `old`'s (and that
    pass `where`)."""
    return reader.rows(
        "SELECT n.objective, n.status, n.status_text, n.progress, n.comment, o.objective AS was_objective, "
        f"o.status AS was_status, o.status_text AS was_status_text, o.progress AS was_progress {_MOVED}{where} "
        "ORDER BY n.objective LIMIT ?",
        (old, new, *params, limit),
    )


def _moved_count(reader: Reader, old: str, new: str, where: str = "", params: tuple[Any, ...] = ()) -> int:
    return int(reader.rows(f"SELECT count(*) AS n {_MOVED}{where}", (old, new, *params))[0]["n"])


def _filters(q: Question) -> tuple[str, tuple[Any, ...]]:
    """The question's filter on changes: moved to the status asked ("passés en retard"), or forward."""
    where, params = "", ()
    if q.status:
        where, params = " AND n.status = ? AND o.status IS NOT ?", (q.status, q.status)
    if _FORWARD.search(f"{q.folded} | {q.plain}"):
        where += " AND n.progress IS NOT NULL AND (o.progress IS NULL OR n.progress > o.progress)"
    return where, params


def _coloured(q: Question, row: dict[str, Any]) -> bool:
    """A change to the colour asked (a region's traffic-light status words)."""
    return fold(row.get("status_text") or "") in _COLOUR_WORDS.get(q.colour or "", ())


# The colour words a source's status may be (a region's traffic lights).
_COLOUR_WORDS = {"red": ("rouge", "red"), "orange": ("orange", "amber", "ambre"), "green": ("vert", "green")}


def _record_history(q: Question, reader: Reader, record: dict[str, Any], series: Series) -> Answer:
    """One objective's status in each report of its series, oldest first."""
    lang = q.lang
    rows = _history(reader, record["id"], series)
    titles = {r["id"]: r for r in series.reports}
    lines = []
    for row in rows:
        report = titles[row["report"]]
        comment = f" — {row['comment']}" if row.get("comment") else ""
        lines.append(f"• {_dated(report)} : {_state(row, lang)}{comment}")
    newest = titles[rows[-1]["report"]]
    return Answer(
        intent="changes",
        lang=lang,
        title=say(
            "history_title", lang, name=f"{record.get('local_id') or record['id']} — {clip(record['title'], 80)}"
        ),
        text="\n".join(lines),
        sources=_dedupe([_source(titles[r["report"]].get("title") or r["report"], r["url"]) for r in rows])[:6],
        confidence=0.9,
        results=[_result("objectives", record), _result("reports", newest)],
    )


def _published(q: Question, reader: Reader, series: Series) -> Answer:
    """A publication whose statuses no source holds: say so, what is known of it and when, and where it is."""
    lang = q.lang
    record = series.publication or {}
    mentions = [d for d in series.mentions if not q.since or (d.get("date") or "") >= q.since]
    lines = [say("changes_unpublished", lang, name=record.get("name") or record["id"])]
    lines += [_decision_line(d, lang) + (f" ({d['date']})" if d.get("date") else "") for d in mentions]
    if q.since and not mentions:
        lines.append(say("changes_nothing_since", lang, date=q.since))
    return Answer(
        intent="changes",
        lang=lang,
        title=say("changes_publication_title", lang, name=record.get("name") or record["id"]),
        text="\n".join(lines),
        details=record.get("summary") or "",
        sources=_dedupe(_sources("programmes", record) + [s for d in mentions for s in _sources("decisions", d)])[:6],
        confidence=0.9,
        results=[_result("programmes", record), *(_result("decisions", d) for d in mentions)],
    )


def _which_series(q: Question, series: list[Series]) -> Answer:
    """Several series and a question that names none: one choice per series (its newest report)."""
    choices = []
    results = []
    for s in series[:5]:
        if s.publication:
            kind, record, label = "programmes", s.publication, s.publication.get("name") or s.publication["id"]
        else:
            kind, record, label = "reports", s.reports[0], s.reports[0].get("title") or s.reports[0]["id"]
        choices.append(
            {"label": say("changes_choice", q.lang, report=label), "query": f"changes {kind}:{record['id']} [{q.lang}]"}
        )
        results.append(_result(kind, record))
    return Answer(
        intent="changes",
        lang=q.lang,
        title="",
        text=say("changes_which", q.lang),
        choices=choices,
        confidence=0.5,
        results=results,
    )


def _dated(report: dict[str, Any]) -> str:
    title = report.get("title") or report["id"]
    return f"{title}, {report['published']}" if report.get("published") else title


def _state(row: dict[str, Any], lang: str) -> str:
    word = shown_status(row, lang) or "?"
    return word + (f" {row['progress']:g} %" if row.get("progress") is not None else "")
