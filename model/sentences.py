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
    period never runs into the next paragraph; lines that only continue a sentence
    (:func:`_blocks`) are split together. pysbd handles abbreviations ("U.S.", "Gen.",
    "Jan. 17"), decimals ("$3.75 billion") and quotes that end a sentence. A wire
    dateline ("WASHINGTON (AP) —") is left out: it says where a story was filed.

    Example:
        >>> [s.text for s in split_sentences("Headline\nThe U.S. will help. Poland won't.")]
        ['Headline', 'The U.S. will help.', "Poland won't."]
    """
    sentences: list[Sentence] = []
    for block_start, block_end in _blocks(text):
        # Line ends inside a block become spaces for pysbd; same length, so offsets hold.
        block = text[block_start:block_end].replace("\r", " ").replace("\n", " ")
        cut = _dateline_end(block)
        for start, end in _line_spans(block):
            start = max(start, cut)
            if start >= end:
                continue
            begin, stop = block_start + start, block_start + end
            sentences.append(Sentence(len(sentences), begin, stop, text[begin:stop]))
    return sentences


# A dateline opens a line: a place in capitals (up to four words), perhaps ", Ukraine" or
# ", Feb 27", perhaps "(Reuters)", then a dash, then the story in ordinary case.
_DATELINE = re.compile(
    r"[ \t\ufeff]*(?P<place>[A-Z][A-Z.'’-]+(?: [A-Z][A-Z.'’-]*){0,3})"
    r"(?P<more>,(?: [A-Z][A-Za-z.]*| \d{1,2},?| \d{4}){1,3})?"
    r"(?: ?\((?P<agency>[A-Za-z][A-Za-z .&/-]{0,30})\))?"
    r" ?[-–—]{1,2} +(?=\S*[a-z])"
)


def _dateline_end(line: str) -> int:
    """Where a dateline opening ``line`` ends (0 when there is none). Without an agency or
    a date, only a place of one or two words counts: "LONDON — ..." is a dateline, while
    "POLAND SAYS NO — ..." is a headline (the story after the dash must be in ordinary case)."""
    found = _DATELINE.match(line)
    if not found:
        return 0
    if not (found["agency"] or found["more"]) and len(found["place"].split()) > 2:
        return 0
    return found.end()


_BULLET = re.compile(r"\s*(?:[-–—*•·▪◦]|\d{1,2}[.)])\s")


def is_bullet(text: str) -> bool:
    """Whether a line or sentence is an item of a list ("- Finland", "• Finland", "2. Finland")."""
    return _BULLET.match(text) is not None


_FINAL = '.!?…:;"”’)]'


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of text to split as one: a line, or lines that continue one sentence.

    A line continues the one before when it starts in lower case after a line with no
    final punctuation ("...but could / provide air power"), or, in text hard-wrapped at a
    fixed width (:func:`_wrap_width`), when the line before is full. A bullet never
    continues anything, and a blank line always ends a block.
    """
    lines = [m.span() for m in _LINE.finditer(text) if text[m.start() : m.end()].strip()]
    width = _wrap_width(text, lines)
    blocks: list[tuple[int, int]] = []
    previous: tuple[int, int] | None = None
    for start, end in lines:
        if previous and _continues(text, previous, (start, end), width):
            blocks[-1] = (blocks[-1][0], end)
        else:
            blocks.append((start, end))
        previous = (start, end)
    return blocks


def _continues(text: str, before: tuple[int, int], line: tuple[int, int], width: int | None) -> bool:
    if text[before[1] : line[0]].strip(" \t\r\n") or text.count("\n", before[1], line[0]) != 1:
        return False  # not the very next line
    head, tail = text[line[0] : line[1]], text[before[0] : before[1]].rstrip()
    if is_bullet(head) or not head.strip():
        return False
    if head.lstrip()[0].islower() and not tail.endswith(tuple(_FINAL)):
        return True
    return width is not None and len(tail) >= 0.75 * width


def _wrap_width(text: str, lines: list[tuple[int, int]]) -> int | None:
    """The width text was hard-wrapped at (email, newsletters, PDF extracts), or None.

    Wrapped prose has lines of one length, at most 100 characters, and most lines that
    run on into the next line run on into a word in lower case; a list of headlines, or
    paragraphs a line each, has neither.
    """
    lengths = [len(text[a:b].rstrip()) for a, b in lines]
    if len(lengths) < 4:
        return None
    width = sorted(lengths)[int(0.9 * (len(lengths) - 1))]
    if not 30 <= width <= 100:
        return None
    followed = [
        text[c:d].lstrip()[:1].islower()
        for (a, b), (c, d) in zip(lines, lines[1:], strict=False)
        if text.count("\n", b, c) == 1 and len(text[a:b].rstrip()) >= 0.75 * width
    ]
    return width if len(followed) >= 3 and sum(followed) >= 0.4 * len(followed) else None


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
