"""Shared by the reliability tests: an N× knowledge source generator with version markers, KB inspection.

Every generated source carries a *tag* (``MK<n>``) in the titles of a few marker records that one answer
reads together (an objective, its owner, its axis, its latest report; a programme and its owner; a council
and its decisions). An answer about a marker names exactly one tag when it was built from one version;
two different tags in one answer would be a mixed answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from knowledge import Answer

__all__ = [
    "MARKER_QUESTIONS",
    "TAG",
    "write_sources",
    "tags_in",
    "tree_digest",
    "check_version_file",
]

# Child-process code that kills itself (SIGKILL) at the `nth` audit event named `event` whose first argument
# matches `pattern` (a file opened, renamed...): crash tests kill on file operations, not on function names.
# It expects `os`, `re`, `signal`, `sys` imported and `event`, `pattern`, `nth` set; an empty `event` never kills.
KILL_HOOK = """\
if event:
    seen = [0]
    wanted = re.compile(pattern)
    def hook(name, args):
        if name == event and args and wanted.search(str(args[0])):
            seen[0] += 1
            if seen[0] == int(nth):
                os.kill(os.getpid(), signal.SIGKILL)
    sys.addaudithook(hook)
"""
TAG = re.compile(r"\bMK\d+\b")
URL = "https://example.org/generated"
# Questions whose answers read several marker records at once (each must name the tag).
MARKER_QUESTIONS = (
    "où en est l'objectif 999 ?",
    "what is the status of objective 999?",
    "qui pilote le programme témoin ?",
    "décisions du comité témoin",
    "c'est quoi la cellule témoin ?",
)
_WORDS = (
    "dossier patient messagerie sécurisée identité numérique télésanté imagerie interopérabilité cybersécurité "
    "hébergement données santé pharmacie laboratoire urgences gouvernance annuaire prescription sauvegarde "
    "continuité formation accompagnement référentiel échange partage plateforme territoire établissement "
    "médico-social ville hôpital usagers professionnels financement déploiement"
).split()
_STATUSES = ("en cours", "réalisé", "en retard", "à lancer", "abandonné")


def _phrase(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _block(i: int) -> dict[str, list[dict[str, Any]]]:
    """About 22 records and a document section, deterministic for block `i` (the unit of "N×")."""
    rng = random.Random(i)
    actors = [
        {
            "id": f"ACT{i}-{k}",
            "name": f"Direction {_phrase(rng, 2)} {i}-{k}",
            "kind": "direction",
            "role": _phrase(rng, 14).capitalize() + ".",
            "people": [{"name": f"Personne {i}-{k}", "title": "directrice", "since": "2023-01-01"}],
        }
        for k in range(1, 5)
    ]
    axes = [{"id": f"{i}.A{k}", "title": f"Axe {_phrase(rng, 3)} {i}-{k}"} for k in (1, 2)]
    objectives = [
        {
            "id": f"{i}.{k}",
            "axis": f"{i}.A{1 + k % 2}",
            "title": f"{_phrase(rng, 5).capitalize()} ({i}.{k})",
            "description": _phrase(rng, 25).capitalize() + ".",
            "owners": [f"ACT{i}-{1 + k % 4}"],
            "status": rng.choice(_STATUSES),
            "progress": rng.randrange(0, 101),
            "due": f"{2024 + k % 4}-{1 + k % 12:02d}-15",
        }
        for k in range(1, 8)
    ]
    programmes = [
        {"id": f"PRG{i}-{k}", "name": f"Programme {_phrase(rng, 2)} {i}-{k}", "owners": [f"ACT{i}-{k}"]}
        | {"summary": _phrase(rng, 20).capitalize() + ".", "budget": f"{k * 3} M€"}
        for k in (1, 2)
    ]
    councils = [
        {"id": f"CNL{i}-{k}", "name": f"Comité {i}-{k}", "date": f"2024-{1 + k:02d}-1{k}", "place": "en ligne"}
        for k in (1, 2)
    ]
    decisions = [
        {
            "id": f"DEC{i}-{k}",
            "council": f"CNL{i}-{1 + k % 2}",
            "date": f"2024-{2 + k % 2:02d}-1{1 + k % 2}",
            "title": f"Décision {_phrase(rng, 4)} {i}-{k}",
            "summary": _phrase(rng, 18).capitalize() + ".",
            "owners": [f"ACT{i}-{k}"],
            "objectives": [f"{i}.{k}"],
        }
        for k in (1, 2, 3)
    ]
    reports = [
        {
            "id": f"REP{i}-{half}",
            "published": f"2024-{6 * half:02d}-30",
            "title": f"Bilan {i}-{half}",
            "url": f"{URL}/bilan/{i}-{half}",
            "statuses": [
                {"objective": o["id"], "status": rng.choice(_STATUSES[:3]), "progress": rng.randrange(0, 101)}
                for o in objectives
            ],
        }
        for half in (1, 2)
    ]
    return {
        "actors": actors,
        "axes": axes,
        "objectives": objectives,
        "programmes": programmes,
        "councils": councils,
        "decisions": decisions,
        "reports": reports,
    }


def _markers(tag: str) -> dict[str, list[dict[str, Any]]]:
    """The records whose titles carry the version tag; their ids and aliases never change."""
    return {
        "actors": [{"id": "TEMOIN", "name": f"Cellule témoin {tag}", "aliases": ["cellule témoin"]}],
        "axes": [{"id": "9", "title": f"Axe témoin {tag}"}],
        "objectives": [
            {"id": "999", "axis": "9", "title": f"Objectif témoin {tag}", "owners": ["TEMOIN"], "status": "en cours"}
        ],
        "programmes": [
            {
                "id": "PTEMOIN",
                "name": f"Programme témoin {tag}",
                "owners": ["TEMOIN"],
                "aliases": ["programme témoin"],
                "summary": f"Le programme témoin de la version {tag}.",
            }
        ],
        "councils": [{"id": "CTEMOIN", "name": f"Comité témoin {tag}", "aliases": ["comité témoin"]}],
        "decisions": [
            {"id": f"DTEMOIN-{k}", "council": "CTEMOIN", "title": f"Décision témoin {k} {tag}", "owners": ["TEMOIN"]}
            for k in (1, 2)
        ],
        "reports": [
            {
                "id": "RTEMOIN",
                "published": "2025-01-31",
                "title": f"Bilan témoin {tag}",
                "url": f"{URL}/bilan-temoin",
                "statuses": [{"objective": "999", "status": "en cours", "progress": 50, "comment": f"note {tag}"}],
            }
        ],
    }


def finish_or_kill(child: subprocess.Popen[str], delay: float | None) -> str:
    """Let a started child run to its end, or SIGKILL it after `delay` seconds; its output. Either end is fine,
    anything else (a traceback) fails the test."""
    if delay is not None:
        try:
            child.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
    out, _ = child.communicate(timeout=60)
    assert child.returncode in (0, -signal.SIGKILL), (child.returncode, out)
    return out


def write_sources(folder: Path, scale: int, tag: str) -> Path:
    """Write an N× knowledge source (JSON records, a Markdown document) tagged `tag` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"source": {"title": "Source générée", "url": URL}}
    for part in [_markers(tag)] + [_block(i) for i in range(1, scale + 1)]:
        for kind, records in part.items():
            document.setdefault(kind, []).extend(records)
    rng = random.Random(scale)
    sections = [f"## Compte rendu {i}\n\n{_phrase(rng, 60).capitalize()}.\n" for i in range(1, scale + 1)]
    (folder / "comptes-rendus.md").write_text("# Comptes rendus\n\n" + "\n".join(sections), encoding="utf-8")
    document["documents"] = [
        {"path": "comptes-rendus.md", "url": f"{URL}/comptes-rendus", "title": "Comptes rendus", "format": "markdown"}
    ]
    (folder / "roadmap.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return folder


def tags_in(answer: Answer | dict[str, Any]) -> set[str]:
    """The version tags an answer names anywhere (title, text, fields, sources, choices, results)."""
    data = answer.to_dict() if isinstance(answer, Answer) else answer
    return set(TAG.findall(json.dumps(data, ensure_ascii=False)))


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` (relative path -> digest): "byte-for-byte the same" is equality."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def check_version_file(path: Path) -> dict[str, int]:
    """Integrity check and per-table counts equal to the version's own meta counts; returns the counts."""
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", path
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        counts = json.loads(meta["counts"])
        for kind, expected in counts.items():
            table = "entities WHERE kind = 'passages'" if kind == "passages" else kind
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == expected, (path, kind)
        total = conn.execute("SELECT count(*) FROM entities").fetchone()[0]
        assert total == sum(counts.values()), path
        indexed = conn.execute("SELECT count(*) FROM entities_fts WHERE entities_fts MATCH '\"temoin\"'").fetchone()
        assert indexed[0] > 0, path
        return counts
    finally:
        conn.close()
