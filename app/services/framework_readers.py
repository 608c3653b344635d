"""Readers of framework files: ESCO CSV (as published), 1EdTech CASE 1.0 JSON, and Sillage's simple CSV.

Each turns a file, a folder or a ZIP into an ``app.services.frameworks.Parsed`` and records every
problem it meets (with file and line) rather than stopping at the first, so that the person fixes
them all at once; ``frameworks.apply`` refuses the whole import when there is any.

CSV files are read as a stream (``csv.reader`` over a decoding wrapper, never the whole file in
memory); ZIP members are opened by name, never extracted, and refused above a size or compression
ratio that only a ZIP bomb has. Encoding: UTF-8, with or without a byte-order mark (ESCO publishes
UTF-8); anything else is refused with the line where decoding failed.

ESCO (https://esco.ec.europa.eu/en/use-esco/download, CSV): ``skills_<lang>.csv`` and
``occupations_<lang>.csv`` (``conceptUri``, ``preferredLabel``, ``altLabels`` one a line,
``description``; occupations also ``code``), ``occupationSkillRelations_<lang>.csv`` (``occupationUri``,
``relationType`` essential/optional, ``skillUri``). A skill keeps ESCO's ``skillType`` (``knowledge`` or
``skill/competence``). The skills hierarchy, when present: ``skillGroups_<lang>.csv`` (the groups, as
concepts of kind ``group``, ``code`` as notation), ``skillsHierarchy_<lang>.csv`` (``Level 0 URI`` …
``Level 3 URI`` with their ``preferred term`` and ``code``: each row places its deepest level under the
one above) and ``broaderRelationsSkillPillar_<lang>.csv`` / ``broaderRelationsOccPillar_<lang>.csv``
(``conceptUri``, ``broaderUri``: skills under groups, occupations under occupations or ISCO groups).
A broader concept outside the import (an ISCO group) is kept as a link to its URI. The files of each
language (fr, en) merge into one concept per URI; other languages are skipped with a warning.

CASE 1.0 (1EdTech Competencies and Academic Standards Exchange): a CFPackage with ``CFDocument``,
``CFItems`` and ``CFAssociations``. ``isChildOf`` builds the tree (towards the document: a root; a
second parent: a ``broader`` relation); ``isPartOf``, ``isRelatedTo``, ``precedes``, ``exactMatchOf``,
``replacedBy`` and ``hasSkillLevel`` become relations; ``isPeerOf`` and ``exemplar`` are not kept (a
warning counts them). An association's destination may be a node of another CASE document (CASE's
``destinationNodeURI`` is a LinkGenURI, any URI): it is kept as a link to that URI (``ConceptLink``),
which the pages resolve once that framework is imported, and the package is not refused for it.

The simple CSV is documented in docs/frameworks-csv.md.
"""
from __future__ import annotations

import csv
import io
import json
import re
import sys
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from app.services.frameworks import ConceptData, FrameworkImportError, Parsed, _t, fold_for_search, slugify

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_RATIO = 200
# A CASE package is parsed whole (JSON): bounded apart from the streamed CSVs; and the members of one
# ZIP together (ESCO in every language is a few GiB).
MAX_CASE_BYTES = 256 * 1024**2
MAX_TOTAL_BYTES = 8 * 1024**3
ESCO_FILE = re.compile(r"^(skills|occupations|occupationSkillRelations|broaderRelationsSkillPillar|"
                       r"broaderRelationsOccPillar|skillGroups|skillsHierarchy)_([a-z]{2})\.csv$")
ESCO_SKILL_TYPES = {"skill/competence": "skill_competence", "knowledge": "knowledge"}
ESCO_LEVELS = 4  # skillsHierarchy_<lang>.csv: "Level 0 URI" … "Level 3 URI"
SIMPLE_COLUMNS = ("uri", "kind", "label_fr", "label_en", "alt_labels_fr", "alt_labels_en", "description_fr",
                  "description_en", "parent_uri", "notation")


class Source:
    """A folder, a ZIP or a single file, whose members are found by base name (ESCO nests them)."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = None
        if path.is_dir():
            self.members = {p.name: p for p in sorted(path.rglob("*")) if p.is_file()}
        elif zipfile.is_zipfile(path):
            self.zip = zipfile.ZipFile(path)
            self.members = {}
            total = 0
            for info in self.zip.infolist():
                if info.is_dir():
                    continue
                total += info.file_size
                if total > MAX_TOTAL_BYTES:
                    raise FrameworkImportError([_t("%(file)s: too large once uncompressed", file=path.name)])
                if info.file_size > MAX_MEMBER_BYTES or (
                        info.compress_size and info.file_size / info.compress_size > MAX_RATIO):
                    raise FrameworkImportError([_t("%(file)s: too large once uncompressed", file=info.filename)])
                self.members.setdefault(Path(info.filename).name, info)
        elif path.is_file():
            self.members = {path.name: path}
        else:
            raise FrameworkImportError([_t("%(file)s: no such file or folder", file=path)])

    def names(self) -> list[str]:
        return list(self.members)

    @contextmanager
    def open_binary(self, name: str):
        member = self.members[name]
        handle = self.zip.open(member) if self.zip is not None else open(member, "rb")
        try:
            yield handle
        finally:
            handle.close()

    def close(self):
        if self.zip is not None:
            self.zip.close()


def rows(source: Source, name: str, required: tuple[str, ...], parsed: Parsed) -> Iterator[tuple[int, dict]]:
    """Stream a CSV member as (line, row dict); missing columns or a decoding error become errors."""
    with source.open_binary(name) as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        reader = csv.reader(stream)
        line = 1
        try:
            header = [column.strip() for column in next(reader, [])]
            missing = [column for column in required if column not in header]
            if missing:
                parsed.error(_t("%(file)s: missing column(s) %(missing)s (found: %(found)s)", file=name, missing=", ".join(missing), found=", ".join(header) or "—"))
                return
            for values in reader:
                line = reader.line_num
                if not any(value.strip() for value in values):
                    continue
                yield line, dict(zip(header, values))
        except UnicodeDecodeError:
            parsed.error(_t("%(file)s, after line %(line)s: not UTF-8 text (save the file as UTF-8)", file=name, line=line))
        except csv.Error as error:
            parsed.error(_t("%(file)s, line %(line)s: unreadable CSV (%(error)s)", file=name, line=line, error=error))


def _split(value: str, separator: str) -> list[str]:
    return [part.strip() for part in (value or "").split(separator) if part.strip()]


# ------------------------------------------------------------------------------------------------ ESCO

def read_esco(source: Source, parsed: Parsed) -> None:
    by_kind: dict[str, dict[str, str]] = {}
    for name in source.names():
        match = ESCO_FILE.match(name)
        if match:
            by_kind.setdefault(match.group(1), {})[match.group(2)] = name
    for kind in ("skills", "occupations", "occupationSkillRelations"):
        if not {"fr", "en"} & set(by_kind.get(kind, {})):
            parsed.error(_t("%(kind)s_fr.csv or %(kind)s_en.csv: not found", kind=kind))
    skipped = sorted({lang for files in by_kind.values() for lang in files} - {"fr", "en"})
    if skipped:
        parsed.warnings.append(_t("languages other than French and English skipped: %(languages)s", languages=", ".join(skipped)))
    if parsed.error_count:
        return
    for file_kind, concept_kind in (("skillGroups", "group"), ("skills", "skill"), ("occupations", "occupation")):
        for language, name in sorted(by_kind.get(file_kind, {}).items()):
            if language not in ("fr", "en"):
                continue
            seen: set[str] = set()
            for line, row in rows(source, name, ("conceptUri", "preferredLabel"), parsed):
                uri = row["conceptUri"].strip()
                if not uri:
                    parsed.error(_t("%(file)s, line %(line)s: empty conceptUri", file=name, line=line))
                    continue
                if uri in seen:
                    parsed.error(_t("%(file)s, line %(line)s: duplicate URI %(uri)s", file=name, line=line, uri=uri))
                    continue
                seen.add(uri)
                concept = parsed.concepts.get(uri)
                if concept is None:
                    concept = parsed.concepts[uri] = ConceptData(uri=uri, kind=concept_kind)
                elif concept.kind != concept_kind:
                    parsed.error(_t("%(file)s, line %(line)s: %(uri)s is both a skill and an occupation", file=name, line=line, uri=uri)
                                 if "group" not in (concept.kind, concept_kind) else
                                 _t("%(file)s, line %(line)s: %(uri)s is both a group and a skill or an occupation", file=name, line=line, uri=uri))
                    continue
                concept.labels[language] = row["preferredLabel"].strip()
                concept.alt_labels[language] = _split(row.get("altLabels", ""), "\n")
                concept.descriptions[language] = (row.get("description") or row.get("definition") or "").strip()
                if row.get("code"):
                    concept.notation = row["code"].strip()
                skill_type = (row.get("skillType") or "").strip()
                if skill_type and not concept.skill_type:
                    concept.skill_type = ESCO_SKILL_TYPES.get(skill_type, "")
                    if not concept.skill_type:
                        parsed.error(_t("%(file)s, line %(line)s: skillType “%(value)s” is neither knowledge nor skill/competence", file=name, line=line, value=skill_type))
    relation_files = by_kind["occupationSkillRelations"]
    name = relation_files.get("en") or relation_files["fr"]
    for line, row in rows(source, name, ("occupationUri", "relationType", "skillUri"), parsed):
        relation = row["relationType"].strip().lower()
        if relation not in ("essential", "optional"):
            parsed.error(_t("%(file)s, line %(line)s: relationType “%(value)s” is neither essential nor optional", file=name, line=line, value=row["relationType"]))
            continue
        parsed.relations.append((row["occupationUri"].strip(), row["skillUri"].strip(), relation))
    # (child, parent) in file order, without repeats: the hierarchy's first, then the broader files'
    links = dict.fromkeys(_esco_hierarchy(source, parsed, by_kind.get("skillsHierarchy", {})))
    skipped_broader = 0
    for kind in ("broaderRelationsSkillPillar", "broaderRelationsOccPillar"):
        files = by_kind.get(kind, {})
        name = files.get("en") or files.get("fr")
        if not name:
            continue
        for _line, row in rows(source, name, ("conceptUri", "broaderUri"), parsed):
            child, parent = row["conceptUri"].strip(), row["broaderUri"].strip()
            if child in parsed.concepts and parent:
                links[(child, parent)] = None
            else:  # a group outside the import under another (ISCO's tree): nothing of ours to hang it on
                skipped_broader += 1
    for child, parent in links:
        parsed.broader(child, parent)
    if skipped_broader:
        parsed.warnings.append(_t("%(count)s broader links between concepts outside the import not kept", count=skipped_broader))
    outside = len({target for _source, relation, target in parsed.external if relation == "broader"})
    if outside:
        parsed.warnings.append(_t("%(count)s broader concepts outside the import kept as links to their URI", count=outside))


def _esco_hierarchy(source: Source, parsed: Parsed, files: dict[str, str]) -> list[tuple[str, str]]:
    """``skillsHierarchy_<lang>.csv``: each row is one group, at its deepest filled level, under the
    level above it; a group missing from ``skillGroups`` is created from the row's own terms."""
    columns = [(f"Level {n} URI", f"Level {n} preferred term", f"Level {n} code") for n in range(ESCO_LEVELS)]
    links = []
    for language in ("en", "fr"):
        name = files.get(language)
        if not name:
            continue
        for line, row in rows(source, name, tuple(column[0] for column in columns), parsed):
            path = [(row[uri].strip(), (row.get(term) or "").strip(), (row.get(code) or "").strip())
                    for uri, term, code in columns if (row.get(uri) or "").strip()]
            if not path:
                continue
            uri, term, code = path[-1]
            concept = parsed.concepts.get(uri)
            if concept is None:
                concept = parsed.concepts[uri] = ConceptData(uri=uri, kind="group", notation=code)
            elif concept.kind != "group":
                parsed.error(_t("%(file)s, line %(line)s: %(uri)s is both a group and a skill or an occupation", file=name, line=line, uri=uri))
                continue
            concept.labels.setdefault(language, term)
            concept.descriptions.setdefault(language, (row.get("Description") or "").strip())
            concept.notation = concept.notation or code
            if len(path) > 1:
                links.append((uri, path[-2][0]))
    return links


# ------------------------------------------------------------------------------------------------ CASE

CASE_RELATIONS = {"isPartOf": "part_of", "isRelatedTo": "related", "precedes": "precedes",
                  "exactMatchOf": "exact_match", "replacedBy": "replaced_by", "hasSkillLevel": "skill_level"}
CASE_KINDS = (("occupation", "occupation"), ("metier", "occupation"), ("domain", "domain"),
              ("domaine", "domain"), ("level", "level"), ("niveau", "level"), ("skill", "skill"),
              ("savoir", "skill"), ("qualification", "qualification"), ("diplom", "qualification"),
              ("training", "training"), ("formation", "training"))


def _case_kind(item_type: str) -> str:
    folded = fold_for_search(item_type)
    return next((kind for word, kind in CASE_KINDS if word in folded), "competence")


def read_case(source: Source, parsed: Parsed) -> None:
    names = [name for name in source.names() if name.lower().endswith(".json")]
    if len(names) != 1:
        parsed.error(_t("a CASE import is one CFPackage JSON file (found %(count)s)", count=len(names)))
        return
    with source.open_binary(names[0]) as raw:
        data = raw.read(MAX_CASE_BYTES + 1)  # never more: the member may claim up to MAX_MEMBER_BYTES
        if len(data) > MAX_CASE_BYTES:
            parsed.error(_t("%(file)s: larger than %(size)s MiB, the most a CASE package may be",
                            file=names[0], size=MAX_CASE_BYTES // 1024**2))
            return
        try:
            package = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            parsed.error(_t("%(file)s: not UTF-8 text", file=names[0]))
            return
        except json.JSONDecodeError as error:
            parsed.error(_t("%(file)s: not JSON (%(error)s, line %(line)s)", file=names[0], error=error.msg, line=error.lineno))
            return
    document = package.get("CFDocument") if isinstance(package, dict) else None
    items = package.get("CFItems") if isinstance(package, dict) else None
    if not isinstance(document, dict) or not isinstance(items, list):
        parsed.error(_t("%(file)s: not a CASE CFPackage (CFDocument and CFItems expected)", file=names[0]))
        return
    parsed.name = str(document.get("title") or parsed.name)
    parsed.version = parsed.version or str(document.get("version") or document.get("adoptionStatus") or "")
    parsed.source = "; ".join(str(document[key]) for key in ("creator", "publisher", "officialSourceURL", "licenseURI")
                              if document.get(key) and isinstance(document[key], str))
    if not parsed.slug_given:
        parsed.slug = slugify(parsed.name)
    document_keys = {str(document[key]) for key in ("identifier", "uri") if document.get(key)}
    language_default = str(document.get("language") or "en")[:2].lower()
    by_identifier: dict[str, str] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not (item.get("uri") or item.get("identifier")):
            parsed.error(_t("CFItems[%(index)s]: no identifier or uri", index=index))
            continue
        uri = str(item.get("uri") or item["identifier"]).strip()
        if uri in parsed.concepts:
            parsed.error(_t("CFItems[%(index)s]: duplicate URI %(uri)s", index=index, uri=uri))
            continue
        by_identifier[str(item.get("identifier") or uri)] = uri
        language = str(item.get("language") or language_default)[:2].lower()
        language = language if language in ("fr", "en") else "en"
        statement = str(item.get("fullStatement") or "").strip()
        short = str(item.get("abbreviatedStatement") or "").strip()
        concept = ConceptData(uri=uri, kind=_case_kind(str(item.get("CFItemType") or "")),
                              notation=str(item.get("humanCodingScheme") or "").strip())
        concept.labels[language] = (short or statement)[:500]
        concept.descriptions[language] = statement if short else str(item.get("notes") or "").strip()
        concept.alt_labels[language] = _split(str(item.get("alternativeLabel") or ""), "\n")
        parsed.concepts[uri] = concept
    not_kept = 0
    for index, association in enumerate(package.get("CFAssociations") or []):
        try:
            kind = association["associationType"]
            origin, destination = association["originNodeURI"], association["destinationNodeURI"]
            origin_key = str(origin.get("uri") or origin.get("identifier"))
            destination_keys = {str(destination[key]) for key in ("uri", "identifier") if destination.get(key)}
        except (KeyError, TypeError, AttributeError):
            parsed.error(_t("CFAssociations[%(index)s]: associationType, originNodeURI and destinationNodeURI expected", index=index))
            continue
        source_uri = by_identifier.get(str(origin.get("identifier")), origin_key)
        target_uri = next((by_identifier.get(key, key) for key in destination_keys
                           if by_identifier.get(key, key) in parsed.concepts), None)
        outside = target_uri is None  # a node of another document: kept as a link to its URI
        target_uri = target_uri or str(destination.get("uri") or destination.get("identifier") or "")
        if kind == "isChildOf":
            if destination_keys & document_keys:
                continue
            if source_uri not in parsed.concepts:
                parsed.error(_t("CFAssociations[%(index)s]: unknown origin %(uri)s", index=index, uri=source_uri))
                continue
            if not target_uri:
                parsed.error(_t("CFAssociations[%(index)s]: associationType, originNodeURI and destinationNodeURI expected", index=index))
                continue
            parsed.broader(source_uri, target_uri)
        elif kind in CASE_RELATIONS:
            if outside and source_uri in parsed.concepts and target_uri:
                parsed.external.append((source_uri, CASE_RELATIONS[kind], target_uri))
            else:
                parsed.relations.append((source_uri, target_uri, CASE_RELATIONS[kind]))
        else:
            not_kept += 1
    if not_kept:
        parsed.warnings.append(_t("%(count)s CASE associations not kept (isPeerOf, exemplar)", count=not_kept))
    outside_count = len(parsed.external)
    if outside_count:
        parsed.warnings.append(_t("%(count)s associations point outside this document: kept as links to their URI", count=outside_count))


# ---------------------------------------------------------------------------------------- simple CSV

def read_simple(source: Source, parsed: Parsed) -> None:
    names = source.names()
    if "framework.json" in names:
        with source.open_binary("framework.json") as raw:
            try:
                meta = json.loads(raw.read().decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                parsed.error(_t("framework.json: not valid UTF-8 JSON"))
                meta = {}
        if isinstance(meta, dict):
            parsed.name = parsed.name if parsed.name_given else str(meta.get("name") or parsed.name)
            parsed.version = parsed.version or str(meta.get("version") or "")
            parsed.source = str(meta.get("source") or "")
            if not parsed.slug_given:
                parsed.slug = str(meta.get("slug") or slugify(parsed.name))
    concepts_name = "concepts.csv" if "concepts.csv" in names else next(
        (name for name in names if name.lower().endswith(".csv") and name != "relations.csv"), None)
    if concepts_name is None:
        parsed.error(_t("concepts.csv: not found"))
        return
    for line, row in rows(source, concepts_name, ("uri", "kind"), parsed):
        uri = (row.get("uri") or "").strip()
        if not uri:
            parsed.error(_t("%(file)s, line %(line)s: empty uri", file=concepts_name, line=line))
            continue
        if uri in parsed.concepts:
            parsed.error(_t("%(file)s, line %(line)s: duplicate URI %(uri)s", file=concepts_name, line=line, uri=uri))
            continue
        concept = ConceptData(uri=uri, kind=(row.get("kind") or "").strip(),
                              parent_uri=(row.get("parent_uri") or "").strip(),
                              notation=(row.get("notation") or "").strip())
        for language in ("fr", "en"):
            concept.labels[language] = (row.get(f"label_{language}") or "").strip()
            concept.alt_labels[language] = _split(row.get(f"alt_labels_{language}") or "", "|")
            concept.descriptions[language] = (row.get(f"description_{language}") or "").strip()
        parsed.concepts[uri] = concept
    if "relations.csv" in names:
        for _line, row in rows(source, "relations.csv", ("source_uri", "relation", "target_uri"), parsed):
            parsed.relations.append((row["source_uri"].strip(), row["target_uri"].strip(),
                                     row["relation"].strip().lower()))


READERS = {"esco": read_esco, "case": read_case, "csv": read_simple}


def guess_format(source: Source) -> str:
    names = source.names()
    if any(ESCO_FILE.match(name) for name in names):
        return "esco"
    if any(name.lower().endswith(".json") and name != "framework.json" for name in names):
        return "case"
    return "csv"


def read(path: Path, *, format: str | None = None, name: str | None = None, slug: str | None = None,
         version: str | None = None) -> Parsed:
    """Read ``path`` (file, folder or ZIP); raise ``FrameworkImportError`` when it is unreadable."""
    try:
        source = Source(Path(path))
    except zipfile.BadZipFile as exc:
        raise FrameworkImportError([_t("%(file)s: damaged ZIP file (%(error)s)", file=Path(path).name, error=exc)]) from None
    try:
        format = format or guess_format(source)
        if format not in READERS:
            raise FrameworkImportError([_t("unknown format “%(format)s” (esco, case or csv)", format=format)])
        default_name = name or Path(path).stem
        parsed = Parsed(name=default_name, slug=slug or slugify(default_name), version=version or "",
                        format=format)
        parsed.name_given, parsed.slug_given = bool(name), bool(slug)
        if format == "esco" and not name:
            parsed.name, parsed.slug = "ESCO", slug or "esco"
        READERS[format](source, parsed)
        return parsed
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:  # a truncated or corrupt ZIP member
        raise FrameworkImportError([_t("%(file)s: damaged ZIP file (%(error)s)", file=Path(path).name, error=exc)]) from None
    finally:
        source.close()
