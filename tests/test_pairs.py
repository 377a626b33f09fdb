"""Pairs with context, the rendered input format and its truncation around the target."""

from __future__ import annotations

import pytest

from model.countries import UnknownCountryError, resolve_country
from model.inputs import InputFormat, encode_rendered, fit, prepare, render
from model.pairs import article_pairs, pair_for

SEED_TAIL = (
    "At present, only a handful of countries have expressed interest in sending troops to "
    "Ukraine as part of the security guarantees.\n"
    "Those include Australia, Belgium, Canada, Estonia, France, Lithuania and the United "
    "Kingdom.\n"
    "The US has also ruled out boots on the ground, said the U.S. official in Washington."
)


def test_one_pair_per_distinct_country_with_previous_sentence_as_context():
    built = article_pairs(SEED_TAIL)
    assert len(built.sentences) == 3
    names = [(p.sentence.index, p.country.name) for p in built.pairs]
    assert names == [
        (0, "Ukraine"),
        (1, "Australia"),
        (1, "Belgium"),
        (1, "Canada"),
        (1, "Estonia"),
        (1, "France"),
        (1, "Lithuania"),
        (1, "United Kingdom"),
        (2, "United States"),
    ]
    first, those, us = built.pairs[0], built.pairs[1], built.pairs[-1]
    assert first.context == ""
    assert those.context == built.sentences[0].text
    assert len(us.spans) == 3  # "US", "U.S." and "Washington" make one pair
    for pair in built.pairs:
        for start, end in pair.spans:
            assert pair.country == resolve_country(pair.text[start:end])


def test_country_filter_keeps_only_the_asked_countries():
    only = {resolve_country("France"), resolve_country("US")}
    built = article_pairs(SEED_TAIL, only=only)
    assert {p.country.name for p in built.pairs} == {"France", "United States"}
    assert len(built.sentences) == 3  # sentences are kept even without pairs


def test_pair_for_a_country_not_named_in_the_sentence():
    pair = pair_for(
        "“We cannot weaken our forces,” he said.",
        "Poland",
        context="Poland needs its troops at home.",
    )
    assert pair.country.iso3 == "POL"
    assert pair.spans == ()
    rendered = render(pair, InputFormat(markers=True, context=True))
    assert rendered.first == "Poland ; before: Poland needs its troops at home."
    assert rendered.second == pair.text  # nothing to mark


def test_pair_for_an_unknown_country_is_an_error():
    with pytest.raises(UnknownCountryError, match="'Narnia'"):
        pair_for("Narnia sends troops.", "Narnia")


def test_markers_wrap_every_mention_of_the_target_only():
    pair = pair_for("The U.S. and Poland agreed; US troops stay.", "United States")
    assert render(pair, InputFormat(markers=True)).second == ("The [U.S.] and Poland agreed; [US] troops stay.")
    assert render(pair, InputFormat(markers=False)).second == pair.text
    assert render(pair, InputFormat(context=False)).first == "United States"


def _long_sentence(target_at: int) -> str:
    words = ["troops"] * 300
    words[target_at] = "Poland"
    return " ".join(words) + "."


@pytest.mark.parametrize("target_at", [5, 150, 290])
def test_long_sentence_is_cut_around_the_target_and_flagged(tiny_tokenizer, target_at):
    fmt = InputFormat(markers=True, max_length=32)
    pair = pair_for(_long_sentence(target_at), "Poland")
    fitted = fit(render(pair, fmt), tiny_tokenizer, fmt)
    assert fitted.truncated
    assert "[Poland]" in fitted.second
    batch = encode_rendered(prepare([pair], tiny_tokenizer, fmt), tiny_tokenizer, fmt)
    assert batch.truncated == [True]
    assert batch.encoding["input_ids"].shape[1] <= 32


def test_context_is_trimmed_before_the_sentence(tiny_tokenizer):
    fmt = InputFormat(context=True, max_length=40, context_tokens=100)
    context = "Earlier " + " ".join(["talks"] * 100) + " ended."
    pair = pair_for("Poland will not send troops.", "Poland", context=context)
    fitted = fit(render(pair, fmt), tiny_tokenizer, fmt)
    assert not fitted.truncated
    assert fitted.second == pair.text
    assert fitted.first.endswith("ended.")  # the end nearest the sentence is kept
    assert not fitted.first.endswith(context)


@pytest.mark.parametrize("blank", ["   ", "\n", " \t", "\u00a0"])
def test_a_blank_context_is_no_context(blank):
    fmt = InputFormat(context=True)
    alone = render(pair_for("Poland will send troops.", "Poland"), fmt)
    assert render(pair_for("Poland will send troops.", "Poland", context=blank), fmt) == alone
    assert render(pair_for("Poland will send troops.", "Poland", context="Talks ended."), fmt) != alone


def test_short_pairs_are_untouched(tiny_tokenizer):
    fmt = InputFormat(context=True)
    pairs = [
        pair_for("Poland will not send troops.", "Poland", context="Talks ended."),
        pair_for("The US will send weapons.", "US"),
    ]
    batch = encode_rendered(prepare(pairs, tiny_tokenizer, fmt), tiny_tokenizer, fmt)
    assert batch.truncated == [False, False]
    assert batch.encoding["input_ids"].shape[0] == 2


def test_input_format_checks_its_version_and_length():
    with pytest.raises(ValueError, match="max_length"):
        InputFormat(max_length=4)
    with pytest.raises(ValueError, match="version 99"):
        InputFormat.from_dict({**InputFormat().to_dict(), "version": 99})
    assert InputFormat.from_dict(InputFormat(markers=True).to_dict()).markers


@pytest.fixture(scope="module")
def subword_tokenizer(tmp_path_factory):
    """WordPiece with whole-word pieces: "countries" is "countr" + "##ies", but "ies"
    alone is "i" + "##e" + "##s", so text cut inside the word gains tokens."""
    import string

    from transformers import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, ".", ";", ":"]
    vocab += [f"##{c}" for c in string.ascii_lowercase] + ["countr", "##ies", "poland", "troops"]
    path = tmp_path_factory.mktemp("subword") / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n")
    return BertTokenizerFast(vocab=str(path), do_lower_case=True)


@pytest.mark.parametrize("target_at", range(4, 120, 9))
def test_a_cut_sentence_starts_and_ends_on_whole_words_so_nothing_more_is_dropped(subword_tokenizer, target_at):
    words = ["countries", "troops"] * 60
    words[target_at] = "Poland"
    text = " ".join(words) + "."
    fmt = InputFormat(max_length=24, context=False)
    fitted = fit(render(pair_for(text, "Poland"), fmt), subword_tokenizer, fmt)
    assert fitted.truncated
    assert "Poland" in fitted.second
    start = text.index(fitted.second)
    end = start + len(fitted.second)
    assert start == 0 or text[start - 1] == " "
    assert end == len(text) or not text[end].isalnum()
    assert len(subword_tokenizer(fitted.first, fitted.second)["input_ids"]) <= fmt.max_length


def test_a_datelines_city_gets_no_pair_but_the_same_country_named_in_the_story_does():
    built = article_pairs("WASHINGTON (AP) — Britain and France will lead a force. The White House said no.")
    assert [(p.sentence.index, p.country.name) for p in built.pairs] == [
        (0, "United Kingdom"),
        (0, "France"),
        (1, "United States"),
    ]


def test_each_item_of_a_list_takes_the_sentence_that_introduced_the_list_as_context():
    built = article_pairs(
        "Several allies are ready to send troops. Those include:\n- Finland\n- Sweden\n• Norway\nPoland said no."
    )
    context = {p.country.name: p.context for p in built.pairs}
    assert context == {
        "Finland": "Those include:",
        "Sweden": "Those include:",
        "Norway": "Those include:",
        "Poland": "• Norway",  # past the list, the sentence before as usual
    }


def test_a_list_item_of_several_sentences_does_not_become_the_lead_of_the_next_item():
    built = article_pairs(
        "Where allies stand on sending troops:\n- Britain: ready. Starmer has said so twice.\n- France: ready too."
    )
    context = {p.country.name: p.context for p in built.pairs}
    assert context["France"] == "Where allies stand on sending troops:"


def test_fitting_a_long_sentence_does_not_warn_that_it_is_too_long_for_the_model(tiny_tokenizer_dir, caplog):
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)  # fresh: transformers warns once per tokenizer
    tokenizer.model_max_length = 64
    long = "Poland will send troops and " * 40 + "Poland will not."
    pair = pair_for(long, resolve_country("Poland"), "Poland said so. " * 40)
    quiet = hf_logging.get_verbosity()  # the command line's tests turn transformers' warnings off
    hf_logging.set_verbosity_warning()
    try:
        fitted = fit(render(pair, InputFormat()), tokenizer, InputFormat(max_length=32))
        assert not [r for r in caplog.records if "sequence length is longer" in r.getMessage()]
        tokenizer("troops " * 100)  # the warning this test looks for, where a call does not opt out
        assert [r for r in caplog.records if "sequence length is longer" in r.getMessage()]
    finally:
        hf_logging.set_verbosity(quiet)
    assert fitted.truncated


def test_an_article_read_from_html_places_its_sentences_and_mentions_in_the_html():
    from model.pairs import read_article

    html = "<html><head><title>France</title></head><body><p>Poland&nbsp;will send troops.</p><p>Spain said no.</p>"
    built = read_article(html, html=True)
    assert [s.text for s in built.sentences] == ["Poland will send troops.", "Spain said no."]
    located = built.source_sentences()
    assert html[located[0].start : located[0].end] == "Poland&nbsp;will send troops."
    assert html[located[1].start : located[1].end] == "Spain said no."
    assert [
        (p.country.name, html[slice(*built.in_source(p.sentence.start + a, p.sentence.start + b))])
        for p in built.pairs
        for a, b in p.spans
    ] == [("Poland", "Poland"), ("Spain", "Spain")]
    plain = read_article("Poland will send troops.")  # not HTML: offsets are the text's own
    assert plain.source is None
    assert plain.source_sentences() == plain.sentences
    assert plain.in_source(0, 6) == (0, 6)


def test_a_sentence_that_refers_back_gets_pairs_for_the_countries_its_context_names():
    """The labeling guide's rules 6 and 7: "we" in a quote is the speaker's country; "They",
    "Those" are read through the sentence before. Such pairs carry no mentions."""
    quote = article_pairs('Norway\'s defence minister spoke on Monday. "Our priority is the north," he said.')
    meant = [p for p in quote.pairs if p.sentence.index == 1]
    assert [(p.country.name, p.spans, p.context) for p in meant] == [("Norway", (), quote.sentences[0].text)]
    they = article_pairs("France and Germany met on Monday. They agreed to send troops.")
    assert [(p.country.name, p.spans) for p in they.pairs if p.sentence.index == 1] == [("France", ()), ("Germany", ())]
    for text in (
        "Poland said no. The US agreed.",  # "US" is a country, not "us"
        'Germany asked. Warsaw was clear: "We will not send troops."',  # names its own: "we" is Poland
        "Poland said no. Those who agreed: Spain, Italy.",  # names its own
        "Germany said no. These countries said yes:",  # a list's lead refers forward
        "Poland will not send troops, its minister said. Sign up for our newsletter.",  # the publisher's "our"
        "Britain will send troops.\nWe use cookies to improve this site.",
        "Hungary refused. Contact us at desk@example.com.",
        "We will go. Poland agreed.",  # nothing before the first sentence
        "Poland said no. Officials met in Rome on Monday.",  # nothing refers back
    ):
        built = article_pairs(text)
        assert all(p.spans for p in built.pairs), text
    for text in (  # single quotes, curly or straight, are quotation marks too
        "Britain's defence secretary spoke. \u2018We are ready to put troops on the ground,\u2019 he said.",
        "Britain's defence secretary spoke. 'We're ready to put troops on the ground,' he said.",
    ):
        assert [(p.country.name, p.spans) for p in article_pairs(text).pairs if p.sentence.index == 1] == [
            ("United Kingdom", ())
        ], text
    only = article_pairs("France and Germany met. They agreed.", only={resolve_country("Germany")})
    assert [(p.sentence.index, p.country.name) for p in only.pairs] == [(0, "Germany"), (1, "Germany")]


def test_a_quote_naming_other_countries_still_means_the_speakers_country():
    """Rule 6: a refusal quote nearly always names the destination or a backstop; those
    are named inside the quote, so the speaker's country, named before, is still meant."""
    built = article_pairs(
        "The Polish president was in Kyiv on Monday. "
        "\u201cOur soldiers will not go to Ukraine,\u201d he told reporters."
    )
    assert [(p.country.name, bool(p.spans)) for p in built.pairs if p.sentence.index == 1] == [
        ("Ukraine", True),  # named in the quote: its own pair, not a second, meant one
        ("Poland", False),
    ]
    opening = article_pairs(  # a quote opening with another country says nothing of the speaker
        'France\'s president spoke in Paris. "Russia must leave Ukraine, and we will send troops to help," he said.'
    )
    assert [p.country.name for p in opening.pairs if p.sentence.index == 1 and not p.spans] == ["France"]
    for text in (
        'Germany asked. Warsaw was clear: "We will not send troops to Ukraine."',  # named outside: the speaker
        "Norway's minister spoke. Britain\u2019s troops won\u2019t go, he said, and we agree.",  # "we" unquoted
        'Spain spoke first. "Italy will go," we were told.',  # the "we" is outside the quote
        "Germany hesitated. \u201cWe Poles will not send soldiers,\u201d Duda said.",  # the speaker's own, named
        "Germany hesitated. In the '90s we sent troops to Bosnia, he said.",  # an apostrophe, not a quote
    ):
        assert all(p.spans for p in article_pairs(text).pairs), text


def test_quoted_spans_tell_quotation_marks_from_apostrophes():
    from model.pairs import quoted_spans

    def quoted(text: str) -> list[str]:
        return [text[a:b] for a, b in quoted_spans(text)]

    assert quoted("\u201cWe will go,\u201d he said.") == ["\u201cWe will go,\u201d"]
    assert quoted("He said \u2018Britain\u2019s troops won\u2019t go\u2019 today.") == [
        "\u2018Britain\u2019s troops won\u2019t go\u2019"
    ]
    assert quoted("The troops' pay and Britain's role.") == []  # apostrophes, not quotes
    assert quoted("In the '90s we sent 'em home, 'til May.") == []  # a decade and elisions
    assert quoted("He said '20,000 of our troops will go' on Monday.") == ["'20,000 of our troops will go'"]
    assert quoted('He said "we will" and "they will not".') == ['"we will"', '"they will not"']
    assert quoted("\u00abNous irons\u00bb, a-t-il dit.") == ["\u00abNous irons\u00bb"]
    assert quoted("He went on: \u201cWe will stay") == ["\u201cWe will stay"]  # open to the sentence's end
    assert quoted("we will not go,\u201d he said.") == ["we will not go,\u201d"]  # begun in a sentence before


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r", "\u2028"])
def test_list_items_take_the_lists_lead_as_context_whatever_ends_their_lines(end):
    text = end.join(["Those willing to send troops include:", "- Finland. It said so.", "- Sweden"])
    built = article_pairs(text)
    assert [(p.country.name, p.context) for p in built.pairs] == [
        ("Finland", "Those willing to send troops include:"),
        ("Sweden", "Those willing to send troops include:"),
    ]
