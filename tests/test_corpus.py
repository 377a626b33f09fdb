"""Loading and validating labeled pairs: every bad row named with file:line."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from model.labels import LABELS
from training.corpus import CorpusError, linked_groups, load_pairs, make_splits, read_pairs, split_pairs


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" if isinstance(r, dict) else r + "\n" for r in rows))
    return path


GOOD = {
    "id": "a1",
    "text": "Poland will not send troops.",
    "country": "Polish",
    "label": "wont_send",
    "context": "",
    "group": "g1",
}


def test_good_rows_load_with_countries_normalized_and_extra_fields_ignored(tmp_path):
    path = _jsonl(
        tmp_path / "ok.jsonl",
        [
            {**GOOD, "note": "extra fields are ignored"},
            {
                "id": "a2",
                "text": "The US will send weapons.",
                "country": "U.S.",
                "label": "logistics_only",
            },  # no context, no group
        ],
    )
    pairs = load_pairs([path])
    assert [(p.country.name, p.label) for p in pairs] == [
        ("Poland", "wont_send"),
        ("United States", "logistics_only"),
    ]
    assert pairs[0].source == f"{path}:1"
    assert pairs[1].context == ""
    assert pairs[1].group.startswith("text-")


def test_every_bad_row_is_reported_with_file_and_line(tmp_path):
    path = _jsonl(
        tmp_path / "bad.jsonl",
        [
            GOOD,
            {**GOOD, "id": "a2", "label": "maybe"},
            {**GOOD, "id": "a3", "text": "   "},
            {**GOOD, "id": "a4", "country": "Narnia"},
            {**GOOD, "text": "Another sentence."},  # duplicate id a1
            {**GOOD, "id": "a6", "label": "will_send"},  # same text and country, other label
            "{not json",
            {**GOOD, "id": "a8", "text": 42},
            {"id": "a9", "country": "Poland", "label": "none"},
            "[1, 2]",
        ],
    )
    pairs, problems = read_pairs([path])
    assert [p.id for p in pairs] == ["a1"]
    expected = [
        (2, "unknown label 'maybe'"),
        (3, "empty text"),
        (4, "unknown country 'Narnia'"),
        (5, "duplicate id 'a1' (first at"),
        (6, "conflicting labels for (Poland, same text and context): 'will_send' here, 'wont_send' at"),
        (7, "invalid JSON"),
        (8, "field 'text' must be a string"),
        (9, "missing field 'text'"),
        (10, "expected a JSON object"),
    ]
    assert len(problems) == len(expected)
    for problem, (line, reason) in zip(problems, expected, strict=True):
        assert problem.startswith(f"{path}:{line}: {reason}"), problem
    with pytest.raises(CorpusError, match="9 problem"):
        load_pairs([path])


def test_csv_with_the_same_columns(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(
        "id,text,country,label,context,group\n"
        'c1,"Britain, France ready to deploy.",UK,will_send,,g\n'
        "c2,Bad row,Poland,unsure,,g\n"
    )
    pairs, problems = read_pairs([path])
    assert [p.country.iso3 for p in pairs] == ["GBR"]
    assert problems == [f"{path}:3: unknown label 'unsure'; expected one of will_send, wont_send, logistics_only, none"]


def test_a_row_names_all_its_problems_and_labels_get_the_one_likely_meant(tmp_path):
    path = _jsonl(
        tmp_path / "pairs.jsonl",
        [
            {**GOOD, "id": "b1", "country": "Atlantis", "label": "Will_Send"},
            {**GOOD, "id": "b2", "label": "logistics"},
            {**GOOD, "id": "b3", "text": "Spain said no.", "label": " wont_send "},  # a spreadsheet's spaces
            {**GOOD, "id": "b4", "text": "Italy said no.", "label": ""},
            {**GOOD, "id": 5, "text": "Greece said no.", "country": "Greece", "group": 7},  # numbers as in ids
        ],
    )
    pairs, problems = read_pairs([path])
    assert [(p.id, p.label, p.group) for p in pairs] == [("b3", "wont_send", pairs[0].group), ("5", "wont_send", "7")]
    assert problems[0] == (
        f"{path}:1: unknown country 'Atlantis'; unknown label 'Will_Send' (did you mean 'will_send'?); "
        "expected one of will_send, wont_send, logistics_only, none"
    )
    assert f"{path}:2: unknown label 'logistics' (did you mean 'logistics_only'?)" in problems[1]
    assert problems[2] == f"{path}:4: missing field 'label' (the cell is empty)"


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("wil_send", "will_send"),
        ("willsend", "will_send"),
        ("Will Send", "will_send"),
        ("wontsend", "wont_send"),
        ("won't send", "wont_send"),
        ("logistic_only", "logistics_only"),
        ("logisitcs_only", "logistics_only"),
        ("NONE", "none"),
        ("will not send", "wont_send"),
        ("not_send", "wont_send"),
        ("no troops", None),
        ("yes", None),
        ("send", None),
    ],
)
def test_a_misspelt_label_is_told_the_label_it_likely_meant(written, meant):
    from model.labels import UnknownLabelError, check_label

    with pytest.raises(UnknownLabelError) as refused:
        check_label(written)
    assert ("did you mean" in str(refused.value)) == (meant is not None)
    if meant:
        assert f"(did you mean {meant!r}?)" in str(refused.value)


@pytest.mark.parametrize("separator", [";", "\t"])
def test_csv_separated_by_semicolons_or_tabs_as_its_header_shows(tmp_path, separator):
    # Excel where a comma is the decimal mark: a byte-order mark, CRLF, a quoted cell over two lines
    path = tmp_path / "excel.csv"
    header = separator.join(["id", "text", "country", "label", "", ""])  # empty columns past the table's edge
    row = separator.join(["x1", '"Poland, like France; said no.\r\nThen more."', "Poland", "wont_send", "", ""])
    path.write_bytes(f"\ufeff{header}\r\n{row}\r\n".encode())
    pairs, problems = read_pairs([path])
    assert problems == []
    expected = [("x1", "Poland, like France; said no.\r\nThen more.", "wont_send")]
    assert [(p.id, p.text, p.label) for p in pairs] == expected


def test_ids_are_unique_within_a_file_so_two_exports_may_each_number_from_one(tmp_path):
    first = _jsonl(
        tmp_path / "a.jsonl", [{**GOOD, "id": 1}, {**GOOD, "id": 2, "text": "Italy said no.", "country": "Italy"}]
    )
    second = _jsonl(tmp_path / "b.jsonl", [{**GOOD, "id": 1, "text": "Spain said no.", "country": "Spain"}])
    pairs, problems = read_pairs([first, second])
    assert problems == []
    assert [(p.id, p.source) for p in pairs] == [("1", f"{first}:1"), ("2", f"{first}:2"), ("1", f"{second}:1")]


def test_invalid_json_is_placed_on_its_own_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"id": "a", "text": "Poland said no."\n{"id": "b", "text": "x\tz"}\n')
    _, problems = read_pairs([path])
    assert problems[0] == f"{path}:1: invalid JSON (Expecting ',' delimiter at column 38)"
    assert problems[1].startswith(f"{path}:2: invalid JSON (Invalid control character at column ")


def test_folders_without_labeled_files_and_files_reached_twice_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: a folder with no .jsonl or .csv files"):
        read_pairs([tmp_path / "empty"])
    folder = tmp_path / "data"
    folder.mkdir()
    path = _jsonl(folder / "pairs.jsonl", [GOOD])
    with pytest.raises(ValueError, match="given twice"):
        read_pairs([folder, path])


def test_gzip_compressed_files_load_like_plain_ones_inside_folders_too(tmp_path):
    import gzip

    folder = tmp_path / "export"
    folder.mkdir()
    rows = [GOOD, {**GOOD, "id": "a2", "label": "maybe"}]
    plain = _jsonl(tmp_path / "plain.jsonl", rows)
    packed = folder / "pairs.JSONL.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    (folder / "notes.gz").write_bytes(gzip.compress(b"not labeled data"))  # not .jsonl or .csv inside
    pairs, problems = read_pairs([folder])
    [pair] = pairs
    [expected] = read_pairs([plain])[0]
    assert (pair.id, pair.country, pair.label) == (expected.id, expected.country, expected.label)
    assert pair.source == f"{packed}:1"
    assert problems == [f"{packed}:2: unknown label 'maybe'; expected one of {', '.join(LABELS)}"]


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "latin.jsonl"
    bad.write_bytes(json.dumps(GOOD).encode() + b'\n{"text": "caf\xe9"}\n')
    pairs, problems = read_pairs([bad])
    assert len(pairs) == 1
    assert problems == [f"{bad}:2: not UTF-8 text (byte 13 of the line)"]
    bad_csv = tmp_path / "latin.csv"
    bad_csv.write_bytes(b"id,text,country,label\nx,ok,Poland,none\ny,caf\xe9,Poland,none\n")
    not_utf8 = (
        "field 'text' holds bytes that are not UTF-8 (character 3); not valid text; "
        "save the file as UTF-8 (Excel: CSV UTF-8)"
    )
    assert read_pairs([bad_csv])[1] == [f"{bad_csv}:3: {not_utf8}"]
    sheet = tmp_path / "pairs.xlsx"
    sheet.write_bytes(b"PK")
    assert read_pairs([sheet])[1] == [
        f"{sheet}: unsupported file type '.xlsx'; use .jsonl or .csv (or .jsonl.gz, .csv.gz)"
    ]
    tsv = tmp_path / "pairs.tsv"  # read as CSV, its tabs as the separator
    tsv.write_text("id\ttext\tcountry\tlabel\nt1\tPoland will not send troops.\tPoland\twont_send\n")
    assert [(p.country.iso3, p.label) for p in read_pairs([tsv])[0]] == [("POL", "wont_send")]
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        read_pairs([tmp_path / "nope.jsonl"])


def test_spreadsheet_exports_read_as_researchers_save_them(tmp_path):
    folder = tmp_path / "labels"
    folder.mkdir()
    upper = folder / "EXPORT.CSV"  # capital extensions, as some tools write them, are read in folders too
    upper.write_text("id,text,country,label\nc1,Spain will send troops.,ES,will_send\n,,,\n,,,\n")
    _jsonl(folder / "MORE.JSONL", [GOOD])
    (folder / "notes.txt").write_text("not labels")
    spaced = folder / "by_hand.csv"  # ", " between fields, a quoted field with commas in it
    spaced.write_text('id, text, country, label\nh1, "Italy, like Spain, will send troops.", Italy, will_send\n')
    pairs, problems = read_pairs([folder])
    assert problems == []  # the rows of empty cells a spreadsheet leaves at the end are skipped
    assert sorted(p.id for p in pairs) == ["a1", "c1", "h1"]
    assert next(p for p in pairs if p.id == "h1").text == "Italy, like Spain, will send troops."


def test_an_id_column_in_another_case_is_no_problem_since_ids_only_name_rows(tmp_path):
    (tmp_path / "ids.csv").write_text("ID,text,country,label\n7,Poland said no.,Poland,wont_send\n")
    pairs, problems = read_pairs([tmp_path / "ids.csv"])
    assert problems == []
    assert pairs[0].id == f"{tmp_path / 'ids.csv'}:2"


def test_header_and_empty_file_problems_say_what_is_wrong(tmp_path):
    cases = {
        "caps.csv": (
            "Id,Text,Country,Label\nx,Poland said no.,Poland,none\n",
            ":1 (the header): missing field 'text' (there is 'Text'",
        ),
        "stance.csv": (  # said once for the file, not once a row
            "id,text,country,stance\n" + "".join(f"r{i},Poland said no {i}.,Poland,none\n" for i in range(5)),
            ":1 (the header): missing field 'label' (the row has 'id', 'text', 'country', 'stance')",
        ),
        "twice.csv": (
            "id,text,country,label,label\nx,t,Poland,none,will_send\n",
            ":1: header names 'label' more than once",
        ),
        "optional.csv": (  # read as absent, "Context" would train without the context, unsaid
            "id,text,country,label,Context\nx,Poland said no.,Poland,none,Germany asked.\n",
            ":1 (the header): field 'Context' is not read as 'context': a name must match in case",
        ),
        "group.jsonl": (  # and "group " would scatter an article's rows over the splits
            '{"text": "Poland said no.", "country": "Poland", "label": "none", "group ": "g1"}\n',
            ":1: field 'group ' is not read as 'group'",
        ),
        "blank.jsonl": (  # nothing a model could read, as the service says of such text
            '{"text": "\u200b...", "country": "Poland", "label": "none"}\n',
            "...' has no letters or digits",
        ),
        "empty.jsonl": ("", ": no rows (an empty file, or a header alone)"),
        "header.csv": ("id,text,country,label\n", ": no rows (an empty file, or a header alone)"),
    }
    for name, (content, expected) in cases.items():
        (tmp_path / name).write_text(content)
        pairs, problems = read_pairs([tmp_path / name])
        assert pairs == []
        assert len(problems) == 1
        assert problems[0].startswith(str(tmp_path / name))
        assert expected in problems[0], problems[0]


def test_splits_keep_groups_whole_and_are_reproducible(tmp_path):
    rows = [
        {**GOOD, "id": f"r{i}", "text": f"Poland will not send troops {i}.", "group": f"g{i % 20}"} for i in range(200)
    ]
    pairs = load_pairs([_jsonl(tmp_path / "many.jsonl", rows)])
    splits = make_splits(pairs)
    assert splits == make_splits(list(reversed(pairs)))
    parts = split_pairs(pairs, {k: set(v) for k, v in splits.items()})
    groups = {name: {p.group for p in part} for name, part in parts.items()}
    assert groups["test"]
    assert groups["dev"]
    assert groups["train"]
    assert not (groups["test"] & groups["train"])
    assert not (groups["dev"] & groups["train"])
    assert sum(len(part) for part in parts.values()) == 200


def test_groups_that_share_a_sentence_land_in_one_split(tmp_path):
    # Syndicated copy: group g{2k+1} reprints one sentence of group g{2k}.
    rows = []
    for k in range(30):
        shared = f"Poland will not send troops, minister {k} said."
        rows.append({**GOOD, "id": f"a{k}", "text": shared, "group": f"g{2 * k}"})
        rows.append({**GOOD, "id": f"b{k}", "text": shared, "group": f"g{2 * k + 1}"})
        rows.append({**GOOD, "id": f"c{k}", "text": f"Poland rules out troops, {k} said.", "group": f"g{2 * k + 1}"})
    pairs = load_pairs([_jsonl(tmp_path / "syndicated.jsonl", rows)])
    units = linked_groups(pairs)
    assert len(units) == 30
    assert all(len(unit) == 2 for unit in units)
    splits = make_splits(pairs)
    assert splits["test"]
    assert splits["dev"]
    for groups in splits.values():
        for k in range(30):
            assert (f"g{2 * k}" in groups) == (f"g{2 * k + 1}" in groups)


def test_a_labeled_folder_reads_ndjson_and_names_the_files_it_does_not_read(tmp_path, capsys):
    folder = tmp_path / "labeled"
    folder.mkdir()
    _jsonl(folder / "a.ndjson", [GOOD])
    _jsonl(folder / "b.json", [{**GOOD, "id": "b"}])
    assert main(["validate", str(folder)]) == 0
    captured = capsys.readouterr()
    assert "1 valid pairs" in captured.out
    assert (
        f"warning: 1 file(s) in the input folders are not read: {folder / 'b.json'} (a folder reads its .jsonl or"
        in captured.err
    )
    assert str(folder / "b.json") in captured.err


def test_validate_command_exit_codes_and_counts(tmp_path, capsys):
    good = _jsonl(tmp_path / "good.jsonl", [GOOD])
    assert main(["validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert "1 valid pairs" in out
    assert "wont_send 1 (100.0%)" in out
    assert "Poland 1" in out
    bad = _jsonl(tmp_path / "bad.jsonl", [{**GOOD, "label": "x"}])
    assert main(["validate", str(good), str(bad)]) == 1
    assert f"{bad}:1: unknown label 'x'" in capsys.readouterr().err


def test_validate_notes_sentences_shared_by_groups_and_countries_the_text_never_names(tmp_path, capsys):
    path = _jsonl(
        tmp_path / "notes.jsonl",
        [
            GOOD,
            {**GOOD, "id": "a2", "group": "g2"},  # the same sentence in another group
            {**GOOD, "id": "a3", "country": "Romania", "label": "none"},  # named nowhere
            {**GOOD, "id": "a4", "text": "We will not go.", "context": "Romania spoke.", "country": "Romania"},
        ],
    )
    assert main(["validate", str(path)]) == 0  # notes, not problems
    out = capsys.readouterr().out
    assert f"note: 1 sentences repeated across groups (--top 0 lists all), e.g. {path}:2 (group 'g2')" in out
    assert "rows repeating an earlier row exactly" not in out  # in another group it is a repeated sentence
    assert f"note: 1 countries named in neither text nor context (--top 0 lists all), e.g. {path}:3: Romania" in out
    assert "more than one file" not in out
    other = _jsonl(tmp_path / "other.jsonl", [{**GOOD, "text": "Spain said no.", "country": "Spain"}])  # its own "g1"
    assert main(["validate", str(path), str(other)]) == 0
    out = capsys.readouterr().out
    assert "note: 1 groups named in more than one file (their rows make one article and one split unit)" in out
    assert f"e.g. group 'g1' in {path}, {other}" in out
    ungrouped = [{k: v for k, v in GOOD.items() if k != "group"}]  # the same sentence, no group named
    first, second = _jsonl(tmp_path / "u1.jsonl", ungrouped), _jsonl(tmp_path / "u2.jsonl", ungrouped)
    main(["validate", str(first), str(second)])
    assert "more than one file" not in capsys.readouterr().out
    assert main(["validate", str(path), "--top", "0"]) == 0
    assert f"note: 1 countries named in neither text nor context:\n  {path}:3: Romania is named" in (
        capsys.readouterr().out
    )


def test_the_same_sentence_may_take_other_labels_after_another_context(tmp_path):
    text = "Those include Australia."
    rows = [
        {"id": "w", "text": text, "country": "Australia", "label": "will_send", "context": "Some will send troops."},
        {"id": "n", "text": text, "country": "Australia", "label": "wont_send", "context": "Some ruled troops out."},
        {"id": "x", "text": text, "country": "Australia", "label": "none", "context": "Some ruled troops out."},
    ]
    path = tmp_path / "context.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs, problems = read_pairs([path])
    assert [p.id for p in pairs] == ["w", "n"]
    assert problems == [
        f"{path}:3: conflicting labels for (Australia, same text and context): 'none' here, 'wont_send' at {path}:2"
    ]


def test_whole_number_ids_are_read_as_text_and_other_types_refused(tmp_path):
    path = _jsonl(tmp_path / "ids.jsonl", [{**GOOD, "id": 7}, {**GOOD, "id": 1.5, "text": "Other."}])
    pairs, problems = read_pairs([path])
    assert [p.id for p in pairs] == ["7"]
    assert problems == [f"{path}:2: field 'id' must be a string, got float"]
