"""What changed between status reports."""

from __future__ import annotations

import re
from typing import Any

from .. import roadmaps
from ..model import Answer
from ..phrases import say, shown_status
from ..store import Reader
from ..text import clip
from ..understand import Candidate, Question
from .common import MAX_LIST, _dedupe, _result, _source, _sources
from .councils import _decision_line


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


def _changes(
    q: Question, reader: Reader, candidates: list[Candidate] | None = None, report: dict[str, Any] | None = None
) -> Answer:
    """What changed between the last two reports of one series (the clicked `report`'s, the named
    organisation's or roadmap's); with several series and nothing to choose between them, ask which."""
    lang = q.lang
    asked = roadmaps.scope(q, reader)
    reports = [r for r in _all_reports(reader) if not asked or r["roadmap"] in asked]
    dated = [r for r in reports if q.when and (r.get("published") or "").startswith(q.when)]
    series = report or names_a_series(reader, candidates or []) or (dated[0] if dated else None)
    if series:
        reports = [r for r in reports if roadmaps.family(r) == roadmaps.family(series)]
    newest = list(dict.fromkeys(roadmaps.family(r) for r in reports))
    if len(newest) > 1:
        return _which_series(q, reader, [next(r for r in reports if roadmaps.family(r) == f) for f in newest])
    reports = [r for r in reports if roadmaps.family(r) == newest[0]] if newest else reports
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
        title = say("changes_title", lang, old=old.get("title") or old["id"], new=new.get("title") or new["id"])
        moved = (
            "FROM history n LEFT JOIN history o ON o.report = ? AND o.objective = n.objective "
            "WHERE n.report = ? AND (o.objective IS NULL OR o.status IS NOT n.status OR o.progress IS NOT n.progress)"
        )
        total = reader.rows(f"SELECT count(*) AS n {moved}", (old["id"], new["id"]))[0]["n"]
        changed = reader.rows(
            "SELECT n.objective, n.status, n.status_text, n.progress, o.objective AS was_objective, "
            f"o.status AS was_status, o.status_text AS was_status_text, o.progress AS was_progress {moved} "
            f"ORDER BY n.objective LIMIT {MAX_LIST}",
            (old["id"], new["id"]),
        )
        for row in changed:
            objective = reader.record("objectives", row["objective"])
            name = f"{row['objective']}" + (f" — {clip(objective['title'], 80)}" if objective else "")
            was = _state(
                {"status": row["was_status"], "status_text": row["was_status_text"], "progress": row["was_progress"]},
                lang,
            )
            was = was if row["was_objective"] else "—"
            lines.append(say("change_line", lang, name=name, was=was, now=_state(row, lang)))
            if objective:
                results.append(_result("objectives", objective))
        if total > len(changed):
            lines.append(say("list_more", lang, more=total - len(changed)))
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


def _which_series(q: Question, reader: Reader, newest: list[dict[str, Any]]) -> Answer:
    """Several series of reports and a question that names none: one choice per series, its newest report."""
    choices = [
        {
            "label": say("changes_choice", q.lang, report=r.get("title") or r["id"]),
            "query": f"changes reports:{r['id']} [{q.lang}]",
        }  # fmt: skip
        for r in newest[:5]
    ]
    return Answer(
        intent="changes",
        lang=q.lang,
        title="",
        text=say("changes_which", q.lang),
        choices=choices,
        confidence=0.5,
        results=[_result("reports", r) for r in newest[:5]],
    )


def _state(row: dict[str, Any], lang: str) -> str:
    word = shown_status(row, lang) or "?"
    return word + (f" {row['progress']:g} %" if row.get("progress") is not None else "")
