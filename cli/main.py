"""`stance`: one entry point, one subcommand per job. Each only parses and delegates."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.pairs import article_pairs
from training.corpus import corpus_counts, read_pairs


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte {error.start})") from error


def _pairs(args: argparse.Namespace) -> int:
    for path in args.files:
        built = article_pairs(_read_text(path))
        by_sentence: dict[int, list[str]] = {}
        for pair in built.pairs:
            by_sentence.setdefault(pair.sentence.index, []).append(pair.country.name)
        if args.json:
            for s in built.sentences:
                row = {
                    "file": str(path),
                    "sentence": s.index,
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "countries": by_sentence.get(s.index, []),
                }
                print(json.dumps(row, ensure_ascii=False))
            continue
        print(f"== {path}: {len(built.sentences)} sentences, {len(built.pairs)} pairs")
        for s in built.sentences:
            names = ", ".join(by_sentence.get(s.index, [])) or "-"
            print(f"[{s.index:>3}] {s.start:>5}-{s.end:<5} {names:<40} {s.text[:70]}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    pairs, problems = read_pairs(args.files)
    for problem in problems:
        print(problem, file=sys.stderr)
    counts = corpus_counts(pairs)
    sentences = len({p.text for p in pairs})
    print(
        f"{len(pairs)} valid pairs, {sentences} distinct sentences, "
        f"{len(counts['group'])} groups, {len(problems)} problem(s)"
    )
    for name, counter in counts.items():
        shown = ", ".join(
            f"{key} {n} ({n / max(len(pairs), 1):.1%})"
            for key, n in counter.most_common(args.top or None)
        )
        print(f"by {name} ({len(counter)}): {shown}")
    return 1 if problems or not pairs else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    pairs = commands.add_parser("pairs", help="show sentences, offsets and countries of articles")
    pairs.add_argument("files", nargs="+", help="UTF-8 text files, one article each")
    pairs.add_argument("--json", action="store_true", help="one JSON object per sentence")
    pairs.set_defaults(run=_pairs)

    validate = commands.add_parser("validate", help="check labeled pairs (JSON Lines or CSV)")
    validate.add_argument("files", nargs="+", help="files, or folders of .jsonl/.csv files")
    validate.add_argument("--top", type=int, default=0, help="show only the N largest counts")
    validate.set_defaults(run=_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError) as error:
        # Bad input is the user's to fix: say what and where, without a traceback.
        print(f"stance {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
