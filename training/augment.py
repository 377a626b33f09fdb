"""Country-swap augmentation: the target's mentions, all aliases of it, become another
country's, consistently in the sentence and its context; the label stays."""

from __future__ import annotations

import random

from model.countries import Country, country_forms, default_resolver
from model.pairs import Pair, pair_for


def _replacement(surface: str, old: Country, new: Country) -> str | None:
    """The same kind of name of ``new`` as ``surface`` is of ``old``: a demonym for a
    demonym ("Polish" to "French"), a people for a people ("Poles" to "Germans"), else
    the name. None where ``new`` has no such form."""
    old_forms, new_forms = country_forms(old.iso3), country_forms(new.iso3)
    if surface in old_forms.demonyms:
        return next(iter(new_forms.demonyms), None)
    if surface in old_forms.peoples:
        return next(iter(new_forms.peoples), None)
    return new.name


def _replace(text: str, old: Country, new: Country) -> str | None:
    """``text`` with every mention of ``old`` replaced by the same kind of name of ``new``,
    or None when one of them has no counterpart."""
    pieces, cursor = [], 0
    for mention in default_resolver().find_mentions(text):
        if mention.country != old:
            continue
        surface = _replacement(mention.surface, old, new)
        if surface is None:
            return None
        pieces += [text[cursor : mention.start], surface]
        cursor = mention.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def swap_countries(pairs: list[Pair], labels: list[str], copies: int, seed: int) -> tuple[list[Pair], list[str]]:
    """Up to ``copies`` swapped versions of each pair whose target is named in its text.

    Replacements are drawn from the targets seen in ``pairs`` and are never a country
    the sentence already names; a replacement that lacks a form the pair needs is skipped.
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
            text, context = _replace(pair.text, pair.country, new), _replace(pair.context, pair.country, new)
            if text is not None and context is not None:
                out_pairs.append(pair_for(text, new, context))
                out_labels.append(label)
    return out_pairs, out_labels
