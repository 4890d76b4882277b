"""What `govbot serve --workers N` shares between its processes, one piece at a time: each test opens two
handles on the same files, as two processes do (tests/reliability/test_multiprocess.py runs the processes)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from bot import answerqueue
from bot.answercache import AnswerCache, size_from_env
from bot.answerqueue import SEEN_TTL, AnswerQueue, Intake, Offer
from bot.metrics import Metrics
from bot.questionlog import QuestionLog
from bot.ratelimit import SharedRateLimiter
from knowledge import KnowledgeBase


def test_two_limiters_on_one_file_share_each_bucket(tmp_path: Path) -> None:
    now = [1000.0]
    first = SharedRateLimiter(tmp_path / "limits.sqlite", 3, clock=lambda: now[0])
    second = SharedRateLimiter(tmp_path / "limits.sqlite", 3, clock=lambda: now[0])
    assert [first.allow("u"), second.allow("u"), first.allow("u"), second.allow("u")] == [True, True, True, False]
    assert second.allow("other")  # another key has its own quota
    now[0] += 20  # 3 a minute: one token back after 20 s, for both
    assert first.allow("u") and not second.allow("u")
    first.refund("u")
    assert second.allow("u")


def test_limiters_of_another_name_do_not_share_a_bucket(tmp_path: Path) -> None:
    questions = SharedRateLimiter(tmp_path / "limits.sqlite", 1, name="questions")
    admin = SharedRateLimiter(tmp_path / "limits.sqlite", 1, name="admin")
    assert questions.allow("u") and admin.allow("u") and not questions.allow("u")


def test_a_bucket_left_alone_for_a_minute_is_full_and_swept(tmp_path: Path) -> None:
    now = [1000.0]
    limiter = SharedRateLimiter(tmp_path / "limits.sqlite", 2, clock=lambda: now[0])
    assert limiter.allow("old") and limiter.allow("old") and not limiter.allow("old")
    now[0] += 61
    assert limiter.allow("new")  # the first call past a minute sweeps the full buckets
    rows = [r[0] for r in limiter._conn.execute("SELECT key FROM buckets")]
    assert rows == ["new"]
    assert limiter.allow("old") and limiter.allow("old")


def test_one_delivery_is_first_for_one_handle_only(tmp_path: Path) -> None:
    first, second = QuestionLog(tmp_path / "q.sqlite"), QuestionLog(tmp_path / "q.sqlite")
    assert first.first_time("slack:event:Ev1")
    assert not second.first_time("slack:event:Ev1") and not first.first_time("slack:event:Ev1")
    assert second.first_time("slack:event:Ev2")


def test_an_offer_is_the_duplicate_filter_and_the_queue_in_one_and_respects_the_bound(tmp_path: Path) -> None:
    now = [1000.0]
    first = AnswerQueue(tmp_path / "answers.sqlite", limit=2, clock=lambda: now[0])
    second = AnswerQueue(tmp_path / "answers.sqlite", limit=2, clock=lambda: now[0])
    # One transaction for several deliveries, the same key twice among them included.
    assert first.offer([("ev1", {"n": 1}, None), ("ev1", {"n": 1}, None), (None, {"n": 2}, None)]) == [
        Offer.QUEUED,
        Offer.DUPLICATE,
        Offer.QUEUED,
    ]
    assert second.offer([("ev1", {"n": 1}, None)]) == [Offer.DUPLICATE], "another process's retry of the same delivery"
    assert second.offer([("ev3", {"n": 3}, None)]) == [Offer.FULL]
    assert second.offer([("ev3", {"n": 3}, None)]) == [Offer.DUPLICATE], "a refused delivery is not run on its retry"
    now[0] += SEEN_TTL + 1
    assert first.count() == 2 and second.offer([("ev1", {"n": 1}, None)]) == [Offer.FULL], "an hour on, ev1 is new"


def test_past_the_bound_the_busy_notice_is_queued_for_the_workers_until_notices_are_full_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answerqueue, "NOTICE_LIMIT", 2)
    queue = AnswerQueue(tmp_path / "answers.sqlite", limit=1)
    offers = [(f"ev{n}", {"n": n}, {"n": n, "busy": True}) for n in range(4)]
    assert queue.offer(offers) == [Offer.QUEUED, Offer.BUSY, Offer.BUSY, Offer.FULL]
    assert queue.count() == 1, "notices do not count against the bound"
    assert queue.offer([("ev1", {"n": 1}, {"n": 1, "busy": True})]) == [Offer.DUPLICATE], "a retry gets no second one"
    taken = queue.take(owner=1, room=9)
    assert [job for _, job in taken] == [{"n": 0}, {"n": 1, "busy": True}, {"n": 2, "busy": True}], "in their order"
    queue.take(owner=1, room=9, done=[job_id for job_id, _ in taken])
    assert queue.offer([("ev5", {"n": 5}, None), ("ev6", {"n": 6}, None)]) == [Offer.QUEUED, Offer.FULL]


def test_a_queue_file_from_before_notices_gets_their_column(tmp_path: Path) -> None:
    path = tmp_path / "answers.sqlite"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, "
                    "queued REAL NOT NULL, owner INTEGER, taken REAL)")  # fmt: skip
        old.execute("INSERT INTO jobs (body, queued) VALUES ('{\"n\": 0}', 1.0)")
    old.close()
    queue = AnswerQueue(path, limit=2)
    assert queue.count() == 1
    assert queue.offer([("ev1", {"n": 1}, None), ("ev2", {"n": 2}, {"busy": True})]) == [Offer.QUEUED, Offer.BUSY]
    assert [job for _, job in queue.take(owner=1, room=9)] == [{"n": 0}, {"n": 1}, {"busy": True}]


def test_a_take_gives_back_the_oldest_and_deletes_what_was_done_in_the_same_write(tmp_path: Path) -> None:
    queue = AnswerQueue(tmp_path / "answers.sqlite")
    other = AnswerQueue(tmp_path / "answers.sqlite")
    queue.offer([(f"ev{n}", {"n": n}, None) for n in range(5)])
    taken = queue.take(owner=1, room=3)
    assert [job["n"] for _, job in taken] == [0, 1, 2]
    assert [job["n"] for _, job in other.take(owner=2, room=9)] == [3, 4], "never a job another worker holds"
    assert queue.take(owner=1, room=3, done=[job_id for job_id, _ in taken]) == [] and other.count() == 2
    assert other.release(2) == 2 and [job["n"] for _, job in queue.take(owner=1, room=9)] == [3, 4]


async def test_offers_made_together_are_written_together(tmp_path: Path) -> None:
    queue = AnswerQueue(tmp_path / "answers.sqlite", limit=3)
    intake = Intake(queue)
    outcomes = await asyncio.gather(*(intake.offer(f"ev{n % 4}", {"n": n}) for n in range(6)))
    assert outcomes == [Offer.QUEUED] * 3 + [Offer.FULL, Offer.DUPLICATE, Offer.DUPLICATE]
    assert [job["n"] for _, job in queue.take(owner=1, room=9)] == [0, 1, 2]


def test_the_answer_cache_is_bounded_and_answers_what_the_knowledge_would(kb: KnowledgeBase) -> None:
    cache = AnswerCache(kb, 2)
    asked = ["Qui dirige la DSI ?", "Qui est Paul Durand ?", "C'est quoi la cellule cybersécurité ?"]
    for question in asked:
        assert cache.ask(question) == kb.ask(question)
    assert (cache.hits, cache.misses) == (0, 3)
    assert cache.holds("Qui est Paul  Durand ?")  # the same words, spaced differently
    assert not cache.holds(asked[0])  # the least recently used went
    assert cache.ask(asked[2]) is cache.ask(asked[2])
    assert not cache.holds(asked[2], roadmap="other")  # another roadmap meant: another answer


def test_a_refresh_empties_the_answer_cache(kb: KnowledgeBase, tmp_path: Path) -> None:
    cache = AnswerCache(kb, 10)
    before = cache.ask("C'est quoi MP-CACHE ?")
    source = tmp_path / "extra.yaml"
    source.write_text(
        "actors:\n  - id: MP-CACHE\n    name: Cellule du cache\n    kind: service\n    url: https://example.org/cache\n"
    )
    KnowledgeBase(kb.path).refresh([str(source)])  # another handle, as another process would
    after = cache.ask("C'est quoi MP-CACHE ?")
    assert "Cellule du cache" not in before.title and "Cellule du cache" in after.title
    assert cache.misses == 2


def test_an_answer_is_serialised_once_and_handed_out_as_a_new_dict(kb: KnowledgeBase) -> None:
    cache = AnswerCache(kb, 10)
    answer = cache.ask("Qui dirige la DSI ?")
    body = cache.as_dict(answer)
    body["text"] = "changed by a caller"
    assert cache.as_dict(answer) == answer.to_dict() != body
    assert cache.as_dict(kb.ask("Qui dirige la DSI ?")) == answer.to_dict()  # not held: computed


def test_the_cache_size_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBOT_ANSWER_CACHE", "0")
    assert size_from_env() == 0
    monkeypatch.setenv("GOVBOT_ANSWER_CACHE", "lots")
    with pytest.raises(ValueError, match="GOVBOT_ANSWER_CACHE"):
        size_from_env()


def test_metrics_sum_what_every_process_published(tmp_path: Path) -> None:
    mine, other = Metrics(tmp_path), Metrics(tmp_path)
    other.observe_request("/api/chat", 200)
    figures = other._figures([{"at": 1.0, "ok": True, "duration": 2.0}])
    (tmp_path / "99999999.json").write_text(json.dumps(figures))  # as the other process's publish would
    mine.observe_request("/api/chat", 200)
    text = mine.render([], None, True)
    assert 'govbot_http_requests_total{route="/api/chat",status="200"} 2' in text
    assert 'govbot_refreshes_total{outcome="ok"} 1' in text
    assert "govbot_processes 2" in text
