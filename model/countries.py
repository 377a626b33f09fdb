"""Country mentions: every way news names a country, mapped to one canonical entry.

The alias table is built from countryinfo (names, capitals, demonyms, spellings for
every ISO 3166 entry) and ``data/countries.toml`` (short forms, seats of government,
plurals, entities the source lacks, aliases to drop, phrases to block).

Matching rules, decided once here:
- Case-sensitive: "US" resolves, "us" does not; "Polish" resolves, "polish" does not.
  An all-capitals form of a name of four letters or more also matches (headlines).
- Whole words only, longest alias first: "Papua New Guinea" wins over "Guinea",
  "Poland's" and "Polish-Belarusian" resolve (the latter to both).
- An alias two countries share ("Dominican", "Guinean") is dropped rather than guessed.
- Blocked phrases ("New Jersey", "South China Sea", "Atlanta, Georgia") are matched
  like aliases and discarded, so they never yield a country. "Georgia" alone is the
  country: in news on deployments the US state is rare, and its usual form
  ("Atlanta, Georgia", "state of Georgia") is blocked.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources

import countryinfo
import pycountry
from rapidfuzz import fuzz, process


@dataclass(frozen=True, order=True)
class Country:
    """A canonical country: ISO 3166 alpha-3 code and a short English name."""

    iso3: str
    name: str


@dataclass(frozen=True)
class Mention:
    """One place a text names a country: ``text[start:end] == surface``."""

    country: Country
    start: int
    end: int
    surface: str


class UnknownCountryError(ValueError):
    """A country name that does not resolve."""


class CountryResolver:
    """Finds country mentions in text and normalizes country names."""

    def __init__(
        self, aliases: dict[str, Country], blocked: list[str], prefixes: dict[str, Country] | None = None
    ) -> None:
        self._aliases = aliases
        self._prefixes = prefixes or {}  # found in text only, never a name to resolve
        self._by_lower = {_fold(alias): c for alias, c in aliases.items()}
        self._names = list(self._by_lower)
        self._holding_word: dict[str, set[str]] = {}  # a word -> the names holding it
        for name in self._names:
            for word in re.findall(r"\w+", name):
                self._holding_word.setdefault(word, set()).add(name)
        self._countries = {c.iso3: c for c in aliases.values()}
        self._blocked = set(blocked)
        surfaces = sorted({*aliases, *blocked, *self._prefixes}, key=len, reverse=True)
        # Whole words: no letter may follow a surface that ends in one ("US" in "USB"),
        # but "US$" must match before "$3". Words may be parted by any run of whitespace
        # (a no-break space from HTML, a double space, a line break in wrapped text).
        alternation = "|".join(r"\s+".join(map(re.escape, s.split(" "))) + self._word_end(s) for s in surfaces)
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})")

    def _word_end(self, surface: str) -> str:
        if surface in self._prefixes:  # "Anglo" only as in "Anglo-French"
            return r"(?=[-–‑][A-Z])"  # a hyphen, an en dash, a no-break hyphen
        return r"(?!\w)" if surface[-1].isalnum() else ""

    @property
    def countries(self) -> list[Country]:
        """Every country the resolver knows, sorted by code."""
        return sorted(self._countries.values())

    def find_mentions(self, text: str) -> list[Mention]:
        """Return every country mention in ``text``, in order, with its span."""
        mentions = []
        for match in self._pattern.finditer(text):
            surface = match.group()
            key = _SPACES.sub(" ", surface)
            if key in self._blocked or _not_a_country(key, text, match.start()):
                continue
            country = self._aliases.get(key) or self._prefixes[key]
            end = match.end()
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1  # decomposed text: "Peru" + U+0301 is "Perú", one mention, accent included
            mentions.append(Mention(country, match.start(), end, text[match.start() : end]))
        return mentions

    def lookup(self, name: str) -> Country | None:
        """The country a name, alias or ISO code stands for, or None."""
        key = _name_key(name)
        if key in self._by_lower:
            return self._by_lower[key]
        code = key.upper()
        if code in self._countries:
            return self._countries[code]
        found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
        return self._countries.get(found.alpha_3) if found is not None else None

    def resolve(self, name: str) -> Country:
        """Map a country name, alias or ISO code to its canonical entry.

        Raises:
            UnknownCountryError: naming the value and the closest known names.
        """
        found = self.lookup(name)
        if found is not None:
            return found
        close = self._close_names(_name_key(name))
        names = dict.fromkeys(repr(self._by_lower[c].name) for c in close)
        hint = f"; did you mean {', '.join(names)}?"
        raise UnknownCountryError(f"unknown country {name!r}" + (hint if close else ""))

    def _close_names(self, key: str) -> list[str]:
        """Known names a typed one may have meant: spelled alike, and holding it as a
        whole word ("Korea" or "Dominican", dropped as two countries' name, suggest both
        countries, where spelling alone found Dominica). rapidfuzz, not difflib: the
        service checks names on arrival, and with difflib a request of thousands of
        unknown names held every caller for half a minute."""
        close = [
            found for found, _, _ in process.extract(key, self._names, scorer=fuzz.ratio, limit=5, score_cutoff=80)
        ]
        if len(key) < 4:
            return close
        words = re.findall(r"\w+", key)
        holding = set.intersection(*(self._holding_word.get(word, set()) for word in words)) if words else set()
        whole = [k for k in sorted(holding) if re.search(rf"\b{re.escape(key)}\b", k)]
        return list(dict.fromkeys(close + whole))[:5]


def _name_key(name: str) -> str:
    """How a typed name is looked up: no leading "the", case and accents folded."""
    return _fold(re.sub(r"^the\s+", "", str(name).strip(), flags=re.IGNORECASE))


_SPACES = re.compile(r"\s+")
# Verbs after which an all-capitals "US" is the pronoun: "LET US DECIDE", "GIVE US TROOPS".
# Only these: after FOR, AGAINST, JOIN, HELP or ASK, headlines mean the country as often.
_TAKES_AN_OBJECT = frozenset({"LET", "LETS", "GIVE", "GIVES", "GAVE", "SAVE"})


# A title or a ship's prefix before a name makes it a person's or a ship's: "Mr. Jordan",
# "Rep. Jordan", "USS Georgia", "HMS Ireland".
_PERSON_OR_SHIP = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|Rep|Sen|Gov|Prof)\.?|\b(?:USS|HMS|HMCS|HMAS))\s+$")


def _not_a_country(key: str, text: str, start: int) -> bool:
    """Whether the name at ``start`` is something else by what stands before it."""
    if key == "US":
        return _object_pronoun(text, start)
    return _PERSON_OR_SHIP.search(text[max(0, start - 14) : start]) is not None


def _object_pronoun(text: str, start: int) -> bool:
    """Whether the "US" at ``start`` follows a capitalized verb that takes it as its object:
    in an all-capitals headline that is the pronoun, not the United States."""
    before = re.search(r"([A-Z]+)['’\"]?\s+$", text[max(0, start - 20) : start])
    return before is not None and before.group(1) in _TAKES_AN_OBJECT


# Words that end a treaty's or a format's name, which outlets print in lower case too.
_TREATY_WORDS = frozenset(
    {"Agreement", "Agreements", "Accord", "Accords", "Memorandum", "Protocol", "Treaty", "Pact", "Document", "Act"}
)


def _later_words_lower(phrase: str) -> str:
    """ "the Paris agreement" for "the Paris Agreement"; other phrases as they are: "his
    Washington post" is a job in the US, not the newspaper."""
    first, _, rest = phrase.partition(" ")
    return f"{first} {rest.lower()}" if rest.split(" ")[-1] in _TREATY_WORDS else phrase


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _fold(text: str) -> str:
    """Case- and accent-insensitive key, for resolving names typed by people."""
    return _without_accents(text).replace("’", "'").casefold()


def _variants(alias: str) -> set[str]:
    """Spellings of one alias that news also prints: curly apostrophe, no accents, capitals."""
    # "Elysée": an accent dropped from a capital only, as many outlets print it.
    out = {alias, alias.replace("'", "’"), _without_accents(alias), _without_accents(alias[:1]) + alias[1:]}
    if len(alias) >= 4 and any(ch.islower() for ch in alias):
        out.add(alias.upper())
    # Accents composed or decomposed (text copied from some systems is NFD): both match.
    return {unicodedata.normalize(form, spelling) for spelling in out for form in ("NFC", "NFD")}


def people_plural(demonym: str) -> str | None:
    """The plural people-noun of a demonym, where English forms it with -s."""
    if demonym.endswith(("an", "i", "o", "k")):
        return demonym + "s"
    return None


def _source_entries() -> dict[str, dict]:
    """countryinfo's entries by alpha-3, restricted to current ISO 3166-1 codes."""
    iso3 = {c.alpha_3 for c in pycountry.countries}
    entries = {}
    for item in countryinfo.all_countries():
        info = item.info()
        code = (info.get("ISO") or {}).get("alpha3")
        if code in iso3:
            entries.setdefault(code, info)  # the first is the state; later ones are parts
    return entries


def _candidate_aliases(info: dict) -> set[str]:
    """Names, spellings, capital and demonym of one source entry."""
    demonyms = [d.strip() for d in (info.get("demonym") or "").split(",")]  # "Bosnian,Herzegovinian"
    names = {info.get("name") or "", *demonyms}
    capital = info.get("capital") or []
    names.update([capital] if isinstance(capital, str) else capital)
    names.update(s.strip() for s in info.get("altSpellings") or [] if len(s.strip()) > 3)
    names.update(plural for plural in map(people_plural, demonyms) if plural)
    return {n for n in names if n}


@functools.cache
def _config() -> dict:
    return tomllib.loads(resources.files("model").joinpath("data/countries.toml").read_text())


@functools.cache
def _entries() -> dict[str, dict]:
    """Every country's source entry by alpha-3, the project's extra entities included."""
    entries = _source_entries()
    for code, extra in _config()["extra"].items():
        entries[code] = {
            "name": extra["name"],
            "capital": extra["capital"],
            "demonym": extra["demonym"],
            "altSpellings": [],
        }
    return entries


@dataclass(frozen=True)
class CountryForms:
    """Names of one country by kind, for writing a mention of it as another country's."""

    demonyms: tuple[str, ...]  # "Polish"; "Bosnian", "Herzegovinian"
    peoples: tuple[str, ...]  # "Poles"; "Germans"


@functools.cache
def country_forms(iso3: str) -> CountryForms:
    """A country's demonyms (the source's) and nouns for its people (the project's, then
    the demonyms' regular plurals); empty where there are none."""
    info = _entries().get(iso3, {})
    demonyms = [d.strip() for d in (info.get("demonym") or "").split(",") if d.strip()]
    plurals = [plural for plural in map(people_plural, demonyms) if plural]
    peoples = dict.fromkeys([*_config()["peoples"].get(iso3, []), *plurals])
    return CountryForms(tuple(demonyms), tuple(peoples))


@functools.cache
def default_resolver() -> CountryResolver:
    """The resolver every part of the project uses (built once per process)."""
    config = _config()
    entries = _entries()
    countries = {code: Country(code, config["names"].get(code, info["name"])) for code, info in entries.items()}
    claims: dict[str, set[str]] = defaultdict(set)
    for code, info in entries.items():
        for alias in _candidate_aliases(info) | {countries[code].name}:
            claims[alias].add(code)
    dropped = set(config["drop"]["aliases"])
    aliases: dict[str, Country] = {}
    for alias, codes in claims.items():
        if len(codes) == 1 and alias not in dropped:
            for variant in _variants(alias) - dropped:  # "Malé" must not bring "Male" back
                aliases[variant] = countries[next(iter(codes))]
    # The project's own aliases are deliberate: they win over the source's.
    for code, extra_aliases in [*config["aliases"].items(), *config["peoples"].items()]:
        for alias in extra_aliases:
            for variant in _variants(alias):
                aliases[variant] = countries[code]
    # Blocked in the case news also gives them: "the Paris agreement", "the Oslo accords".
    phrases = {form for phrase in config["blocked"]["phrases"] for form in (phrase, _later_words_lower(phrase))}
    blocked = [variant for phrase in sorted(phrases) for variant in _variants(phrase)]
    prefixes = {v: countries[code] for code, forms in config["prefixes"].items() for p in forms for v in _variants(p)}
    return CountryResolver(aliases, blocked, prefixes)  # blocked in capitals too: "SOUTH CHINA SEA"


@functools.cache
def _cities() -> frozenset[str]:
    """Capitals (the source's, and the project's other cities that stand for a country)."""
    capitals = {c for info in _entries().values() for c in _as_list(info.get("capital"))}
    return frozenset(_fold(c) for c in capitals | set(_config()["cities"]["names"]))


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def names_a_country(name: str) -> bool:
    """Whether ``name`` is a country's own name or short form ("FRANCE", "UK", "Britain"),
    rather than one of its cities ("LONDON", "WASHINGTON") or no country at all."""
    return default_resolver().lookup(name) is not None and _fold(name) not in _cities()


def resolve_country(name: str) -> Country:
    """Normalize a country name with the default resolver."""
    return default_resolver().resolve(name)
