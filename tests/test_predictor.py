"""The predictor's precision: reduced precision really runs, and near-ties are scored
again in float32 so labels match a float32 run."""

from __future__ import annotations

import concurrent.futures
import math
from pathlib import Path

import bentoml
import pytest
import torch

from model.pairs import article_pairs
from model.predictor import StancePredictor, resolve_precision

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@pytest.fixture(scope="module")
def seed_pairs():
    return [pair for path in sorted(SEEDS.glob("*.txt")) for pair in article_pairs(path.read_text()).pairs]


def _predict(tiny_model_home, pairs, **kwargs):
    folder = bentoml.models.get("troop-stance:latest").path
    return StancePredictor.load(folder, device="cpu", **kwargs).predict_pairs(pairs)


def _logit_gap(prediction, temperature: float) -> float:
    best, second = sorted(prediction.probabilities.values(), reverse=True)[:2]
    return temperature * math.log(best / second)


def test_an_unknown_precision_is_refused_by_name():
    with pytest.raises(ValueError, match="'fp8'"):
        resolve_precision("fp8", torch.device("cpu"))


def test_fp32_is_honoured_and_auto_never_picks_half_on_cpu():
    assert resolve_precision("fp32", torch.device("cpu")) == torch.float32
    assert resolve_precision("auto", torch.device("cpu")) in (torch.float32, torch.bfloat16)


def test_fp16_on_a_cpu_is_honoured_with_a_warning_that_it_is_slow(caplog):
    assert resolve_precision("fp16", torch.device("cpu")) == torch.float16
    assert "fp16 on a CPU runs without float16 kernels" in caplog.text
    caplog.clear()
    assert resolve_precision("bf16", torch.device("cpu")) == torch.bfloat16
    assert not caplog.text


@pytest.mark.parametrize(("bf16", "expected"), [(True, torch.bfloat16), (False, torch.float16)])
def test_auto_on_cuda_is_half_precision(monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)
    assert resolve_precision("auto", torch.device("cuda")) == expected


def test_bfloat16_moves_probabilities_without_a_recheck(tiny_model_home, seed_pairs):
    exact = _predict(tiny_model_home, seed_pairs, precision="fp32")
    again = _predict(tiny_model_home, seed_pairs, precision="fp32")
    raw = _predict(tiny_model_home, seed_pairs, precision="bf16", recheck_margin=-math.inf)

    def moved(first, second):
        return max(abs(a.probabilities[k] - b.probabilities[k]) for a, b in zip(first, second) for k in a.probabilities)

    assert moved(exact, again) == 0.0  # float32 is deterministic here, so any change is bfloat16's
    assert moved(exact, raw) > 0.0


def test_near_ties_get_float32_answers_and_the_rest_keep_their_labels(tiny_model_home, seed_pairs):
    exact = _predict(tiny_model_home, seed_pairs, precision="fp32")
    raw = _predict(tiny_model_home, seed_pairs, precision="bf16", recheck_margin=-math.inf)
    temperature = StancePredictor.load(bentoml.models.get("troop-stance:latest").path, device="cpu").temperature
    gaps = sorted(_logit_gap(p, temperature) for p in raw)
    margin = (gaps[len(gaps) // 2 - 1] + gaps[len(gaps) // 2]) / 2  # between two pairs, splitting them
    checked = _predict(tiny_model_home, seed_pairs, precision="bf16", recheck_margin=margin)
    redone = 0
    for want, fast, got in zip(exact, raw, checked, strict=True):
        if _logit_gap(fast, temperature) < margin:
            redone += 1
            assert got.probabilities == pytest.approx(want.probabilities, abs=1e-5)
        else:
            assert got.label == fast.label
    assert 0 < redone < len(seed_pairs)


def test_cpu_threads_follow_a_cgroup_quota_that_the_affinity_mask_does_not_show(tmp_path, monkeypatch):
    from model import predictor

    quota = tmp_path / "cpu.max"
    quota.write_text("max 100000\n")
    assert predictor._cgroup_cpu_quota(quota) is None
    quota.write_text("150000 100000\n")
    assert predictor._cgroup_cpu_quota(quota) == 1.5
    assert predictor._cgroup_cpu_quota(tmp_path / "absent") is None
    monkeypatch.setattr(predictor, "_cgroup_cpu_quota", lambda: 1.5)
    monkeypatch.setattr(predictor.os, "sched_getaffinity", lambda pid: set(range(64)))
    assert predictor.cpu_threads() == 2


def test_two_threads_may_score_at_once(tiny_predictor):
    # The service runs an article call and a /classify batch side by side on one predictor;
    # a fast tokenizer refuses a call from one thread while another uses it ("Already borrowed").
    from model.countries import resolve_country
    from model.pairs import pair_for

    pairs = [
        pair_for(f"Poland will not send {i} troops, but France will.", resolve_country("France"), "Context.")
        for i in range(40)
    ]
    alone = tiny_predictor.predict_pairs(pairs)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: tiny_predictor.predict_pairs(pairs), range(24)))
    assert all([p.label for p in r] == [p.label for p in alone] for r in results)
