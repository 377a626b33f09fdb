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
    for mention in (m for r in rows for m in r["mentions"]):
        assert article[mention["start"] : mention["end"]] == mention["text"]
    kremlin = [m for r in rows for m in r["mentions"] if m["text"] == "Kremlin"]
    assert kremlin
    assert {m["iso3"] for m in kremlin} == {"RUS"}


def test_pairs_reads_rows_by_their_own_text_and_id_fields(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"doc": "d1", "body": "Poland will not send troops."}) + "\n")
    assert main(["pairs", str(source), "--json", "--text-field", "body", "--id-field", "doc"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["id"], row["countries"]) == ("d1", ["Poland"])
    with source.open("a") as more:  # a repeated id is a bad row, as `stance score` has it
        more.write(json.dumps({"doc": "d1", "body": "Spain will send troops."}) + "\n")
    assert main(["pairs", str(source), "--json", "--text-field", "body", "--id-field", "doc"]) == 2
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == ["d1"]
    assert f"skipped {source}:2: duplicate id 'd1' (first at {source}:1)" in captured.err
    assert main(["pairs", str(source)]) == 2  # refused before reading: no 'text' column
    assert "no column 'text' for the article text" in capsys.readouterr().err


def test_pairs_reads_a_folder_and_a_broken_pipe_is_not_an_error(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    shell = f"{sys.executable} -m cli.main pairs {SEEDS} | head -n 2"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], cwd=REPO, capture_output=True, text=True)
    assert done.stdout.startswith("== ")
    assert "Broken pipe" not in done.stderr
    assert done.returncode == 0


def test_missing_file_is_a_clear_error_not_a_traceback(capsys, tmp_path):
    missing = tmp_path / "nope.txt"
    assert main(["pairs", str(missing)]) == 2
    assert "nope.txt" in capsys.readouterr().err


def test_undecodable_file_is_a_clear_error(capsys, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Poland said \xe9".encode("latin-1"))
    assert main(["pairs", str(bad)]) == 2
    assert "latin1.txt: not UTF-8 text (byte 12)" in capsys.readouterr().err


def test_help_pairs_and_validate_start_without_loading_torch():
    """Commands that need no model do not pay for importing torch, transformers or bentoml."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import sys\n"
        "from cli.main import main\n"
        f"main(['pairs', {str(next(SEEDS.glob('*.txt')))!r}])\n"
        f"main(['validate', {str(SEEDS / 'labels.jsonl')!r}])\n"
        "heavy = ('torch', 'transformers', 'bentoml', 'datasets')\n"
        "print('loaded:', sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "loaded: []"


def test_train_help_shows_each_setting_with_its_default(capsys, monkeypatch):
    import dataclasses
    import re

    import pytest

    from training.settings import TrainSettings

    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping, which breaks "troop-stance" at its hyphen
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    options = " ".join(capsys.readouterr().out.split()).split("options:")[1]
    defaults = TrainSettings()
    for item in dataclasses.fields(TrainSettings):
        value = getattr(defaults, item.name)
        if value in ("", []) and not isinstance(value, bool):
            continue  # nothing to show: required, or empty meaning "not given"
        flag = "--" + item.name.replace("_", "-")
        help_text = re.search(rf"(?:^| ){flag}\b(.*?)(?= --(?!no-)[a-z]|$)", options).group(1)
        assert f"(default: {value})" in help_text, (flag, help_text)


def test_training_commands_name_the_train_extra_when_it_is_not_installed(tmp_path):
    """A scoring-only install (a Bento's) lacks the train extra: evaluate says what to install."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import sys\n"
        "sys.modules['sklearn'] = None  # as if scikit-learn were not installed\n"
        "from cli.main import main\n"
        f"sys.exit(main(['evaluate', '--data', {str(SEEDS / 'labels.jsonl')!r}]))\n"
    )
    env = {"BENTOML_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert (
        "stance evaluate: error: sklearn is not installed; training and evaluation need the train extra" in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_a_resumed_bar_counts_its_rate_from_the_first_article_it_scores(capsys):
    from cli.main import _ScoreBar

    with _ScoreBar(total=10, quiet=False) as progress:
        progress(articles=4, pairs=0, resumed=True)  # articles done before the interruption
        progress.bar.start_t -= 100  # as if reading past the done articles had taken 100 s
        progress.started -= 100
        capsys.readouterr()
        progress(articles=0, pairs=0, restart=True)
        bar = progress.bar
        drawn = capsys.readouterr().err.split("\r")
        assert any("4/10" in line for line in drawn)
        assert not [line for line in drawn if "-" in line.rpartition("[")[2]]  # no negative rate drawn
        assert not [line for line in drawn if " 0/10 " in line]  # nor the bar back at 0
        assert (bar.n, bar.initial, bar.total) == (4, 4, 10)
        assert bar.format_dict["elapsed"] < 5  # the 100 s of reading no longer lower the rate
        progress(articles=2, pairs=30)
        assert bar.format_dict["n"] - bar.format_dict["initial"] == 2  # the rate counts only what is scored now
        assert float(bar.postfix.split("=")[1]) > 1  # 30 pairs over this run alone, not over the 100 s
        assert progress.pairs == 30


def test_evaluate_split_takes_only_a_held_out_split(capsys):
    """A model's training split is not held out: scores on it would say nothing of new text."""
    import pytest

    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--data", str(SEEDS / "labels.jsonl"), "--split", "train"])
    assert exit_.value.code == 2
    assert "invalid choice: 'train'" in capsys.readouterr().err


def test_warnings_logged_while_a_command_runs_read_as_warnings(tmp_path, bentoml_home, capsys):
    row = '{"text": "France will send troops.", "country": "France", "label": "will_send"}\n'
    (tmp_path / "twice.jsonl").write_text(row * 2)
    assert main(["train", "--data", str(tmp_path / "twice.jsonl"), "--quiet"]) == 2  # too small to split
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("warning: 1 rows repeat an earlier row exactly")
    assert err[-1].startswith("stance train: error: the dev split is empty")
