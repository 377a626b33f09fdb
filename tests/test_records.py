"""Reading user files row by row: the place each row starts, and the rows that cannot be read."""

from __future__ import annotations

import gzip
import json

import pytest

from model.records import (
    Article,
    BadRow,
    check_inputs,
    count_articles,
    csv_records,
    jsonl_records,
    read_articles,
)
from model.values import field_text


def test_jsonl_rows_keep_their_line_numbers_past_a_byte_order_mark_and_blank_lines(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + json.dumps({"text": "one"}).encode()
        + b"\n\n"
        + b'{"text": "two \\ud800"}\n'
        + b"[1, 2]\n"
        + json.dumps({"text": "five"}).encode()
        + b"\n"
    )
    records = list(jsonl_records(path))
    assert [location for location, _ in records] == [f"{path}:{n}" for n in (1, 3, 4, 5)]
    assert records[0][1] == {"text": "one"}
    assert records[1][1].startswith("field 'text' holds an unpaired surrogate escape")
    assert records[2][1] == "expected a JSON object, got list"
    assert records[3][1] == {"text": "five"}


def test_csv_rows_are_placed_on_the_line_they_start_and_keep_their_values_as_written(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(
        b"\xef\xbb\xbfid,text\n"  # line 1, with a byte-order mark
        b'007,"a quoted\ntext over two lines"\n'  # lines 2-3
        b"\n"  # line 4, blank
        b"8,plain\n"  # line 5
    )
    records = list(csv_records(path))
    assert records == [
        (f"{path}:2", {"id": "007", "text": "a quoted\ntext over two lines"}),
        (f"{path}:5", {"id": "8", "text": "plain"}),
    ]


def test_bad_csv_rows_are_reported_and_the_rows_after_them_still_read(tmp_path):
    path = tmp_path / "rows.csv"
    long_text = "Poland will send troops. " * 8000  # 200,000 characters, over csv's default limit
    path.write_bytes(
        b"id,text\n"
        b"a,caf\xe9\n"  # line 2: not UTF-8
        b'b,"open "quote,x\n'  # line 3: malformed
        b"c,one,two\n"  # line 4: a field too many
        b"d," + long_text.encode() + b"\n"  # line 5
    )
    records = list(csv_records(path))
    assert [location for location, _ in records] == [f"{path}:{n}" for n in (2, 3, 4, 5)]
    assert records[0][1] == (
        "field 'text' holds bytes that are not UTF-8 (character 3); not valid text; "
        "save the file as UTF-8 (Excel: CSV UTF-8)"
    )
    assert records[1][1].startswith("malformed CSV (")
    assert records[2][1] == "3 fields, but the header names 2"
    assert records[3][1] == {"id": "d", "text": long_text}


def test_count_articles_matches_what_is_read_for_every_input_type(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from model.records import count_articles, read_articles

    folder = tmp_path / "txt"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("Poland said no.")
    (folder / "sub" / "B.TXT").write_text("France said yes.")
    (folder / "notes.md").write_text("not an article")
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "one"}\n\n{"text": "two"}\n{broken\n')
    csv = tmp_path / "in.csv"
    csv.write_text('text\n"a quoted\nline break"\nplain\n')
    parquet = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist([{"text": "x"}, {"text": "y"}, {"text": "z"}]), parquet)
    inputs = [str(folder), str(jsonl), str(csv), str(parquet)]
    per_file = []
    assert count_articles(inputs, per_file.append) == len(list(read_articles(inputs))) == 10
    assert per_file == [1, 1, 3, 2, 3]  # one call per file, in reading order: the counting bar's steps


def test_parquet_reads_only_the_columns_it_needs_whatever_the_file_is_called(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "text": ["Poland will not send troops.", None],
            "key": [7, 8],
            "tags": pa.array([{"a": 1}, {}], type=pa.map_(pa.string(), pa.int64())),  # no datasets type
        }
    )
    odd = tmp_path / "corpus [2024].parquet"  # brackets: a glob pattern to some readers
    pq.write_table(table, odd, row_group_size=1)
    found = list(read_articles([odd], id_field="key"))
    assert found[0] == Article("7", "Poland will not send troops.", f"{odd}#0")
    assert found[1] == BadRow(f"{odd}#1", "empty text field 'text'")
    with pytest.raises(
        ValueError, match=r"no column 'body' for the article text \(its columns: 'text', 'key', 'tags'\)"
    ):
        list(read_articles([odd], text_field="body"))
    empty = tmp_path / "empty.parquet"
    pq.write_table(table.slice(0, 0), empty)
    assert list(read_articles([empty])) == []
    assert count_articles([odd, empty]) == 2


def _summary(found):
    return [(type(item).__name__, getattr(item, "text", None)) for item in found]


def test_gzip_jsonl_and_csv_read_like_the_plain_files_and_count_the_same(tmp_path):
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"id": "a", "text": "Poland said no."}\n\n{"id": "b", "text": "France said yes."}\n{broken\n')
    csv = tmp_path / "in.csv"
    csv.write_text('id,text\na,"Poland said\nno."\nb,France said yes.\n')
    for plain in (jsonl, csv):
        packed = plain.with_name(plain.name.replace("in.", "IN.") + ".GZ")
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        read = list(read_articles([packed], id_field="id"))
        expected = list(read_articles([plain], id_field="id"))
        assert _summary(read) == _summary(expected)
        # places are the lines of the text inside, under the compressed file's name
        assert [r.location for r in read] == [e.location.replace(str(plain), str(packed)) for e in expected]
        assert count_articles([packed]) == len(read)


def test_a_cut_off_gzip_file_keeps_the_rows_before_the_cut_and_says_where_it_stopped(tmp_path):
    texts = [f"Article {n}: Poland said no. " * 40 for n in range(400)]
    contents = {
        "cut.jsonl.gz": "".join(json.dumps({"text": text}) + "\n" for text in texts),
        "cut.csv.gz": "text\n" + "".join(text + "\n" for text in texts),
    }
    for name, content in contents.items():
        path = tmp_path / name
        whole = gzip.compress(content.encode())
        path.write_bytes(whole[: len(whole) // 2])
        *rows, last = read_articles([path])
        assert 0 < len(rows) < 400
        assert [row.text for row in rows] == texts[: len(rows)]
        assert isinstance(last, BadRow)
        assert "damaged or cut off after line" in last.reason
        assert count_articles([path]) == len(rows) + 1
    not_gzip = tmp_path / "plain.jsonl.gz"
    not_gzip.write_text('{"text": "Poland said no."}\n')
    [only] = read_articles([not_gzip])
    assert only.reason.startswith("not readable as gzip-compressed data")
    (tmp_path / "a.xml.gz").write_bytes(b"")
    with pytest.raises(ValueError, match="unsupported input '.gz'"):
        check_inputs([not_gzip, tmp_path / "a.xml.gz"])


def test_kept_fields_come_out_as_plain_json_values_whatever_parquet_type_they_had(tmp_path):
    import datetime
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "text": ["Poland will not send troops."],
            "published": pa.array([datetime.datetime(2025, 3, 1, 9, 30)], type=pa.timestamp("s")),
            "score": pa.array([decimal.Decimal("1.50")], type=pa.decimal128(4, 2)),
            "tags": [["defence", "nato"]],
            "ratio": [float("nan")],
            "raw": [b"wire"],
        }
    )
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    [article] = read_articles([path], keep_fields=["published", "score", "tags", "ratio", "raw"])
    assert article.fields == {
        "published": "2025-03-01T09:30:00",
        "score": "1.50",
        "tags": ["defence", "nato"],
        "ratio": None,
        "raw": "wire",
    }
    json.dumps(article.fields, allow_nan=False)  # every output format can hold them
    assert [field_text(value) for value in article.fields.values()] == [
        "2025-03-01T09:30:00",
        "1.50",
        '["defence", "nato"]',
        None,
        "wire",
    ]


def test_rows_that_cannot_be_written_or_read_are_bad_rows_not_crashes(tmp_path):
    path = tmp_path / "rows.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(
        '{"text": "one", "meta": {"author": "Ann \\ud83d"}}\n'  # a cut-off emoji escape, nested
        '{"text": "two", "meta": {"\\ud83d": 1}}\n'  # in a key
        + '{"text": "three", "meta": '
        + deep
        + "}\n"
        + '{"text": "four", "score": 1e999, "ratio": NaN}\n'
    )
    found = list(read_articles([path], keep_fields=["meta", "score", "ratio"]))
    assert [type(f).__name__ for f in found] == ["BadRow", "BadRow", "BadRow", "Article"]
    assert found[0].reason.startswith("field 'meta' holds an unpaired surrogate escape")
    assert found[1].reason.startswith("field 'meta' holds an unpaired surrogate escape")
    assert found[2].reason == "JSON nested too deeply to read"
    assert found[3].fields == {"meta": None, "score": None, "ratio": None}  # JSON has no infinity or NaN


def test_a_parquet_value_python_cannot_hold_becomes_arrows_text_for_its_column_only(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "text": ["Poland will not send troops.", "France will."],
            # a timestamp written in milliseconds into a seconds column lands past year 9999
            "published": pa.array([1_700_000_000_000, 1_700_000_000], type=pa.timestamp("s")),
            "day": pa.array([19_000, 19_001], type=pa.date32()),
        }
    )
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    first, second = read_articles([path], keep_fields=["published", "day"])
    assert first.fields["published"].startswith("<value out of range")
    assert second.fields["published"] == "2023-11-14T22:13:20"  # as in any other batch
    assert (first.fields["day"], second.fields["day"]) == ("2022-01-08", "2022-01-09")


def test_gzip_files_that_end_early_are_marked_so_and_a_joined_header_is_not_a_row(tmp_path):
    empty = tmp_path / "empty.jsonl.gz"
    empty.write_bytes(b"")
    [row] = read_articles([empty])
    assert row.cut_short
    assert row.reason == f"empty file: {empty} holds no gzip-compressed data"
    assert count_articles([empty]) == 1
    whole = gzip.compress(b'{"text": "Poland said no."}\n')
    corrupt = tmp_path / "crc.jsonl.gz"
    corrupt.write_bytes(whole[:-8] + bytes(4) + whole[-4:])  # the trailer's checksum, wrong
    *rows, last = read_articles([corrupt])
    assert last.cut_short
    assert "checksum does not match its data" in last.reason
    assert "may hold damaged text" in last.reason
    joined = tmp_path / "joined.csv.gz"
    joined.write_bytes(gzip.compress(b"id,text\na,Poland said no.\n") + gzip.compress(b"id,text\nb,France said yes.\n"))
    found = list(read_articles([joined], id_field="id"))
    assert [getattr(f, "id", None) for f in found] == ["a", None, "b"]
    assert found[1].reason == "the header again (files joined together?); not a row"
    assert not found[1].cut_short


def test_values_out_of_python_s_range_keep_their_stored_number_whatever_their_arrow_type(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    far = 1_700_000_000_000  # milliseconds written into a column of seconds
    table = pa.table(
        {
            "text": ["Poland will not send troops."],
            "zoned": pa.array([far], type=pa.timestamp("s", tz="UTC")),
            "listed": pa.array([[far]], type=pa.list_(pa.timestamp("s"))),
        }
    )
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    [article] = read_articles([path], keep_fields=["zoned", "listed"])
    # the number as stored (Parquet keeps seconds as milliseconds), not a wrong date
    assert article.fields["zoned"] == f"<value out of range: {far * 1000} (timestamp[ms, tz=UTC])>"
    assert article.fields["listed"] == "<list<element: timestamp[ms]> value out of range>"


def test_only_the_fields_read_are_checked_and_valid_json_python_cannot_hold_is_a_bad_row(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(
        '{"text": "Poland will not send troops.", "comments": [{"body": "great \\ud83d"}]}\n'
        '{"text": "France will.", "views": ' + "9" * 5000 + "}\n"
    )
    first, second = read_articles([path])
    assert first.text == "Poland will not send troops."  # an unread field's bad text is not this row's problem
    assert second.reason.startswith("unreadable JSON (Exceeds the limit")
    kept, _ = read_articles([path], keep_fields=["comments"])
    assert kept.reason.startswith("field 'comments' holds an unpaired surrogate escape")


def test_a_joined_header_is_known_by_its_byte_order_mark_too(tmp_path):
    part = "\ufeffdoc,text\na,Poland said no.\n".encode()
    joined = tmp_path / "joined.csv.gz"
    joined.write_bytes(gzip.compress(part) + gzip.compress(part.replace(b"a,", b"b,")))
    found = list(read_articles([joined], id_field="doc"))
    assert [getattr(f, "id", None) for f in found] == ["a", None, "b"]


def test_articles_from_a_csv_separated_by_semicolons(tmp_path):
    path = tmp_path / "export.csv"
    row = 'a1;"Poland will not send troops; France will.\r\nMore.";2025-03-01'
    path.write_bytes(f"\ufeffID;Text;Date\r\n{row}\r\n".encode())
    found = list(read_articles([path], text_field="Text", id_field="ID", keep_fields=["Date"]))
    assert [(a.id, a.text, a.fields) for a in found] == [
        ("a1", "Poland will not send troops; France will.\r\nMore.", {"Date": "2025-03-01"})
    ]


def test_ids_are_text_or_whole_numbers(tmp_path):
    path = tmp_path / "in.jsonl"
    rows = [{"id": i, "text": "Poland will not send troops."} for i in ("a", 7, True, {"x": 1}, ["l"], 2.5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    found = list(read_articles([path], id_field="id"))
    assert [a.id for a in found[:2]] == ["a", "7"]
    assert [b.reason for b in found[2:]] == [
        f"id field 'id' is {kind}, not text or a whole number" for kind in ("bool", "dict", "list", "float")
    ]


def test_a_quote_never_closed_stops_the_file_as_cut_short_not_one_bad_row(tmp_path):
    path = tmp_path / "rows.tsv"
    rows = ["id\ttext", "1\tPoland will send troops.", '2\t"Quoted, said the minister. France agreed.']
    path.write_text("\n".join(rows + [f"{n}\tSpain said no {n}." for n in range(3, 11)]) + "\n")
    read = list(read_articles([path], id_field="id"))
    assert [a.id for a in read if isinstance(a, Article)] == ["1"]
    bad = read[-1]
    assert isinstance(bad, BadRow)
    assert bad.cut_short  # so `stance score` fails at the end, naming the file: 8 rows are missing
    assert bad.location == f"{path}:3"
    assert "never closed, so lines 3 to 11 read as one field" in bad.reason


def test_a_utf16_file_is_named_as_such_and_joined_jsonl_files_keep_their_first_rows(tmp_path):
    utf16 = tmp_path / "excel.csv"
    utf16.write_bytes("id,text\n1,Poland will send troops.\n".encode("utf-16"))
    with pytest.raises(ValueError, match="excel.csv: UTF-16 text"):
        check_inputs([utf16])
    utf32 = tmp_path / "wide.jsonl"
    utf32.write_bytes('{"text": "Poland will send troops."}\n'.encode("utf-32"))
    with pytest.raises(ValueError, match="wide.jsonl: UTF-32 text"):
        check_inputs([utf32])
    joined = tmp_path / "joined.jsonl"  # `cat a.jsonl b.jsonl`, each written with a byte-order mark
    one = '\ufeff{"text": "Poland will send troops."}\n'
    joined.write_text(one + one.replace("Poland", "Spain"), encoding="utf-8")
    assert [a.text for a in read_articles([joined])] == ["Poland will send troops.", "Spain will send troops."]


def test_gzip_compressed_text_articles_read_like_plain_ones(tmp_path):
    text = "Poland will not send troops.\r\nSpain will.\n"
    (tmp_path / "a.txt").write_bytes(text.encode())
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(text.encode())[:-10])  # cut off in a download
    read = list(read_articles([tmp_path]))
    assert [a.text for a in read[:2]] == [text, text]  # as stored: offsets index the text inside
    assert read[1].id == str(tmp_path / "b.txt.gz")
    assert isinstance(read[2], BadRow)
    assert read[2].cut_short
    assert count_articles([tmp_path]) == 3


def test_a_json_array_or_utf16_file_named_jsonl_is_one_problem_saying_what_it_is(tmp_path):
    rows = [{"text": f"Article {i} names France."} for i in range(40)]
    pretty, one_line, wide = tmp_path / "pretty.jsonl", tmp_path / "line.jsonl", tmp_path / "wide.jsonl"
    pretty.write_text(json.dumps(rows, indent=2))  # what a "save as JSON" gives: one problem a line before
    one_line.write_text(json.dumps(rows) + "\n")
    wide.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-16")
    per_line = tmp_path / "per_line.jsonl"  # an array written one object a line
    per_line.write_text("[" + ",\n".join(json.dumps(r) for r in rows) + "]\n")
    for path, says in (
        (pretty, "one JSON array, not JSON Lines"),
        (one_line, "one JSON array"),
        (per_line, "one JSON array"),
        (wide, "UTF-16"),
    ):
        found = list(jsonl_records(path))
        assert len(found) == 1, found[:3]
        assert found[0][0] == f"{path}:1"
        assert says in found[0][1]
    for lines in ([rows[0], [1, 2], rows[1]], [[1, 2], rows[0], rows[1]]):  # an array row is its line's problem
        other = tmp_path / "other.jsonl"
        other.write_text("".join(json.dumps(line) + "\n" for line in lines))
        assert [row if isinstance(row, str) else row["text"] for _, row in jsonl_records(other)] == [
            row["text"] if isinstance(row, dict) else "expected a JSON object, got list" for row in lines
        ]


def test_an_id_column_no_id_field_names_is_found_in_the_first_table(tmp_path):
    from model.records import unused_id_column

    rows, texts = tmp_path / "rows.jsonl", tmp_path / "a.txt"
    rows.write_text(json.dumps({"id": "a1", "text": "France said no."}) + "\n")
    texts.write_text("France said no.")
    table = tmp_path / "rows.csv"
    table.write_text("doc,text\nd1,France said no.\n")
    assert unused_id_column([texts, rows], "") == rows  # the API reads "id"; batch scoring only when told
    assert unused_id_column([rows], "id") is None
    assert unused_id_column([table], "") is None
    assert unused_id_column([texts], "") is None
