"""The country resolver: every way news names a country, and what must not resolve."""

from __future__ import annotations

import pytest

from model.countries import UnknownCountryError, default_resolver, resolve_country


def _found(text: str) -> list[tuple[str, str]]:
    return [(m.surface, m.country.iso3) for m in default_resolver().find_mentions(text)]


@pytest.mark.parametrize(
    ("text", "surface", "iso3"),
    [
        # official and common names
        ("Poland will not send troops.", "Poland", "POL"),
        ("The United Kingdom is ready.", "United Kingdom", "GBR"),
        ("The United States of America said no.", "United States of America", "USA"),
        ("The Russian Federation objected.", "Russian Federation", "RUS"),
        ("Czechia and the partners agreed.", "Czechia", "CZE"),
        ("The Czech Republic is open to it.", "Czech Republic", "CZE"),
        ("Türkiye offered naval patrols.", "Türkiye", "TUR"),
        ("Côte d’Ivoire sent police.", "Côte d’Ivoire", "CIV"),
        ("Papua New Guinea said nothing.", "Papua New Guinea", "PNG"),
        # short forms and abbreviations
        ("US troops will not enter Ukraine.", "US", "USA"),
        ("U.S. officials said so.", "U.S.", "USA"),
        ("The USA ruled it out.", "USA", "USA"),
        ("The UK will lead.", "UK", "GBR"),
        ("The U.K. will lead.", "U.K.", "GBR"),
        ("Britain will lead.", "Britain", "GBR"),
        ("The UAE hosted the talks.", "UAE", "ARE"),
        ("The DRC asked for help.", "DRC", "COD"),
        # demonyms and adjectives
        ("Polish soldiers guard the hub.", "Polish", "POL"),
        ("French officers will plan it.", "French", "FRA"),
        ("British troops may deploy.", "British", "GBR"),
        ("Ukrainian forces trained there.", "Ukrainian", "UKR"),
        ("The Dutch government agreed.", "Dutch", "NLD"),
        ("German jets will patrol.", "German", "DEU"),
        ("Americans will not fight there.", "Americans", "USA"),
        ("The Poles refused.", "Poles", "POL"),
        ("North Korean soldiers arrived in Kursk.", "North Korean", "PRK"),
        # capitals and seats of government as metonyms
        ("Washington ruled out boots on the ground.", "Washington", "USA"),
        ("The White House said no.", "White House", "USA"),
        ("The Pentagon confirmed it.", "Pentagon", "USA"),
        ("The Kremlin warned the West.", "Kremlin", "RUS"),
        ("Moscow rejected it.", "Moscow", "RUS"),
        ("Kyiv welcomed the plan.", "Kyiv", "UKR"),
        ("Kiev welcomed the plan.", "Kiev", "UKR"),
        ("Warsaw will not send soldiers.", "Warsaw", "POL"),
        ("Downing Street confirmed the plan.", "Downing Street", "GBR"),
        ("Downing St confirmed the plan.", "Downing St", "GBR"),
        ("The Hellenic Navy sent a frigate.", "Hellenic", "GRC"),
        ("The Élysée denied the report.", "Élysée", "FRA"),
        ("The Elysee denied the report.", "Elysee", "FRA"),
        ("The Elysée denied the report.", "Elysée", "FRA"),  # the capital's accent dropped, as outlets print it
        ("The Bundestag approved the mandate.", "Bundestag", "DEU"),
        ("The Oval Office said no.", "Oval Office", "USA"),
        ("The IRGC moved units.", "IRGC", "IRN"),
        ("Royal Marines landed.", "Royal Marines", "GBR"),
        ("Mali, Burkina and Niger left ECOWAS.", "Burkina", "BFA"),
        ("Burkinabè officers refused.", "Burkinabè", "BFA"),
        ("Djiboutian ports host the ships.", "Djiboutian", "DJI"),
        ("Kosovars and Montenegrins voted.", "Montenegrins", "MNE"),
        ("Berlin remains cautious.", "Berlin", "DEU"),
        ("Beijing proposed peacekeepers.", "Beijing", "CHN"),
        ("Ankara offered to help.", "Ankara", "TUR"),
        # entities beyond the source, observers and disputed ones
        ("Kosovo hosts KFOR.", "Kosovo", "XKX"),
        ("Taiwan watched closely.", "Taiwan", "TWN"),
        ("The Holy See called for peace.", "Holy See", "VAT"),
        ("Palestine was not consulted.", "Palestine", "PSE"),
        ("Western Sahara is disputed.", "Western Sahara", "ESH"),
        # headlines in capitals
        ("UKRAINE ASKS FOR TROOPS", "UKRAINE", "UKR"),
    ],
)
def test_alias_kinds_resolve(text, surface, iso3):
    assert (surface, iso3) in _found(text)


def test_government_title_resolves_through_its_demonym():
    assert _found("The Polish defense minister spoke.") == [("Polish", "POL")]
    assert _found("Italy's defence minister spoke.") == [("Italy", "ITA")]


def test_possessive_and_hyphenated_forms():
    assert _found("Poland's position is clear.") == [("Poland", "POL")]
    assert _found("Poland’s position is clear.") == [("Poland", "POL")]
    assert _found("the Polish-Belarusian border") == [("Polish", "POL"), ("Belarusian", "BLR")]
    assert _found("Moscow-controlled territories") == [("Moscow", "RUS")]
    assert _found("the US-backed ousting") == [("US", "USA")]


@pytest.mark.parametrize(
    "text",
    [
        "Let us go and tell us more.",  # "us" is a pronoun
        "They polish their boots.",  # lower-case "polish" is a verb
        "Talks in New Jersey ended.",  # not Jersey
        "Patrols in the South China Sea grew.",  # a sea, not China
        "A base in the Indian Ocean.",  # an ocean, not India
        "Leaders from Latin America met.",  # a region, not the US
        "Macron said nothing was excluded.",  # a person's bare name is no mention
        "NATO and the EU agreed.",  # organisations are not countries
        "The Dominican delegation left.",  # shared by Dominica and the Dominican Republic
        "The unusual plan was leaked.",  # no alias inside a longer word
    ],
)
def test_false_friends_do_not_resolve(text):
    assert _found(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The\u00a0United\u00a0Kingdom will send troops.", [("United\u00a0Kingdom", "GBR")]),  # HTML's &nbsp;
        ("The United  Kingdom said so.", [("United  Kingdom", "GBR")]),
        ("The United\nKingdom agreed.", [("United\nKingdom", "GBR")]),  # text wrapped at a width
        ("ZELENSKY: GIVE US TROOPS AND WE WILL HOLD", []),  # the pronoun, in capitals
        ("POLAND TELLS EU: LET US DECIDE", [("POLAND", "POL")]),
        ("'GIVE US TIME', MACRON TELLS ALLIES", []),
        ("UK JOINS US IN STRIKES; STARMER ASKS US FOR BACKSTOP", [("UK", "GBR"), ("US", "USA"), ("US", "USA")]),
        ("US TROOPS TO STAY; THE US WILL NOT SEND MORE", [("US", "USA"), ("US", "USA")]),
        ("Let US troops go home.", [("US", "USA")]),  # in ordinary case "US" is the country
        (
            "An Anglo-French force and a Sino-Russian drill.",
            [("Anglo", "GBR"), ("French", "FRA"), ("Sino", "CHN"), ("Russian", "RUS")],
        ),
        ("Franco ruled; Anglo-Saxon allies; Greco-Roman wrestling.", []),  # a first half alone names none
        ("An Anglo\u2011French force", [("Anglo", "GBR"), ("French", "FRA")]),  # a no-break hyphen
        ("Israel Katz said, The Washington Post reported.", []),  # a person, an outlet
        (
            "The RAF, the Royal Navy and MI6; the CIA; the IDF; the PLA; Azeri troops.",
            [
                ("RAF", "GBR"),
                ("Royal Navy", "GBR"),
                ("MI6", "GBR"),
                ("CIA", "USA"),
                ("IDF", "ISR"),
                ("PLA", "CHN"),
                ("Azeri", "AZE"),
            ],
        ),
        ("Brussels is ready to fund the force.", []),  # the EU's seat, in this beat
        ("Article 5 of the Washington Treaty, the Warsaw Pact, the Minsk agreements.", []),
    ],
)
def test_how_news_prints_names_and_what_only_looks_like_one(text, expected):
    assert _found(text) == expected


def test_a_name_two_countries_share_suggests_both():
    with pytest.raises(UnknownCountryError, match="did you mean 'North Korea', 'South Korea'"):
        resolve_country("Korea")
    # Spelled alike, Dominica alone; the country whose name holds the word is the other.
    with pytest.raises(UnknownCountryError, match="did you mean 'Dominica', 'Dominican Republic'"):
        resolve_country("Dominican")


def test_people_named_after_countries_are_not_mentions():
    text = "Prime Minister Luís Montenegro and Jordan Bardella spoke; Montenegro and Jordan did not."
    assert _found(text) == [("Montenegro", "MNE"), ("Jordan", "JOR")]


def test_georgia_the_state_in_its_usual_form_is_blocked_but_the_country_resolves():
    assert _found("He spoke in Atlanta, Georgia on Monday.") == []
    assert _found("Georgia Gov. Brian Kemp said 300 Georgia Guard members would deploy.") == []
    assert _found("He studied at the University of Georgia in Athens, Georgia.") == []
    assert _found("Georgia offered no troops.") == [("Georgia", "GEO")]


def test_a_title_or_a_ships_prefix_makes_a_name_a_person_or_a_ship():
    assert _found("Mr. Jordan, the chairman, and Rep. Jordan said the US would not go.") == [("US", "USA")]
    assert _found("The USS Georgia and HMS Ireland sailed.") == []
    assert _found("Jordan and Georgia said no.") == [("Jordan", "JOR"), ("Georgia", "GEO")]
    assert _found("Troops from the Dem. Rep. Congo joined.") == [("Dem. Rep. Congo", "COD")]  # a short name
    assert _found("The Dem. Rep. Jordan said no.") == []  # a Democratic representative


def test_blocked_phrases_hold_with_their_later_words_in_lower_case():
    """Many outlets print treaties in lower case after the city: "the Paris agreement"."""
    assert _found("the Paris agreement, the Budapest memorandum and the Oslo accords") == []
    assert _found("the former U.S.S.R., the Minsk II deal, the Gulf of Oman") == []  # not the US, Belarus, Oman
    assert _found("Paris agreed.") == [("Paris", "FRA")]
    assert _found("his Washington post as envoy") == [("Washington", "USA")]  # a job, not the newspaper


def test_longest_alias_wins():
    assert _found("Guinea-Bissau and Equatorial Guinea") == [
        ("Guinea-Bissau", "GNB"),
        ("Equatorial Guinea", "GNQ"),
    ]
    assert _found("South Sudan and Sudan") == [("South Sudan", "SSD"), ("Sudan", "SDN")]
    assert _found("Niger, not Nigeria") == [("Niger", "NER"), ("Nigeria", "NGA")]


def test_the_two_congos_are_told_apart_where_news_names_the_smaller_one():
    for text in ("The Republic of Congo declined.", "The Congo Republic declined.", "Congo-Brazzaville declined."):
        assert [iso3 for _, iso3 in _found(text)] == ["COG"], text
    for text in ("The Democratic Republic of Congo declined.", "Congo declined.", "Congolese troops left."):
        assert [iso3 for _, iso3 in _found(text)] == ["COD"], text


def test_spans_slice_back_to_the_mention():
    text = "The Kremlin said U.S. and Polish troops in Poland’s east would be targets."
    mentions = default_resolver().find_mentions(text)
    assert [m.surface for m in mentions] == ["Kremlin", "U.S.", "Polish", "Poland"]
    for mention in mentions:
        assert text[mention.start : mention.end] == mention.surface


@pytest.mark.parametrize(
    ("name", "iso3", "canonical"),
    [
        ("usa", "USA", "United States"),
        ("the United Kingdom", "GBR", "United Kingdom"),
        ("Britain", "GBR", "United Kingdom"),
        ("POL", "POL", "Poland"),
        ("pl", "POL", "Poland"),
        ("Czechia", "CZE", "Czech Republic"),
        ("Turkiye", "TUR", "Turkey"),
        ("Cote d'Ivoire", "CIV", "Ivory Coast"),
        ("  russia ", "RUS", "Russia"),
        ("Kremlin", "RUS", "Russia"),
    ],
)
def test_resolve_normalizes_names(name, iso3, canonical):
    country = resolve_country(name)
    assert (country.iso3, country.name) == (iso3, canonical)


def test_unknown_name_is_an_error_naming_the_value_and_a_suggestion():
    with pytest.raises(UnknownCountryError, match=r"'Polnd'.*Poland"):
        resolve_country("Polnd")
    with pytest.raises(UnknownCountryError, match="'Atlantis'"):
        resolve_country("Atlantis")


UN_MEMBERS_AND_OBSERVERS = [
    "Afghanistan",
    "Albania",
    "Algeria",
    "Andorra",
    "Angola",
    "Antigua_and_Barbuda",
    "Argentina",
    "Armenia",
    "Australia",
    "Austria",
    "Azerbaijan",
    "Bahamas",
    "Bahrain",
    "Bangladesh",
    "Barbados",
    "Belarus",
    "Belgium",
    "Belize",
    "Benin",
    "Bhutan",
    "Bolivia",
    "Bosnia_and_Herzegovina",
    "Botswana",
    "Brazil",
    "Brunei",
    "Bulgaria",
    "Burkina_Faso",
    "Burundi",
    "Cape_Verde",
    "Cambodia",
    "Cameroon",
    "Canada",
    "Central_African_Republic",
    "Chad",
    "Chile",
    "China",
    "Colombia",
    "Comoros",
    "Republic_of_the_Congo",
    "Costa_Rica",
    "Ivory_Coast",
    "Croatia",
    "Cuba",
    "Cyprus",
    "Czech_Republic",
    "DR_Congo",
    "Denmark",
    "Djibouti",
    "Dominica",
    "Dominican_Republic",
    "Ecuador",
    "Egypt",
    "El_Salvador",
    "Equatorial_Guinea",
    "Eritrea",
    "Estonia",
    "Eswatini",
    "Ethiopia",
    "Fiji",
    "Finland",
    "France",
    "Gabon",
    "Gambia",
    "Georgia",
    "Germany",
    "Ghana",
    "Greece",
    "Grenada",
    "Guatemala",
    "Guinea",
    "Guinea-Bissau",
    "Guyana",
    "Haiti",
    "Honduras",
    "Hungary",
    "Iceland",
    "India",
    "Indonesia",
    "Iran",
    "Iraq",
    "Ireland",
    "Israel",
    "Italy",
    "Jamaica",
    "Japan",
    "Jordan",
    "Kazakhstan",
    "Kenya",
    "Kiribati",
    "Kuwait",
    "Kyrgyzstan",
    "Laos",
    "Latvia",
    "Lebanon",
    "Lesotho",
    "Liberia",
    "Libya",
    "Liechtenstein",
    "Lithuania",
    "Luxembourg",
    "Madagascar",
    "Malawi",
    "Malaysia",
    "Maldives",
    "Mali",
    "Malta",
    "Marshall_Islands",
    "Mauritania",
    "Mauritius",
    "Mexico",
    "Micronesia",
    "Moldova",
    "Monaco",
    "Mongolia",
    "Montenegro",
    "Morocco",
    "Mozambique",
    "Myanmar",
    "Namibia",
    "Nauru",
    "Nepal",
    "Netherlands",
    "New_Zealand",
    "Nicaragua",
    "Niger",
    "Nigeria",
    "North_Korea",
    "North_Macedonia",
    "Norway",
    "Oman",
    "Pakistan",
    "Palau",
    "Panama",
    "Papua_New_Guinea",
    "Paraguay",
    "Peru",
    "Philippines",
    "Poland",
    "Portugal",
    "Qatar",
    "Romania",
    "Russia",
    "Rwanda",
    "Saint_Kitts_and_Nevis",
    "Saint_Lucia",
    "Saint_Vincent_and_the_Grenadines",
    "Samoa",
    "San_Marino",
    "Sao_Tome_and_Principe",
    "Saudi_Arabia",
    "Senegal",
    "Serbia",
    "Seychelles",
    "Sierra_Leone",
    "Singapore",
    "Slovakia",
    "Slovenia",
    "Solomon_Islands",
    "Somalia",
    "South_Africa",
    "South_Korea",
    "South_Sudan",
    "Spain",
    "Sri_Lanka",
    "Sudan",
    "Suriname",
    "Sweden",
    "Switzerland",
    "Syria",
    "Tajikistan",
    "Tanzania",
    "Thailand",
    "East_Timor",
    "Togo",
    "Tonga",
    "Trinidad_and_Tobago",
    "Tunisia",
    "Turkey",
    "Turkmenistan",
    "Tuvalu",
    "Uganda",
    "Ukraine",
    "United_Arab_Emirates",
    "United_Kingdom",
    "United_States",
    "Uruguay",
    "Uzbekistan",
    "Vanuatu",
    "Venezuela",
    "Vietnam",
    "Yemen",
    "Zambia",
    "Zimbabwe",
    "Vatican_City",
    "Palestine",
    "Kosovo",
    "Taiwan",
    "Western_Sahara",
]


def test_every_un_member_and_usual_observer_resolves_in_text_and_by_name():
    assert len(UN_MEMBERS_AND_OBSERVERS) == 193 + 5
    for name in (n.replace("_", " ") for n in UN_MEMBERS_AND_OBSERVERS):
        country = resolve_country(name)
        found = default_resolver().find_mentions(f"Troops from {name} arrived.")
        assert [m.country for m in found] == [country], name


def test_accented_names_are_found_whether_their_accents_are_composed_or_decomposed():
    import unicodedata

    for form in ("NFC", "NFD"):
        text = unicodedata.normalize(form, "Türkiye and Côte d'Ivoire sent no troops.")
        found = default_resolver().find_mentions(text)
        assert [m.country.iso3 for m in found] == ["TUR", "CIV"], form
        assert all(text[m.start : m.end] == m.surface for m in found)
    # A mark that follows a name whose plain form matched belongs to the mention: a span
    # ending before it would cut a letter in two ("Peru" + U+0301 is "Perú").
    text = unicodedata.normalize("NFD", "Perú and Panamá said no.")
    found = default_resolver().find_mentions(text)
    assert [(m.country.iso3, m.surface) for m in found] == [("PER", "Peru\u0301"), ("PAN", "Panama\u0301")]
    assert all(text[m.start : m.end] == m.surface for m in found)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SOUTH CHINA SEA PATROLS GROW", []),
        ("NEW JERSEY GUARD UNITS DEPLOY", []),
        ("Male soldiers were deployed.", []),
        ("HMS Albion left Plymouth for the Baltic.", []),
        ("Douglas Macgregor said US troops would stay.", ["USA"]),
        ("Guinea pig trials ended.", []),
        ("Aid worth US$3 billion reached Kyiv.", ["UKR"]),
        ("Troops from British Columbia trained in Latvia.", ["LVA"]),
        ("Bosnian and Slovenian officers joined Argentine and Philippine units.", ["BIH", "SVN", "ARG", "PHL"]),
        (
            "Kazakh, Kyrgyz and Nepalese peacekeepers met New Zealanders in the Hague.",
            ["KAZ", "KGZ", "NPL", "NZL", "NLD"],
        ),
        ("Luxembourgish and Botswanan soldiers met the Batswana contingent.", ["LUX", "BWA", "BWA"]),
        ("Chinese Taipei and Chinese officials met.", ["TWN", "CHN"]),
    ],
)
def test_blocked_phrases_capitals_and_dropped_names_hold_in_every_spelling(text, expected):
    found = default_resolver().find_mentions(text)
    assert [m.country.iso3 for m in found] == expected
    assert all(text[m.start : m.end] == m.surface for m in found)
