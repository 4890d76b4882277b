"""Reading sources (YAML, JSON, CSV files, folders and URLs) into checked records, with precise errors."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import stat
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .fetch import FETCH_TIMEOUT, MAX_SOURCE_BYTES, fetch
from .lastgood import LastGood
from .model import COMMON_FIELDS, DATE_FIELDS, LIST_FIELDS, PERSON_FIELDS, RECORD_TYPES, SourceProblem
from .passages import Passage, split_passages
from .roadmaps import NATIONAL, NATIONAL_CARD, qualify, roadmap_card, unknown_roadmap
from .tables import ROADMAP, ROW, TABLES, parse_csv, parse_xlsx, record_type_of
from .text import clip
from .vocabulary import DECISION_BUCKETS, STATUS_BUCKETS, Vocabulary, key_of, parse_date, parse_when

__all__ = ["Bundle", "read_sources", "BUNDLED_DATA", "MAX_SOURCE_BYTES", "FETCH_TIMEOUT"]

BUNDLED_DATA = Path(__file__).parent / "data"
# Values a YAML document may hold once its aliases are expanded: a 1 kB "billion laughs" file stays small.
MAX_YAML_VALUES = 1_000_000
# Size a YAML document may grow to once its aliases are expanded (characters of its values, plus one per
# value), as a multiple of its own length: without aliases it is about 1x; shared defaults (`<<: *base`)
# stay well under 10x, while an alias bomb of long strings would otherwise fill the knowledge file
# (115 kB became 300 MB). The floor lets a small file use a few anchors freely.
YAML_EXPANSION = 10
YAML_EXPANSION_FLOOR = 100_000
# Nesting a record needs is 5 levels or so; deeper documents are refused before any recursive code sees them.
MAX_YAML_DEPTH = 64
# Documents one source may list: bench's 100x source has 300 local ones; past this it is generated or hostile.
MAX_DOCUMENTS = 1_000
# Of those, documents fetched by URL: each may take FETCH_TIMEOUT and MAX_SOURCE_BYTES, so 50 bound one
# source's fetching to about 17 minutes and 1 GB at worst.
MAX_URL_DOCUMENTS = 50
_SOURCE_SUFFIXES = {".yaml", ".yml", ".json", ".csv", ".xlsx"}
_DOC_FORMATS = {"html", "markdown", "text"}


@dataclass
class Bundle:
    """Everything read from a set of sources, ready to store."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in RECORD_TYPES})
    passages: list[dict[str, str]] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    roadmaps: dict[str, dict[str, str]] = field(default_factory=lambda: {NATIONAL: dict(NATIONAL_CARD)})
    fetched: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # remote sources read this time
    stale: list[str] = field(default_factory=list)  # remote sources read from their last good copy


# libyaml's parser when PyYAML was built with it (its wheels are): several times faster on large sources.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
# Standard tags whose values are kept as text, like every other scalar (ids like 007 and 2.10 stay as written).
_TEXT_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "timestamp"))


class _Frame:
    """A mapping or sequence being built from parser events."""

    __slots__ = ("value", "key", "anchor", "size", "weight", "written")

    def __init__(self, value: dict[str, Any] | list[Any], anchor: str | None):
        self.value = value
        self.key: Any = _NO_KEY
        self.anchor = anchor
        self.size = 1
        self.weight = 1  # characters of its values plus one per value, aliases expanded
        self.written: set[str] = set()  # keys written in this mapping (merged ones may be overridden)


_NO_KEY = object()


def _load_yaml(text: str) -> Any:
    """Safe YAML built straight from parser events: no implicit ints, floats, booleans or dates.

    Building from events (not from PyYAML's node graph) keeps a large source's memory close to its result;
    duplicate keys, unknown tags, recursive aliases and alias bombs are refused on the way.
    """
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int, int]] = {}
    open_anchors: set[str] = set()
    total = 0
    expanded = 0
    budget = YAML_EXPANSION * len(text) + YAML_EXPANSION_FLOOR
    root: Any = None
    documents = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise ValueError("more than one YAML document (a second '---')")
            continue
        if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
            continue
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            _check_tag(event.tag, "map" if isinstance(event, yaml.MappingStartEvent) else "seq", event)
            if len(stack) >= MAX_YAML_DEPTH:
                raise ValueError(f"nested more than {MAX_YAML_DEPTH} levels deep (line {event.start_mark.line + 1})")
            stack.append(_Frame({} if isinstance(event, yaml.MappingStartEvent) else [], event.anchor))
            if event.anchor:
                open_anchors.add(event.anchor)
            continue
        anchor = None
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = stack.pop()
            value, size, weight, anchor = frame.value, frame.size, frame.weight, frame.anchor
            added = 1  # its values were counted as they came
            if isinstance(value, dict) and frame.key is not _NO_KEY:
                raise ValueError("a mapping key without a value")
            if anchor:
                open_anchors.discard(anchor)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                raise ValueError("a recursive alias (a value that contains itself)")
            if event.anchor not in anchors:
                raise ValueError(f"unknown alias *{event.anchor} at line {event.start_mark.line + 1}")
            value, size, weight = anchors[event.anchor]
            added = weight  # everything it repeats
        else:  # a scalar
            _check_tag(event.tag, "str", event)
            plain = event.implicit[0] and event.style is None
            value = None if (plain and event.value in _NULLS) or event.tag == "tag:yaml.org,2002:null" else event.value
            size, weight, anchor = 1, 1 + len(event.value), event.anchor
            added = weight
        # A container's values were counted as they came; an alias counts everything it repeats.
        repeated = isinstance(event, yaml.AliasEvent)
        total += size if repeated else 1
        if total > MAX_YAML_VALUES:
            raise ValueError(f"more than {MAX_YAML_VALUES} values once aliases are expanded (an alias bomb?)")
        expanded += added
        if expanded > budget:
            raise ValueError(f"more than {budget:,} characters and values once aliases are expanded (an alias bomb?)")
        if anchor:
            anchors[anchor] = (value, size, weight)
        if not stack:
            root = value
            continue
        parent = stack[-1]
        parent.size += size
        parent.weight += weight
        if isinstance(parent.value, list):
            parent.value.append(value)
        elif parent.key is _NO_KEY:
            if isinstance(value, (dict, list)):
                raise ValueError(f"a mapping or list used as a key at line {event.start_mark.line + 1}")
            if value in parent.written:
                raise ValueError(f"duplicate key {value!r} at line {event.start_mark.line + 1}")
            if value != "<<":
                parent.written.add(value)
            parent.key = value
        elif parent.key == "<<" and isinstance(value, (dict, list)):  # a merge key: `<<: *defaults`
            for merged in value if isinstance(value, list) else [value]:
                if not isinstance(merged, dict):
                    raise ValueError(f"'<<' merges mappings only (line {event.start_mark.line + 1})")
                for key, item in merged.items():
                    if key not in parent.written:
                        parent.value.setdefault(key, item)
            parent.key = _NO_KEY
        else:
            parent.value[parent.key] = value
            parent.key = _NO_KEY
    return root


def _check_tag(tag: str | None, kind: str, event: yaml.Event) -> None:
    """Only YAML's standard tags: a `!!python/...` tag must never build anything."""
    if tag is None or tag in ("!", f"tag:yaml.org,2002:{kind}", "tag:yaml.org,2002:null") or tag in _TEXT_TAGS:
        return
    raise ValueError(f"could not determine a constructor for the tag {tag!r} at line {event.start_mark.line + 1}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON object hook: a key written twice is an error, not "the last one wins"."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            where = f" (in the record with id {found['id']!r})" if isinstance(found.get("id"), str) else ""
            raise ValueError(f"duplicate key {key!r}{where}")
        found[key] = value
    return found


def _is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urllib.parse.urlparse(value.strip())
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def _decode(data: bytes, where: str, bundle: Bundle) -> str:
    """UTF-8 (BOM or not), else Windows-1252; a NUL byte means binary data or UTF-16: ValueError."""
    if (nul := data.find(b"\0")) >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ValueError(f"NUL byte on line {line}: binary data or UTF-16 (save the file as UTF-8 text)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        bundle.warnings.append(f"{where}: not UTF-8, read as Windows-1252/Latin-1")
        return data.decode("cp1252", errors="replace")


def _read_local(path: Path) -> bytes:
    """A regular file's bytes, at most MAX_SOURCE_BYTES (a device or a pipe could never end)."""
    limit = MAX_SOURCE_BYTES
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("not a regular file")
    if info.st_size > limit:
        raise ValueError(f"larger than {limit // (1024 * 1024)} MB")
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit // (1024 * 1024)} MB")
    return data


def _expand(spec: str) -> list[str]:
    """A folder becomes its source files, sorted; anything else stays one source."""
    if _is_url(spec):
        return [spec]
    path = Path(spec).expanduser()
    if path.is_dir():
        return [str(p) for p in sorted(path.iterdir()) if p.suffix.lower() in _SOURCE_SUFFIXES and p.is_file()]
    return [str(path)]


@dataclass
class _Loaded:
    """One source read and parsed, waiting for the words and roadmaps that every source may declare."""

    name: str
    document: dict[str, Any]
    base_url: str | None
    folder: Path | None
    query: dict[str, str]
    group: str = ""  # the spec it came from: a folder's files share the roadmap one of them declares


def read_sources(specs: list[str], last_good: LastGood | None = None) -> Bundle:
    """Read every source; all problems of all sources are collected in `bundle.problems`.

    Sources are parsed first, then checked: a word taught or a roadmap declared in one file applies to
    the records of the others. `last_good` keeps copies of remote sources for when a fetch fails.
    """
    bundle = Bundle()
    loaded: list[_Loaded] = []
    for spec in specs:
        files = _expand(spec)
        if not files:
            bundle.problems.append(SourceProblem(spec, "folder holds no .yaml, .yml, .json, .csv or .xlsx file"))
        for one in files:
            found = _read_one(one, bundle, last_good)
            if found is not None:
                found.group = spec
                loaded.append(found)
    vocabulary = _vocabulary(loaded, bundle)
    group_roadmaps = _declare_roadmaps(loaded, bundle)
    for one in loaded:
        _check_document(one, vocabulary, group_roadmaps.get(one.group), bundle)
    _duplicates(bundle)
    if not bundle.problems:
        qualify(bundle)
    return bundle


def _duplicates(bundle: Bundle) -> None:
    """Ids are unique within a roadmap and a record type; reported here, with every other problem, rather
    than by the store on the next attempt."""
    for kind, records in bundle.records.items():
        first: dict[tuple[str, str], str] = {}
        for record in records:
            row = record.get("row")
            place = f"{record['origin']}, " + (f"row {row}" if row is not None else f"{kind}[{record['position']}]")
            key = (record["roadmap"], record["id"])
            if key not in first:
                first[key] = place
                continue
            bundle.problems.append(
                SourceProblem(
                    record["origin"],
                    f"duplicate id (also in {first[key]})",
                    record["position"],
                    record["id"],
                    "id",
                    kind,
                    row,
                    tabular=row is not None,
                )
            )


def _fetch_source(url: str, bundle: Bundle, last_good: LastGood | None) -> tuple[bytes, str]:
    """Fetch a remote source; when that fails, the copy fetched by the last good refresh (and say so)."""
    try:
        data, content_type = fetch(url, timeout=FETCH_TIMEOUT, limit=MAX_SOURCE_BYTES)
    except ValueError as exc:
        copy = last_good.load(url) if last_good else None
        if copy is None:
            raise
        data, content_type, fetched_at = copy
        bundle.warnings.append(f"{url}: {exc}; using the copy fetched on {fetched_at}")
        bundle.stale.append(url)
        return data, content_type
    bundle.fetched[url] = (data, content_type)
    return data, content_type


def _read_one(spec: str, bundle: Bundle, last_good: LastGood | None = None) -> _Loaded | None:
    name = spec
    local, _, raw_query = spec.partition("?")
    try:
        if _is_url(spec):
            data, content_type = _fetch_source(spec, bundle, last_good)
            base_url, folder = spec, None
        else:
            path = Path(local)
            if not path.exists():
                raise ValueError("no such file or folder")
            data, content_type = _read_local(path), ""
            base_url, folder = None, path.parent
    except ValueError as exc:
        bundle.problems.append(SourceProblem(name, str(exc)))
        return None
    digest = hashlib.sha256(data).hexdigest()
    parsed_url = urllib.parse.urlparse(spec)
    if _is_url(spec):
        file_path = Path(parsed_url.path)
        raw_query = parsed_url.query
    else:
        file_path = Path(local)
    query = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query).items()}
    suffix = file_path.suffix.lower()
    workbook = suffix == ".xlsx" or "spreadsheetml" in content_type
    if not workbook:
        try:
            text = _decode(data, name, bundle)
        except ValueError as exc:
            bundle.problems.append(SourceProblem(name, str(exc)))
            return None
    try:
        if workbook:
            document = parse_xlsx(data, query.get("sheet"), query.get("type"))
        elif suffix == ".csv" or "text/csv" in content_type:
            document = parse_csv(text, query.get("type") or record_type_of(file_path.stem) or file_path.stem)
        elif suffix == ".json" or "json" in content_type:
            document = json.loads(text, parse_int=str, parse_float=str, object_pairs_hook=_unique_keys)
        else:
            document = _load_yaml(text)
    except (ValueError, yaml.YAMLError, csv.Error) as exc:
        first_line = " ".join(str(exc).split())
        bundle.problems.append(SourceProblem(name, f"cannot parse: {first_line}"))
        return None
    except RecursionError:
        bundle.problems.append(SourceProblem(name, "cannot parse: nested too deeply"))
        return None
    if document is None:
        bundle.problems.append(SourceProblem(name, "empty source"))
        return None
    if not isinstance(document, dict):
        bundle.problems.append(SourceProblem(name, "expected a mapping of record types (actors:, objectives:, ...)"))
        return None
    meta = document.get("source") or {}
    bundle.sources.append(
        {
            "url": spec,
            "title": str(meta.get("title") or Path(spec).name) if isinstance(meta, dict) else Path(spec).name,
            "sha256": digest,
            "bytes": str(len(data)),
        }
    )
    return _Loaded(name, document, base_url, folder, query)


def _vocabulary(loaded: list[_Loaded], bundle: Bundle) -> Vocabulary:
    """The built-in words plus every `vocabulary:` the sources declare (they apply to the whole refresh)."""
    vocabulary = Vocabulary.default()
    for one in loaded:
        taught = one.document.get("vocabulary")
        if taught is None:
            continue
        if not isinstance(taught, dict) or not all(isinstance(v, dict) for v in taught.values()):
            bundle.problems.append(
                SourceProblem(one.name, 'expected vocabulary: {statuses: {"word": bucket}}', field="vocabulary")
            )
            continue
        for section, words in taught.items():
            table, buckets = {
                "statuses": (vocabulary.statuses, STATUS_BUCKETS),
                "decisions": (vocabulary.decisions, DECISION_BUCKETS),
            }.get(str(section), (None, ()))
            if table is None:
                bundle.problems.append(
                    SourceProblem(
                        one.name, f"unknown vocabulary {section!r} (use statuses or decisions)", field="vocabulary"
                    )
                )
                continue
            for word, bucket in words.items():
                if bucket not in buckets:
                    bundle.problems.append(
                        SourceProblem(
                            one.name,
                            f"{word!r} must mean one of {', '.join(buckets)}, not {bucket!r}",
                            field=f"vocabulary.{section}",
                        )
                    )
                else:
                    table[key_of(str(word))] = bucket
    return vocabulary


def _declare_roadmaps(loaded: list[_Loaded], bundle: Bundle) -> dict[str, str]:
    """Every `roadmap: {id, title, owner, url}` declared; returns the roadmap each folder's files default to."""
    by_group: dict[str, str] = {}
    for one in loaded:
        declared = one.document.get("roadmap")
        if declared is None or isinstance(declared, str):
            continue
        try:
            card = roadmap_card(declared)
        except ValueError as exc:
            bundle.problems.append(SourceProblem(one.name, str(exc), field="roadmap"))
            continue
        if card["id"] in bundle.roadmaps and bundle.roadmaps[card["id"]] != card:
            bundle.problems.append(
                SourceProblem(one.name, f"roadmap {card['id']!r} is declared twice, differently", field="roadmap")
            )
            continue
        bundle.roadmaps[card["id"]] = card
        if one.group != one.name:  # a folder: its other files belong to the roadmap it declares
            by_group.setdefault(one.group, card["id"])
    return by_group


def _check_document(one: _Loaded, vocabulary: Vocabulary, folder_roadmap: str | None, bundle: Bundle) -> None:
    name, document = one.name, one.document
    meta = document.get("source") or {}
    if not isinstance(meta, dict):
        bundle.problems.append(
            SourceProblem(name, "'source' must be a mapping {title, url, published}", field="source")
        )
        meta = {}
    declared = document.get("roadmap")
    roadmap = one.query.get("roadmap") or (
        declared if isinstance(declared, str) else (declared or {}).get("id") if isinstance(declared, dict) else None
    )
    roadmap = str(roadmap or folder_roadmap or NATIONAL)
    if roadmap not in bundle.roadmaps:
        bundle.problems.append(SourceProblem(name, unknown_roadmap(roadmap), field="roadmap"))
        return
    # A declared roadmap's page is its records' source when nothing closer is given (never the national one:
    # the bundled records each name their own source).
    roadmap_url = bundle.roadmaps[roadmap].get("url") if roadmap != NATIONAL else None
    default_url = meta.get("url") or one.base_url or roadmap_url or None
    if default_url is not None and not _http_url(default_url):
        bundle.problems.append(SourceProblem(name, f"not an http(s) URL: {default_url!r}", field="source.url"))
        default_url = None
    tables = document.get(TABLES) or {}
    for sheet in document.get("__unknown_sheets__", []):
        bundle.warnings.append(f"{name}: sheet {sheet!r} ignored (its name is no record type)")
    known = [k for k in document if k not in _NOT_RECORDS]
    if not known:
        bundle.problems.append(SourceProblem(name, "holds no records (expected actors:, objectives:, ...)"))
    for record_type in known:
        if record_type not in RECORD_TYPES:
            expected = ", ".join(RECORD_TYPES)
            shown = clip(str(record_type), 60)  # an HTML page parses as YAML with a whole line as its key
            hint = _TABLE_HINT if record_type in tables else ""
            bundle.problems.append(SourceProblem(name, f"unknown record type {shown!r} (expected {expected}){hint}"))
            continue
        items = document[record_type]
        if items is None:
            continue
        if not isinstance(items, list):
            bundle.problems.append(SourceProblem(name, f"'{record_type}' must be a list of records"))
            continue
        if record_type == "documents" and (too_many := _too_many_documents(items)):
            bundle.problems.append(SourceProblem(name, too_many, field="documents"))
            continue
        table = tables.get(record_type) or {}
        where = _Where(
            name + (f", sheet {table['sheet']!r}" if table.get("sheet") else ""), table.get("columns") or {}, roadmap
        )
        for index, raw in enumerate(items):
            _check_record(record_type, index, raw, where, default_url, one.folder, meta, vocabulary, bundle)


def _too_many_documents(items: list[Any]) -> str:
    """Why a source's list of documents is too long to read ('' when it is not)."""
    fetched = sum(1 for d in items if not (isinstance(d, dict) and d.get("path")))
    if len(items) > MAX_DOCUMENTS:
        return f"{len(items):,} documents; at most {MAX_DOCUMENTS:,} per source (split it into several sources)"
    if fetched > MAX_URL_DOCUMENTS:
        return (
            f"{fetched:,} documents to fetch by URL; at most {MAX_URL_DOCUMENTS} per source "
            "(split it into several sources, or give the documents a local path)"
        )
    return ""


_TABLE_HINT = (
    ": name the file like objectifs.csv, acteurs.csv, décisions.csv, conseils.csv, bilans.csv, axes.csv "
    "(or objectives, actors...), or add ?type=objectives"
)
# Top-level keys that are not record lists.
_NOT_RECORDS = frozenset({"source", "roadmap", "vocabulary", TABLES, "__unknown_sheets__"})


@dataclass(frozen=True)
class _Where:
    """Where a table's records come from: the file (and sheet), the header of each field, their roadmap."""

    name: str
    columns: dict[str, str]
    roadmap: str


def _scalar(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise ValueError("expected text, got a " + ("list" if isinstance(value, list) else "mapping"))
    return "" if value is None else str(value).strip()


class _BadRows(ValueError):
    """Several lines of one list field are wrong (a progress report's statuses): each is reported."""

    def __init__(self, lines: list[tuple[str, str, int | None]]):
        super().__init__(lines[0][1])
        self.lines = lines  # (field, message, row)


def _check_record(
    record_type: str,
    index: int,
    raw: Any,
    where: _Where,
    default_url: str | None,
    folder: Path | None,
    meta: dict[str, Any],
    vocabulary: Vocabulary,
    bundle: Bundle,
) -> None:
    name = where.name
    rid = raw.get("id") if isinstance(raw, dict) else None
    rid = rid if isinstance(rid, str) else None
    row = raw.pop(ROW, None) if isinstance(raw, dict) else None
    roadmap = (raw.pop(ROADMAP, None) if isinstance(raw, dict) else None) or where.roadmap

    def problem(message: str, fld: str | None = None, at_row: int | None = None) -> None:
        shown = where.columns.get(fld, fld) if fld else None
        bundle.problems.append(
            SourceProblem(name, message, index, rid, shown, record_type, at_row or row, tabular=bool(where.columns))
        )

    if not isinstance(raw, dict):
        problem("expected a mapping of fields")
        return
    record: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    ok = True
    for key, value in raw.items():
        key = str(key)
        if key not in RECORD_TYPES[record_type] and key not in COMMON_FIELDS:
            if value in (None, "") and key[:1].isdigit():  # `amount: 1,8 M€` in a {…} line reads as 1 and "8 M€"
                problem(f"'{key}' has no value: a comma split the value before it (write it in quotes: \"1,8 M€\")")
                ok = False
                continue
            extra[key] = value if isinstance(value, (str, list)) else _safe_str(value)
            continue
        try:
            record[key] = _check_field(record_type, key, value, vocabulary)
        except _BadRows as exc:
            for fld, message, at_row in exc.lines:
                problem(message, fld, at_row)
            ok = False
        except ValueError as exc:
            problem(str(exc), key)
            ok = False
        else:
            if key == "status" and record[key]:
                record["status_text"] = _scalar(value)
            if key == "due" and (when := parse_when(_scalar(value))):
                record["due_start"], record["due_end"] = when.start, when.end
    if record_type != "documents" and not record.get("id"):
        problem("missing id", "id")
        ok = False
    title_field = {"actors": "name", "programmes": "name", "councils": "name", "documents": "title"}.get(
        record_type, "title"
    )
    if record_type in ("actors", "programmes", "councils") and not record.get("name"):
        problem("missing name", "name")
        ok = False
    elif record_type not in ("actors", "programmes", "councils", "documents", "reports") and not record.get(
        title_field
    ):
        problem(f"missing {title_field}", title_field)
        ok = False
    url = record.get("url") or default_url
    if record.get("url") and not _http_url(record["url"]):
        problem(f"not an http(s) URL: {record['url']!r}", "url")
        ok = False
    elif not url:
        problem("no source URL (give the record a url, or the file a source: {url: ...})", "url")
        ok = False
    for extra_source in record.get("sources", []):
        if not isinstance(extra_source, dict) or not _http_url(extra_source.get("url")):
            problem("each entry of 'sources' needs an http(s) url", "sources")
            ok = False
    if roadmap not in bundle.roadmaps:
        problem(unknown_roadmap(roadmap), "roadmap")
        ok = False
    if not ok:
        return
    record["url"] = url
    record["source_title"] = str(meta.get("title") or "")
    record["origin"] = name
    record["position"] = index
    record["row"] = row
    record["extra"] = extra
    record["roadmap"] = roadmap
    if record_type == "documents":
        _read_document(record, index, name, folder, bundle)
        return
    bundle.records[record_type].append(record)


def _safe_str(value: Any) -> str:
    return "" if value is None else str(value)


def _check_field(record_type: str, key: str, value: Any, vocabulary: Vocabulary) -> Any:
    if key == "people":
        return [_person(p) for p in _as_list(value)]
    if key == "statuses":
        return _status_rows(_as_list(value), vocabulary)
    if key == "sources":
        return [s if isinstance(s, dict) else {"url": _scalar(s)} for s in _as_list(value)]
    if key in LIST_FIELDS:
        return [_scalar(v) for v in _as_list(value) if _scalar(v)]
    text = _scalar(value)
    if key == "status":
        return vocabulary.decision(text) if record_type == "decisions" else vocabulary.status(text)
    if key == "progress":
        return _progress(text)
    if key == "number":
        if text and not text.isdigit():
            raise ValueError(f"expected a whole number, got {text!r}")
        return int(text) if text else None
    if key in DATE_FIELDS:
        when = parse_when(text)
        return when.value if when else None
    if key == "format" and text and text not in _DOC_FORMATS:
        raise ValueError(f"unknown format {text!r} (use html, markdown or text)")
    return text


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    raise ValueError("expected a list")


_FRACTION = re.compile(r"^[01](?:[.,]\d+)?$")


def _progress(text: str) -> float | None:
    """'60', '60%', '60 %' -> 60; a fraction written with a decimal mark, '0,6' or '0.6', -> 60."""
    if not text:
        return None
    cleaned = text.replace("\u202f", " ").replace("\xa0", " ").strip()
    percent = cleaned.endswith("%")
    cleaned = cleaned.rstrip("%").strip()
    try:
        number = float(cleaned.replace(",", "."))
    except ValueError:
        raise ValueError(f"expected a number from 0 to 100, got {text!r}") from None
    if not percent and _FRACTION.match(cleaned) and ("," in cleaned or "." in cleaned):
        number *= 100
    if not 0 <= number <= 100:
        raise ValueError(f"expected a number from 0 to 100, got {text!r}")
    return round(number, 6)


_PERSON = re.compile(r"^(?P<name>[^()]+?)\s*\((?P<title>[^()]*)\)$")


# How a source says a tenure date is not known: `until: inconnue` (left, end not dated), `dates: inconnues`.
_UNKNOWN_DATES = frozenset({"inconnue", "inconnues", "inconnu", "inconnus", "unknown"})


def _person(value: Any) -> dict[str, str]:
    """A person with a tenure: `since`, `until` (a date or "inconnue"), or `dates: inconnues` when undated."""
    if isinstance(value, str):
        # "Claire Morvan (directrice générale)": the way a table lists people in one cell.
        m = _PERSON.match(value.strip())
        name, title = (m["name"].strip(), m["title"].strip()) if m else (value.strip(), "")
        return {key: {"name": name, "title": title}.get(key, "") for key in PERSON_FIELDS}
    if not isinstance(value, dict) or not value.get("name"):
        raise ValueError("each person needs a name (and optionally title, since, until, dates)")
    since, until, dates = (_scalar(value.get(key)) for key in ("since", "until", "dates"))
    if dates and dates.lower() not in _UNKNOWN_DATES:
        raise ValueError(f"'dates' only says the dates are unknown ('inconnues'), got {dates!r}")
    return {
        "name": _scalar(value["name"]),
        "title": _scalar(value.get("title")),
        "since": (parse_date(since) or "") if since else "",
        "until": "unknown" if until.lower() in _UNKNOWN_DATES else (parse_date(until) or "") if until else "",
        "dates": "unknown" if dates else "",
    }


def _status_rows(values: list[Any], vocabulary: Vocabulary) -> list[dict[str, Any]]:
    """A progress report's lines; every bad line is reported (its row, objective and field), not the first."""
    rows: list[dict[str, Any]] = []
    bad: list[tuple[str, str, int | None]] = []
    for i, value in enumerate(values):
        at_row = value.get(ROW) if isinstance(value, dict) else None
        if not isinstance(value, dict) or not value.get("objective"):
            bad.append((f"statuses[{i}].objective", "each status needs an objective id (and status, progress, "
                        "comment)", at_row))  # fmt: skip
            continue
        objective = _scalar(value["objective"])
        row: dict[str, Any] = {"objective": objective, "comment": _scalar(value.get("comment"))}
        for fld, check in (("status", vocabulary.status), ("progress", _progress)):
            try:
                row[fld] = check(_scalar(value.get(fld)))
            except ValueError as exc:
                bad.append((f"statuses[{i}].{fld}", f"objective {objective!r}: {exc}", at_row))
        row["status_text"] = _scalar(value.get("status")) if row.get("status") else ""
        rows.append(row)
    if bad:
        raise _BadRows(bad)
    return rows


def _read_document(record: dict[str, Any], index: int, name: str, folder: Path | None, bundle: Bundle) -> None:
    rid = record.get("path") or record.get("url")

    def problem(message: str, fld: str | None = None) -> None:
        bundle.problems.append(SourceProblem(name, message, index, rid, fld, "documents"))

    fmt = record.get("format") or ""
    try:
        if record.get("path"):
            if folder is None:
                problem("a document from a URL source cannot name a local path", "path")
                return
            path = (folder / record["path"]).resolve()
            if not path.is_relative_to(folder.resolve()):
                problem("the path leaves the source's folder", "path")
                return
            data = _read_local(path)
            fmt = fmt or {".html": "html", ".htm": "html", ".md": "markdown"}.get(path.suffix.lower(), "text")
        else:
            data, content_type = fetch(record["url"], timeout=FETCH_TIMEOUT, limit=MAX_SOURCE_BYTES)
            fmt = fmt or ("html" if "html" in content_type else "text")
    except FileNotFoundError:
        problem(f"no such file: {record['path']}", "path")
        return
    except (ValueError, OSError) as exc:
        problem(str(exc), "path" if record.get("path") else "url")
        return
    try:
        content = _decode(data, f"{name}: documents[{index}]", bundle)
    except ValueError as exc:
        problem(str(exc), "path" if record.get("path") else "url")
        return
    title = record.get("title") or record["url"]
    try:
        passages = split_passages(content, fmt, title)
    except ValueError as exc:
        problem(str(exc), "path" if record.get("path") else "url")
        return
    for number, passage in enumerate(passages):
        bundle.passages.append(_passage_row(record, title, number, passage))
    bundle.sources.append(
        {
            "url": record["url"],
            "title": title,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": str(len(data)),
        }
    )


def _passage_row(record: dict[str, Any], title: str, number: int, passage: Passage) -> dict[str, str]:
    slug = re.sub(r"[^a-z0-9]+", "-", record["url"].lower())[-60:].strip("-")
    return {
        "id": f"{slug}#{number}",
        "url": record["url"],
        "title": title,
        "published": record.get("published") or "",
        "heading": passage.heading,
        "text": passage.text,
    }
