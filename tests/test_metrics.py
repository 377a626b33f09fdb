"""Metrics and calibration on cases whose answers follow from the definitions."""

from __future__ import annotations

import math

import pytest

from model.pairs import pair_for
from training.augment import swap_countries
from training.metrics import article_metrics, classification_metrics, expected_calibration_error, fit_temperature


def test_perfect_predictions():
    gold = ["will_send", "wont_send", "logistics_only", "none"]
    m = classification_metrics(gold, gold, [1.0] * 4)
    assert m["accuracy"] == 1.0
    assert m["macro_f1"] == 1.0
    assert m["f_avg"] == 1.0
    assert m["ece"] == 0.0
    assert m["confusion"] == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]


def test_f_avg_ignores_logistics_and_none():
    gold = ["will_send", "wont_send", "logistics_only", "none"]
    predicted = ["will_send", "wont_send", "none", "logistics_only"]
    m = classification_metrics(gold, predicted)
    assert m["f_avg"] == 1.0
    assert m["macro_f1"] == 0.5
    assert m["per_label"]["none"]["recall"] == 0.0


def test_macro_f1_and_f_avg_average_only_labels_that_occur_on_either_side():
    gold = ["none", "none", "logistics_only", "logistics_only"]
    m = classification_metrics(gold, ["none", "none", "logistics_only", "none"])
    assert m["f_avg"] is None  # no will_send or wont_send anywhere: undefined, not 0
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)  # none 0.8, logistics_only 2/3
    assert m["per_label"]["will_send"]["support"] == 0  # the table still lists all four
    # a label the file lacks but the model predicts counts, as the 0 it earns
    wrong = classification_metrics(gold, ["none", "none", "logistics_only", "will_send"])
    assert wrong["f_avg"] == 0.0
    assert wrong["macro_f1"] == pytest.approx((1.0 + 2 / 3 + 0.0) / 3)  # none 1.0 now


def test_article_metrics_combine_each_article_countrys_sentences_by_the_article_rule():
    keys = [("a1", "POL")] * 2 + [("a1", "FRA")] * 2 + [("a2", "POL")] * 2 + [("a2", "DEU")]
    gold = ["wont_send", "logistics_only", "will_send", "wont_send", "will_send", "none", "none"]
    # a1 POL: logistics_only both sides (a refusal plus support); a1 FRA: conflicting read as
    # will_send; a2 POL: will_send missed (none); a2 DEU: none both sides
    predicted = ["logistics_only", "wont_send", "will_send", "none", "none", "none", "none"]
    m = article_metrics(keys, gold, predicted)
    assert m["n"] == 4
    assert m["accuracy"] == 0.5
    assert list(m["per_label"]) == ["will_send", "logistics_only", "none", "conflicting"]  # those that occur
    assert m["per_label"]["conflicting"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["per_label"]["none"]["precision"] == 0.5
    assert m["f_avg"] == 0.0  # wont_send occurs nowhere, so only will_send counts
    only_none = article_metrics([("a", "POL"), ("a", "POL")], ["none", "none"], ["none", "none"])
    assert (only_none["accuracy"], only_none["macro_f1"], only_none["f_avg"]) == (1.0, 1.0, None)


def test_ece_of_confident_mistakes_is_their_confidence():
    assert expected_calibration_error([0.9, 0.9], [False, False]) == pytest.approx(0.9)
    assert expected_calibration_error([0.6, 0.6], [True, False]) == pytest.approx(0.1)


def test_temperature_softens_overconfident_logits():
    # Confident (log-odds 4) but right only half the time: the fitted temperature grows.
    log_probs = [[4.0, 0.0, 0.0, 0.0]] * 20
    gold = [0] * 10 + [1] * 10
    assert fit_temperature(log_probs, gold) > 2.0
    # Right every time: no reason to soften.
    assert fit_temperature(log_probs, [0] * 20) < 1.0
    assert math.isfinite(fit_temperature(log_probs, gold))


def test_country_swap_replaces_every_alias_of_the_target_only():
    pair = pair_for("Polish troops will guard Poland's hubs, Germany said.", "Poland", context="Warsaw offered help.")
    swapped, labels = swap_countries([pair], ["logistics_only"], copies=3, seed=1)
    assert labels == ["logistics_only"] * len(swapped)
    assert swapped == []  # the pool holds only Poland: nothing to swap to
    other = pair_for("France said nothing.", "France")
    swapped, labels = swap_countries([pair, other], ["logistics_only", "none"], copies=1, seed=1)
    first = swapped[0]
    assert first.country.name == "France"
    assert first.text == "French troops will guard France's hubs, Germany said."
    assert first.context == "France offered help."
    assert len(first.spans) == 2


def test_country_swap_writes_each_kind_of_name_as_the_same_kind_or_skips_the_swap():
    bosnia = pair_for("Bosnian troops will stay home, Sarajevo said.", "Bosnia and Herzegovina")
    poles = pair_for("The Poles will not go.", "Poland")
    dutch = pair_for("The Netherlands will send troops.", "Netherlands")
    others = [pair_for(f"{name} said nothing.", name) for name in ("France", "Germany", "Switzerland")]
    pairs = [bosnia, poles, dutch, *others]
    swapped, _ = swap_countries(pairs, ["wont_send", "wont_send", "will_send"] + ["none"] * 3, copies=5, seed=0)
    written = {(p.country.name, p.text) for p in swapped}
    # a demonym becomes a demonym (the source's "Bosnian,Herzegovinian" is two of them)
    assert ("France", "French troops will stay home, France said.") in written
    assert ("Germany", "German troops will stay home, Germany said.") in written
    # a people becomes a people, irregular ones included; the Swiss have no plural noun: no swap
    assert ("France", "The Frenchmen will not go.") in written
    assert ("Germany", "The Germans will not go.") in written
    assert ("Bosnia and Herzegovina", "The Bosnians will not go.") in written
    assert not any(p.country.name == "Switzerland" and "will not go" in p.text for p in swapped)
    # a name in the plural is still a name
    assert ("Germany", "Germany will send troops.") in written


def test_temperature_stays_in_a_sane_range_when_the_dev_split_is_tiny():
    from training.metrics import TEMPERATURE_RANGE

    all_right = fit_temperature([[0.0, -3.0, -3.0, -3.0]] * 3, [0, 0, 0])
    all_wrong = fit_temperature([[0.0, -3.0, -3.0, -3.0]] * 3, [1, 2, 3])
    assert TEMPERATURE_RANGE[0] <= all_right < 1  # sharper, but not towards 0
    assert all_wrong == TEMPERATURE_RANGE[1]  # the unbounded fit runs off to thousands


def test_the_macro_f1_interval_resamples_whole_sentences_and_counts_labels_as_the_metrics_do():
    import numpy as np

    from training.metrics import classification_metrics, macro_f1_interval

    gold = ["will_send", "none", "wont_send", "none", "logistics_only", "none", "will_send", "none"] * 5
    predicted = ["will_send", "none", "none", "none", "logistics_only", "will_send", "wont_send", "none"] * 5
    sentences = [f"s{i // 2}" for i in range(len(gold))]  # two pairs a sentence
    found = macro_f1_interval(gold, predicted, sentences, resamples=200)
    # The same draws, scored the slow way: whole sentences, labels that occur in either.
    keys = sorted(set(sentences))
    draws = np.random.default_rng(0).multinomial(len(keys), np.full(len(keys), 1 / len(keys)), size=200)
    scores = []
    for counts in draws:
        picked = [
            i
            for key, n in zip(keys, counts, strict=True)
            for _ in range(n)
            for i, s in enumerate(sentences)
            if s == key
        ]
        scores.append(classification_metrics([gold[i] for i in picked], [predicted[i] for i in picked])["macro_f1"])
    assert (found["low"], found["high"]) == pytest.approx(tuple(np.quantile(scores, [0.025, 0.975])))
    assert found["sentences"] == 20
    assert found["low"] < classification_metrics(gold, predicted)["macro_f1"] < found["high"]
    more = macro_f1_interval(gold * 8, predicted * 8, [f"{s}-{i // len(gold)}" for i, s in enumerate(sentences * 8)])
    assert more["high"] - more["low"] < found["high"] - found["low"]  # more sentences, a tighter interval
    perfect = macro_f1_interval(gold, gold, sentences)
    assert (perfect["low"], perfect["high"], perfect["resamples"]) == (1.0, 1.0, 1000)
    assert macro_f1_interval(gold[:2], predicted[:2], ["s0", "s0"]) is None  # one sentence: nothing to resample
