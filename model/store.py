"""Where registered models live: the BentoML model store (``$BENTOML_HOME/models``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # bentoml and the predictor load torch; the CLI needs only the names here
    import bentoml

    from model.predictor import StancePredictor

MODEL_NAME = "troop-stance"
DEFAULT_TAG = f"{MODEL_NAME}:latest"
#: Held-out metrics a version carries in its store metadata, for listings and /model_info.
HEADLINE_METRICS = ("accuracy", "macro_f1", "f_avg", "ece")
STANCE_FILE = "stance.json"  # in a model folder: labels, input format, temperature, training record
_NAME = re.compile(r"[a-z0-9]([-._a-z0-9]{0,61}[a-z0-9])?")  # BentoML's rule for a name


def model_name(name: str) -> str:
    """``name`` as the store keeps it (BentoML lowercases names), so that listing and
    `--if-missing` find what training registered; ValueError naming it if it is not a
    name alone."""
    folded = name.strip().lower()
    if ":" in folded:
        raise ValueError(
            f"model name {name!r} holds a version; give the name alone (each training run adds a new version)"
        )
    if not _NAME.fullmatch(folded):
        raise ValueError(
            f"model name {name!r} is not valid: at most 63 letters, digits, '-', '_' or '.', "
            "beginning and ending with a letter or digit"
        )
    return folded


def registered(tag: str = DEFAULT_TAG) -> bentoml.Model:
    """A registered troop-stance model version (``name:version`` or ``name:latest``);
    LookupError naming the tag when there is none."""
    import bentoml

    try:
        with _unlogged_reads():
            stored = bentoml.models.get(tag)
    except bentoml.exceptions.NotFound as error:
        raise LookupError(
            f"no model {tag!r} in the BentoML store; build one with `make model` or `stance train`"
        ) from error
    except OSError:  # the store itself unreadable (permissions, a disk): not a version to remove
        raise
    except Exception as error:
        if folder := _version_folder(tag):  # the version is there and BentoML cannot read it
            raise LookupError(_incomplete(tag, _unread_why(folder, error), f"rm -r {folder}")) from error
        if isinstance(error, (bentoml.exceptions.BentoMLException, ValueError)):  # a malformed tag: "a:b:c", ""
            raise LookupError(f"{tag!r} is not a model tag (name or name:version): {error}") from error
        raise
    if not is_stance_model(stored):
        raise LookupError(f"{stored.tag} is not a troop-stance model: it has no {STANCE_FILE}")
    if why := cut_short(Path(stored.path)):
        raise LookupError(_incomplete(str(stored.tag), why, f"bentoml models delete {stored.tag}"))
    if why := damaged_weights(Path(stored.path)):
        raise LookupError(f"{stored.tag} is damaged: {why}")
    return stored


def _incomplete(tag: str, why: str, remedy: str) -> str:
    return (
        f"{tag} is incomplete ({why}): its copy into the store was cut short, by a kill or a crash; "
        f"remove it with `{remedy}` and train again"
    )


def _store_folder() -> Path:
    """The folder of the model store that ``bentoml.models`` uses (BentoML has no public
    name for it; its own listing cannot be used where a version lacks model.yaml)."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    store = BentoMLContainer.model_store.get()
    return Path(getattr(store, "_path", None) or BentoMLContainer.model_store_dir.get())


def _version_folder(tag: str) -> Path | None:
    """The store folder of version ``tag`` (``name:latest`` read as BentoML reads it)."""
    name, _, version = tag.partition(":")
    root = _store_folder() / name.lower()
    if version in ("", "latest") and (root / "latest").is_file():
        version = (root / "latest").read_text().strip()
    folder = root / version if version else None
    return folder if folder is not None and folder.is_dir() else None


@contextlib.contextmanager
def _unlogged_reads():
    """BentoML logs a damaged model.yaml's YAML error before raising it; the caller says
    what is wrong in one line of its own, so the log would only repeat it, once per read."""
    reader = logging.getLogger("bentoml._internal.models.model")
    was, reader.disabled = reader.disabled, True
    try:
        yield
    finally:
        reader.disabled = was


def _unread_why(folder: Path, error: Exception | None = None) -> str:
    """Why BentoML cannot read the version in ``folder``: its model.yaml, which it copies
    in no fixed order, missing, or cut off (YAML, cattrs or BentoML errors, by how much is left)."""
    if not (folder / "model.yaml").exists():
        return "model.yaml is missing"
    return f"model.yaml cannot be read ({type(error).__name__})" if error else "model.yaml cannot be read"


TRAINED_FILE = "trained.json"  # digests of every sentence a model was trained on (training/corpus.py)
_JSON_FILES = (STANCE_FILE, "config.json", "tokenizer.json", "tokenizer_config.json")
_LATER_JSON_FILES = (TRAINED_FILE, "metrics.json")  # not in models saved before them
WEIGHTS_FILE = "model.safetensors"  # what transformers' save_pretrained writes


def cut_short(folder: Path) -> str:
    """Why a stored version is not whole, or "": BentoML copies a version into the store
    file by file, in no fixed order, so a kill during the copy (one that no handler sees,
    such as SIGKILL) leaves files missing or cut off. Each JSON file must parse, and the
    weights must be as long as their header says."""
    for name in _JSON_FILES + _LATER_JSON_FILES:
        try:
            json.loads((folder / name).read_bytes())
        except FileNotFoundError:
            if name in _JSON_FILES:
                return f"{name} is missing"
        except ValueError:
            return f"{name} is cut off"
    try:
        with (folder / WEIGHTS_FILE).open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            header = json.loads(handle.read(size))
        end = max(entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__")
    except FileNotFoundError:
        return f"{WEIGHTS_FILE} is missing"
    except (ValueError, KeyError, TypeError):  # a header cut off, or not one
        return f"{WEIGHTS_FILE} is cut off"
    if (folder / WEIGHTS_FILE).stat().st_size != 8 + size + end:
        return f"{WEIGHTS_FILE} is cut off"
    return ""


def weights_digest(folder: Path) -> str:
    """SHA-256 of a model folder's weights, saved with the model and checked when it loads:
    damage that keeps the file's length (a bad disk or copy) made every answer `will_send`
    with NaN confidences, while the service reported itself ready. "" without the file."""
    path = Path(folder) / WEIGHTS_FILE
    if not path.exists():
        return ""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def damaged_weights(folder: Path) -> str:
    """Why a version's weights are not those it was saved with, or "" (also for versions
    saved before the checksum was)."""
    try:
        saved = json.loads((Path(folder) / STANCE_FILE).read_text()).get("weights_sha256")
    except (OSError, ValueError, AttributeError):  # no stance.json, or a damaged one: cut_short says so
        return ""
    if saved and weights_digest(folder) != saved:
        return (
            f"{WEIGHTS_FILE} does not match the checksum saved with it (changed after training); "
            "train again, or restore the version from a backup"
        )
    return ""


def load_registered(tag: str | bentoml.Model = DEFAULT_TAG, **kwargs) -> StancePredictor:
    """Load a registered model version (``name:version`` or ``name:latest``, or a model
    :func:`registered` already returned, so its files are not checked again)."""
    from model.predictor import StancePredictor

    stored = registered(tag) if isinstance(tag, str) else tag
    # The version `latest` meant at load time, even if a training run moves it meanwhile.
    return StancePredictor.load(stored.path, tag=str(stored.tag), **kwargs)


def registered_models(name: str | None = MODEL_NAME) -> list[bentoml.Model]:
    """Every readable registered version of ``name``, whatever saved it (None: of
    troop-stance models of any name), newest first."""
    wanted = model_name(name) if name is not None else None
    found = [m for folder in _version_folders(wanted) if (m := _readable(folder)) is not None]
    if wanted is None:
        found = [m for m in found if is_stance_model(m)]
    return sorted(found, key=lambda m: m.info.creation_time, reverse=True)


def is_stance_model(stored: bentoml.Model) -> bool:
    """Whether a stored model is troop-stance's, by the task label training gives it (a
    version cut short may lack its stance.json) or its stance.json; another tool may use
    the same name."""
    return stored.info.labels.get("task") == "troop-stance" or Path(stored.path, STANCE_FILE).exists()


def stance_versions(name: str) -> list[bentoml.Model]:
    """The readable troop-stance versions of ``name``, newest first."""
    return [m for m in registered_models(name) if is_stance_model(m)]


def version_problem(stored: bentoml.Model) -> str:
    """What keeps a listed version from use, with what to do about it; "" if nothing."""
    if not is_stance_model(stored):  # another tool's model under this name: not ours to judge or delete
        return f"not a troop-stance model (it has no {STANCE_FILE})"
    if why := cut_short(Path(stored.path)):  # a copy into the store cut short
        return f"INCOMPLETE ({why}): remove with `bentoml models delete {stored.tag}`"
    if why := damaged_weights(Path(stored.path)):
        return f"DAMAGED ({why})"
    return ""


def _readable(folder: Path) -> bentoml.Model | None:
    """The version in ``folder`` as BentoML reads it; None when its model.yaml is missing
    or cut off, where BentoML's own listing fails whole."""
    import bentoml

    if not (folder / "model.yaml").exists():
        return None
    try:
        with _unlogged_reads():
            return bentoml.models.get(f"{folder.parent.name}:{folder.name}")
    except OSError:  # the store itself unreadable: not this version's fault
        raise
    except Exception:  # YAML, cattrs or BentoML errors from a cut-off model.yaml
        return None


def _version_folders(name: str | None) -> list[Path]:
    names = [_store_folder() / name] if name else sorted(_store_folder().iterdir())
    return [v for folder in names if folder.is_dir() for v in sorted(folder.iterdir()) if v.is_dir()]


def unreadable_versions(name: str, readable: list[bentoml.Model]) -> list[tuple[Path, str]]:
    """Version folders of ``name`` that BentoML cannot read, with why (model.yaml missing
    or cut off): a copy into the store cut short, which `bentoml models delete` cannot
    remove either. ``readable`` is what :func:`registered_models` found, so no version is
    read twice."""
    read = {m.tag.version for m in readable}
    return [(v, _unread_why(v)) for v in _version_folders(model_name(name)) if v.name not in read]


def latest_version(name: str = MODEL_NAME) -> str | None:
    """The tag ``name:latest`` stands for now, or None when no version is registered
    (or ``name`` is not a valid model name, which training refuses with its reason)."""
    import bentoml

    try:
        return str(bentoml.models.get(f"{name}:latest").tag)
    except bentoml.exceptions.BentoMLException:  # NotFound, or an invalid tag
        return None
