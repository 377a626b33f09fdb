"""The label schema. The model owns it: saved with the weights, checked on load."""

from __future__ import annotations

import re

WILL_SEND = "will_send"
WONT_SEND = "wont_send"
LOGISTICS_ONLY = "logistics_only"
NONE = "none"

#: Sentence-level labels, in the order of the classifier's output units.
LABELS: tuple[str, ...] = (WILL_SEND, WONT_SEND, LOGISTICS_ONLY, NONE)
LABEL2ID: dict[str, int] = {label: i for i, label in enumerate(LABELS)}
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))

#: Article-level only: a country with both will_send and wont_send evidence.
CONFLICTING = "conflicting"
#: What a country's stance over a whole article can be.
ARTICLE_LABELS: tuple[str, ...] = (*LABELS, CONFLICTING)


class UnknownLabelError(ValueError):
    """A label outside the schema."""


def check_label(value: object) -> str:
    """Return ``value`` if it is one of :data:`LABELS`, else raise naming it, and the label
    it was likely meant to be ("Will-Send", "logistics")."""
    if value not in LABEL2ID:
        meant = _meant(value) if isinstance(value, str) else None
        hint = f" (did you mean {meant!r}?)" if meant else ""
        raise UnknownLabelError(f"unknown label {value!r}{hint}; expected one of {', '.join(LABELS)}")
    return value  # type: ignore[return-value]


def _meant(value: str) -> str | None:
    """The label a misspelling or another spelling most likely stands for: "Will Send",
    "logistics", "wil_send", "wontsend"."""
    from rapidfuzz import fuzz, process

    folded = value.strip().lower().replace("-", "_").replace(" ", "_").replace("'", "").replace("’", "")
    if not folded:
        return None
    if re.search(r"(^|_)(not|no|never)(_|$)", folded):  # "will not send": a refusal, not will_send
        return WONT_SEND if "send" in folded else None
    if first := [label for label in LABELS if label.split("_")[0] == folded]:
        return first[0]
    found = process.extractOne(
        folded.replace("_", ""), {label: label.replace("_", "") for label in LABELS}, scorer=fuzz.ratio, score_cutoff=75
    )
    return found[2] if found else None
