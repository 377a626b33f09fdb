"""Fine-tuning options on the tiny test encoder: what each one changes, and only that."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    DataCollatorWithPadding,
    RobertaConfig,
    RobertaForSequenceClassification,
)

from model.inputs import InputFormat
from model.pairs import pair_for
from training.settings import TrainSettings
from training.train import _training_set, fine_tune, output_layer, parameter_groups, probe_head

LABELS = ["will_send", "wont_send", "logistics_only", "none"]
TEMPLATES = [
    "{c} is ready to deploy troops to the mission.",
    "{c} will not send soldiers to the mission.",
    "{c} will provide logistics and weapons but no troops.",
    "The talks were held in {c} on Monday.",
]


def _tiny_classifier_and_rows(tiny_encoder_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder_dir)
    # Wide random weights, so that even untrained features tell the sentences apart.
    config = AutoConfig.from_pretrained(tiny_encoder_dir, num_labels=len(LABELS), initializer_range=0.5)
    torch.manual_seed(0)
    classifier = BertForSequenceClassification(config)
    pairs, labels = [], []
    for country in ("Poland", "France", "Germany", "Italy", "Spain", "Canada"):
        for label, template in zip(LABELS, TEMPLATES):
            pairs.append(pair_for(template.format(c=country), country))
            labels.append(label)
    dataset = _training_set(pairs, labels, tokenizer, InputFormat(max_length=64))
    return classifier, tokenizer, dataset


def _head_loss(classifier, rows, collate) -> float:
    with torch.no_grad():
        batch = collate([rows[i] for i in range(len(rows))])
        labels = batch.pop("labels")
        pooled = classifier.base_model(**batch).pooler_output
        return torch.nn.functional.cross_entropy(classifier.classifier(pooled), labels).item()


def test_probe_head_fits_the_output_layer_and_leaves_the_encoder_alone(tiny_encoder_dir):
    classifier, tokenizer, dataset = _tiny_classifier_and_rows(tiny_encoder_dir)
    rows, collate = dataset.with_format("torch"), DataCollatorWithPadding(tokenizer)
    lengths = [len(ids) for ids in dataset["input_ids"]]
    encoder = {name: value.clone() for name, value in classifier.base_model.state_dict().items()}
    classifier.eval()
    before = _head_loss(classifier, rows, collate)

    probe_head(classifier, rows, collate, lengths, torch.device("cpu"), torch.float32)

    assert classifier.training  # handed back ready for fine-tuning
    classifier.eval()
    assert _head_loss(classifier, rows, collate) < before - 0.05
    assert all(torch.equal(value, classifier.base_model.state_dict()[name]) for name, value in encoder.items())


def test_layer_decay_scales_learning_rates_from_the_top_layer_down():
    config = BertConfig(
        vocab_size=40, hidden_size=8, num_hidden_layers=3, num_attention_heads=2, intermediate_size=16, num_labels=4
    )
    classifier = BertForSequenceClassification(config)
    classifier.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    rate_of = {id(p): group["lr"] for group in parameter_groups(classifier, 1e-3, 0.5) for p in group["params"]}

    assert rate_of[id(classifier.classifier.weight)] == rate_of[id(classifier.bert.pooler.dense.weight)] == 1e-3
    layers = classifier.bert.encoder.layer
    assert rate_of[id(layers[2].output.dense.weight)] == pytest.approx(5e-4)
    assert rate_of[id(layers[0].attention.self.query.weight)] == pytest.approx(1.25e-4)
    assert rate_of[id(classifier.bert.embeddings.position_embeddings.weight)] == pytest.approx(6.25e-5)
    assert id(classifier.bert.embeddings.word_embeddings.weight) not in rate_of  # frozen stays out

    (flat,) = parameter_groups(classifier, 1e-3, 1.0)
    assert [id(p) for p in flat["params"]] == [id(p) for p in classifier.parameters() if p.requires_grad]


def test_the_probed_layer_is_the_one_that_yields_the_logits():
    sizes = {"vocab_size": 40, "hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 16, "num_labels": 4}
    bert = BertForSequenceClassification(BertConfig(num_hidden_layers=1, **sizes))
    roberta = RobertaForSequenceClassification(RobertaConfig(num_hidden_layers=1, **sizes))
    assert output_layer(bert) is bert.classifier
    assert output_layer(roberta) is roberta.classifier.out_proj  # after its own dense layer
    with pytest.raises(ValueError, match="no Linear output layer with 4 outputs"):
        output_layer(BertModel(BertConfig(num_hidden_layers=1, **sizes)))


@pytest.mark.parametrize("decay", [0.0, 1.5])
def test_a_layer_decay_outside_zero_to_one_is_refused(decay):
    with pytest.raises(ValueError, match=f"layer_decay must be in \\(0, 1\\], got {decay}"):
        TrainSettings(layer_decay=decay)


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"warmup_ratio": 2.0}, "warmup_ratio must be in [0, 1], got 2.0"),
        ({"warmup_ratio": -0.1}, "warmup_ratio must be in [0, 1], got -0.1"),
        ({"weight_decay": -1.0}, "weight_decay must not be negative, got -1.0"),
        ({"seed": -1}, "seed must be in [0, 2**32), got -1"),
        ({"seed": 2**32}, f"seed must be in [0, 2**32), got {2**32}"),
        ({"max_length": 8}, "max_length must be at least 16 tokens, got 8"),
        ({"context_tokens": -1}, "context_tokens must not be negative, got -1"),
    ],
)
def test_settings_torch_or_numpy_would_refuse_only_after_the_data_loads_are_refused_at_once(setting, says):
    import re

    with pytest.raises(ValueError, match=re.escape(says)):
        TrainSettings(**setting)


@pytest.mark.parametrize("freeze", [True, False])
def test_word_embeddings_move_only_when_not_frozen(tiny_encoder_dir, freeze):
    classifier, tokenizer, dataset = _tiny_classifier_and_rows(tiny_encoder_dir)
    words = classifier.bert.embeddings.word_embeddings.weight.detach().clone()
    layer = classifier.bert.encoder.layer[0].output.dense.weight.detach().clone()
    settings = TrainSettings(
        max_steps=3, probe_head=False, freeze_embeddings=freeze, device="cpu", precision="fp32", batch_size=8
    )

    fine_tune(classifier, tokenizer, dataset, settings, progress=False)

    assert not torch.equal(layer, classifier.bert.encoder.layer[0].output.dense.weight)
    assert torch.equal(words, classifier.bert.embeddings.word_embeddings.weight) == freeze
