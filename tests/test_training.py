"""Train, register, evaluate and list models end to end on the tiny test encoder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import bentoml
import pytest
import torch
import transformers

from cli.main import main
from model.predictor import StancePredictor
from model.store import STANCE_FILE, registered
from training import train as train_module
from training.corpus import CorpusError, load_pairs, read_splits
from training.evaluate import held_out_groups
from training.settings import TrainSettings
from training.train import train

TEMPLATES = {
    "will_send": "{c} is ready to deploy troops to the mission.",
    "wont_send": "{c} will not send soldiers to the mission.",
    "logistics_only": "{c} will provide logistics and weapons but no troops.",
    "none": "The talks were held in {c} on Monday.",
}
COUNTRIES = [
    "Poland",
    "France",
    "Germany",
    "Italy",
    "Spain",
    "Canada",
    "Japan",
    "Norway",
    "Sweden",
    "Denmark",
    "Finland",
    "Greece",
]


@pytest.fixture
def labeled_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    rows = []
    for i, country in enumerate(COUNTRIES):
        for label, template in TEMPLATES.items():
            rows.append(
                {
                    "id": f"{country}-{label}",
                    "text": template.format(c=country),
                    "country": country,
                    "label": label,
                    "group": f"g{i}",
                }
            )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _settings(labeled_file, tiny_encoder_dir, **overrides) -> TrainSettings:
    values = {
        "data": [str(labeled_file)],
        "base_model": str(tiny_encoder_dir),
        "epochs": 1.0,
        "batch_size": 8,
        "max_length": 64,
        "seed": 3,
    } | overrides
    return TrainSettings(**values)


def test_train_registers_a_self_describing_model(labeled_file, tiny_encoder_dir, bentoml_home):
    result = train(_settings(labeled_file, tiny_encoder_dir), progress=False)
    stored = bentoml.models.get(result.tag)
    assert str(stored.tag) == str(bentoml.models.get("troop-stance:latest").tag)
    meta = json.loads(Path(stored.path, STANCE_FILE).read_text())
    assert meta["labels"] == ["will_send", "wont_send", "logistics_only", "none"]
    assert meta["data_size"] == 48
    assert len(meta["data_hash"]) == 64
    assert meta["settings"]["seed"] == 3
    assert meta["settings"]["precision"] in ("fp32", "bf16")  # what "auto" became, not "auto"
    assert meta["input_format"]["context"] is True
    for key in ("accuracy", "macro_f1", "f_avg", "ece", "per_label", "confusion", "baselines"):
        assert key in meta["metrics"]
    assert stored.info.metadata["macro_f1"] == pytest.approx(meta["metrics"]["macro_f1"], abs=1e-4)
    predictor = StancePredictor.load(stored.path)
    assert predictor.temperature == pytest.approx(meta["temperature"])


def test_evaluate_and_models_commands(labeled_file, tiny_encoder_dir, bentoml_home, tmp_path, capsys):
    tag = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag
    report = tmp_path / "report"
    code = main(
        ["evaluate", "--data", str(labeled_file), "--model", tag, "--json", "--report", str(report), "--baselines"]
    )
    assert code == 0
    out = capsys.readouterr().out
    metrics = json.loads(out.strip().splitlines()[-1])
    assert set(metrics) >= {"accuracy", "macro_f1", "f_avg", "ece", "per_label", "confusion"}
    assert metrics["model"] == str(tag)
    assert json.loads((report / "metrics.json").read_text())["model"] == str(tag)
    assert sum(map(sum, metrics["confusion"])) == 48
    # one group per country, each of four sentences: twelve (article, country) stances
    assert metrics["articles"]["n"] == sum(map(sum, metrics["articles"]["confusion"])) == 12
    assert re.search(r"^by article, country +n +12 ", out, re.MULTILINE)
    assert "baseline tfidf_lr" in out
    assert "baseline majority" in out
    assert (report / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    errors = [json.loads(line) for line in (report / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == 48 - round(metrics["accuracy"] * 48)
    assert all(e["gold"] != e["predicted"] for e in errors)
    # every pair with its probabilities, so a reader can recompute what the metrics say
    predictions = [json.loads(line) for line in (report / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == 48
    wrong = [p for p in predictions if p["gold"] != p["predicted"]]
    assert [{k: v for k, v in p.items() if k != "probabilities"} for p in wrong] == errors
    for p in predictions:
        assert max(p["probabilities"], key=p["probabilities"].get) == p["predicted"]
        assert abs(sum(p["probabilities"].values()) - 1) < 1e-3
        assert p["confidence"] == p["probabilities"][p["predicted"]]
    assert sum(p["gold"] == p["predicted"] for p in predictions) / 48 == pytest.approx(metrics["accuracy"])
    assert main(["models"]) == 0
    assert tag in capsys.readouterr().out


def test_train_says_where_latest_moved_and_models_marks_it(labeled_file, tiny_encoder_dir, bentoml_home, capsys):
    args = ["train", "--data", str(labeled_file), "--base-model", str(tiny_encoder_dir), "--quiet"]
    args += ["--epochs", "1", "--batch-size", "8", "--max-length", "64"]
    assert main(args) == 0
    first = bentoml.models.get("troop-stance:latest").tag
    assert "latest is now" not in capsys.readouterr().out  # nothing was replaced
    assert main(args) == 0
    second = bentoml.models.get("troop-stance:latest").tag
    out = capsys.readouterr().out
    assert (
        f"troop-stance:latest is now {second} (was {first}); to keep using the earlier one, pass --model {first}" in out
    )
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert next(line for line in lines if str(second) in line).startswith("* ")
    assert next(line for line in lines if str(first) in line).startswith("  ")
    assert main([*args, "--model-name", "exp-1"]) == 0
    capsys.readouterr()
    assert main(["models", "--name", "exp-2"]) == 0  # a name with no versions says which names there are
    assert (
        "no versions of 'exp-2' registered; the store holds exp-1, troop-stance (--name NAME)"
        in capsys.readouterr().out
    )


def test_a_model_name_in_capitals_is_the_name_the_store_keeps(labeled_file, tiny_encoder_dir, bentoml_home, capsys):
    args = ["train", "--data", str(labeled_file), "--base-model", str(tiny_encoder_dir), "--quiet"]
    args += ["--epochs", "1", "--batch-size", "8", "--max-length", "64", "--model-name", "My-Exp"]
    assert main(args) == 0
    tag = str(bentoml.models.get("my-exp:latest").tag)
    assert main(["models", "--name", "My-Exp"]) == 0
    out = capsys.readouterr().out
    assert tag in out
    assert "* is my-exp:latest" in out
    assert main([*args, "--if-missing"]) == 0
    assert f"{tag} is registered; not training (--if-missing)" in capsys.readouterr().out


def test_a_model_no_better_than_tfidf_is_warned_of(labeled_file, tiny_encoder_dir, bentoml_home, monkeypatch, caplog):
    real = train_module.evaluate_pairs

    def chance_level(predictor, rows):
        metrics, predictions = real(predictor, rows)
        return metrics | {"macro_f1": 0.0}, predictions

    monkeypatch.setattr(train_module, "evaluate_pairs", chance_level)
    with caplog.at_level("WARNING", logger=train_module.__name__):
        train(_settings(labeled_file, tiny_encoder_dir), progress=False)
    assert "held-out macro-F1 (0.000) is no better than TF-IDF" in caplog.text


def test_bfloat16_training_differs_from_float32_and_an_unknown_precision_is_refused(
    labeled_file, tiny_encoder_dir, bentoml_home
):
    exact = train(_settings(labeled_file, tiny_encoder_dir, precision="fp32"), progress=False)
    fast = train(_settings(labeled_file, tiny_encoder_dir, precision="bf16"), progress=False)
    weights = [StancePredictor.load(bentoml.models.get(r.tag).path).classifier for r in (exact, fast)]
    assert not torch.equal(weights[0].classifier.weight, weights[1].classifier.weight)
    with pytest.raises(ValueError, match="'half'"):
        _settings(labeled_file, tiny_encoder_dir, precision="half")


def test_training_is_reproducible(labeled_file, tiny_encoder_dir, bentoml_home):
    first = train(_settings(labeled_file, tiny_encoder_dir), progress=False).metrics
    second = train(_settings(labeled_file, tiny_encoder_dir), progress=False).metrics
    assert round(first["macro_f1"], 2) == round(second["macro_f1"], 2)
    assert first["confusion"] == second["confusion"]


def test_a_failing_save_leaves_no_model_and_keeps_latest(labeled_file, tiny_encoder_dir, bentoml_home, monkeypatch):
    good = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(train_module, "save_model", broken_save)
    with pytest.raises(OSError, match="disk full"):
        train(_settings(labeled_file, tiny_encoder_dir), progress=False)
    assert [str(m.tag) for m in bentoml.models.list()] == [good]
    assert str(bentoml.models.get("troop-stance:latest").tag) == good


def test_an_interrupted_run_leaves_no_model(labeled_file, tiny_encoder_dir, bentoml_home, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "fine_tune", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(_settings(labeled_file, tiny_encoder_dir), progress=False)
    assert bentoml.models.list() == []


def test_bad_data_is_refused_before_training(tmp_path, tiny_encoder_dir, bentoml_home, monkeypatch, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "text": "Poland sends troops.", "country": "Poland", "label": "yes"}) + "\n")
    monkeypatch.setattr(train_module, "fine_tune", lambda *a, **k: pytest.fail("trained anyway"))
    with pytest.raises(CorpusError, match=f"{bad}:1: unknown label 'yes'"):
        train(_settings(bad, tiny_encoder_dir), progress=False)
    code = main(["train", "--data", str(bad), "--base-model", str(tiny_encoder_dir), "--quiet"])
    assert code == 2
    assert f"{bad}:1: unknown label 'yes'" in capsys.readouterr().err
    assert bentoml.models.list() == []


def test_a_model_with_other_labels_is_refused(labeled_file, tiny_encoder_dir, bentoml_home, tmp_path):
    import shutil

    stored = bentoml.models.get(train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag)
    copy = tmp_path / "copy"
    shutil.copytree(stored.path, copy)
    meta = json.loads((copy / STANCE_FILE).read_text())
    meta["labels"] = ["none", "will_send", "wont_send", "logistics_only"]
    (copy / STANCE_FILE).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="model labels"):
        StancePredictor.load(copy)


def test_missing_model_is_a_clear_error(bentoml_home, tmp_path, capsys, labeled_file):
    assert main(["evaluate", "--data", str(labeled_file), "--model", "troop-stance:nope"]) == 2
    assert "no model 'troop-stance:nope'" in capsys.readouterr().err


def test_evaluate_checks_the_data_before_the_model(bentoml_home, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert main(["evaluate", "--data", str(bad), "--model", "troop-stance:nope"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1: invalid JSON" in err
    assert "no model" not in err


def test_ctrl_c_during_train_is_one_line_and_registers_nothing(
    labeled_file, tiny_encoder_dir, bentoml_home, monkeypatch, capsys
):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "fine_tune", interrupted)
    args = ["train", "--data", str(labeled_file), "--base-model", str(tiny_encoder_dir), "--epochs", "1", "--quiet"]
    assert main(args) == 130
    stderr = capsys.readouterr().err
    assert stderr.strip().splitlines()[-1] == "stance train: interrupted; no model was registered"
    assert "Traceback" not in stderr
    assert bentoml.models.list() == []


def test_sigterm_while_the_model_is_copied_into_the_store_registers_nothing(
    labeled_file, tiny_encoder_dir, bentoml_home, monkeypatch, capsys
):
    import os
    import shutil
    import signal
    import time

    real = shutil.copytree

    def copy_cut_short(source, destination, *args, **kwargs):
        if Path(destination).parent.parent.name == "models":  # BentoML's copy into the store
            (Path(destination) / "model.yaml").write_text("partial")
            os.kill(os.getpid(), signal.SIGTERM)  # a scheduler's time limit, mid-copy
            time.sleep(5)
        return real(source, destination, *args, **kwargs)

    monkeypatch.setattr(shutil, "copytree", copy_cut_short)
    args = ["train", "--data", str(labeled_file), "--base-model", str(tiny_encoder_dir), "--epochs", "1", "--quiet"]
    assert main(args) == 128 + signal.SIGTERM
    stderr = capsys.readouterr().err
    assert stderr.strip().splitlines()[-1] == "stance train: terminated (SIGTERM); no model was registered"
    assert bentoml.models.list() == []
    assert not list((bentoml_home / "models").glob("troop-stance/*/model.yaml"))  # no half-written version
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is this command's only


def test_a_hang_up_ignored_as_under_nohup_stays_ignored(labeled_file, bentoml_home, monkeypatch, capsys):
    import os
    import signal

    from model import store

    def hang_up(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGHUP)  # the terminal closes while the command runs
        return []

    monkeypatch.setattr(store, "registered_models", hang_up)
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        assert main(["models"]) == 0  # went on, as nohup promises
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert "terminated" not in capsys.readouterr().err


def test_weights_changed_after_training_are_refused_by_their_checksum(
    labeled_file, tiny_encoder_dir, bentoml_home, capsys
):
    """Damage that keeps the file's length passes every structural check, and the model
    then answered will_send with NaN confidences for everything."""
    from model.store import registered

    tag = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag
    folder = Path(registered(tag).path)
    assert len(json.loads((folder / "stance.json").read_text())["weights_sha256"]) == 64
    weights = folder / "model.safetensors"
    whole = bytearray(weights.read_bytes())
    whole[len(whole) // 2 : len(whole) // 2 + 4096] = b"\xff" * 4096
    weights.write_bytes(bytes(whole))
    with pytest.raises(LookupError, match=rf"{tag} is damaged: model.safetensors does not match the checksum"):
        registered(tag)
    assert main(["evaluate", "--data", str(labeled_file), "--model", tag]) == 2
    assert "does not match the checksum saved with it" in capsys.readouterr().err
    assert main(["models"]) == 0
    assert "DAMAGED (model.safetensors does not match the checksum" in capsys.readouterr().out


def test_a_model_whose_scores_are_not_numbers_raises_rather_than_answering(tiny_predictor, monkeypatch):
    import math

    import torch

    from model.pairs import pair_for
    from model.predictor import DamagedModelError

    pairs = [pair_for("Poland will send troops.", "Poland")]
    real = tiny_predictor._forward
    overflowed = []

    def half_overflows(inputs, dtype):  # as float16 can where float32 does not
        logits = real(inputs, dtype)
        if dtype != torch.float32:
            overflowed.append(dtype)
            logits[:] = math.inf
        return logits

    monkeypatch.setattr(tiny_predictor, "dtype", torch.bfloat16)
    monkeypatch.setattr(tiny_predictor, "_forward", half_overflows)
    assert math.isfinite(tiny_predictor.predict_pairs(pairs)[0].confidence)  # scored again in float32
    assert overflowed
    monkeypatch.setattr(tiny_predictor, "_forward", lambda inputs, dtype: real(inputs, dtype) * math.nan)
    with pytest.raises(DamagedModelError, match="not numbers"):
        tiny_predictor.predict_pairs(pairs)


def test_a_version_cut_short_in_the_store_is_refused_and_listed_as_incomplete(
    labeled_file, tiny_encoder_dir, bentoml_home, capsys, caplog
):
    import shutil

    from model.store import cut_short, registered

    tag = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag
    folder = Path(registered(tag).path)
    assert cut_short(folder) == ""
    weights = folder / "model.safetensors"
    whole = weights.read_bytes()
    weights.write_bytes(whole[: len(whole) // 2])  # SIGKILL halfway through BentoML's copy
    with pytest.raises(LookupError, match=rf"{tag} is incomplete \(model.safetensors is cut off\)"):
        registered(tag)
    assert main(["evaluate", "--data", str(labeled_file), "--model", tag]) == 2
    assert f"bentoml models delete {tag}" in capsys.readouterr().err
    assert main(["models"]) == 0
    assert "INCOMPLETE (model.safetensors is cut off)" in capsys.readouterr().out
    weights.write_bytes(whole[:5])
    assert cut_short(folder) == "model.safetensors is cut off"
    # Without model.yaml BentoML cannot read the version, nor list the store, nor delete it.
    unreadable = folder.with_name("unreadable1")
    shutil.copytree(folder, unreadable)
    (unreadable / "model.yaml").unlink()
    with pytest.raises(
        LookupError, match=rf"troop-stance:unreadable1 is incomplete \(model.yaml is missing\).*rm -r {unreadable}"
    ):
        registered("troop-stance:unreadable1")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert f"troop-stance:unreadable1 INCOMPLETE (model.yaml is missing): remove with `rm -r {unreadable}`" in out
    assert f"{tag}" in out  # the readable version is still listed
    whole_yaml = (folder / "model.yaml").read_text()
    for cut in (100, 0, len(whole_yaml) // 2):  # cut off: YAML, BentoML and cattrs errors, by what is left
        (unreadable / "model.yaml").write_text(whole_yaml[:cut])
        with pytest.raises(LookupError, match=r"troop-stance:unreadable1 is incomplete \(model.yaml cannot be read"):
            registered("troop-stance:unreadable1")
        assert main(["models"]) == 0
        assert f"troop-stance:unreadable1 INCOMPLETE (model.yaml cannot be read): remove with `rm -r {unreadable}`" in (
            capsys.readouterr().out
        )
        assert not [r for r in caplog.records if r.name.startswith("bentoml")]  # said once, in our words
    weights.write_bytes(whole)
    # stance.json is a file BentoML may not have copied yet: the version is still ours, incomplete,
    # and neither taken for another tool's nor a reason to refuse training under the name.
    no_stance = folder.with_name("nostance1")
    shutil.copytree(folder, no_stance)
    (no_stance / "model.yaml").write_text(whole_yaml.replace(f"version: {folder.name}", "version: nostance1"))
    (no_stance / "stance.json").unlink()
    shutil.rmtree(unreadable)
    assert main(["models"]) == 0
    assert "troop-stance:nostance1" in (listing := capsys.readouterr().out)
    assert "INCOMPLETE (stance.json is missing): remove with `bentoml models delete troop-stance:nostance1`" in listing
    with pytest.raises(LookupError, match=r"troop-stance:nostance1 is incomplete \(stance.json is missing\)"):
        registered("troop-stance:nostance1")
    train_module._refuse_foreign_name("troop-stance")  # nothing foreign under the name
    (folder / "tokenizer.json").write_text('{"version": "1.0", "trunc')
    assert cut_short(folder) == "tokenizer.json is cut off"
    (folder / "tokenizer.json").unlink()
    assert cut_short(folder) == "tokenizer.json is missing"


def test_another_tools_models_under_a_name_are_listed_as_such_and_never_trained_over(
    labeled_file, tiny_encoder_dir, bentoml_home, capsys
):
    import bentoml

    with bentoml.models.create("othermodel") as other:
        Path(other.path, "weights.bin").write_bytes(b"not ours")
    assert main(["models", "--name", "othermodel"]) == 0
    out = capsys.readouterr().out
    assert "not a troop-stance model" in out
    assert "delete" not in out  # never advice to remove what another tool saved
    with pytest.raises(
        ValueError, match=rf"model name 'othermodel' holds models troop-stance did not save \({other.tag}"
    ):
        train(_settings(labeled_file, tiny_encoder_dir, model_name="othermodel"), progress=False)
    assert [m.tag for m in bentoml.models.list("othermodel")] == [other.tag]


def _no_training(monkeypatch):
    monkeypatch.setattr(train_module, "fine_tune", lambda *a, **k: pytest.fail("trained anyway"))


def _rows_file(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_data_too_small_to_split_or_of_one_label_is_refused_before_training(
    tmp_path, tiny_encoder_dir, bentoml_home, monkeypatch
):
    _no_training(monkeypatch)
    three_groups = _rows_file(
        tmp_path / "three.jsonl",
        [
            {"text": TEMPLATES[label].format(c=c), "country": c, "label": label, "group": f"g{i}"}
            for i, c in enumerate(COUNTRIES[:3])
            for label in TEMPLATES
        ],
    )
    with pytest.raises(ValueError, match="the dev split is empty: the data has 3 groups"):
        train(_settings(three_groups, tiny_encoder_dir), progress=False)
    one_label = _rows_file(
        tmp_path / "one.jsonl",
        [{"text": TEMPLATES["none"].format(c=c), "country": c, "label": "none"} for c in COUNTRIES],
    )
    with pytest.raises(ValueError, match="the training split holds only 'none' pairs"):
        train(_settings(one_label, tiny_encoder_dir), progress=False)
    assert bentoml.models.list() == []


def test_a_splits_file_must_name_groups_in_the_data_and_be_well_formed(
    labeled_file, tmp_path, tiny_encoder_dir, bentoml_home, monkeypatch
):
    _no_training(monkeypatch)
    cases = {
        '{"test": ["elsewhere"], "dev": ["g1"]}': "the test split is empty: none of the groups",
        '["g1"]': 'expected {"test": [groups], "dev": [groups]}',
        '{"test": "g1", "dev": ["g2"]}': "'test' must be a list of group names",
        '{"test": ["g1"], "dev": ["g1"]}': "groups in both test and dev: g1",
        '{"test": [g1]}': ":1: invalid JSON",
    }
    groups = sorted({r.group for r in load_pairs([labeled_file])})
    every = json.dumps({"test": groups[:-1], "dev": groups[-1:]})
    cases[every] = "the train split is empty: {splits} holds out every group of the data"
    for number, (content, message) in enumerate(cases.items()):
        splits = tmp_path / f"splits{number}.json"
        splits.write_text(content)
        with pytest.raises(ValueError, match=re.escape(message.replace("{splits}", str(splits)))):
            train(_settings(labeled_file, tiny_encoder_dir, splits=str(splits)), progress=False)
    missing = tmp_path / "no-such-splits.json"
    with pytest.raises(ValueError, match=re.escape(f"splits file {missing}: no such file or directory")):
        train(_settings(labeled_file, tiny_encoder_dir, splits=str(missing)), progress=False)
    numbered = tmp_path / "numbered.json"
    numbered.write_text('{"test": [7], "dev": ["g1", 8]}')  # as labeled rows read "group": 7
    assert read_splits(numbered) == {"test": {"7"}, "dev": {"g1", "8"}}


def test_a_splits_file_that_puts_one_sentence_in_train_and_test_is_warned_of(
    labeled_file, tmp_path, tiny_encoder_dir, caplog
):
    rows = [json.loads(line) for line in labeled_file.read_text().splitlines()]
    rows.append({**rows[0], "id": "reprint", "group": "g5"})  # g0's first sentence, reprinted in g5
    data = _rows_file(tmp_path / "reprinted.jsonl", rows)
    splits = tmp_path / "splits.json"
    splits.write_text('{"test": ["g5"], "dev": ["g6"]}')
    with caplog.at_level("WARNING", logger=train_module.__name__):
        parts = train_module._split(load_pairs([data]), _settings(data, tiny_encoder_dir, splits=str(splits)))
    assert len(parts["test"]) == 5
    assert "the test split has 5 pairs: the metrics registered with the model are rough" in caplog.text
    assert "1 held-out pairs repeat a training sentence" in caplog.text
    assert f"{data}:{len(rows)} (test) repeats the sentence at {data}:1 (train)" in caplog.text
    splits.write_text('{"test": ["g0", "g5"], "dev": ["g6"]}')
    caplog.clear()
    train_module._split(load_pairs([data]), _settings(data, tiny_encoder_dir, splits=str(splits)))
    assert "repeat a training sentence" not in caplog.text


def test_a_splits_file_naming_groups_no_pair_has_and_a_label_never_trained_are_warned_of(
    labeled_file, tmp_path, tiny_encoder_dir, caplog
):
    splits = tmp_path / "splits.json"
    splits.write_text('{"test": ["G5", "g6"], "dev": ["g7", "gone"]}')  # a typo in case, and a stray name
    with caplog.at_level("WARNING", logger=train_module.__name__):
        parts = train_module._split(
            load_pairs([labeled_file]), _settings(labeled_file, tiny_encoder_dir, splits=str(splits))
        )
    assert f"{splits} lists 2 group(s) no pair has" in caplog.text
    assert "'G5' (test; did you mean 'g5'?)" in caplog.text
    assert "'gone' (dev)" in caplog.text
    assert {r.group for r in parts["train"]} >= {"g5"}  # what the warning is about
    assert "never predict" not in caplog.text
    rows = [json.loads(line) for line in labeled_file.read_text().splitlines()]
    no_refusals = _rows_file(tmp_path / "no_refusals.jsonl", [r for r in rows if r["label"] != "wont_send"])
    caplog.clear()
    with caplog.at_level("WARNING", logger=train_module.__name__):
        train_module._split(load_pairs([no_refusals]), _settings(no_refusals, tiny_encoder_dir))
    assert "the training split has no wont_send pairs: the model will never predict that label" in caplog.text


def test_rows_repeated_exactly_are_warned_of_when_training(
    labeled_file, tmp_path, tiny_encoder_dir, monkeypatch, caplog
):
    rows = [json.loads(line) for line in labeled_file.read_text().splitlines()]
    data = _rows_file(tmp_path / "twice.jsonl", [*rows, {**rows[0], "id": "again"}])

    def stop(*args, **kwargs):
        raise RuntimeError("stop here")

    monkeypatch.setattr(train_module, "fine_tune", stop)
    with caplog.at_level("WARNING", logger=train_module.__name__), pytest.raises(RuntimeError, match="stop here"):
        train(_settings(data, tiny_encoder_dir), progress=False)
    assert (
        f"1 rows repeat an earlier row exactly and count twice ({data}:{len(rows) + 1} repeats {data}:1)" in caplog.text
    )


def test_a_held_out_split_without_stances_registers_with_no_f_avg(
    labeled_file, tmp_path, tiny_encoder_dir, bentoml_home
):
    rows = [json.loads(line) for line in labeled_file.read_text().splitlines()]
    # The test groups hold only logistics and none: F_avg (will_send and wont_send) has nothing to average.
    data = _rows_file(
        tmp_path / "quiet.jsonl",
        [r for r in rows if r["group"] not in ("g0", "g1") or r["label"] in ("logistics_only", "none")],
    )
    splits = tmp_path / "splits.json"
    splits.write_text('{"test": ["g0", "g1"], "dev": ["g2"]}')
    result = train(_settings(data, tiny_encoder_dir, splits=str(splits)), progress=False)
    assert result.metrics["f_avg"] is None
    meta = bentoml.models.get(result.tag).info.metadata
    assert "f_avg" not in meta
    assert {"accuracy", "macro_f1", "ece"} <= set(meta)


def test_a_bad_model_name_or_device_is_refused_before_training(
    labeled_file, tiny_encoder_dir, bentoml_home, monkeypatch, capsys
):
    _no_training(monkeypatch)
    args = ["train", "--data", str(labeled_file), "--base-model", str(tiny_encoder_dir), "--quiet"]
    assert main([*args, "--model-name", "Bad/Name"]) == 2
    assert "model name 'Bad/Name' is not valid" in capsys.readouterr().err
    # A version in the name once made a failed save delete the version already there.
    for name in ("troop-stance:v1", "a:b:c"):
        assert main([*args, "--model-name", name]) == 2
        assert f"model name {name!r} holds a version" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "--device", "gpu"])
    assert "invalid choice: 'gpu'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="device must be auto, cpu or cuda, got 'gpu'"):
        _settings(labeled_file, tiny_encoder_dir, device="gpu")
    missing = str(labeled_file.parent / "no-such-encoder")
    assert main(["train", "--data", str(labeled_file), "--base-model", missing, "--quiet"]) == 2
    assert f"base model {missing}: no such folder" in capsys.readouterr().err
    assert main([*args, "--max-length", "257"]) == 2  # the tiny encoder has 256 positions
    assert f"--max-length 257 is over the 256 positions base model {tiny_encoder_dir} has" in capsys.readouterr().err
    layers = transformers.AutoConfig.from_pretrained(tiny_encoder_dir).num_hidden_layers
    assert main([*args, "--freeze-layers", str(layers + 1)]) == 2  # it trained, all frozen, and registered
    assert f"--freeze-layers {layers + 1} is over the {layers} layers" in capsys.readouterr().err


def test_epochs_too_few_for_one_step_are_refused_and_register_nothing(
    labeled_file, tiny_encoder_dir, bentoml_home, capsys
):
    args = ["train", "--data", str(labeled_file), "--base-model", str(tiny_encoder_dir), "--quiet"]
    assert main([*args, "--epochs", "0.001"]) == 2
    assert "--epochs 0.001 gives no training step" in capsys.readouterr().err
    assert not bentoml.models.list()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="torch sees no CUDA device"):
            train(_settings(labeled_file, tiny_encoder_dir, device="cuda"), progress=False)


def test_ctrl_c_while_the_store_copies_a_version_leaves_the_store_as_it_was(
    labeled_file, tiny_encoder_dir, bentoml_home, monkeypatch
):
    import shutil

    good = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag
    real_copytree = shutil.copytree

    def interrupted_copy(source, destination, **kwargs):
        Path(destination, "config.json").write_text("{}")  # part of the version is already there
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copytree", interrupted_copy)
    with pytest.raises(KeyboardInterrupt):
        train(_settings(labeled_file, tiny_encoder_dir, seed=4), progress=False)
    monkeypatch.setattr(shutil, "copytree", real_copytree)
    assert [str(m.tag) for m in bentoml.models.list()] == [good]
    assert str(bentoml.models.get("troop-stance:latest").tag) == good
    assert len(list((bentoml_home / "models" / "troop-stance").iterdir())) == 2  # the version and `latest`


def test_the_data_hash_follows_content_and_groups_not_file_paths(tmp_path):
    from training.corpus import data_hash, load_pairs

    rows = [{"text": TEMPLATES["none"].format(c=c), "country": c, "label": "none", "group": "g"} for c in COUNTRIES]
    first = _rows_file(tmp_path / "a.jsonl", rows)
    (tmp_path / "copy").mkdir()
    copy = _rows_file(tmp_path / "copy" / "b.jsonl", rows)
    regrouped = _rows_file(tmp_path / "c.jsonl", [{**r, "group": r["country"]} for r in rows])
    assert data_hash(load_pairs([first])) == data_hash(load_pairs([copy]))
    assert data_hash(load_pairs([first])) != data_hash(load_pairs([regrouped]))


def test_evaluate_refuses_a_report_path_or_tag_it_cannot_use_before_scoring(labeled_file, tmp_path, capsys):
    taken = tmp_path / "report"
    taken.write_text("a file, not a folder")
    assert main(["evaluate", "--data", str(labeled_file), "--report", str(taken), "--model", "troop-stance:nope"]) == 2
    err = capsys.readouterr().err
    assert f"--report {taken}: is a file; give a folder for the report" in err
    assert "no model" not in err
    assert main(["evaluate", "--data", str(labeled_file), "--model", "a:b:c"]) == 2
    assert "'a:b:c' is not a model tag" in capsys.readouterr().err


def test_evaluate_split_scores_what_the_model_held_out_and_warns_of_groups_that_trained_it(
    labeled_file, tiny_encoder_dir, bentoml_home, tmp_path, capsys
):
    random_split = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag
    held_out = held_out_groups(Path(registered(random_split).path))
    assert held_out["test"]
    assert held_out["dev"]
    assert not held_out["test"] & held_out["dev"]
    own_test = [r for r in load_pairs([str(labeled_file)]) if r.group in held_out["test"]]

    # no --splits: the groups the model held out, a random split's included, and no warning
    assert main(["evaluate", "--data", str(labeled_file), "--split", "test", "--model", random_split, "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out.splitlines()[-1])["n"] == len(own_test)
    assert "warning" not in err

    # a splits file whose test groups trained this model: the warning counts those pairs
    trained_on = sorted({r.group for r in load_pairs([str(labeled_file)])} - held_out["test"] - held_out["dev"])
    splits = tmp_path / "splits.json"
    splits.write_text(
        json.dumps({"test": trained_on[:3] + sorted(held_out["test"])[:1], "dev": sorted(held_out["dev"])})
    )
    picked = [r for r in load_pairs([str(labeled_file)]) if r.group in set(trained_on[:3])]
    evaluate = ["evaluate", "--data", str(labeled_file), "--split", "test", "--splits", str(splits)]
    assert main([*evaluate, "--model", random_split]) == 0
    err = capsys.readouterr().err
    assert f"{len(picked)} of the " in err
    assert f"pairs picked from {splits} are from groups this model did not hold out" in err

    # the same file held out in training: nothing to warn of, from any working folder
    with_file = train(_settings(labeled_file, tiny_encoder_dir, splits=str(splits)), progress=False).tag
    assert main([*evaluate, "--model", with_file]) == 0
    assert "warning" not in capsys.readouterr().err

    # --splits alone is a mistake, not silently ignored
    assert main(["evaluate", "--data", str(labeled_file), "--splits", str(splits), "--model", random_split]) == 2
    assert "--splits picks groups for --split" in capsys.readouterr().err


def test_a_model_saved_before_held_out_groups_falls_back_to_how_it_split(
    labeled_file, tiny_encoder_dir, bentoml_home, tmp_path, capsys
):
    tag = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag
    stance = Path(registered(tag).path) / STANCE_FILE
    stance.write_text(json.dumps({k: v for k, v in json.loads(stance.read_text()).items() if k != "held_out"}))
    splits = tmp_path / "splits.json"
    splits.write_text('{"test": ["g0", "g1", "g2"], "dev": ["g3", "g4"]}')
    assert (
        main(["evaluate", "--data", str(labeled_file), "--split", "test", "--splits", str(splits), "--model", tag]) == 0
    )
    assert f"held out a random split of its own training data, not the groups {splits} lists" in capsys.readouterr().err


def test_evaluating_a_model_on_sentences_it_was_trained_on_is_warned_of(
    labeled_file, tiny_encoder_dir, bentoml_home, tmp_path, capsys
):
    from model.store import TRAINED_FILE

    tag = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag
    folder = Path(registered(tag).path)
    held_out = set().union(*json.loads((folder / STANCE_FILE).read_text())["held_out"].values())
    lines = labeled_file.read_text().splitlines(keepends=True)
    rows = [json.loads(line) for line in lines]
    trained = [i for i, row in enumerate(rows) if row["group"] not in held_out]
    assert main(["evaluate", "--data", str(labeled_file), "--model", tag]) == 0
    err = capsys.readouterr().err
    assert f"{len(trained)} of the {len(rows)} pairs scored are sentences this model was trained on" in err
    assert f"(the first: {labeled_file}:{trained[0] + 1})" in err
    part = tmp_path / "part.jsonl"  # a few training rows, not the whole file: still told
    part.write_text("".join(lines[i] for i in trained[:3]))
    assert main(["evaluate", "--data", str(part), "--model", tag]) == 0
    assert "3 of the 3 pairs scored are sentences this model was trained on" in capsys.readouterr().err
    unseen = tmp_path / "unseen.jsonl"
    unseen.write_text("".join(line for line, row in zip(lines, rows, strict=True) if row["group"] in held_out))
    assert main(["evaluate", "--data", str(unseen), "--model", tag]) == 0
    assert "warning" not in capsys.readouterr().err
    # A model saved before it recorded its sentences: only its whole training data is told.
    (folder / TRAINED_FILE).unlink()
    assert main(["evaluate", "--data", str(labeled_file), "--model", tag]) == 0
    assert "these are the pairs this model was trained on" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(part), "--model", tag]) == 0
    assert "warning" not in capsys.readouterr().err


def test_going_on_from_a_registered_model_warns_when_it_trained_on_what_this_run_holds_out(
    labeled_file, tiny_encoder_dir, bentoml_home, caplog, capsys
):
    from training.corpus import trained_sentences

    first = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag
    with caplog.at_level("WARNING", logger=train_module.__name__):
        second = train(_settings(labeled_file, first, seed=5), progress=False).tag  # a tag, as --base-model takes
    assert f"are sentences base model {first} was trained on" in caplog.text
    capsys.readouterr()
    assert main(["evaluate", "--data", str(labeled_file), "--model", second, "--split", "test"]) == 0
    assert "test pairs are sentences this model was trained on" in capsys.readouterr().err  # through its base
    stance = json.loads((Path(registered(second).path) / STANCE_FILE).read_text())
    assert stance["settings"]["base_model"] == first  # the version, not the folder it loaded from
    folders = [Path(registered(t).path) for t in (first, second)]
    assert trained_sentences(folders[0]) < trained_sentences(folders[1])  # the chain's sentences add up
    caplog.clear()
    with caplog.at_level("WARNING", logger=train_module.__name__):
        train(_settings(labeled_file, first), progress=False)  # the same split as the first: nothing seen
    assert "base model" not in caplog.text


def test_a_cut_off_or_missing_baselines_file_and_a_bare_store_name_as_base_model_are_named(
    labeled_file, tiny_encoder_dir, bentoml_home, capsys, monkeypatch
):
    from training import evaluate as evaluation

    tag = train(_settings(labeled_file, tiny_encoder_dir), progress=False).tag
    saved = Path(bentoml.models.get(tag).path, "baselines.joblib")
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])  # as a kill during the copy leaves it

    def scored(*a, **k):
        raise AssertionError("scored before the baselines were read")

    monkeypatch.setattr(evaluation, "evaluate_pairs", scored)
    assert main(["evaluate", "--data", str(labeled_file), "--model", str(tag), "--baselines"]) == 2
    err = capsys.readouterr().err
    assert f"{saved} cannot be read" in err
    assert "evaluate without --baselines" in err
    monkeypatch.undo()
    saved.unlink()  # a model saved without baselines: said, not silently nothing
    assert main(["evaluate", "--data", str(labeled_file), "--model", str(tag), "--baselines", "--json"]) == 0
    out, err = capsys.readouterr()
    assert f"warning: {tag} was saved without baselines, so --baselines adds none" in err
    assert "baselines" not in json.loads(out.splitlines()[-1])
    # The store's name where a base model's folder or id goes: its versions are what is meant.
    assert main(["train", "--data", str(labeled_file), "--base-model", "troop-stance", "--quiet"]) == 2
    assert "base model 'troop-stance' is a name in the model store: give a version, such as troop-stance:latest" in (
        capsys.readouterr().err
    )
