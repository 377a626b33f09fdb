"""HTML to the text a reader sees, with each character's place in the HTML, so results
on the text can give offsets into the HTML as it was sent.

Tags are dropped; a block element (a paragraph, a heading, a list item, a table cell)
ends a paragraph, as a line break ends a line, so sentences never run across them;
entities are decoded; whitespace runs become one space, as a browser shows them, and soft
hyphens and zero-width spaces go, as a browser hides them inside a line. What
a reader does not see as the article (scripts, styles, the head and title, menus, form
controls) is left out, and an element left open ends with the one holding it, as a
browser ends it; so is an element hidden by its ``hidden`` attribute or its style.
``<q>`` is shown in quotation marks, as a browser shows it. ``<pre>`` keeps its line
breaks. The parsing is the standard library's :class:`html.parser.HTMLParser`, which
tolerates broken markup and reports where each piece starts.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

#: Elements whose content is no part of the article's text.
HIDDEN = frozenset(
    {"head", "title", "script", "style", "noscript", "template", "svg", "math", "nav"}
    | {"iframe", "object", "canvas", "select", "button", "textarea"}
)
# What a head holds; any other element starts the body, and ends a head left open.
_HEAD_CONTENT = frozenset({"head", "title", "meta", "link", "style", "script", "base", "noscript", "template"})
# Elements that never hold anything, so are never open.
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
# Stand-in for a "<" that can open no tag (none of them has a ">" after it): the parser
# would scan to the end for each, quadratic time. Same length, so offsets hold.
_LOOSE_LT = "\ue000"
#: Elements that begin and end a paragraph of their own.
BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "caption", "center", "dd", "details", "dialog", "div", "dl"}
    | {"dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header"}
    | {"hr", "legend", "li", "main", "menu", "ol", "p", "pre", "section", "summary", "table", "tbody", "td"}
    | {"tfoot", "th", "thead", "tr", "ul"}
)
# Open element -> the start tags that end it when no end tag came (HTML's optional end tags).
_ENDS = {
    "p": BLOCKS | {"nav"},
    "li": frozenset({"li"}),
    "dt": frozenset({"dt", "dd"}),
    "dd": frozenset({"dt", "dd"}),
    "tr": frozenset({"tr", "tbody", "tfoot"}),
    "td": frozenset({"td", "th", "tr", "tbody", "tfoot"}),
    "th": frozenset({"td", "th", "tr", "tbody", "tfoot"}),
    "option": frozenset({"option", "optgroup"}),
}
# Start tag -> the open blocks it looks past for an element it ends (HTML's parsing rules):
# a list item past a <div> or <p> inside the item before; a cell or row past anything in a cell.
_CELL_CONTENT = BLOCKS - {"table", "tr", "td", "th", "tbody", "thead", "tfoot"}
_THROUGH = {
    "li": frozenset({"div", "address", "p"}),
    "dt": frozenset({"div", "address", "p"}),
    "dd": frozenset({"div", "address", "p"}),
    **{cell: _CELL_CONTENT | {"ul", "ol", "dl", "select"} for cell in ("td", "th", "tr", "tbody", "tfoot")},
}
_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML's whitespace, whose runs a browser shows as one space
# No-break spaces are not collapsed, but each is read as a plain space: a browser shows one,
# and "Austria\xa0will" would not be found by a search for "Austria will".
_NO_BREAK = frozenset("\u00a0\u2007\u202f")
# Shown by no browser inside a line (a soft hyphen only where it breaks one), and they would
# hide a name from the country finder: "Ger&shy;many".
_INVISIBLE = frozenset("\u00ad\u200b\u2060\ufeff")


# Tags that ordinary prose does not hold: two of them and a text is taken for HTML.
_TAG = re.compile(
    r"</?(?:p|div|br|span|a|script|style|li|ul|h[1-6]|td|tr|table|nav|html|body|head|img)\b[^<>]{0,500}>", re.I
)


def looks_like_html(text: str) -> bool:
    """Whether ``text`` holds markup (two or more common tags), to warn a caller who did
    not say it was HTML."""
    found = _TAG.finditer(text)
    return next(found, None) is not None and next(found, None) is not None


@dataclass(frozen=True)
class PlainText:
    """``text`` as a reader sees it; its character ``i`` came from ``source[starts[i]:ends[i]]``."""

    text: str
    starts: list[int]
    ends: list[int]

    def start_of(self, at: int) -> int:
        """Where the text's character ``at`` starts in the source."""
        return self.starts[at]

    def end_of(self, at: int) -> int:
        """Where the text's span ending at ``at`` (exclusive) ends in the source."""
        return self.ends[at - 1]


def html_text(source: str) -> PlainText:
    """The text of an HTML document or fragment, each character mapped to its source."""
    reader = _Reader(source)
    last_close = source.rfind(">") + 1
    reader.feed(source[:last_close] + source[last_close:].replace("<", _LOOSE_LT))
    reader.close()
    return reader.plain()


class _Reader(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)  # entities one by one, so each keeps its place
        self._source = source
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self._chars: list[str] = []
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._open: list[str] = []  # open elements, innermost last
        self._hidden: list[int] = []  # where in ``_open`` each open hidden element stands
        self._pre = 0  # open <pre> elements: their line breaks are kept

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag not in _HEAD_CONTENT and "head" in self._open:  # the head's end tag is optional
            self._close(self._open.index("head"))
        self._end_implied(tag)
        if not self._hidden:
            self._break(tag)
        if tag in _VOID:
            return
        if tag in HIDDEN or _hidden_by(attrs):
            self._hidden.append(len(self._open))
        if tag == "q" and not self._hidden:  # a browser shows quotation marks around it
            self._add("\u201c", self._offset(), self._offset())
        self._pre += tag == "pre"
        self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs) -> None:
        if not self._hidden:
            self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "q" and "q" in self._open and not self._hidden:
            self._add("\u201d", self._offset(), self._offset())
        if tag in self._open:  # closes it, and whatever was left open inside it
            self._close(len(self._open) - 1 - self._open[::-1].index(tag))
        if not self._hidden:
            self._break(tag)

    def _end_implied(self, tag: str) -> None:
        """Close what ``tag`` ends without an end tag, as a browser does: a block ends an
        open <p>, an <li> the <li> before it, a cell the cell before it. An element hidden
        by its attributes and left open would otherwise hide the rest of the page."""
        for at in range(len(self._open) - 1, -1, -1):
            open_tag = self._open[at]
            if tag in _ENDS.get(open_tag, ()):
                self._close(at)  # and go on outwards: a new <li> ends a <p> and then its <li>
            elif open_tag in HIDDEN or at in self._hidden:
                return  # what is inside a hidden element stays inside it
            elif tag in _THROUGH and open_tag in _THROUGH[tag]:
                continue  # a new cell ends the cell it is in, whatever the cell holds
            elif open_tag in BLOCKS or open_tag in ("ul", "ol", "table", "dl", "select"):
                return  # past an open container, ``tag`` is inside it and ends nothing outside

    def _close(self, at: int) -> None:
        """Close the open elements from ``at`` in."""
        self._pre -= self._open[at:].count("pre")
        del self._open[at:]
        while self._hidden and self._hidden[-1] >= at:
            self._hidden.pop()

    def _break(self, tag: str) -> None:
        if tag == "br":
            self._add("\n", self._offset(), self._offset())
        elif tag in BLOCKS:
            self._add("\n\n", self._offset(), self._offset())

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._add_text(data, self._offset())

    def handle_entityref(self, name: str) -> None:
        self._reference(f"&{name}")

    def handle_charref(self, name: str) -> None:
        self._reference(f"&#{name}")

    def _reference(self, written: str) -> None:
        if self._hidden:
            return
        start = self._offset()
        end = start + len(written)
        if self._source.startswith(";", end):
            end += 1
        self._add_text(html.unescape(self._source[start:end]), start, end)

    def _add_text(self, data: str, start: int, end: int | None = None) -> None:
        """Text found at ``start``: whitespace runs as one space. ``end``: all of ``data``
        came from ``source[start:end]`` (a decoded entity), else each character is its own."""
        cursor = 0
        for match in _SPACE.finditer(data):
            self._add_each(data[cursor : match.start()], start, end, cursor)
            space = "\n" if self._pre and "\n" in match.group() else " "
            self._add(space, *((start, end) if end is not None else (start + match.start(), start + match.end())))
            cursor = match.end()
        self._add_each(data[cursor:], start, end, cursor)

    def _add_each(self, piece: str, start: int, end: int | None, at: int) -> None:
        for i, char in enumerate(piece):
            if char not in _INVISIBLE:
                char = "<" if char == _LOOSE_LT and end is None and self._source[start + at + i] == "<" else char
                char = " " if char in _NO_BREAK else char
                self._add(char, *((start, end) if end is not None else (start + at + i, start + at + i + 1)))

    def _add(self, chars: str, start: int, end: int) -> None:
        for char in chars:
            self._chars.append(char)
            self._starts.append(start)
            self._ends.append(end)

    def plain(self) -> PlainText:
        """The text with spaces at line edges, blank lines past one, and blank edges dropped."""
        keep = _kept("".join(self._chars))
        return PlainText(
            "".join(self._chars[i] for i in keep), [self._starts[i] for i in keep], [self._ends[i] for i in keep]
        )


_NOT_SHOWN = re.compile(r"(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.I)


def _hidden_by(attrs: list[tuple[str, str | None]]) -> bool:
    """Whether an element's attributes hide it from a reader: ``hidden``, or a style of
    ``display: none`` or ``visibility: hidden`` (pages keep teasers and tracking text so)."""
    return any(name == "hidden" or (name == "style" and _NOT_SHOWN.search(value or "")) for name, value in attrs)


def _kept(text: str) -> list[int]:
    """Indices of the characters of ``text`` to keep."""
    dropped = bytearray(len(text))
    for match in re.finditer(r" *\n[ \n]*", text):  # a line end, with the spaces and line ends around it
        breaks = [match.start() + i for i, char in enumerate(match.group()) if char == "\n"][:2]
        for i in range(match.start(), match.end()):
            dropped[i] = i not in breaks
    indices = [i for i in range(len(text)) if not dropped[i]]
    first = next((n for n, i in enumerate(indices) if not text[i].isspace()), len(indices))
    last = next((n for n in range(len(indices) - 1, -1, -1) if not text[indices[n]].isspace()), -1)
    return indices[first : last + 1]
