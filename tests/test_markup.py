"""HTML read as a browser shows it, each character traced to its place in the HTML; and
articles given as HTML scored with offsets into it."""

from __future__ import annotations

import html
import json

import pytest

from cli.main import main
from model.markup import html_text, looks_like_html
from model.pairs import article_pairs

PAGE = """<!doctype html>
<html><head><title>Troops: who goes</title><style>p { color: red }</style>
<script>var France = "will send"; if (a < b) {}</script>
<body><nav><a href="/">Home</a> | <a href="/world">Germany</a></nav>
<h1>Poland rules out troops</h1>
<p>Poland&rsquo;s defence minister said   on Tuesday that
   <b>Pol</b>and would not send troops to Ukraine.</p>
<p>France and the United&nbsp;Kingdom said they were ready<br>to deploy forces &amp; aircraft</p>
<ul><li>Spain: logistics only</li><li>Italy &#8211; undecided</li></ul>
<!-- Belgium is in a comment -->
</body></html>"""


def test_the_text_is_what_a_reader_sees_in_paragraphs():
    read = html_text(PAGE)
    assert read.text == (
        "Poland rules out troops\n\n"
        "Poland’s defence minister said on Tuesday that Poland would not send troops to Ukraine.\n\n"
        "France and the United Kingdom said they were ready\nto deploy forces & aircraft\n\n"  # &nbsp; a space
        "Spain: logistics only\n\nItaly – undecided"
    )
    for hidden in ("Troops: who goes", "color", "var France", "Home", "Germany", "Belgium"):
        assert hidden not in read.text


def test_each_character_is_traced_to_the_html_it_came_from():
    read = html_text(PAGE)
    assert len(read.starts) == len(read.ends) == len(read.text)
    for i, char in enumerate(read.text):
        source = PAGE[read.starts[i] : read.ends[i]]
        if char == "\n":
            assert source == ""  # a break stands where its tag does
        elif char == " ":
            assert html.unescape(source).isspace()  # whitespace, or a no-break space such as &nbsp;
        else:
            assert html.unescape(source) == char, (i, char, source)
    word = read.text.index("Poland would")
    assert PAGE[read.start_of(word) : read.end_of(word + 6)] == "<b>Pol</b>and"[3:]  # a tag inside a word


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("plain words, no markup", "plain words, no markup"),
        ("<p>Unclosed <b>bold and <i>italic", "Unclosed bold and italic"),
        ("a < b and c > d", "a < b and c > d"),
        ("<div><div>Deep</div></div><div>Next</div>", "Deep\n\nNext"),
        ("Line one<br/>Line two<br><br><br>Line three", "Line one\nLine two\n\nLine three"),
        ("<head><title>T</title><body>Body without the head's end tag", "Body without the head's end tag"),
        ("<p>&unknown; &amp &#x41; &#66;</p>", "&unknown; & A B"),
        ("<td>Cell</td><td>Next cell</td>", "Cell\n\nNext cell"),
        ("Ger&shy;many and Pol\u200band, Fran\u00adce", "Germany and Poland, France"),
        # An element left open ends with the one holding it, as a browser ends it.
        ("<div><nav>Menu</div><p>Germany will send troops.</p>", "Germany will send troops."),
        ("<ul><li><button>Share</li><li>Germany agreed.</li></ul>", "Germany agreed."),
        ("<html><head><title>T</title><p>Without a body tag", "Without a body tag"),
        ("<html><title>Hidden headline</title><p>Shown", "Shown"),
        ("<pre>Poland will send troops\nFrance will not</pre>", "Poland will send troops\nFrance will not"),
        # A "<" with no ">" after it can open no tag: text, read without scanning to the end each time.
        ("<p>Spain</p> then <a <b and 3 < 4", "Spain\n\nthen <a <b and 3 < 4"),
        ("", ""),
        ("<p> </p><script>x</script>", ""),
        # What a reader does not see: the hidden attribute, a style that hides.
        ('<p>Seen.</p><div hidden>France</div><p style="display: none">Spain</p>', "Seen."),
        ('<p>Seen.</p><b style="Visibility:Hidden">Italy</b><p style="color:red">Shown.</p>', "Seen.\n\nShown."),
        # An element left open ends where HTML ends it, so a hidden one does not hide the rest.
        ("<p hidden>Teaser<p>Poland will not send troops.</p>", "Poland will not send troops."),
        ('<ul><li style="display:none">Spain<li>Italy will go.</ul>', "Italy will go."),
        ("<ul><li><p hidden>x<li>Shown.</ul>", "Shown."),
        ("<table><tr><td>A<td>B<tr><td>C</table>", "A\n\nB\n\nC"),
        ("<ul><li hidden><div>Teaser<li>Italy will go.</ul>", "Italy will go."),  # past the item's <div>
        ("<table><tr><td hidden><div>x<td>B</table>", "B"),  # a cell ends the cell, whatever it holds
        # and what is inside a hidden element stays hidden, blocks included
        ("<p>Lead.<noscript><div>Enable JavaScript: Russia sends troops.</div></noscript> Rest.</p>", "Lead. Rest."),
        # <q> is shown in quotation marks, so a quoted "we" is read as quoted.
        ("Poland said <q>we will not go</q>.", "Poland said \u201cwe will not go\u201d."),
    ],
)
def test_broken_and_odd_markup_is_read_as_a_browser_would(source, text):
    assert html_text(source).text == text


def test_paragraphs_without_final_periods_are_sentences_of_their_own():
    read = html_text("<p>Poland will send troops</p><p>France will not</p><h2>Spain too</h2>")
    assert [s.text for s in article_pairs(read.text).sentences] == [
        "Poland will send troops",
        "France will not",
        "Spain too",
    ]


def test_an_html_article_scores_as_its_text_with_offsets_into_the_html(tiny_predictor):
    (from_html,) = tiny_predictor.score_articles([PAGE], html=[True])
    from_text = tiny_predictor.score_article(html_text(PAGE).text)
    assert [s.text for s in from_html.sentences] == [s.text for s in from_text.sentences]
    assert [(s.country, s.label, s.probabilities) for s in from_html.stances] == [
        (s.country, s.label, s.probabilities) for s in from_text.stances
    ]
    for sentence in from_html.sentences:  # the HTML span reads as the sentence
        assert _as_read(PAGE[sentence.start : sentence.end]) == " ".join(sentence.text.split())
    for stance in from_html.stances:
        for (start, end), words in zip(stance.mentions, stance.named_as, strict=True):
            assert _as_read(PAGE[start:end]) == " ".join(words.split())
    evidence = [e for country in from_html.countries for e in country.evidence]
    assert evidence
    assert all(PAGE[e.start : e.end].startswith(e.text[:3]) for e in evidence)


def _as_read(source: str) -> str:
    """A piece of the HTML as read, whitespace (no-break spaces, line breaks) as single spaces."""
    return " ".join(html_text(source).text.split())


def test_stance_pairs_html_gives_offsets_into_the_html(tmp_path, capsys):
    page = tmp_path / "page.txt"
    page.write_text(PAGE, encoding="utf-8")
    assert main(["pairs", "--html", "--json", str(page)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows][:2] == [
        "Poland rules out troops",
        "Poland’s defence minister said on Tuesday that Poland would not send troops to Ukraine.",
    ]
    for row in rows:
        assert _as_read(PAGE[row["start"] : row["end"]]) == " ".join(row["text"].split())
        for mention in row["mentions"]:
            assert _as_read(PAGE[mention["start"] : mention["end"]]) == " ".join(mention["text"].split())
    assert "Germany" not in {c for r in rows for c in r["countries"]}  # a menu item
    assert "look like HTML" not in capsys.readouterr().err
    assert main(["pairs", str(page)]) == 0  # as `stance score` does, a page read as text is warned of
    assert f"warning: 1 article(s) look like HTML (the first: {page}) and were read as" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "markup"),
    [
        ("Poland will send troops.", False),
        ("a < b, and c > d", False),
        ("He wrote <b>bold</b> once", False),  # one tag is not enough, nor tags prose may quote
        ("<p>Poland</p><p>Spain</p>", True),
        ('See <a href="/x">this</a>', True),
        (PAGE, True),
    ],
)
def test_text_with_markup_is_told_from_prose(text, markup):
    assert looks_like_html(text) is markup
