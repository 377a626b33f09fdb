"""Article text to sentences with character offsets into the original text."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pysbd


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``article[start:end] == text``; ``index`` counts from 0."""

    index: int
    start: int
    end: int
    text: str


@functools.cache
def _segmenter() -> pysbd.Segmenter:
    # clean=False keeps segments verbatim, so they can be found back in the text.
    return pysbd.Segmenter(language="en", clean=False)


_LINE = re.compile(r"[^\n]+")
# pysbd's time grows with the square of a line's length (a 100,000-character line takes
# minutes), so it never sees more than this at once; see _line_spans.
MAX_PIECE_CHARS = 2_000
# Whitespace, and the invisible characters that editors leave at a line's edges (a byte-order
# mark at a file's start, zero-width spaces): not part of any sentence.
_EDGE = r"[\s\ufeff\u200b-\u200d\u2060]"
_LEAD, _EDGES = re.compile(f"^{_EDGE}*"), re.compile(f"^{_EDGE}+|{_EDGE}+$")


def split_sentences(text: str) -> list[Sentence]:
    """Split news text into sentences, keeping offsets.

    Each line is split on its own, so a headline, byline or caption without a final
    period never runs into the next paragraph. pysbd handles abbreviations ("U.S.",
    "Gen.", "Jan. 17"), decimals ("$3.75 billion") and quotes that end a sentence.

    Example:
        >>> [s.text for s in split_sentences("Headline\\nThe U.S. will help. Poland won't.")]
        ['Headline', 'The U.S. will help.', "Poland won't."]
    """
    sentences: list[Sentence] = []
    for line in _LINE.finditer(text):
        for start, end in _line_spans(line.group()):
            begin, stop = line.start() + start, line.start() + end
            sentences.append(Sentence(len(sentences), begin, stop, text[begin:stop]))
    return sentences


def _line_spans(line: str) -> list[tuple[int, int]]:
    """Spans of one line's sentences, found MAX_PIECE_CHARS at a time: of each window, all
    sentences but the last (perhaps cut short) are kept, and the next window starts
    there; a window with no sentence end is cut at its last space."""
    spans, cursor = [], 0
    while len(line) - cursor > MAX_PIECE_CHARS:
        window = line[cursor : cursor + MAX_PIECE_CHARS]
        found = _segment_spans(window)
        if len(found) > 1:
            cut, found = found[-1][0], found[:-1]
        else:
            cut = window.rfind(" ") + 1 or MAX_PIECE_CHARS
            found = _segment_spans(window[:cut])
        spans += [(cursor + start, cursor + end) for start, end in found]
        cursor += cut
    return spans + [(cursor + start, cursor + end) for start, end in _segment_spans(line[cursor:])]


def _segment_spans(line: str) -> list[tuple[int, int]]:
    """Spans of the stripped sentences of one line."""
    if not _EDGES.sub("", line):
        return []
    spans = []
    cursor = 0
    for segment in _segmenter().segment(line):
        piece = _EDGES.sub("", segment)
        if not piece:
            continue
        found = line.find(piece, cursor)
        if found < 0:  # pysbd changed the text: keep the rest of the line whole
            return spans + _trimmed(line, cursor, len(line))
        spans.append((found, found + len(piece)))
        cursor = found + len(piece)
    return spans


def _trimmed(line: str, start: int, end: int) -> list[tuple[int, int]]:
    """``line[start:end]`` without its edges, as a span; none when nothing is left."""
    piece = line[start:end]
    lead = _LEAD.match(piece).end()
    kept = _EDGES.sub("", piece)
    return [(start + lead, start + lead + len(kept))] if kept else []
