"""Labeled pairs from JSON Lines or CSV: loading, validation, counts and group splits.

Schema, one pair per row: ``id``, ``text``, ``country`` (any name or alias the resolver
knows), ``label`` (one of the four), ``context`` (optional: the previous sentence),
``group`` (optional: rows of one group always land in the same split). Other fields are
ignored. Every problem is reported with its ``file:line``; nothing is silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from model.countries import Country, CountryResolver, UnknownCountryError, default_resolver
from model.labels import UnknownLabelError, check_label
from model.pairs import Pair, pair_for
from model.records import csv_records, file_kind, input_files, jsonl_records, missing_field, misspelt_field
from model.sentences import has_letters_or_digits
from model.store import TRAINED_FILE

SUFFIXES = (".jsonl", ".csv")
FIELDS = ("id", "text", "country", "label", "context", "group")  # what a labeled row is read for; others ignored
REQUIRED = ("text", "country", "label")
# Optional fields whose loss would change training: an id read as absent only changes how
# rows are named in messages, so "ID" columns of older files stay readable.
OPTIONAL = ("context", "group")
SPLITS_FILE = Path(__file__).parent / "data" / "splits.json"


@dataclass(frozen=True)
class LabeledPair:
    """One validated row; ``source`` is where it came from, as ``file:line``."""

    id: str
    text: str
    country: Country
    label: str
    context: str
    group: str
    source: str

    def to_pair(self) -> Pair:
        """The classifier's pair for this row, built by the shared path in ``model/``."""
        return pair_for(self.text, self.country, self.context)


class CorpusError(ValueError):
    """Labeled data with problems; the message lists every one as ``file:line: reason``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n".join(problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in the labeled data:\n{shown}{more}")


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and the .jsonl/.csv files (gzip-compressed too) inside folders named,
    in a stable order (:func:`model.records.input_files`)."""
    return input_files(paths, SUFFIXES)


def _rows(path: Path) -> Iterator[tuple[str, dict | str]]:
    """``(file:line, row)``; the row is a problem message when it could not be read
    (the place is the file alone when the whole file is refused)."""
    kind = file_kind(path)
    if kind not in SUFFIXES:
        yield str(path), f"unsupported file type {path.suffix!r}; use .jsonl or .csv (or .jsonl.gz, .csv.gz)"
        return
    yield from jsonl_records(path, FIELDS) if kind == ".jsonl" else csv_records(path, FIELDS)


def _field(row: dict, name: str, required: bool = True, whole_numbers: bool = False) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, float) and value != value):  # NaN, which JSON Lines may hold
        if required:
            raise ValueError(missing_field(name, row))
        return ""
    if whole_numbers and isinstance(value, int) and not isinstance(value, bool):  # JSON ids are often numbers
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"field {name!r} must be a string, got {type(value).__name__}")
    return value


def _text(row: dict) -> str:
    text = _field(row, "text")
    if not text.strip():
        raise ValueError("empty text")
    if not has_letters_or_digits(text):  # "...", a zero-width space: the service refuses such text too
        raise ValueError(f"text {text[:40]!r} has no letters or digits")
    return text


def _label(row: dict) -> str:
    label = _field(row, "label").strip()  # a spreadsheet's trailing space is no other label
    if not label:
        raise ValueError("missing field 'label' (the cell is empty)")
    return check_label(label)


def _pair(location: str, row: dict, resolver: CountryResolver) -> LabeledPair:
    """The row's pair; every problem it has is named at once, not one per run."""
    problems: list[str] = [misnamed] if (misnamed := _misnamed_optional(row)) else []

    def read(parse):
        try:
            return parse()
        except (ValueError, UnknownCountryError, UnknownLabelError) as error:
            problems.append(str(error))
            return ""

    text = read(lambda: _text(row))
    country = read(lambda: resolver.resolve(_field(row, "country")))
    label = read(lambda: _label(row))
    context = read(lambda: _field(row, "context", required=False))
    pair_id = read(lambda: _field(row, "id", required=False, whole_numbers=True)) or location
    group = read(lambda: _field(row, "group", required=False, whole_numbers=True))
    if problems:
        raise ValueError("; ".join(problems))
    group = group or automatic_group(text)
    return LabeledPair(pair_id, text, country, label, context, group, location)


def automatic_group(text: str) -> str:
    """The group of a row that names none: its sentence's, so rows of one sentence stay
    in one split."""
    return "text-" + hashlib.sha1(text.encode()).hexdigest()[:12]


def read_pairs(
    paths: Iterable[str | Path], resolver: CountryResolver | None = None
) -> tuple[list[LabeledPair], list[str]]:
    """Read every row; return the valid pairs and a ``file:line: reason`` per problem."""
    resolver = resolver or default_resolver()
    pairs: list[LabeledPair] = []
    problems: list[str] = []
    first_id: dict[tuple[Path, str], str] = {}
    first_label: dict[tuple[str, str], LabeledPair] = {}
    for path in expand(paths):
        rows = 0
        for location, row in _rows(path):
            rows += 1
            if rows == 1 and (lacking := _header_lacks(path, row)):
                problems.append(f"{path}:1 (the header): {lacking}, so none of its rows can be read")
                break
            if isinstance(row, str):
                problems.append(f"{location}: {row}")
                continue
            try:
                pair = _pair(location, row, resolver)
            except (ValueError, UnknownCountryError, UnknownLabelError) as error:
                problems.append(f"{location}: {error}")
                continue
            # Unique within a file: two exports each numbered from 1 are told apart by file.
            if (path, pair.id) in first_id:
                problems.append(f"{location}: duplicate id {pair.id!r} (first at {first_id[path, pair.id]})")
                continue
            first_id[path, pair.id] = location
            # The context is part of the key: "Those include Australia" takes its label from it.
            key = (pair.text, pair.country.iso3, pair.context)
            seen = first_label.setdefault(key, pair)
            if seen.label != pair.label:
                problems.append(
                    f"{location}: conflicting labels for ({pair.country.name}, same text and context): "
                    f"{pair.label!r} here, {seen.label!r} at {seen.source}"
                )
                continue
            pairs.append(pair)
        if not rows:  # a file meant to hold labels holds none: say so rather than train without it
            problems.append(f"{path}: no rows (an empty file, or a header alone)")
    return pairs, problems


def _header_lacks(path: Path, row: dict | str) -> str | None:
    """What a CSV header lacks, said once for the file rather than once a row."""
    if file_kind(path) != ".csv" or isinstance(row, str):
        return None
    return next((missing_field(name, row) for name in REQUIRED if name not in row), None) or _misnamed_optional(row)


def _misnamed_optional(row: dict) -> str | None:
    """An optional field spelt in another case or with spaces ("Context", "group "): read
    as absent, it would train without the context or scatter an article's rows over the
    splits, without a word."""
    for name in OPTIONAL:
        if name not in row and (near := misspelt_field(name, row)):
            return f"field {near!r} is not read as {name!r}: a name must match in case and spaces"
    return None


def load_pairs(paths: Iterable[str | Path], resolver: CountryResolver | None = None) -> list[LabeledPair]:
    """Valid pairs from files or folders; raise :class:`CorpusError` if any row is bad."""
    pairs, problems = read_pairs(paths, resolver)
    if problems:
        raise CorpusError(problems)
    if not pairs:
        raise CorpusError(["no labeled pairs found"])
    return pairs


def corpus_counts(pairs: list[LabeledPair]) -> dict[str, Counter]:
    """Pairs by label, by country and by group."""
    return {
        "label": Counter(p.label for p in pairs),
        "country": Counter(p.country.name for p in pairs),
        "group": Counter(p.group for p in pairs),
    }


def cross_group_sentences(pairs: list[LabeledPair]) -> list[str]:
    """``file:line`` of each pair whose sentence an earlier row of another group holds:
    not an error, but a --splits file must keep such groups together."""
    first: dict[str, LabeledPair] = {}
    found = []
    for pair in pairs:
        seen = first.setdefault(pair.text, pair)
        if seen.group != pair.group:
            found.append(f"{pair.source} (group {pair.group!r}) repeats {seen.source} (group {seen.group!r})")
    return found


def repeated_rows(pairs: list[LabeledPair]) -> list[str]:
    """``file:line`` of each pair that repeats an earlier one exactly (text, country, context,
    label and group; in another group it is a repeated sentence): not an error, but it
    counts twice in training and in metrics."""
    first: dict[tuple[str, str, str, str, str], LabeledPair] = {}
    found = []
    for pair in pairs:
        seen = first.setdefault((pair.text, pair.country.iso3, pair.context, pair.label, pair.group), pair)
        if seen is not pair:
            found.append(f"{pair.source} repeats {seen.source}")
    return found


def groups_across_files(pairs: list[LabeledPair]) -> list[str]:
    """Each group named in more than one file, with the files: not an error, but its rows
    are then one article and one split unit, which two annotators' files that each name
    their own "g1" do not mean."""
    files: dict[str, dict[str, None]] = {}
    for pair in pairs:
        if pair.group != automatic_group(pair.text):  # a row's own sentence, not a name anyone gave
            files.setdefault(pair.group, {})[pair.source.rsplit(":", 1)[0]] = None
    return [f"group {group!r} in {', '.join(found)}" for group, found in files.items() if len(found) > 1]


def unnamed_countries(pairs: list[LabeledPair], resolver: CountryResolver | None = None) -> list[str]:
    """``file:line`` of each pair whose country neither its text nor its context names,
    often a wrong country; article scoring never builds such a pair."""
    resolver = resolver or default_resolver()
    return [
        f"{pair.source}: {pair.country.name} is named in neither text nor context"
        for pair in pairs
        if not any(m.country == pair.country for m in resolver.find_mentions(f"{pair.text}\n{pair.context}"))
    ]


def data_hash(pairs: list[LabeledPair]) -> str:
    """A digest of the training data's content, saved with every model: what each pair
    says and its group (which decides its split), not where the file lies."""
    digest = hashlib.sha256()
    for row in sorted(json.dumps([p.text, p.country.iso3, p.label, p.context, p.group]) for p in pairs):
        digest.update(row.encode())
    return digest.hexdigest()


def sentence_digest(text: str) -> str:
    """A short digest of a sentence, white space folded: what a model folder keeps of its
    training sentences, to tell later whether scored pairs were among them."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:16]


def trained_sentences(model_folder: Path) -> set[str] | None:
    """Digests of the sentences a registered model (and the models it went on from) was
    trained on; None for a folder without the record (an encoder, an older model)."""
    path = model_folder / TRAINED_FILE
    return set(json.loads(path.read_text())["sentences"]) if path.is_file() else None


def seen_in_training(pairs: list[LabeledPair], trained: set[str] | None) -> list[LabeledPair]:
    """The pairs whose sentence is one of ``trained``."""
    return [p for p in pairs if trained and sentence_digest(p.text) in trained]


def linked_groups(pairs: Iterable[LabeledPair]) -> list[list[str]]:
    """Groups joined wherever they share a sentence, each unit sorted, units in order.

    News repeats itself (wire copy reprinted, a sentence quoted in a follow-up), and a
    sentence in both train and test is scored on what the model trained on."""
    parent: dict[str, str] = {}

    def root(group: str) -> str:
        while parent.setdefault(group, group) != group:
            parent[group] = parent[parent[group]]
            group = parent[group]
        return group

    first_group: dict[str, str] = {}
    for pair in pairs:
        a, b = root(pair.group), root(first_group.setdefault(pair.text, pair.group))
        if a != b:
            parent[max(a, b)] = min(a, b)
    units: dict[str, list[str]] = {}
    for group in sorted(parent):
        units.setdefault(root(group), []).append(group)
    return [units[key] for key in sorted(units)]


def make_splits(pairs: Iterable[LabeledPair], seed: int = 13, test: float = 0.15, dev: float = 0.1) -> dict:
    """Assign whole groups to test and dev (the rest train), reproducibly; groups that
    share a sentence go together (:func:`linked_groups`)."""
    units = linked_groups(pairs)
    random.Random(seed).shuffle(units)
    n_test, n_dev = round(len(units) * test), round(len(units) * dev)
    chosen = {"test": units[:n_test], "dev": units[n_test : n_test + n_dev]}
    return {name: sorted(group for unit in part for group in unit) for name, part in chosen.items()}


def shared_sentences(parts: dict[str, list[LabeledPair]], held_out: tuple[str, ...] = ("dev", "test")) -> list[str]:
    """``file:line`` of each held-out pair whose sentence is also in the training split,
    with the training row's place: a --splits file that cuts linked groups apart."""
    trained = {}
    for pair in parts.get("train", []):
        trained.setdefault(pair.text, pair.source)
    return [
        f"{pair.source} ({name}) repeats the sentence at {trained[pair.text]} (train)"
        for name in held_out
        for pair in parts.get(name, [])
        if pair.text in trained
    ]


def read_splits(path: Path = SPLITS_FILE) -> dict[str, set[str]]:
    """Group lists of the test and dev splits from a JSON file such as the committed one:
    ``{"test": [groups], "dev": [groups]}``; anything else is an error naming the file."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from None
    except OSError as error:  # named as the splits file, not as a bare "[Errno 2]"
        raise ValueError(f"splits file {path}: {error.strerror.lower()}") from None
    if not isinstance(found, dict) or set(found) != {"test", "dev"}:
        raise ValueError(f'{path}: expected {{"test": [groups], "dev": [groups]}}, got {str(found)[:80]}')
    for name, groups in found.items():
        # Whole numbers as labeled rows read them: "group": 7 is group "7".
        if not isinstance(groups, list) or not all(isinstance(g, str) or _whole(g) for g in groups):
            raise ValueError(f"{path}: {name!r} must be a list of group names, got {str(groups)[:80]}")
        found[name] = [str(g) for g in groups]
    if both := set(found["test"]) & set(found["dev"]):
        raise ValueError(f"{path}: groups in both test and dev: {', '.join(sorted(both)[:5])}")
    return {name: set(groups) for name, groups in found.items()}


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def split_pairs(pairs: list[LabeledPair], splits: dict[str, set[str]]) -> dict[str, list[LabeledPair]]:
    """Pairs by split name; groups not listed are ``train``."""
    out: dict[str, list[LabeledPair]] = {"train": [], **{name: [] for name in splits}}
    for pair in pairs:
        name = next((n for n, groups in splits.items() if pair.group in groups), "train")
        out[name].append(pair)
    return out
