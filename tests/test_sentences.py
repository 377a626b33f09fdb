"""Sentence splitting on news prose, checked on the seed articles' own text."""

from __future__ import annotations

import pytest

from model.sentences import split_sentences


def _texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def test_offsets_slice_back_on_every_seed(seed_articles):
    for name, article in seed_articles.items():
        sentences = split_sentences(article)
        assert sentences, name
        previous_end = 0
        for i, sentence in enumerate(sentences):
            assert sentence.index == i
            assert article[sentence.start : sentence.end] == sentence.text
            assert sentence.text == sentence.text.strip()
            assert sentence.text
            assert sentence.start >= previous_end
            previous_end = sentence.end


def test_us_abbreviation_does_not_end_a_sentence(seed_articles):
    article = seed_articles["001_322d7952545062e1.txt"]
    texts = _texts(article)
    assert any(t.startswith("U.S. Chairman of the Joint Chiefs") and t.endswith("January 17.") for t in texts)
    assert not any(t == "U.S." for t in texts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Gen. Mark Milley met General Valerii Zaluzhnyi in Poland on Jan. 17. They talked for two hours.",
            [
                "Gen. Mark Milley met General Valerii Zaluzhnyi in Poland on Jan. 17.",
                "They talked for two hours.",
            ],
        ),
        (
            "The U.S. Department of Defense unveiled its largest package, worth $3.75 billion. "
            "It includes Bradley vehicles.",
            [
                "The U.S. Department of Defense unveiled its largest package, worth $3.75 billion.",
                "It includes Bradley vehicles.",
            ],
        ),
        (
            "“We will not send Polish soldiers to Ukraine,” he said. "
            "According to Kosiniak-Kamysz, this position is shared by all Poles.",
            [
                "“We will not send Polish soldiers to Ukraine,” he said.",
                "According to Kosiniak-Kamysz, this position is shared by all Poles.",
            ],
        ),
        (
            "Kirby said the troops were only “liaising.” The difference may not matter.",
            ["Kirby said the troops were only “liaising.”", "The difference may not matter."],
        ),
    ],
)
def test_abbreviations_numbers_and_quotes(text, expected):
    assert _texts(text) == expected


def test_headline_without_period_stands_alone(seed_articles):
    texts = _texts(seed_articles["002_449e190d31b4c890.txt"])
    assert texts[0] == "Poland’s defense minister addresses whether country send troops to Ukraine"
    assert texts[1].startswith("Poland will not send its troops")
    assert "Coalition of the Willing" in texts  # a section heading is its own line


def test_bylines_and_social_lines_are_their_own_sentences(seed_articles):
    texts = _texts(seed_articles["000_4fba4cc235d18b7f.txt"])
    assert "Author: Dave DeCamp" in texts
    texts = _texts(seed_articles["001_322d7952545062e1.txt"])
    assert texts[1] == "share on:"
    texts = _texts(seed_articles["003_c415b0ac414dcec2.txt"])
    assert "Follow our coverage of the war on the @Kyivpost_official." in texts


def test_quote_ending_a_sentence_keeps_its_speaker(seed_articles):
    texts = _texts(seed_articles["003_c415b0ac414dcec2.txt"])
    quote = next(t for t in texts if t.startswith("“The threat on the border"))
    assert quote.endswith("Zalewski said, as reported by Polish outlet RMF24.")


def test_caption_date_is_not_a_boundary(seed_articles):
    texts = _texts(seed_articles["001_322d7952545062e1.txt"])
    assert any(t.endswith("Ali Al Salem Air Base, Kuwait, Jan. 27, 2022.") for t in texts)


def test_empty_and_blank_text():
    assert split_sentences("") == []
    assert split_sentences(" \n\n  \t\n") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Europe cannot defend itself without the U.S. France disagrees.",
            ["Europe cannot defend itself without the U.S.", "France disagrees."],
        ),
        (
            "Germany will not send troops, unlike the U.K. Italy is undecided.",
            ["Germany will not send troops, unlike the U.K.", "Italy is undecided."],
        ),
        ("Troops came from the U.S. But not many.", ["Troops came from the U.S.", "But not many."]),
        *[
            (f"Troops will not come from the U.S. {rest}", ["Troops will not come from the U.S.", rest])
            for rest in (
                "Germany sent 500 soldiers.",
                "Germany sends 500 soldiers.",
                "Britain's army is too small.",
                "Poland, too, will stay out.",
            )
        ],
        ("The U.S. Army and U.S. President Trump agreed.", ["The U.S. Army and U.S. President Trump agreed."]),
        ("J.D. Vance and the U.S. Marines left.", ["J.D. Vance and the U.S. Marines left."]),
        # the initialism's own institutions, and a country's name used as a modifier, run on
        *[
            (text, [text])
            for text in (
                "The U.S. Pentagon said it would not send troops.",
                "A senior U.S. State Department official said so.",
                "The U.K. Royal Navy will patrol the strait.",
                "The U.S. Ukraine envoy met them in Riyadh.",
                "The U.N. Ukraine mission grew.",
            )
        ],
    ],
)
def test_an_initialism_ends_a_sentence_when_a_country_or_an_opener_follows(text, expected):
    assert _texts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Amb. Smith and Sec. Rubio met Pres. Stubb in Helsinki.",
        "Troops left Ft. Bragg for Poland on Monday.",
        "The Rt. Hon. member for Leeds said Britain would not go.",
        "approx. 5,000 Polish troops will guard the hub.",
    ],
)
def test_a_title_before_a_name_or_number_does_not_end_a_sentence(text):
    assert _texts(text) == [text]


@pytest.mark.parametrize("end", ["\r", "\u2028", "\u2029", "\x0c", "\x85", "\x0b"])
def test_every_kind_of_line_end_parts_lines(end):
    lines = ["POLAND SAYS NO TO TROOPS", "By Jan Kowalski", "Warsaw will not send soldiers."]
    text = end.join(lines)
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == lines
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_windows_line_endings_keep_offsets():
    text = "Poland will not send troops.\r\nThe US will send weapons."
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Poland will not send troops.",
        "The US will send weapons.",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_a_very_long_line_goes_to_the_splitter_in_pieces_cut_at_sentence_ends(seed_articles, monkeypatch):
    from model import sentences as module

    paragraph = " ".join(" ".join(article.split()) for article in seed_articles.values())
    line = (paragraph + " ") * 3
    assert len(line) > 10 * module.MAX_PIECE_CHARS
    segmenter = module._segmenter()
    seen = []

    class Recording:
        def segment(self, text):
            seen.append(len(text))
            return segmenter.segment(text)

    monkeypatch.setattr(module, "_segmenter", Recording)
    pieces = split_sentences(line)
    assert max(seen) <= module.MAX_PIECE_CHARS
    assert all(line[s.start : s.end] == s.text for s in pieces)
    monkeypatch.setattr(module, "MAX_PIECE_CHARS", len(line) + 1)  # the whole line at once
    assert [s.text for s in split_sentences(line)] == [s.text for s in pieces]


def test_a_long_line_without_sentence_ends_is_still_cut_and_nothing_is_lost():
    from model.sentences import MAX_PIECE_CHARS

    line = "word " * (3 * MAX_PIECE_CHARS // 5) + "x" * (2 * MAX_PIECE_CHARS)
    pieces = split_sentences(line)
    assert "".join("".join(s.text.split()) for s in pieces) == "".join(line.split())


def test_a_byte_order_mark_and_zero_width_spaces_stay_outside_sentences():
    text = "\ufeffPoland will not send troops. \u200bFrance is ready.\u200b\n\u2060UK\n\ufeff\n"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == ["Poland will not send troops.", "France is ready.", "UK"]
    assert all(text[s.start : s.end] == s.text for s in sentences)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("WASHINGTON (AP) — Britain and France said they would lead a force.", "Britain and France said"),
        ("BERLIN, Feb 27 (Reuters) - Poland will not send troops.", "Poland will not"),
        ("KYIV, Ukraine — Zelensky asked for troops.", "Zelensky asked"),
        ("NEW YORK, March 3, 2025 (Reuters) - The US said no.", "The US said"),
        ("LONDON — Britain will send troops.", "Britain will"),
        ("By Jane Doe\nPARIS (AFP) – Italy ruled out sending troops.", "By Jane Doe"),
        ("WASHINGTON (AP) — A U.S. official said no.", "A U.S. official"),
        ("LONDON/PARIS, March 3 (Reuters) - Britain and France said.", "Britain and France"),
        ("KYIV, Ukraine, March 3 (AP) — Zelensky asked.", "Zelensky asked"),
        ("Paris (AFP) - Italy ruled out troops.", "Italy ruled out"),
        ("GDAŃSK, Poland (AP) — Poland said.", "Poland said"),
        ("LONDON\u00a0—\u00a0The UK said.", "The UK said"),
        ("WASHINGTON—The US said.", "The US said"),
        ("WASHINGTON, March 3, 2025 /PRNewswire/ -- The company said.", "The company said"),
        # headlines in capitals are not datelines: the story after a dash is in ordinary case
        ("POLAND SAYS NO — NO TROOPS FOR UKRAINE", "POLAND SAYS NO — NO TROOPS FOR UKRAINE"),
        ("UKRAINE ASKS FOR TROOPS - Poland refuses", "UKRAINE ASKS FOR TROOPS - Poland refuses"),
        # nor is a country's own name before a dash: it is the subject
        ("UK – France summit to focus on troops", "UK – France summit"),
        ("US - Russia talks in Riyadh", "US - Russia talks"),
        ("FRANCE — Macron says Paris is ready.", "FRANCE — Macron"),
        ("UK — along with France — is preparing a force.", "UK — along with"),
    ],
)
def test_a_wire_dateline_is_left_out_of_its_sentence(text, first):
    sentences = split_sentences(text)
    assert sentences[0].text.startswith(first)
    for s in sentences:
        assert text[s.start : s.end] == s.text
    assert all(place not in s.text for s in sentences for place in ("WASHINGTON", "(Reuters)", "PARIS (AFP)"))


WRAPPED = """The United States ruled out sending ground troops to Ukraine but could
provide a "backstop" of air power and intelligence, officials said. The United
Kingdom agreed. France and Britain have said they are ready to lead a force
that would deploy after a ceasefire, while Poland said it would not send
soldiers but would serve as a logistics hub for the mission, officials said.

Countries willing to send troops include:
- Finland
- Sweden
"""


def test_text_hard_wrapped_at_a_fixed_width_is_split_into_whole_sentences():
    sentences = split_sentences(WRAPPED)
    assert [s.text.replace("\n", " ") for s in sentences] == [
        'The United States ruled out sending ground troops to Ukraine but could provide a "backstop" of air '
        "power and intelligence, officials said.",
        "The United Kingdom agreed.",
        "France and Britain have said they are ready to lead a force that would deploy after a ceasefire, "
        "while Poland said it would not send soldiers but would serve as a logistics hub for the mission, "
        "officials said.",
        "Countries willing to send troops include:",  # a blank line ends the paragraph
        "- Finland",  # bullets never run on
        "- Sweden",
    ]
    assert all(WRAPPED[s.start : s.end] == s.text for s in sentences)


def test_lines_of_headlines_or_paragraphs_are_not_run_together():
    digest = (
        "Poland Says No Troops for Ukraine Mission After Talks\n"
        "France Ready to Lead Force in Kyiv Says Macron Today\n"
        "Germany Weighs Role in Reassurance Force for Ukraine Now\n"
        "Italy Rules Out Sending Soldiers to Ukraine Says Meloni\n"
    )
    assert len(split_sentences(digest)) == 4
    # a line that ends without a period but is followed by a capital stays whole too
    assert [s.text for s in split_sentences("Share on:\nPoland will help.")] == ["Share on:", "Poland will help."]
    # outside hard-wrapped text a line in lower case is not run on: it may be a name or a byline
    assert len(split_sentences("Italy refuses to send troops\nde Gaulle's vision lives on, officials say.")) == 2


def test_a_list_of_items_some_in_lower_case_is_not_taken_for_wrapped_text():
    text = (
        "Where European countries stand on sending troops\n"
        "Britain – ready to send troops and to lead the force\n"
        "France – ready to send troops, says Macron\n"
        "the Netherlands – open in principle, wants US backing\n"
        "Poland – no troops, but a logistics hub\n"
        "the Czech Republic – undecided, says the government\n"
        "the Baltic states – ready to send small contingents\n"
    )
    assert len(split_sentences(text)) == 7


def test_in_wrapped_text_a_dateline_or_a_headline_line_is_not_run_into():
    text = (
        "France and Britain weigh sending troops to western Ukraine\n"
        "PARIS, March 11 (Reuters) - France and Britain are considering sending\n"
        "troops to western Ukraine after a ceasefire, two officials said on\n"
        "Tuesday, while Italy said it would not take part in any such mission\n"
        "and Poland said it would serve only as a logistics hub for the force.\n"
    )
    sentences = [s.text.replace("\n", " ") for s in split_sentences(text)]
    assert sentences[0] == "France and Britain weigh sending troops to western Ukraine"
    assert sentences[1].startswith("France and Britain are considering sending troops")
    assert "PARIS" not in " ".join(sentences)
