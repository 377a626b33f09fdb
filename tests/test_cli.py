"""The command line, called as a function on real files."""

from __future__ import annotations

import json

from cli.main import main
from tests.conftest import SEEDS


def test_pairs_prints_one_json_row_per_sentence_with_offsets(capsys):
    path = SEEDS / "003_c415b0ac414dcec2.txt"
    assert main(["pairs", str(path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    article = path.read_text()
    assert len(rows) > 10
    for row in rows:
        assert article[row["start"] : row["end"]] == row["text"]
    those = next(r for r in rows if r["text"].startswith("Those include"))
    assert "United Kingdom" in those["countries"]


def test_missing_file_is_a_clear_error_not_a_traceback(capsys, tmp_path):
    missing = tmp_path / "nope.txt"
    assert main(["pairs", str(missing)]) == 2
    assert "nope.txt" in capsys.readouterr().err


def test_undecodable_file_is_a_clear_error(capsys, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Poland said \xe9".encode("latin-1"))
    assert main(["pairs", str(bad)]) == 2
    assert "latin1.txt: not UTF-8 text (byte 12)" in capsys.readouterr().err
