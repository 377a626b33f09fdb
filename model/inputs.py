"""The one input format the classifier sees, in training and inference alike.

A pair becomes two segments for a sequence-pair encoder:
  first:  the target country's name, then (if enabled) "; before: <previous sentence>"
  second: the sentence, with (if enabled) the target's mentions marked "[Poland]".
Markers are ordinary characters, not new tokens, so the encoder needs no untrained
embeddings. Only the sentence is ever windowed: context is trimmed first (keeping
its end, nearest the sentence), then the sentence is cut to a window around the
target's first mention, and the pair is flagged ``truncated``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from model.pairs import Pair

#: Bump when rendering changes, so a model is never fed a format it was not trained on.
INPUT_FORMAT_VERSION = 1

_CONTEXT_LEAD = " ; before: "
_OPEN, _CLOSE = "[", "]"


@dataclass(frozen=True)
class InputFormat:
    """How pairs are rendered for the encoder (saved with the model)."""

    markers: bool = False  # wrap the target's mentions in [ ]; lost on real news
    context: bool = True  # carry the previous sentence; "Those include ..." needs it
    max_length: int = 128  # tokens, special tokens included
    context_tokens: int = 16  # of context, from its end; 32 cost 60% more time on fp32 CPUs for no real-news gain
    version: int = INPUT_FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.max_length < 16:
            raise ValueError(f"max_length must be at least 16 tokens, got {self.max_length}")
        if self.context_tokens < 0:
            raise ValueError(f"context_tokens must not be negative, got {self.context_tokens}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> InputFormat:
        fmt = cls(**values)
        if fmt.version != INPUT_FORMAT_VERSION:
            raise ValueError(
                f"model input format version {fmt.version} is not {INPUT_FORMAT_VERSION}, "
                "the version this code renders; retrain the model"
            )
        return fmt


@dataclass(frozen=True)
class RenderedPair:
    """A pair as text segments; ``anchor`` is a character in ``second`` to keep."""

    first: str
    second: str
    anchor: int
    truncated: bool = False


def render(pair: Pair, fmt: InputFormat) -> RenderedPair:
    """Render one pair to its two segments (untruncated)."""
    second, anchor = _mark(pair, fmt.markers)
    first = pair.country.name
    if fmt.context and pair.context.strip():  # blank context is none: "Poland ; before:  " read otherwise
        first += _CONTEXT_LEAD + pair.context
    return RenderedPair(first, second, anchor)


def _mark(pair: Pair, markers: bool) -> tuple[str, int]:
    """The sentence with the target's mentions marked; the first mention's position."""
    if not pair.spans:
        return pair.text, 0
    if not markers:
        return pair.text, pair.spans[0][0]
    pieces, cursor = [], 0
    for start, end in sorted(pair.spans):
        pieces += [pair.text[cursor:start], _OPEN, pair.text[start:end], _CLOSE]
        cursor = end
    pieces.append(pair.text[cursor:])
    return "".join(pieces), min(pair.spans)[0]


def fit(rendered: RenderedPair, tokenizer, fmt: InputFormat) -> RenderedPair:
    """Shorten a rendered pair to the format's context budget and token limit."""
    room = fmt.max_length - tokenizer.num_special_tokens_to_add(pair=True)
    first = _trim_context(rendered.first, tokenizer, fmt.context_tokens, absolute=True)
    # Untruncated on purpose (the window around the target is cut from it), so without
    # transformers' warning that the sequence is too long for the model.
    second = tokenizer(rendered.second, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    if _count(tokenizer, first) + len(second["input_ids"]) <= room:
        return RenderedPair(first, rendered.second, rendered.anchor)
    first = _trim_context(first, tokenizer, room - len(second["input_ids"]))
    left = room - _count(tokenizer, first)
    if len(second["input_ids"]) <= left:
        return RenderedPair(first, rendered.second, rendered.anchor)
    text = _window(rendered.second, second["offset_mapping"], rendered.anchor, max(left, 1))
    return RenderedPair(first, text, 0, truncated=True)


def _count(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def _trim_context(first: str, tokenizer, room: int, absolute: bool = False) -> str:
    """Drop context from its start until it fits: ``room`` tokens for the context alone
    when ``absolute``, else for the whole first segment; drop it all if none fit."""
    name, lead, context = first.partition(_CONTEXT_LEAD)
    if not lead:
        return first
    budget = room if absolute else room - _count(tokenizer, name + lead)
    if budget <= 0:
        return name
    encoded = tokenizer(context, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets = encoded["offset_mapping"]
    if len(offsets) <= budget:
        return first
    return name + lead + context[offsets[len(offsets) - budget][0] :]


def _window(text: str, offsets: list[tuple[int, int]], anchor: int, size: int) -> str:
    """The span of ``size`` tokens of ``text`` centred on the token holding ``anchor``."""
    index = next((i for i, (s, e) in enumerate(offsets) if e > anchor), 0)
    start = min(max(index - size // 2, 0), len(offsets) - size)
    stop = start + size
    # Cut between words: a window that starts or ends inside a word ("##ies") would
    # tokenize again into more pieces than it had, and the encoder would drop its end.
    while start < index and not _starts_word(text, offsets[start][0]):
        start += 1
    while stop - 1 > index and not _ends_word(text, offsets[stop - 1][1]):
        stop -= 1
    return text[offsets[start][0] : offsets[stop - 1][1]]


def _starts_word(text: str, at: int) -> bool:
    return at == 0 or not text[at - 1].isalnum()


def _ends_word(text: str, at: int) -> bool:
    return at >= len(text) or not text[at].isalnum()


@dataclass(frozen=True)
class PairBatch:
    """Encoder inputs for a list of pairs, and which pairs had their sentence cut."""

    encoding: dict
    truncated: list[bool]


def prepare(pairs: list[Pair], tokenizer, fmt: InputFormat) -> list[RenderedPair]:
    """Render and fit every pair to the format's limits."""
    return [fit(render(pair, fmt), tokenizer, fmt) for pair in pairs]


def token_lengths(rendered: list[RenderedPair], tokenizer) -> list[int]:
    """Tokens each rendered pair will take, special tokens included (one batched call)."""
    if not rendered:
        return []
    ids = tokenizer([r.first for r in rendered], [r.second for r in rendered])["input_ids"]
    return [len(row) for row in ids]


def tokenize(rendered: list[RenderedPair], tokenizer, fmt: InputFormat, **options):
    """The tokenizer call of training and prediction alike, so both see the same ids:
    (target and context, sentence) pairs within the format's length. ``options`` ask for
    padding and tensors."""
    return tokenizer(
        [r.first for r in rendered],
        [r.second for r in rendered],
        truncation="longest_first",  # a safety net only: fit() already made room
        max_length=fmt.max_length,
        **options,
    )


def encode_rendered(rendered: list[RenderedPair], tokenizer, fmt: InputFormat) -> PairBatch:
    """Tokenize rendered pairs into one padded batch of tensors."""
    encoding = tokenize(rendered, tokenizer, fmt, padding=True, return_tensors="pt")
    return PairBatch(dict(encoding), [r.truncated for r in rendered])
