"""Batch scoring: every input format, both outputs, ids, resume, bad rows, and the same
answers as the service for the same text."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from cli.main import main
from model import batch
from model.batch import InputError, ScoreSettings, score_corpus
from model.pairs import refers_back
from model.records import ARTICLE_SUFFIXES, input_files
from tests.conftest import SEEDS


@pytest.fixture
def seed_folder(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for path in SEEDS.glob("*.txt"):
        shutil.copy(path, folder / path.name)
    return folder


def _rows(path):
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text().splitlines()]


def _key(row):
    return (row["id"], row["sentence"], row["iso3"])


def test_folder_to_jsonl_matches_the_service_for_the_same_text(tiny_predictor, tiny_model_home, seed_folder, tmp_path):
    from service.service import TroopStance

    out, summary = tmp_path / "pairs.jsonl", tmp_path / "summary.jsonl"
    report = score_corpus(tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(chunk_articles=3))
    assert report.articles == 4
    assert not report.skipped
    rows = _rows(out)
    assert report.pairs == len(rows)
    service = TroopStance()
    for path in sorted(seed_folder.glob("*.txt")):
        text = path.read_text()
        api = asyncio.run(service.score_article(text=text)).model_dump()
        expected = {(str(path), s["index"], p["iso3"]): p for s in api["sentences"] for p in s["pairs"]}
        mine = {_key(r): r for r in rows if r["id"] == str(path)}
        assert mine.keys() == expected.keys()
        for key, row in mine.items():
            assert row["label"] == expected[key]["label"]
            assert row["confidence"] == pytest.approx(expected[key]["confidence"], abs=1e-4)
            sentence = api["sentences"][key[1]]
            assert (row["start"], row["end"]) == (sentence["start"], sentence["end"])
            assert row["text"] == text[row["start"] : row["end"]] == sentence["text"]
        countries = {(r["iso3"], r["label"]) for r in _rows(summary) if r["id"] == str(path)}
        assert countries == {(c["iso3"], c["label"]) for c in api["countries"]}
    assert not (tmp_path / "pairs.jsonl.parts").exists()


def test_jsonl_csv_and_parquet_inputs_carry_ids_and_give_the_same_rows(tiny_predictor, tmp_path):
    articles = [
        {"doc": f"d{i}", "body": (SEEDS / name).read_text()}
        for i, name in enumerate(sorted(p.name for p in SEEDS.glob("*.txt")))
    ]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps(a) + "\n" for a in articles))
    csv = tmp_path / "in.csv"
    pacsv.write_csv(pa.Table.from_pylist(articles), csv)
    parquet = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(articles), parquet)
    packed = tmp_path / "in.csv.gz"
    packed.write_bytes(gzip.compress(csv.read_bytes()))
    settings = ScoreSettings(text_field="body", id_field="doc")
    results = {}
    for source in (jsonl, csv, parquet, packed):
        out = tmp_path / f"{source.name}.parquet"
        score_corpus(tiny_predictor, [str(source)], out, tmp_path / f"{source.name}.sum.jsonl", settings)
        results["".join(source.suffixes)] = sorted((_key(r), r["label"]) for r in _rows(out))
    assert results[".jsonl"] == results[".csv"] == results[".parquet"] == results[".csv.gz"]
    assert {key[0] for key, _ in results[".jsonl"]} == {"d0", "d1", "d2", "d3"}


def test_a_folder_of_shards_reads_every_kind_in_order_and_skips_marker_files(tiny_predictor, tmp_path):
    from model.records import count_articles

    texts = [(SEEDS / name).read_text() for name in sorted(p.name for p in SEEDS.glob("*.txt"))]
    shards = tmp_path / "shards"
    (shards / "2026-12").mkdir(parents=True)
    with gzip.open(shards / "part-0.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"doc": "a", "body": texts[0]}) + "\n")
    pq.write_table(pa.Table.from_pylist([{"doc": "b", "body": texts[1]}]), shards / "part-1.parquet")
    pacsv.write_csv(pa.Table.from_pylist([{"doc": "c", "body": texts[2]}]), shards / "2026-12" / "part-2.csv")
    (shards / "_SUCCESS").write_text("")
    (shards / "_metadata.parquet").write_bytes(b"not parquet")  # Spark's summary file: skipped, not read
    (shards / ".part-1.parquet.crc").write_bytes(b"\0")
    (shards / "README.md").write_text("Poland will send troops.")
    settings = ScoreSettings(text_field="body", id_field="doc")
    out, summary = tmp_path / "out.jsonl", tmp_path / "sum.jsonl"
    report = score_corpus(tiny_predictor, [str(shards)], out, summary, settings)
    assert report.articles == 3
    assert not report.skipped
    assert list(dict.fromkeys(row["id"] for row in _rows(summary))) == ["c", "a", "b"]  # sorted: the subfolder first
    assert count_articles([shards]) == 3
    one_by_one = tmp_path / "single.jsonl"
    files = [shards / "2026-12" / "part-2.csv", shards / "part-0.jsonl.gz", shards / "part-1.parquet"]
    score_corpus(tiny_predictor, [str(f) for f in files], one_by_one, tmp_path / "single.sum.jsonl", settings)
    assert sorted((_key(r), r["label"]) for r in _rows(out)) == sorted((_key(r), r["label"]) for r in _rows(one_by_one))
    with pytest.raises(ValueError, match="part-0.jsonl.gz: given twice"):
        score_corpus(
            tiny_predictor,
            [str(shards), str(shards / "part-0.jsonl.gz")],
            tmp_path / "x.jsonl",
            tmp_path / "x.sum.jsonl",
            settings,
        )


def test_an_output_inside_an_input_folder_is_refused(tiny_predictor, seed_folder, tmp_path):
    elsewhere = tmp_path / "s.jsonl"
    for out, summary in [(seed_folder / "out.jsonl", elsewhere), (tmp_path / "o.jsonl", seed_folder / "sub" / "s.csv")]:
        with pytest.raises(ValueError, match=r"is inside the input folder .*read as articles.*write it elsewhere"):
            score_corpus(tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings())
    assert sorted(p.suffix for p in seed_folder.iterdir()) == [".txt"] * 4  # nothing written there
    linked = seed_folder / "out.jsonl"
    linked.symlink_to(tmp_path / "real.jsonl")  # its parts folder would still be made in the input folder
    with pytest.raises(ValueError, match=r"out.jsonl.parts is inside the input folder"):
        score_corpus(tiny_predictor, [str(seed_folder)], linked, elsewhere, ScoreSettings())


def test_a_resume_refuses_a_folder_whose_shards_changed(tiny_predictor, tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "a.jsonl").write_text(json.dumps({"text": "Poland will not send troops."}) + "\n")
    before = batch.input_fingerprint(input_files([shards], ARTICLE_SUFFIXES))
    (shards / "b.jsonl").write_text(json.dumps({"text": "France will send troops."}) + "\n")
    assert batch.input_fingerprint(input_files([shards], ARTICLE_SUFFIXES)) != before


def test_resume_after_an_interruption_scores_each_article_once(tiny_predictor, seed_folder, tmp_path, monkeypatch):
    clean = tmp_path / "clean.jsonl"
    score_corpus(
        tiny_predictor, [str(seed_folder)], clean, tmp_path / "clean.sum.jsonl", ScoreSettings(chunk_articles=1)
    )
    out, summary = tmp_path / "out.jsonl", tmp_path / "out.sum.jsonl"
    real = batch._score_chunk
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "_score_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        score_corpus(tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(chunk_articles=1))
    assert not out.exists()
    assert not summary.exists()
    with pytest.raises(FileExistsError, match="--resume"):
        score_corpus(tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(chunk_articles=1))
    monkeypatch.setattr(batch, "_score_chunk", real)
    scored = []
    monkeypatch.setattr(
        batch, "_score_chunk", lambda p, chunk, *a, **k: scored.extend(x.id for x in chunk) or real(p, chunk, *a, **k)
    )
    record = batch.parts_folder(out) / batch.RUN_FILE  # as an earlier version kept the inputs: as typed
    record.write_text(json.dumps({**json.loads(record.read_text()), "inputs": [str(seed_folder) + "/./"]}))
    spelt_otherwise = str(seed_folder) + "/"  # as tab completion writes it: the same folder, the same rows
    report = score_corpus(tiny_predictor, [spelt_otherwise], out, summary, ScoreSettings(chunk_articles=1, resume=True))
    assert report.resumed == 2
    assert len(scored) == 2
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, _rows(clean)))


def test_bad_rows_are_reported_with_their_location_and_skipped_or_refused(tiny_predictor, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b"".join(
            [
                json.dumps({"text": "Poland will not send troops."}).encode() + b"\n",
                b'{"text": "caf\xe9 in Warsaw"}\n',
                json.dumps({"title": "no text here"}).encode() + b"\n",
                b"{broken\n",
                json.dumps({"text": "The US will send weapons."}).encode() + b"\n",
                json.dumps({"text": 3}).encode() + b"\n",
            ]
        )
    )
    out = tmp_path / "out.jsonl"
    report = score_corpus(tiny_predictor, [str(source)], out, tmp_path / "s.jsonl", ScoreSettings())
    assert [(b.location, b.reason.split(" (")[0]) for b in report.skipped] == [
        (f"{source}:2", "not UTF-8 text"),
        (f"{source}:3", "missing field 'text'"),
        (f"{source}:4", "invalid JSON"),
        (f"{source}:6", "text field 'text' is int, not text: 3"),
    ]
    assert {r["id"] for r in _rows(out)} == {f"{source}:1", f"{source}:5"}
    failed = tmp_path / "failed.jsonl"
    with pytest.raises(InputError, match=f"{source}:2: not UTF-8"):
        score_corpus(tiny_predictor, [str(source)], failed, tmp_path / "f.jsonl", ScoreSettings(on_error="fail"))
    assert not failed.exists()


def test_score_command_prints_totals_and_writes_both_files(tiny_model_home, seed_folder, tmp_path, capsys, monkeypatch):
    real, chunks = batch._score_chunk, []
    monkeypatch.setattr(
        batch,
        "_score_chunk",
        lambda predictor, chunk, *rest: chunks.append(len(chunk)) or real(predictor, chunk, *rest),
    )
    out = tmp_path / "scores.parquet"
    args = ["score", str(seed_folder), "--output", str(out), "--quiet", "--device", "cpu", "--chunk-articles", "3"]
    assert main(args) == 0
    assert chunks == [3, 1]
    printed = capsys.readouterr().out
    assert "scored 4 articles" in printed
    assert "0 skipped" in printed
    assert out.exists()
    assert (tmp_path / "scores.summary.parquet").exists()
    assert main(["score", str(tmp_path / "missing.jsonl"), "--output", str(out), "--quiet"]) == 2
    source = _jsonl_file(tmp_path / "in.jsonl", [{"text": "Poland will not send troops."}])
    assert main(["score", str(source), "--output", str(source), "--quiet"]) == 2
    assert "is also an input" in capsys.readouterr().err


def test_ctrl_c_during_score_says_what_was_kept_and_resume_finishes(
    tiny_model_home, seed_folder, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "scores.jsonl"
    args = ["score", str(seed_folder), "--output", str(out), "--quiet", "--device", "cpu"]
    real = batch._score_chunk

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_score_chunk", interrupted)
    assert main(args) == 130
    stderr = capsys.readouterr().err
    assert "stance score: interrupted" in stderr
    assert "--resume" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()
    monkeypatch.setattr(batch, "_score_chunk", real)
    assert main([*args, "--resume"]) == 0
    assert "scored 4 articles" in capsys.readouterr().out
    assert {row["id"] for row in _rows(out)} == {str(path) for path in seed_folder.glob("*.txt")}
    # A finished run is not an interrupted one: --resume on it would score everything again.
    before = out.read_bytes()
    assert main([*args, "--resume"]) == 2
    assert "--resume: there is no interrupted run" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_a_resume_that_differs_is_refused_before_the_model_loads(
    tiny_model_home, seed_folder, tmp_path, capsys, monkeypatch
):
    from model import store

    out = tmp_path / "scores.jsonl"
    args = ["score", str(seed_folder), "--output", str(out), "--quiet", "--chunk-articles", "1"]
    _interrupt_at_second_chunk(monkeypatch, args)
    capsys.readouterr()

    def loaded(*a, **k):
        raise AssertionError("the model loaded before the resume was checked")

    monkeypatch.setattr(store, "load_registered", loaded)
    assert main([*args, "--resume", "--summary", str(tmp_path / "other.jsonl")]) == 2
    assert "--resume: summary:" in capsys.readouterr().err


def test_ctrl_c_before_any_part_says_nothing_was_written(tiny_model_home, seed_folder, tmp_path, capsys, monkeypatch):
    from model import store

    def interrupted(*a, **k):
        raise KeyboardInterrupt  # while the model loads

    monkeypatch.setattr(store, "load_registered", interrupted)
    out = tmp_path / "scores.jsonl"
    assert main(["score", str(seed_folder), "--output", str(out), "--quiet"]) == 130
    assert "stance score: interrupted; nothing was written" in capsys.readouterr().err


def _jsonl_file(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_an_output_that_would_overwrite_an_input_or_the_other_output_is_refused(tiny_predictor, tmp_path):
    source = _jsonl_file(tmp_path / "in.jsonl", [{"text": "Poland will not send troops."}])
    before = source.read_bytes()
    with pytest.raises(ValueError, match="is also an input"):
        score_corpus(tiny_predictor, [str(source)], source, tmp_path / "s.jsonl", ScoreSettings())
    with pytest.raises(ValueError, match="would overwrite the output"):
        score_corpus(tiny_predictor, [str(source)], tmp_path / "o.jsonl", tmp_path / "o.jsonl", ScoreSettings())
    assert source.read_bytes() == before
    assert not (tmp_path / "o.jsonl").exists()


def test_ids_are_unique_across_inputs_and_a_repeated_id_is_a_bad_row(tiny_predictor, tmp_path):
    for folder, text in (("a", "Poland will not send troops."), ("b", "France is ready to deploy.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text(text)
    out = tmp_path / "out.jsonl"
    score_corpus(tiny_predictor, [str(tmp_path / "a"), str(tmp_path / "b")], out, tmp_path / "s.jsonl", ScoreSettings())
    assert {(r["id"], r["iso3"]) for r in _rows(out)} == {
        (str(tmp_path / "a" / "x.txt"), "POL"),
        (str(tmp_path / "b" / "x.txt"), "FRA"),
    }
    first = _jsonl_file(tmp_path / "jan.jsonl", [{"doc": 1, "text": "Poland will not send troops."}])
    second = _jsonl_file(tmp_path / "feb.jsonl", [{"doc": 1, "text": "France is ready to deploy."}])
    out = tmp_path / "ids.jsonl"
    report = score_corpus(
        tiny_predictor, [str(first), str(second)], out, tmp_path / "ids.s.jsonl", ScoreSettings(id_field="doc")
    )
    assert [(b.location, b.reason) for b in report.skipped] == [
        (f"{second}:1", f"duplicate id '1' (first at {first}:1); ids must be unique")
    ]
    assert {r["iso3"] for r in _rows(out)} == {"POL"}


def _interrupt_after(monkeypatch, chunks):
    real = batch._score_chunk
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > chunks:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "_score_chunk", interrupted)
    return lambda: monkeypatch.setattr(batch, "_score_chunk", real)


def _interrupted_run(predictor, inputs, out, summary, monkeypatch, settings, chunks=1):
    """Score until ``chunks`` parts are written, then stop as Ctrl-C would."""
    restore = _interrupt_after(monkeypatch, chunks)
    with pytest.raises(KeyboardInterrupt):
        score_corpus(predictor, inputs, out, summary, settings)
    restore()


def test_a_resume_never_reuses_a_part_number_and_refuses_a_part_with_a_piece_missing(
    tiny_predictor, seed_folder, tmp_path, monkeypatch
):
    out, summary = tmp_path / "out.jsonl", tmp_path / "out.summary.jsonl"
    settings = ScoreSettings(chunk_articles=1)
    _interrupted_run(tiny_predictor, [str(seed_folder)], out, summary, monkeypatch, settings, chunks=3)
    parts = batch.parts_folder(out)
    (parts / "done-000001.json").unlink()  # a gap: part 1's articles are to be scored again
    report = score_corpus(
        tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(chunk_articles=1, resume=True)
    )
    assert report.resumed == 2
    assert report.articles == 2
    ids = [row["id"] for row in _rows(summary)]
    assert set(ids) == {str(path) for path in seed_folder.glob("*.txt")}  # every article, none overwritten
    assert len({(row["id"], row["iso3"]) for row in _rows(summary)}) == len(ids)  # and once

    out2, summary2 = tmp_path / "two.jsonl", tmp_path / "two.summary.jsonl"
    _interrupted_run(tiny_predictor, [str(seed_folder)], out2, summary2, monkeypatch, settings, chunks=2)
    (batch.parts_folder(out2) / "pairs-000002.jsonl").unlink()
    with pytest.raises(ValueError, match=r"is damaged: pairs-000002.jsonl is missing"):
        score_corpus(tiny_predictor, [str(seed_folder)], out2, summary2, ScoreSettings(chunk_articles=1, resume=True))
    assert not out2.exists()


def test_a_finished_run_cut_short_while_its_parts_are_deleted_leaves_nothing_to_resume(
    tiny_predictor, seed_folder, tmp_path, monkeypatch
):
    out, summary = tmp_path / "out.jsonl", tmp_path / "out.summary.jsonl"
    real = batch.shutil.rmtree

    def cut_short(path, *args, **kwargs):
        if str(path).endswith(".removing") and Path(path).exists():
            next(Path(path).glob("done-*.json")).unlink()  # some files gone, then the power fails
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(batch.shutil, "rmtree", cut_short)
    with pytest.raises(KeyboardInterrupt):
        score_corpus(tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(chunk_articles=1))
    monkeypatch.setattr(batch.shutil, "rmtree", real)
    assert len({row["id"] for row in _rows(summary)}) == 4  # the outputs are whole
    assert not batch.parts_folder(out).exists()  # so a resume has nothing to take apart
    with pytest.raises(FileExistsError, match="there is no interrupted run"):
        score_corpus(tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(resume=True))
    score_corpus(tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(overwrite=True))
    assert not list(tmp_path.glob("*.removing"))  # the leftover is cleared by the next run


def test_resume_refuses_a_run_that_differs_from_the_interrupted_one(tiny_predictor, seed_folder, tmp_path, monkeypatch):
    out, summary = tmp_path / "out.jsonl", tmp_path / "out.summary.jsonl"
    _interrupted_run(tiny_predictor, [str(seed_folder)], out, summary, monkeypatch, ScoreSettings(chunk_articles=1))
    other = _jsonl_file(tmp_path / "feb.jsonl", [{"text": "France is ready to deploy."}])
    resume = ScoreSettings(chunk_articles=1, resume=True)
    with pytest.raises(ValueError, match="--resume: inputs: "):
        score_corpus(tiny_predictor, [str(other)], out, summary, resume)
    with pytest.raises(ValueError, match="--resume: summary: "):
        score_corpus(tiny_predictor, [str(seed_folder)], out, tmp_path / "out.summary.parquet", resume)
    with pytest.raises(ValueError, match="--resume: text field: "):
        score_corpus(tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(text_field="body", resume=True))
    report = score_corpus(tiny_predictor, [str(seed_folder)], out, summary, resume)
    assert (report.resumed, report.articles) == (1, 3)
    assert {r["id"] for r in _rows(out)} == {str(p) for p in seed_folder.glob("*.txt")}


def test_when_every_row_is_skipped_nothing_is_written_and_the_run_fails(tiny_predictor, tmp_path):
    rows = [{"text": 7}, *[{"body": "Poland will not send troops."}] * 2]  # the first row names a text field
    source = _jsonl_file(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match=f"all 3 rows were skipped .the first: {source}:1: "):
        score_corpus(tiny_predictor, [str(source)], out, tmp_path / "s.jsonl", ScoreSettings())
    assert not out.exists()
    assert not (tmp_path / "out.jsonl.parts").exists()


def test_a_json_lines_file_whose_first_row_lacks_the_text_is_read_and_that_row_skipped(tiny_predictor, tmp_path):
    """A scraper's export often opens with a row for a page that failed, or a note."""
    rows = [{"id": "meta", "note": "export v2"}] + [{"id": f"a{i}", "text": "Poland said no."} for i in range(3)]
    source = _jsonl_file(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    report = score_corpus(tiny_predictor, [str(source)], out, tmp_path / "s.jsonl", ScoreSettings(id_field="id"))
    assert (report.articles, report.skipped_rows) == (3, 1)
    assert report.skipped[0].location == f"{source}:1"


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
def test_a_text_or_id_field_the_input_lacks_is_refused_before_anything_is_read(tiny_predictor, tmp_path, kind):
    rows = [{"doc_id": "a", "body": "Poland will not send troops."}]
    source = tmp_path / f"in.{kind}"
    if kind == "jsonl":
        _jsonl_file(source, rows)
    elif kind == "csv":
        source.write_text("doc_id,body\na,Poland will not send troops.\n")
    else:
        pq.write_table(pa.Table.from_pylist(rows), source)
    out = tmp_path / "out.jsonl"
    where = "in its first 20 rows .their fields" if kind == "jsonl" else ".its columns"
    with pytest.raises(ValueError, match=f"no column 'text' for the article text {where}: 'doc_id', 'body'"):
        score_corpus(tiny_predictor, [str(source)], out, tmp_path / "s.jsonl", ScoreSettings())
    with pytest.raises(
        ValueError, match=f"no column 'id' for the ids {where}: 'doc_id', 'body'.; name it with --id-field"
    ):
        score_corpus(
            tiny_predictor, [str(source)], out, tmp_path / "s.jsonl", ScoreSettings(text_field="body", id_field="id")
        )
    assert not out.exists()
    assert not (tmp_path / "out.jsonl.parts").exists()


def test_parquet_outputs_keep_their_columns_when_no_article_names_a_country(tiny_predictor, tmp_path):
    source = _jsonl_file(tmp_path / "in.jsonl", [{"text": "Nobody said anything about troops today."}])
    out, summary = tmp_path / "out.parquet", tmp_path / "out.summary.parquet"
    report = score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings())
    assert (report.articles, report.pairs) == (1, 0)
    assert pq.read_table(out).schema == batch.PAIR_SCHEMA
    assert pq.read_table(summary).schema == batch.SUMMARY_SCHEMA
    assert pq.read_table(out).num_rows == 0


def test_offsets_index_a_text_file_as_stored_with_its_line_endings(tiny_predictor, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    raw = "Headline\r\nPoland will not send troops.\r\nFrance is ready.\r\n"
    (folder / "crlf.txt").write_bytes(raw.encode())
    out = tmp_path / "out.jsonl"
    score_corpus(tiny_predictor, [str(folder)], out, tmp_path / "s.jsonl", ScoreSettings())
    spans = {r["iso3"]: raw[r["start"] : r["end"]] for r in _rows(out)}
    assert spans == {"POL": "Poland will not send troops.", "FRA": "France is ready."}


def test_a_failed_run_with_nothing_scored_leaves_nothing_in_the_way_of_the_corrected_rerun(tiny_predictor, tmp_path):
    bad = _jsonl_file(tmp_path / "bad.jsonl", [{"text": "   "}])
    out, summary = tmp_path / "out.jsonl", tmp_path / "s.jsonl"
    with pytest.raises(InputError, match=f"{bad}:1: empty text"):
        score_corpus(tiny_predictor, [str(bad)], out, summary, ScoreSettings(on_error="fail"))
    with pytest.raises(FileNotFoundError, match="nope.jsonl: no such file"):
        score_corpus(tiny_predictor, [str(tmp_path / "nope.jsonl")], out, summary, ScoreSettings())
    assert not batch.parts_folder(out).exists()
    good = _jsonl_file(tmp_path / "good.jsonl", [{"text": "Poland will not send troops."}])
    assert score_corpus(tiny_predictor, [str(good)], out, summary, ScoreSettings()).articles == 1


def test_resume_refuses_inputs_edited_since_the_interruption(tiny_predictor, tmp_path, monkeypatch):
    rows = [{"text": f"Poland will not send troops, said minister {i}."} for i in range(3)]
    source = _jsonl_file(tmp_path / "in.jsonl", rows)
    out, summary = tmp_path / "out.jsonl", tmp_path / "s.jsonl"
    _interrupted_run(tiny_predictor, [str(source)], out, summary, monkeypatch, ScoreSettings(chunk_articles=1))
    _jsonl_file(source, [{"text": "Germany will send troops to Lithuania."}, *rows[1:]])  # row 1 rewritten
    with pytest.raises(ValueError, match="an input changed since the interrupted run"):
        score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings(chunk_articles=1, resume=True))
    assert not out.exists()


def test_rows_and_the_report_name_the_model_version_that_scored_them(tiny_predictor, tmp_path, monkeypatch):
    monkeypatch.setattr(tiny_predictor, "tag", "troop-stance:abc123")
    source = _jsonl_file(tmp_path / "in.jsonl", [{"text": "Poland will not send troops."}])
    out, summary = tmp_path / "out.parquet", tmp_path / "s.jsonl"
    report = score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings())
    assert "with troop-stance:abc123" in report.line()
    assert {r["model"] for r in _rows(out)} == {"troop-stance:abc123"}
    assert {r["model"] for r in _rows(summary)} == {"troop-stance:abc123"}


def test_single_text_files_any_case_of_txt_and_folders_without_one(tiny_predictor, tmp_path, capsys):
    folder = tmp_path / "shouting"
    folder.mkdir()
    (folder / "A.TXT").write_text("Poland will not send troops.")
    single = tmp_path / "one.txt"
    single.write_text("France is ready to deploy.")
    out = tmp_path / "out.jsonl"
    score_corpus(tiny_predictor, [str(folder), str(single)], out, tmp_path / "s.jsonl", ScoreSettings())
    assert {(r["id"], r["iso3"]) for r in _rows(out)} == {(str(folder / "A.TXT"), "POL"), (str(single), "FRA")}
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("Poland will not send troops.")
    with pytest.raises(ValueError, match=r"empty: a folder with no \.txt, \.jsonl, \.csv or \.parquet files"):
        score_corpus(tiny_predictor, [str(empty)], tmp_path / "e.jsonl", tmp_path / "e.s.jsonl", ScoreSettings())
    with pytest.raises(SystemExit) as refused:
        main(["score", str(single), "--output", str(tmp_path / "z.jsonl"), "--batch-size", "0"])
    assert refused.value.code == 2
    assert "--batch-size: must be a whole number from 1, got '0'" in capsys.readouterr().err


def test_an_existing_output_is_kept_unless_overwrite_is_asked_for(tiny_predictor, tmp_path):
    source = _jsonl_file(tmp_path / "in.jsonl", [{"text": "Poland will not send troops."}])
    out, summary = tmp_path / "out.jsonl", tmp_path / "s.jsonl"
    score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings())
    before = out.read_bytes()
    _jsonl_file(source, [{"text": "France is ready to deploy."}])
    with pytest.raises(FileExistsError, match=f"{out} exists: pass --overwrite"):
        score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings())
    assert out.read_bytes() == before
    score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings(overwrite=True))
    assert {r["iso3"] for r in _rows(out)} == {"FRA"}


def test_an_output_folder_is_refused_before_scoring(tiny_predictor, tmp_path):
    source = _jsonl_file(tmp_path / "in.jsonl", [{"text": "Poland will not send troops."}])
    (tmp_path / "out.jsonl").mkdir()
    with pytest.raises(IsADirectoryError, match="out.jsonl is a folder"):
        score_corpus(
            tiny_predictor, [str(source)], tmp_path / "out.jsonl", tmp_path / "s.jsonl", ScoreSettings(overwrite=True)
        )
    assert not batch.parts_folder(tmp_path / "out.jsonl").exists()


def test_neither_output_appears_unless_both_are_whole(tiny_predictor, tmp_path, monkeypatch):
    source = _jsonl_file(tmp_path / "in.jsonl", [{"text": "Poland will not send troops."}])
    out, summary = tmp_path / "out.jsonl", tmp_path / "out.summary.parquet"
    real = batch._concat_parquet

    def failing(pieces, destination, schema):
        raise OSError("disk full")

    monkeypatch.setattr(batch, "_concat_parquet", failing)  # the summary, assembled after the pairs
    with pytest.raises(OSError, match="disk full"):
        score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl.parts"]  # no output, no .tmp
    monkeypatch.setattr(batch, "_concat_parquet", real)
    report = score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings(resume=True))
    assert report.resumed == 1
    assert out.exists()
    assert summary.exists()


def test_a_write_failure_in_score_is_one_line_that_says_the_parts_are_kept(
    tiny_model_home, seed_folder, tmp_path, capsys, monkeypatch
):
    def failing(pieces, destination, schema):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(batch, "_concat_parquet", failing)
    out = tmp_path / "scores.parquet"
    assert main(["score", str(seed_folder), "--output", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"stance score: error: [Errno 28] writing {out}: No space left on device (partial results kept" in err
    assert not out.exists()


def test_progress_counts_every_article_skipped_and_resumed_ones_included(tiny_predictor, tmp_path, monkeypatch):
    rows = [{"text": f"Poland will not send troops, said minister {i}."} for i in range(4)]
    source = _jsonl_file(tmp_path / "in.jsonl", [*rows[:2], {"body": "no text"}, *rows[2:]])
    out, summary = tmp_path / "out.jsonl", tmp_path / "s.jsonl"
    _interrupted_run(tiny_predictor, [str(source)], out, summary, monkeypatch, ScoreSettings(chunk_articles=2))
    counted, told, events = [], [], []

    def progress(articles, pairs, resumed=False, restart=False, skipped=None):
        counted.append(articles)
        told.extend([skipped.location] if skipped else [])
        events.append("resumed" if resumed else "restart" if restart else "skipped" if skipped else "scored")

    score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings(chunk_articles=2, resume=True), progress)
    assert sum(counted) == 5  # 2 resumed, 1 skipped, 2 scored: what count_articles gives as the total
    assert told == [f"{source}:3"]  # a bad row is told as it is met, not only in the report at the end
    # The clocks restart once the done articles are read past, before the first new one is scored.
    assert events == ["resumed", "skipped", "restart", "scored"]


def test_csv_outputs_hold_the_same_rows_as_jsonl_with_one_header(tiny_predictor, seed_folder, tmp_path):
    import csv

    settings = ScoreSettings(chunk_articles=2)  # two parts, so the header must not repeat
    score_corpus(tiny_predictor, [str(seed_folder)], tmp_path / "p.jsonl", tmp_path / "s.jsonl", settings)
    score_corpus(tiny_predictor, [str(seed_folder)], tmp_path / "p.csv", tmp_path / "s.csv", settings)
    for name, schema in (("p", batch.PAIR_SCHEMA), ("s", batch.SUMMARY_SCHEMA)):
        with (tmp_path / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            table = list(csv.DictReader(handle))
        expected = _rows(tmp_path / f"{name}.jsonl")
        assert len(table) == len(expected) > 0
        assert list(table[0]) == schema.names
        for got, want in zip(table, expected, strict=True):
            assert got["id"] == want["id"]
            assert got["label"] == want["label"]
            assert float(got["confidence"]) == want["confidence"]
            if name == "p":
                assert got["text"] == want["text"]
                assert json.loads(got["named_as"]) == want["named_as"]
                assert want["named_as"] or refers_back(want["text"])  # named, or meant ("Our priority…")
                assert all(words in want["text"] for words in want["named_as"])
            else:
                assert json.loads(got["evidence"]) == want["evidence"]
                assert json.loads(got["evidence_labels"]) == want["evidence_labels"]
    # Each evidence label is the label its sentence got for that country in the pair rows.
    pairs = {(r["id"], r["sentence"], r["iso3"]): r["label"] for r in _rows(tmp_path / "p.jsonl")}
    for row in _rows(tmp_path / "s.jsonl"):
        assert len(row["evidence_labels"]) == len(row["evidence"])
        for sentence, label in zip(row["evidence"], row["evidence_labels"], strict=True):
            assert pairs[(row["id"], sentence, row["iso3"])] == label


def _corpus_with_metadata(tmp_path):
    """Articles of the seeds with the metadata an analyst's corpus carries, one row lacking it."""
    rows = [
        {"doc": f"d{i}", "body": (SEEDS / name).read_text(), "date": f"2025-03-0{i + 1}", "outlet": "Wire", "page": i}
        for i, name in enumerate(sorted(p.name for p in SEEDS.glob("*.txt")))
    ]
    del rows[3]["outlet"]
    return _jsonl_file(tmp_path / "in.jsonl", rows), rows


def test_kept_fields_travel_with_every_pair_and_summary_row_in_each_output_format(tiny_predictor, tmp_path):
    import csv

    source, rows = _corpus_with_metadata(tmp_path)
    meta = {row["doc"]: row for row in rows}
    settings = ScoreSettings(
        text_field="body", id_field="doc", keep_fields=("date", "outlet", "page"), chunk_articles=2
    )
    for suffix in (".jsonl", ".csv", ".parquet"):
        out, summary = tmp_path / f"p{suffix}", tmp_path / f"s{suffix}"
        report = score_corpus(tiny_predictor, [str(source)], out, summary, settings)
        assert report.empty_fields == []
        for path in (out, summary):
            found = _rows(path) if suffix != ".csv" else list(csv.DictReader(path.open(newline="")))
            assert found
            for row in found:
                source_row = meta[row["id"]]
                assert row["date"] == source_row["date"]
                # absent in the input: null, an empty cell in CSV
                assert row["outlet"] == source_row.get("outlet", "" if suffix == ".csv" else None)
                # JSON Lines keeps the number; the tables hold text (its JSON)
                assert row["page"] == (source_row["page"] if suffix == ".jsonl" else str(source_row["page"]))
        if suffix == ".parquet":
            schema = pq.read_table(out).schema
            assert schema.names[:5] == ["id", "date", "outlet", "page", "model"]
            assert schema.field("page").type == pa.string()
        if suffix == ".csv":
            assert out.read_text().splitlines()[0].startswith("id,date,outlet,page,model,")


def test_fields_to_keep_are_checked_before_scoring_and_an_empty_one_is_warned_of(
    tiny_model_home, tiny_predictor, tmp_path, capsys
):
    from model.records import check_inputs

    source, _ = _corpus_with_metadata(tmp_path)
    out = tmp_path / "out.jsonl"
    for keep, message in [
        (("label",), "field to keep 'label' is an output column already"),
        (("body",), "field to keep 'body' is the article text"),
        (("date", "date"), "fields to keep must be named once each"),
    ]:
        with pytest.raises(ValueError, match=message):
            ScoreSettings(text_field="body", id_field="doc", keep_fields=keep)
    table = tmp_path / "in.csv"
    table.write_text("doc,body,date\nd1,Poland will not send troops.\n")  # a short first row: the header decides
    check_inputs([table], ["date"], "body")
    with pytest.raises(ValueError, match=r"in.csv: no column 'outlet' to keep \(its columns: 'doc', 'body', 'date'\)"):
        check_inputs([table], ["date", "outlet"], "body")
    (tmp_path / "notes.txt").write_text("Poland will not send troops.")
    with pytest.raises(ValueError, match="a .txt article has no fields to keep"):
        check_inputs([tmp_path / "notes.txt"], ["date"])
    args = ["score", str(source), "--text-field", "body", "--id-field", "doc", "--output", str(out), "--quiet"]
    assert main([*args, "--keep-fields", "date, Date"]) == 0
    assert "kept field 'Date' was missing or null in every article scored" in capsys.readouterr().err
    assert {row["date"] for row in _rows(out)} == {"2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"}
    assert main([*args, "--overwrite", "--keep-fields", "text"]) == 2
    assert "'text' is an output column already" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--keep-fields", ""]) == 0  # a script's empty variable: none kept
    assert "date" not in _rows(out)[0]
    with pytest.raises(SystemExit):
        main([*args, "--overwrite", "--chunk-articles", "0"])
    assert "argument --chunk-articles: must be a whole number from 1" in capsys.readouterr().err


def test_resume_refuses_other_fields_to_keep(tiny_predictor, tmp_path, monkeypatch):
    source, _ = _corpus_with_metadata(tmp_path)
    out, summary = tmp_path / "out.jsonl", tmp_path / "out.sum.jsonl"
    settings = ScoreSettings(text_field="body", id_field="doc", keep_fields=("date",), chunk_articles=1)
    restore = _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        score_corpus(tiny_predictor, [str(source)], out, summary, settings)
    restore()
    other = ScoreSettings(text_field="body", id_field="doc", keep_fields=("outlet",), chunk_articles=1, resume=True)
    with pytest.raises(ValueError, match="--resume: kept fields: \\['outlet'\\]"):
        score_corpus(tiny_predictor, [str(source)], out, summary, other)


def test_ctrl_c_during_the_first_chunk_says_no_part_was_finished(tiny_model_home, seed_folder, tmp_path, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "scores.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch, "_score_chunk", interrupted)
        assert main(["score", str(seed_folder), "--output", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert f"no part was finished; rerun with --resume, or remove {out}.parts" in err
    assert main(["score", str(seed_folder), "--output", str(out), "--quiet", "--resume"]) == 0


def test_a_cut_off_gzip_input_fails_the_run_though_the_rows_before_it_are_written(tiny_model_home, tmp_path, capsys):
    rows = "".join(json.dumps({"text": f"Poland will not send troops, part {n}. " * 30}) + "\n" for n in range(300))
    whole = gzip.compress(rows.encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "scores.jsonl"
    assert main(["score", str(cut), "--output", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"stance score: error: reading {cut} stopped early (see above)" in err
    assert "damaged or cut off after line" in err
    scored = {row["id"] for row in _rows(out)}
    assert 0 < len(scored) < 300


def test_parts_of_a_version_that_kept_no_fields_resume(tiny_predictor, seed_folder, tmp_path, monkeypatch):
    out, summary = tmp_path / "out.jsonl", tmp_path / "out.sum.jsonl"
    _interrupted_run(tiny_predictor, [str(seed_folder)], out, summary, monkeypatch, ScoreSettings(chunk_articles=1))
    record = tmp_path / "out.jsonl.parts" / batch.RUN_FILE
    record.write_text(json.dumps({k: v for k, v in json.loads(record.read_text()).items() if k != "kept fields"}))
    settings = ScoreSettings(chunk_articles=1, resume=True)
    assert score_corpus(tiny_predictor, [str(seed_folder)], out, summary, settings).resumed == 1


def test_kept_field_names_are_quoted_in_a_csv_header_and_the_id_field_is_refused_by_name(tiny_predictor, tmp_path):
    import csv

    source = _jsonl_file(tmp_path / "in.jsonl", [{"doc": "a", "text": "Poland will not send troops.", 'x"y': 1}])
    settings = ScoreSettings(id_field="doc", keep_fields=('x"y',))
    score_corpus(tiny_predictor, [str(source)], tmp_path / "p.csv", tmp_path / "s.csv", settings)
    with (tmp_path / "p.csv").open(newline="") as handle:
        assert next(csv.reader(handle))[:3] == ["id", 'x"y', "model"]
    with pytest.raises(ValueError, match="field to keep 'doc' is the id field, already the id column"):
        ScoreSettings(id_field="doc", keep_fields=("doc",))


def test_outputs_in_capitals_are_their_format_and_a_bad_summary_path_is_named_as_such(tiny_predictor, tmp_path):
    source = _jsonl_file(tmp_path / "in.jsonl", [{"text": "Poland will not send troops."}])
    out, summary = tmp_path / "OUT.JSONL", tmp_path / "OUT.SUMMARY.CSV"
    report = score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings())
    assert report.line().startswith("scored 1 article, 1 sentence, 1 pair ")
    assert [row["country"] for row in _rows(out)] == ["Poland"]
    assert summary.read_text().splitlines()[0].startswith("id,model,country,")
    with pytest.raises(ValueError, match=f"summary {tmp_path / 's3'} must end in .jsonl, .parquet or .csv"):
        score_corpus(tiny_predictor, [str(source)], tmp_path / "o.jsonl", tmp_path / "s3", ScoreSettings())


def test_each_pair_row_names_the_words_that_named_its_country_in_every_format(tiny_predictor, tmp_path):
    source = _jsonl_file(tmp_path / "in.jsonl", [{"text": "The Kremlin and Moscow's envoys met Polish officials."}])
    out = tmp_path / "out.parquet"
    score_corpus(tiny_predictor, [str(source)], out, tmp_path / "s.parquet", ScoreSettings())
    rows = pq.read_table(out).to_pylist()
    assert {row["country"]: row["named_as"] for row in rows} == {"Russia": ["Kremlin", "Moscow"], "Poland": ["Polish"]}


def test_a_bad_row_under_on_error_fail_says_how_the_kept_parts_can_be_used(tiny_model_home, tmp_path, capsys):
    rows = [{"text": "Poland will not send troops."}, {"text": "France will send troops."}, {"text": None}]
    source = _jsonl_file(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    args = ["score", str(source), "--output", str(out), "--chunk-articles", "1", "--quiet"]
    assert main([*args, "--on-error", "fail"]) == 2
    err = capsys.readouterr().err
    assert f"{source}:3:" in err
    assert "--resume --on-error skip goes on past such rows" in err
    assert main([*args, "--on-error", "skip", "--resume"]) == 3  # finished, with a row skipped
    assert {row["text"] for row in _rows(out)} == {"Poland will not send troops.", "France will send troops."}
    listed = tmp_path / "out.jsonl.skipped.jsonl"
    assert f"stance score: 1 skipped row(s), with where and why, in {listed}" in capsys.readouterr().err
    assert [json.loads(line)["location"] for line in listed.read_text().splitlines()] == [f"{source}:3"]


def test_the_rows_a_run_skipped_are_listed_beside_its_outputs_and_only_for_that_run(tiny_predictor, tmp_path):
    source = _jsonl_file(
        tmp_path / "in.jsonl",
        [{"id": "a", "text": "Poland said no."}, {"id": "a", "text": "Spain said yes."}, {"id": "b", "text": 3}],
    )
    out, summary = tmp_path / "out.jsonl", tmp_path / "out.sum.jsonl"
    settings = ScoreSettings(id_field="id", chunk_articles=1)
    report = score_corpus(tiny_predictor, [str(source)], out, summary, settings)
    listed = [json.loads(line) for line in (tmp_path / "out.jsonl.skipped.jsonl").read_text().splitlines()]
    assert [row["location"] for row in listed] == [f"{source}:2", f"{source}:3"]
    assert "duplicate id 'a'" in listed[0]["reason"]
    assert report.skipped_rows == 2
    (tmp_path / "out.jsonl").unlink()
    (tmp_path / "out.sum.jsonl").unlink()
    with pytest.raises(FileExistsError, match="out.jsonl.skipped.jsonl exists"):  # another run's list is kept too
        score_corpus(tiny_predictor, [str(source)], out, summary, settings)
    with pytest.raises(ValueError, match="is where the skipped rows are listed"):
        score_corpus(tiny_predictor, [str(source)], out, tmp_path / "out.jsonl.skipped.jsonl", settings)
    clean = _jsonl_file(tmp_path / "clean.jsonl", [{"id": "c", "text": "Italy said no."}])
    score_corpus(tiny_predictor, [str(clean)], out, summary, replace(settings, overwrite=True))
    assert not (tmp_path / "out.jsonl.skipped.jsonl").exists()  # no stale list beside outputs that skipped nothing


def test_ndjson_and_tsv_are_read_and_other_files_in_an_input_folder_are_named(tiny_model_home, tmp_path, capsys):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    _jsonl_file(folder / "a.ndjson", [{"id": "a", "text": "Poland will not send troops."}])
    (folder / "b.tsv").write_text("id\ttext\nb\tFrance will send troops.\n")
    with gzip.open(folder / "sub" / "c.ndjson.gz", "wt") as handle:
        handle.write(json.dumps({"id": "c", "text": "Spain will send troops."}) + "\n")
    (folder / "d.json").write_text(json.dumps({"id": "d", "text": "Italy will send troops."}) + "\n")
    (folder / "sub" / "e.txt.zst").write_bytes(b"\x28\xb5")
    (folder / "_SUCCESS").write_text("")
    (folder / "part-1.parquet.crc").write_bytes(b"\0")
    _jsonl_file(folder / "_batch7.jsonl", [{"id": "x", "text": "Chile will send troops."}])  # skipped, but named
    out = tmp_path / "out.jsonl"
    assert main(["score", str(folder), "--id-field", "id", "--output", str(out), "--quiet"]) == 0
    assert {row["id"] for row in _rows(out)} == {"a", "b", "c"}
    err = capsys.readouterr().err
    assert "warning: 3 file(s) in the input folders are not read" in err
    unread = [folder / "_batch7.jsonl", folder / "d.json", folder / "sub" / "e.txt.zst"]
    assert f"not read: {', '.join(map(str, unread))} (a folder reads its .txt, .jsonl, .csv or .parquet" in err
    assert "a folder holding .txt articles reads them alone; JSON Lines saved as .json: rename to .jsonl)" in err
    assert "_SUCCESS" not in err
    assert ".crc" not in err


def test_a_folder_of_txt_articles_reads_them_alone_and_names_a_table_beside_them(
    tiny_model_home, seed_folder, tmp_path, capsys
):
    _jsonl_file(seed_folder / "index.jsonl", [{"text": "an index of the articles"}])  # as seeds/ keeps its labels
    out = tmp_path / "o.jsonl"
    assert main(["score", str(seed_folder), "--output", str(out), "--quiet"]) == 0
    assert {row["id"] for row in _rows(out)} == {str(p) for p in seed_folder.glob("*.txt")}
    assert "warning: 1 file(s) in the input folders are not read" in capsys.readouterr().err


def test_ids_pandas_wrote_as_floats_and_text_stored_as_binary_are_read(tiny_predictor, tmp_path):
    table = pa.table(
        {
            "doc": pa.array([1.0, 2.0, float("nan"), 2.0**53], pa.float64()),  # ints with a gap, as pandas writes them
            "body": pa.array([t.encode() for t in ["Poland will not send troops."] * 3] + [b"Spain \xff"], pa.binary()),
        }
    )
    source = tmp_path / "pandas.parquet"
    pq.write_table(table, source)
    out, summary = tmp_path / "out.jsonl", tmp_path / "sum.jsonl"
    settings = ScoreSettings(text_field="body", id_field="doc")
    report = score_corpus(tiny_predictor, [str(source)], out, summary, settings)
    assert {row["id"] for row in _rows(out)} == {"1", "2"}
    reasons = {bad.location: bad.reason for bad in report.skipped}
    assert reasons == {
        f"{source}#2": "missing id field 'doc'",
        f"{source}#3": "text field 'body' holds bytes that are not UTF-8 text",
    }
    big = _jsonl_file(tmp_path / "big.jsonl", [{"doc": 2.0**53, "body": "Poland will not send troops."}])
    with pytest.raises(InputError, match="id field 'doc' is float, not text or a whole number"):  # past exact ints
        score_corpus(tiny_predictor, [str(big)], tmp_path / "b.jsonl", tmp_path / "bs.jsonl", settings)


def test_a_parquet_output_joins_small_parts_into_large_row_groups(tiny_predictor, seed_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "ROWS_PER_GROUP", 40)
    out, summary = tmp_path / "out.parquet", tmp_path / "sum.parquet"
    report = score_corpus(tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(chunk_articles=1))
    groups = [pq.ParquetFile(out).metadata.row_group(i).num_rows for i in range(pq.ParquetFile(out).num_row_groups)]
    assert sum(groups) == report.pairs
    assert all(rows >= 40 for rows in groups[:-1])
    assert len(groups) < 4  # fewer groups than the four parts
    one_part = tmp_path / "one.parquet"
    score_corpus(tiny_predictor, [str(seed_folder)], one_part, tmp_path / "one.sum.parquet", ScoreSettings())
    labels = [(_key(r), r["label"]) for r in pq.read_table(out).to_pylist()]
    assert labels == [(_key(r), r["label"]) for r in pq.read_table(one_part).to_pylist()]


def test_inputs_without_a_single_row_are_warned_of(tiny_model_home, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n")
    assert main(["score", str(empty), str(blank), "--id-field", "id", "--output", str(tmp_path / "o.jsonl")]) == 0
    assert "warning: the inputs hold no articles (empty files?); the outputs are empty" in capsys.readouterr().err
    assert (tmp_path / "o.jsonl").read_text() == ""


def test_the_count_before_scoring_shows_a_bar_of_its_own(tiny_model_home, seed_folder, tmp_path, capsys):
    assert main(["score", str(seed_folder), "--output", str(tmp_path / "o.jsonl")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"counting: +0%.*\| 0/4 \[.* files/s", err)  # shards to count: not a silent wait
    assert re.search(r"scoring: 100%.*\| 4/4 \[", err)


def test_a_report_keeps_the_first_bad_rows_and_counts_them_all(tiny_predictor, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "KEPT_SKIPPED", 2)
    rows = [{"text": "Poland will not send troops."}] + [{"body": f"no text {i}"} for i in range(5)]
    source = _jsonl_file(tmp_path / "in.jsonl", rows)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(b'{"text": "France will send troops."}\n' * 50)[:-12])
    report = score_corpus(
        tiny_predictor, [str(source), str(cut)], tmp_path / "o.jsonl", tmp_path / "s.jsonl", ScoreSettings()
    )
    assert report.skipped_rows == 6  # five rows without text, and the cut-off file
    assert [b.location for b in report.skipped] == [f"{source}:2", f"{source}:3", report.cut_short[0].location]
    assert f"{report.skipped_rows} skipped" in report.line()


def test_parts_that_cannot_be_removed_after_a_whole_assembly_are_a_warning(
    tiny_model_home, seed_folder, tmp_path, capsys, monkeypatch
):
    def refused(path, *args, **kwargs):
        if str(path).endswith(".removing") and not kwargs.get("ignore_errors"):
            raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(batch.shutil, "rmtree", refused)
    out = tmp_path / "scores.jsonl"
    assert main(["score", str(seed_folder), "--output", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "warning: the finished run's parts could not be removed" in err
    assert "Permission denied" in err
    assert len({row["id"] for row in _rows(out)}) == 4
    # Still there: the next run refuses at once, rather than score everything and fail at the end.
    removing = batch._removing(batch.parts_folder(out))
    (removing / "stuck").write_text("")  # what the file system would not let go of
    again = ["score", str(seed_folder), "--output", str(out), "--quiet", "--overwrite"]
    assert main(again) == 2
    assert f"{removing}: a finished run's parts, which could not be deleted; remove it by hand" in (
        capsys.readouterr().err
    )
    monkeypatch.undo()
    assert main(again) == 0
    assert not removing.exists()


def test_score_checks_its_inputs_and_the_model_files_once(tiny_model_home, seed_folder, tmp_path, monkeypatch):
    from model import store

    checked, looked_up, hashed = [], [], []
    real_inputs, real_cut_short, real_digest = batch.check_inputs, store.cut_short, store.weights_digest

    def counted_inputs(*a, **k):
        checked.append(1)
        return real_inputs(*a, **k)

    def counted_cut_short(folder):
        looked_up.append(folder)
        return real_cut_short(folder)

    monkeypatch.setattr(batch, "check_inputs", counted_inputs)

    def counted_digest(folder):
        hashed.append(folder)
        return real_digest(folder)

    monkeypatch.setattr(store, "cut_short", counted_cut_short)
    monkeypatch.setattr(store, "weights_digest", counted_digest)
    out = tmp_path / "scores.jsonl"
    assert main(["score", str(seed_folder), "--output", str(out), "--quiet"]) == 0
    # 3,000 shards are stat'ed once, the weights' header and checksum read once
    assert (len(checked), len(looked_up), len(hashed)) == (1, 1, 1)
    assert out.exists()


def test_html_articles_are_scored_as_their_text_with_offsets_into_the_html(tiny_predictor, tmp_path, monkeypatch):
    pages = [
        {"id": "a", "text": "<p>Poland&rsquo;s minister said <b>Poland</b> would not send troops.</p><p>Spain agreed"},
        {"id": "b", "text": "<nav>France</nav><div>Italy will send troops &amp; aircraft.</div>"},
    ]
    source = _jsonl_file(tmp_path / "pages.jsonl", pages)
    out, summary = tmp_path / "out.jsonl", tmp_path / "out.summary.jsonl"
    score_corpus(tiny_predictor, [str(source)], out, summary, ScoreSettings(html=True, id_field="id"))
    rows = _rows(out)
    by_id = {page["id"]: page["text"] for page in pages}
    assert {(r["id"], r["country"]) for r in rows} == {("a", "Poland"), ("a", "Spain"), ("b", "Italy")}
    assert [r["text"] for r in rows if r["id"] == "b"] == ["Italy will send troops & aircraft."]
    for row in rows:
        source_text = by_id[row["id"]][row["start"] : row["end"]]
        assert source_text.startswith(row["text"][:5])
        assert "<p>" not in source_text
    assert {r["country"] for r in _rows(summary)} == {"Poland", "Spain", "Italy"}
    # Read as plain text, the markup is part of the sentences (--html is what reads it), and
    # the report counts the articles that look like HTML, for a warning.
    plain = tmp_path / "plain.jsonl"
    settings = ScoreSettings(id_field="id")
    report = score_corpus(tiny_predictor, [str(source)], plain, tmp_path / "plain.summary.jsonl", settings)
    assert ("b", "France") in {(r["id"], r["country"]) for r in _rows(plain)}
    assert (report.html_like, report.first_html_like) == (2, f"{source}:1")
    # A resume must read the text as the interrupted run did.
    out2, summary2 = tmp_path / "two.jsonl", tmp_path / "two.summary.jsonl"
    settings = ScoreSettings(html=True, chunk_articles=1)
    _interrupted_run(tiny_predictor, [str(source)], out2, summary2, monkeypatch, settings)
    with pytest.raises(ValueError, match="--resume: html: False in this run, True in the interrupted one"):
        score_corpus(tiny_predictor, [str(source)], out2, summary2, ScoreSettings(chunk_articles=1, resume=True))


def test_score_warns_of_articles_that_look_like_html_read_as_text(tiny_model_home, tmp_path, capsys):
    source = _jsonl_file(tmp_path / "pages.jsonl", [{"text": "<p>Poland said no.</p><p>Spain agreed.</p>"}])
    out = tmp_path / "out.jsonl"
    assert main(["score", str(source), "--output", str(out), "--quiet"]) == 0
    assert f"1 article(s) look like HTML (the first: {source}:1)" in capsys.readouterr().err
    assert main(["score", str(source), "--output", str(out), "--quiet", "--html", "--overwrite"]) == 0
    assert "look like HTML" not in capsys.readouterr().err


def test_a_disk_that_fills_up_is_named_in_the_error(tiny_model_home, seed_folder, tmp_path, monkeypatch, capsys):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write raises it: no file named

    monkeypatch.setattr(batch, "_write_rows_to", full)
    out = tmp_path / "out.jsonl"
    assert main(["score", str(seed_folder), "--output", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"writing {out}.parts/pairs-000001.jsonl: No space left on device" in err


def test_a_second_run_on_outputs_another_run_is_writing_is_told_so(
    tiny_model_home, seed_folder, tmp_path, capsys, monkeypatch
):
    import os

    out = tmp_path / "out.jsonl"
    args = ["score", str(seed_folder), "--output", str(out), "--quiet", "--chunk-articles", "1"]
    parts = batch.parts_folder(out)
    _interrupt_at_second_chunk(monkeypatch, args)  # one part done: its parts await --resume
    capsys.readouterr()
    with batch._holding(parts):  # as a run in another process holds it while it goes on
        for extra in ([], ["--resume"]):  # neither advises --resume into a folder being written
            assert main([*args, *extra]) == 2
            err = capsys.readouterr().err
            assert f"another stance score run (pid {os.getpid()}) is writing {parts} now" in err
            assert "pass --resume" not in err
    assert main([*args, "--resume"]) == 0  # the lock goes with the run that held it; --quiet resumes too
    assert "resumed" in capsys.readouterr().out
    assert not parts.exists()
    assert _rows(out)


def test_outputs_on_a_file_system_without_locks_are_scored_with_a_warning(
    tiny_predictor, seed_folder, tmp_path, monkeypatch, caplog
):
    import errno

    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")  # as some network mounts answer

    monkeypatch.setattr(batch.fcntl, "flock", no_locks)
    out = tmp_path / "out.jsonl"
    report = score_corpus(tiny_predictor, [str(seed_folder)], out, tmp_path / "s.jsonl", ScoreSettings())
    assert report.articles
    assert _rows(out)
    assert "cannot be locked (" in caplog.text


def test_another_runs_brief_check_does_not_make_a_run_refuse_itself(tmp_path):
    import fcntl
    import threading

    parts = tmp_path / "out.jsonl.parts"
    parts.mkdir()
    (parts / batch.LOCK_FILE).write_text("")
    checking = (parts / batch.LOCK_FILE).open("a+")
    fcntl.flock(checking, fcntl.LOCK_SH | fcntl.LOCK_NB)  # a second run's _check_not_running, mid-check
    threading.Timer(0.3, checking.close).start()
    with batch._holding(parts):  # waits the moment out rather than refusing
        assert (parts / batch.LOCK_FILE).read_text().isdigit()


def _interrupt_at_second_chunk(monkeypatch, args: list[str]) -> None:
    """Run `stance` with ``args``, Ctrl-C arriving as its second chunk starts (one part
    done); scoring works again afterwards."""
    real, calls = batch._score_chunk, []

    def interrupted(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    with monkeypatch.context() as patched:
        patched.setattr(batch, "_score_chunk", interrupted)
        assert main(args) == 130
