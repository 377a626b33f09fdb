"""Train, register, evaluate and list models end to end on the tiny test encoder."""

from __future__ import annotations

import json
from pathlib import Path

import bentoml
import pytest
import torch

from cli.main import main
from model.predictor import STANCE_FILE, StancePredictor
from training import train as train_module
from training.corpus import CorpusError
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
    assert sum(map(sum, metrics["confusion"])) == 48
    assert "baseline tfidf_lr" in out
    assert "baseline majority" in out
    assert (report / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    errors = [json.loads(line) for line in (report / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == 48 - round(metrics["accuracy"] * 48)
    assert all(e["gold"] != e["predicted"] for e in errors)
    assert main(["models"]) == 0
    assert tag in capsys.readouterr().out


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
