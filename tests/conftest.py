"""Shared fixtures. Nothing here touches the network: the tiny encoder is built here."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from tools.stance_commands import makefile_command, run_stance

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"

_WORDS = [
    "the",
    "a",
    "of",
    "to",
    "in",
    "and",
    "will",
    "not",
    "send",
    "troops",
    "poland",
    "ukraine",
    "united",
    "states",
    "kingdom",
    "russia",
    "france",
    "germany",
    "us",
    "uk",
    "said",
    "its",
    "forces",
    "logistics",
    "weapons",
    "support",
    "before",
    "ready",
    "deploy",
    "rule",
    "out",
    "no",
    "plans",
    "hub",
    "guard",
    "border",
    "peacekeeping",
    "mission",
]


def _vocab() -> list[str]:
    chars = list(string.ascii_lowercase + string.digits + string.punctuation + "’“”–—")
    return [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *chars,
        *(f"##{c}" for c in string.ascii_lowercase + string.digits),
        *_WORDS,
    ]


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory) -> Path:
    """A WordPiece tokenizer over a small hand-written vocabulary, saved to disk."""
    from transformers import BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_tokenizer")
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(_vocab())) + "\n")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True)
    # transformers 5 ignores a `vocab_file=` argument and leaves only the special tokens.
    assert tokenizer.tokenize("Poland troops") == ["poland", "troops"], "tiny vocabulary not loaded"
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_tokenizer_dir)


@pytest.fixture(scope="session")
def seed_articles() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(SEEDS.glob("*.txt"))}


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory, tiny_tokenizer_dir) -> Path:
    """A one-layer BERT (hidden size 16) and its tokenizer, saved like a hub checkpoint."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_encoder")
    for item in tiny_tokenizer_dir.iterdir():
        shutil.copy(item, folder / item.name)
    vocab_size = len((tiny_tokenizer_dir / "vocab.txt").read_text().split())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=256,
    )
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture
def bentoml_home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty BentoML home (model store) for one test."""
    from bentoml._internal.configuration.containers import BentoMLContainer
    from bentoml._internal.models import ModelStore

    home = tmp_path / "bentoml"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("BENTOML_HOME", str(home))
    # The store is a process-wide singleton: point it at this test's folder, then back.
    previous = BentoMLContainer.model_store.get()
    BentoMLContainer.bentoml_home.set(str(home))
    BentoMLContainer.model_store.set(ModelStore(home / "models"))
    yield home
    BentoMLContainer.model_store.set(previous)


@pytest.fixture(scope="session")
def default_model_home(tmp_path_factory) -> Path:
    """A BentoML home holding the default model, built once per test run as the README does."""
    home = tmp_path_factory.mktemp("default_model_home")
    run_stance([*makefile_command("TRAIN_DEFAULT"), "--quiet"], home)
    return home


@pytest.fixture(scope="session")
def tiny_model_home(tmp_path_factory, tiny_encoder_dir):
    """A BentoML home with a tiny model registered as troop-stance:latest, for the session."""
    import json
    import os

    from bentoml._internal.configuration.containers import BentoMLContainer
    from bentoml._internal.models import ModelStore

    from training.settings import TrainSettings
    from training.train import train

    home = tmp_path_factory.mktemp("tiny_model_home")
    (home / "models").mkdir()
    previous = BentoMLContainer.model_store.get()
    BentoMLContainer.model_store.set(ModelStore(home / "models"))
    os.environ["BENTOML_HOME"] = str(home)
    data = tmp_path_factory.mktemp("data") / "pairs.jsonl"
    rows = [
        {
            "id": f"r{i}",
            "text": f"Poland will not send troops, minister {i} said.",
            "country": "Poland",
            "label": label,
            "group": f"g{i}",
        }
        for i, label in enumerate(["wont_send", "will_send", "none", "logistics_only"] * 3)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # No probe: on these arbitrary labels a fitted head flattens the logits, and the
    # predictor tests need pairs whose answers differ.
    settings = TrainSettings(
        data=[str(data)], base_model=str(tiny_encoder_dir), epochs=1, batch_size=4, probe_head=False
    )
    train(settings, progress=False)
    yield home
    BentoMLContainer.model_store.set(previous)


@pytest.fixture(scope="session")
def tiny_predictor(tiny_model_home):
    import bentoml

    from model.predictor import StancePredictor

    return StancePredictor.load(bentoml.models.get("troop-stance:latest").path)
