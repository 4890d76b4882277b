"""The Reader's named queries that answers use, over the fictional test roadmap (tests/data/source/)."""

from __future__ import annotations

from knowledge.store import Reader


def test_a_councils_decisions_by_id(reader: Reader) -> None:
    assert [d["id"] for d in reader.council_decisions("COPIL-2", 10)] == ["D-2", "D-3"]
    assert [d["id"] for d in reader.council_decisions("COPIL-2", 1)] == ["D-2"]
    assert reader.council_decisions("COPIL-9", 10) == []


def test_decisions_about_an_owner_or_a_named_objective(reader: Reader) -> None:
    assert [d["id"] for d in reader.decisions_about("CYBER")] == ["D-2"]
    assert [d["id"] for d in reader.decisions_about("12")] == ["D-3"]
    assert reader.decisions_about("PHARMA") == []


def test_decisions_since_a_date_newest_first(reader: Reader) -> None:
    assert [d["id"] for d in reader.decisions_since("2024-06", 10)] == ["D-2", "D-3"]
    assert [d["id"] for d in reader.decisions_since("2024", 10)] == ["D-2", "D-3", "D-1"]
    assert reader.decisions_since("2024", 10, "council = ?", ("COPIL-1",))[0]["id"] == "D-1"


def test_objectives_on_an_axis_and_the_latest_report(reader: Reader) -> None:
    assert reader.axis_objective_count("1") == 4
    assert reader.axis_objective_count("9") == 0
    latest = reader.latest_report()
    assert latest is not None and latest["id"] == "R-2024-12"


def test_a_record_read_twice_is_the_same_and_a_callers_change_does_not_leak(reader: Reader) -> None:
    first = reader.record("actors", "GHT")
    assert first is not None
    first["name"] = "changed by a caller"
    again = reader.record("actors", "GHT")
    assert again is not None and again["name"] != "changed by a caller" and again["id"] == "GHT"
