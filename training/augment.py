"""Country-swap augmentation: the target's mentions, all aliases of it, become another
country's, consistently in the sentence and its context; the label stays."""

from __future__ import annotations

import functools
import random

import countryinfo

from model.countries import Country, default_resolver
from model.pairs import Pair, pair_for


@functools.cache
def _demonyms() -> dict[str, str]:
    out = {}
    for item in countryinfo.all_countries():
        info = item.info()
        code = (info.get("ISO") or {}).get("alpha3")
        if code and info.get("demonym"):
            out.setdefault(code, info["demonym"])
    return out


def _replace(text: str, old: Country, new: Country) -> str:
    """``text`` with every mention of ``old`` replaced by the same kind of name of ``new``."""
    demonyms = _demonyms()
    old_demonym = demonyms.get(old.iso3, "")
    pieces, cursor = [], 0
    for mention in default_resolver().find_mentions(text):
        if mention.country != old:
            continue
        if old_demonym and mention.surface in (old_demonym, old_demonym + "s"):
            plural = mention.surface.endswith("s") and not old_demonym.endswith("s")
            surface = demonyms.get(new.iso3, new.name) + ("s" if plural else "")
        else:
            surface = new.name
        pieces += [text[cursor : mention.start], surface]
        cursor = mention.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def swap_countries(pairs: list[Pair], labels: list[str], copies: int, seed: int) -> tuple[list[Pair], list[str]]:
    """Up to ``copies`` swapped versions of each pair whose target is named in its text.

    Replacements are drawn from the targets seen in ``pairs`` and are never a country
    the sentence already names.
    """
    rng = random.Random(seed)
    pool = sorted({p.country for p in pairs})
    out_pairs, out_labels = [], []
    for pair, label in zip(pairs, labels, strict=True):
        if not pair.spans:
            continue
        named = {m.country for m in default_resolver().find_mentions(pair.text + " " + pair.context)}
        choices = [c for c in pool if c not in named]
        for new in rng.sample(choices, min(copies, len(choices))):
            text = _replace(pair.text, pair.country, new)
            out_pairs.append(pair_for(text, new, _replace(pair.context, pair.country, new)))
            out_labels.append(label)
    return out_pairs, out_labels
