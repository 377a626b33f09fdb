"""Article text to sentences with character offsets into the original text."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import pysbd

from model.countries import default_resolver, names_a_country


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``article[start:end] == text``; ``index`` counts from 0."""

    index: int
    start: int
    end: int
    text: str


def has_letters_or_digits(text: str) -> bool:
    """Whether ``text`` holds anything to read: spaces, marks and invisible characters
    (a zero-width space is not whitespace to ``str.strip``) alone are not."""
    return any(ch.isalnum() for ch in text)


@functools.cache
def _segmenter() -> pysbd.Segmenter:
    # clean=False keeps segments verbatim, so they can be found back in the text.
    return pysbd.Segmenter(language="en", clean=False)


# Line ends: "\n" and "\r\n", and what some systems write instead (a lone "\r", the Unicode
# line and paragraph separators, a form feed, NEL).
_BREAK_CHARS = "\n\r\u2028\u2029\x0b\x0c\x85"
_LINE = re.compile(f"[^{_BREAK_CHARS}]+")
_BREAK = re.compile(f"\r\n|[{_BREAK_CHARS}]")
_AS_SPACES = str.maketrans(_BREAK_CHARS, " " * len(_BREAK_CHARS))
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
    period never runs into the next paragraph; in text hard-wrapped at a fixed width, the
    lines of one paragraph are split together (:func:`_blocks`). pysbd handles
    abbreviations ("U.S.", "Gen.", "Jan. 17"), decimals ("$3.75 billion") and quotes that
    end a sentence. A wire dateline ("WASHINGTON (AP) —") is left out: it says where a
    story was filed.

    Example:
        >>> [s.text for s in split_sentences("Headline\nThe U.S. will help. Poland won't.")]
        ['Headline', 'The U.S. will help.', "Poland won't."]
    """
    sentences: list[Sentence] = []
    for block_start, block_end in _blocks(text):
        # Line ends inside a block become spaces for pysbd; same length, so offsets hold.
        block = text[block_start:block_end].translate(_AS_SPACES)
        cut = dateline_end(block)
        for start, end in _line_spans(block):
            start = max(start, cut)
            if start >= end:
                continue
            begin, stop = block_start + start, block_start + end
            sentences.append(Sentence(len(sentences), begin, stop, text[begin:stop]))
    return sentences


_SPACE = "[ \u00a0\u202f]"  # no-break spaces too, as HTML gives them
# A dateline opens a line: a place (cities parted by "/"), perhaps ", Ukraine, March 3",
# perhaps "(Reuters)" or "/PRNewswire/", then a dash.
_DATELINE = re.compile(
    rf"{_SPACE}*(?P<place>[^\W\d_][\w.'’/-]*(?:{_SPACE}[^\W\d_][\w.'’/-]*){{0,3}})"
    rf"(?P<more>,(?:,?{_SPACE}(?:[^\W\d_][\w.]*|\d{{1,4}})){{1,5}})?"
    rf"(?:{_SPACE}?(?:\((?P<agency>[A-Za-z][A-Za-z .&/-]{{0,30}})\)|/(?P<wire>[A-Za-z][A-Za-z .-]{{0,30}})/))?"
    rf"{_SPACE}?(?P<dash>--|[-–—]){_SPACE}*"
)


def dateline_end(line: str) -> int:
    """Where a dateline opening ``line`` ends (0 when there is none).

    With an agency or a date ("BERLIN, Feb 27 (Reuters) -", "Paris (AFP) -") the place may
    be in capitals or not. Without them only an em dash counts, after a place in capitals
    of one or two words that is not itself a country's name, followed by the story in
    ordinary case: "LONDON — Britain will..." is a dateline, while "POLAND SAYS NO — NO
    TROOPS", "UK – France summit" and "FRANCE — Macron says" are not.
    """
    found = _DATELINE.match(line)
    if not found:
        return 0
    place = found["place"]
    if found["agency"] or found["wire"]:  # "Paris (AFP) -": the agency says it
        return found.end() if place[0].isupper() else 0
    city = place.isupper() and not any(names_a_country(name) for name in place.split("/"))
    if found["more"]:  # "KYIV, Ukraine —", "BERLIN, Feb 27 -"
        return found.end() if city else 0
    in_ordinary_case = re.match(r"\S*[a-z]", line[found.end() :]) is not None
    return found.end() if found["dash"] == "—" and city and len(place.split()) <= 2 and in_ordinary_case else 0


_BULLET = re.compile(r"\s*(?:[-*•·▪◦–]|\d{1,2}[.)])\s")  # not "—", which opens an aside


def after_last_line_end(text: str, since: int, position: int) -> int:
    """Just past the last line end in ``text[since:position]``, or 0 when there is none."""
    return max(text.rfind(end, since, position) for end in _BREAK_CHARS) + 1


def is_bullet(text: str) -> bool:
    """Whether a line or sentence is an item of a list ("- Finland", "• Finland", "2. Finland")."""
    return _BULLET.match(text) is not None


_FINAL = '.!?…:;"”’)]'


def _blocks(text: str) -> list[tuple[int, int]]:
    """Spans of text to split as one: a line, or, in text hard-wrapped at a fixed width
    (:func:`_wrap_width`), the lines of one paragraph. A line there runs on from the one
    before when that one was wrapped: the first word of this line would not have fitted
    on it, and it does not end a sentence (or this line starts in lower case). A blank
    line, a bullet or a dateline always starts a new block.
    """
    lines = [m.span() for m in _LINE.finditer(text) if text[m.start() : m.end()].strip()]
    width = _wrap_width(text, lines)
    blocks: list[tuple[int, int]] = []
    for index, (start, end) in enumerate(lines):
        if width and index and _runs_on(text, lines[index - 1], (start, end), width):
            blocks[-1] = (blocks[-1][0], end)
        else:
            blocks.append((start, end))
    return blocks


def _runs_on(text: str, before: tuple[int, int], line: tuple[int, int], width: int) -> bool:
    if not _next_line(text, before, line) or is_bullet(text[line[0] : line[1]]):
        return False
    head, tail = text[line[0] : line[1]].lstrip(), text[before[0] : before[1]].rstrip()
    if dateline_end(head):
        return False
    wrapped = len(tail) + 1 + len(head.split()[0]) > width or tail.endswith("-")  # "deploy-/ment"
    return wrapped and (head[0].islower() or not tail.endswith(tuple(_FINAL)))


def _next_line(text: str, before: tuple[int, int], line: tuple[int, int]) -> bool:
    gap = text[before[1] : line[0]]
    return not gap.strip() and len(_BREAK.findall(gap)) == 1


def _wrap_width(text: str, lines: list[tuple[int, int]]) -> int | None:
    """The width text was hard-wrapped at (email, newsletters, PDF extracts), or None.

    In wrapped prose nearly every line that runs into the next was full: the next line's
    first word would not have fitted on it; and many of them run on into a word in lower
    case. Lists, tables, headlines a line each and paragraphs a line each are not wrapped.
    """
    lengths = [len(text[a:b].rstrip()) for a, b in lines]
    if len(lengths) < 4:
        return None
    width = sorted(lengths)[int(0.9 * (len(lengths) - 1))]
    if not 30 <= width <= 100:
        return None
    pairs = [
        (text[a:b].rstrip(), text[c:d].lstrip())
        for (a, b), (c, d) in zip(lines, lines[1:], strict=False)
        if _next_line(text, (a, b), (c, d)) and not is_bullet(text[c:d])
    ]
    if len(pairs) < 3:
        return None
    full = [head for tail, head in pairs if len(tail) + 1 + len(head.split()[0]) > width]
    lower = sum(head[0].islower() for head in full)
    return width if len(full) >= 0.7 * len(pairs) and lower >= 0.3 * len(full) else None


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
    return [cut for start, end in _past_titles(line, spans) for cut in _after_initialisms(line, start, end)]


# Titles and words that stand before a name or a number, never at a sentence's end, which
# pysbd took for one: "Amb. Smith", "Ft. Bragg", "the Rt. Hon. member", "approx. 5,000".
_BEFORE_A_NAME = re.compile(
    r"(?<!\w)(?:Amb|Sec|Pres|Rt|Hon|Ft|approx|Sen|Rep|Gov|Lt|Col|Adm|Brig|Maj|Capt|Sgt|Cmdr|Cpl|Pvt|Supt|Prof)\.$"
)


def _past_titles(line: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` with each one that ends in a title joined to the next."""
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if joined and _BEFORE_A_NAME.search(line, joined[-1][0], joined[-1][1]):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


# pysbd ends a sentence after "U.S." or "U.K." only before "The", "He" and the like; a
# country's name or "But" opening the next sentence ran on: "…without the U.S. France
# disagrees." After an initialism, these words start a sentence.
_INITIALISM = re.compile(r"\b(?:[A-Z]\.){2,}(?=\s+[A-Z])")
# fmt: off
_OPENERS = frozenset((
    "But", "And", "Yet", "So", "Still", "Its", "Their", "Officials", "Meanwhile", "However", "Both", "Neither",
    "Such", "There", "Others", "Many", "Most", "Some", "In", "On", "At", "For", "After", "Before", "When", "While",
    "If", "As", "A", "An", "This", "That", "These", "Those", "We", "They", "She", "It", "I",
))
# fmt: on


def _after_initialisms(line: str, start: int, end: int) -> list[tuple[int, int]]:
    """``line[start:end]`` as one span, or cut after each initialism that ends a sentence."""
    spans = []
    for found in _INITIALISM.finditer(line, start, end):
        after = line[found.end() : end].lstrip()
        word = re.match(r"[\w'’-]+", after)
        if word and (word.group() in _OPENERS or _opens_with_a_subject(found.group(), after)):
            spans.append((start, found.end()))
            start = end - len(after)
    return [*spans, (start, end)]


# What follows a sentence's subject: a verb ("France disagrees", "Poland is", "Germany
# sent"), a possessive ("Britain's army is…") or a comma ("Poland, too, will…"); not a noun
# ("the U.S. Ukraine envoy", "U.S. Ukraine talks").
_VERB_AFTER = re.compile(
    r"(?:['’]s\s|,|\s+(?:is|was|are|were|has|had|have|will|would|can|could|should|must|may|might|does|did|do|"
    r"says|said|sent|sends|told|tells|went|goes|gave|gives|took|takes|made|makes|kept|keeps|wants|plans|agrees|"
    r"disagrees|refuses|insists|warns|rejects|offers|pledges|opposes|backs|supports|needs|remains|[a-z]+ed)\b)"
)


def _opens_with_a_subject(initialism: str, text: str) -> bool:
    """Whether ``text`` opens with a country's own name, not the initialism's country, and
    a verb: "…without the U.S. France disagrees." Not "the U.S. Pentagon said" (a part of
    the initialism's country) nor "the U.S. Ukraine envoy" (a name used as a modifier)."""
    resolver = default_resolver()
    mentions = resolver.find_mentions(text[:60])
    if not mentions or mentions[0].start != 0 or not names_a_country(mentions[0].surface):
        return False
    if mentions[0].country == resolver.lookup(initialism):
        return False
    return _VERB_AFTER.match(text, mentions[0].end) is not None


def _trimmed(line: str, start: int, end: int) -> list[tuple[int, int]]:
    """``line[start:end]`` without its edges, as a span; none when nothing is left."""
    piece = line[start:end]
    lead = _LEAD.match(piece).end()
    kept = _EDGES.sub("", piece)
    return [(start + lead, start + lead + len(kept))] if kept else []
