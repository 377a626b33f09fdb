"""Batch scoring: every input format, both outputs, ids, resume, bad rows, and the same
answers as the service for the same text."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from cli.main import main
from model import batch
from model.batch import InputError, ScoreSettings, score_corpus
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
        api = service.score_article(text=text).model_dump()
        expected = {(path.name, s["index"], p["iso3"]): p for s in api["sentences"] for p in s["pairs"]}
        mine = {_key(r): r for r in rows if r["id"] == path.name}
        assert mine.keys() == expected.keys()
        for key, row in mine.items():
            assert row["label"] == expected[key]["label"]
            assert row["confidence"] == pytest.approx(expected[key]["confidence"], abs=1e-4)
            sentence = api["sentences"][key[1]]
            assert (row["start"], row["end"]) == (sentence["start"], sentence["end"])
        countries = {(r["iso3"], r["label"]) for r in _rows(summary) if r["id"] == path.name}
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
    settings = ScoreSettings(text_field="body", id_field="doc")
    results = {}
    for source in (jsonl, csv, parquet):
        out = tmp_path / f"{source.suffix[1:]}.parquet"
        score_corpus(tiny_predictor, [str(source)], out, tmp_path / f"{source.suffix[1:]}.sum.jsonl", settings)
        results[source.suffix] = sorted((_key(r), r["label"]) for r in _rows(out))
    assert results[".jsonl"] == results[".csv"] == results[".parquet"]
    assert {key[0] for key, _ in results[".jsonl"]} == {"d0", "d1", "d2", "d3"}


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
    report = score_corpus(
        tiny_predictor, [str(seed_folder)], out, summary, ScoreSettings(chunk_articles=1, resume=True)
    )
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
        (f"{source}:3", "missing or empty text field 'text'"),
        (f"{source}:4", "invalid JSON"),
        (f"{source}:6", "text field 'text' is int, not text: 3"),
    ]
    assert {r["id"] for r in _rows(out)} == {f"{source}:1", f"{source}:5"}
    failed = tmp_path / "failed.jsonl"
    with pytest.raises(InputError, match=f"{source}:2: not UTF-8"):
        score_corpus(tiny_predictor, [str(source)], failed, tmp_path / "f.jsonl", ScoreSettings(on_error="fail"))
    assert not failed.exists()


def test_score_command_prints_totals_and_writes_both_files(tiny_model_home, seed_folder, tmp_path, capsys):
    out = tmp_path / "scores.parquet"
    assert main(["score", str(seed_folder), "--output", str(out), "--quiet", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "scored 4 articles" in printed
    assert "0 skipped" in printed
    assert out.exists()
    assert (tmp_path / "scores.summary.parquet").exists()
    assert main(["score", str(tmp_path / "missing.jsonl"), "--output", str(out), "--quiet"]) == 2


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
    assert {row["id"] for row in _rows(out)} == {path.name for path in seed_folder.glob("*.txt")}
