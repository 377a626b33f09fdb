"""Compare training settings over several seeds, the way the model card's tables were made.

    python benchmarks/seed_sweep.py --seeds 13 1 2 -- --epochs 5

Each seed builds the default model (the Makefile's TRAIN_DEFAULT) with the flags after
``--``, in a fresh BentoML home, then scores it with `stance evaluate` on the committed
test split, the seed articles and the real-news dev set. Single builds differ by two to
three points of macro-F1 on real news, so settings are compared on the means. Run by
hand (minutes per seed); MODEL_CARD.md records its output.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from quality_table import SETS  # noqa: E402

from tools.stance_commands import makefile_command, run_stance  # noqa: E402


def build_and_score(seed: int, flags: list[str]) -> dict[str, float]:
    """Seconds to build, and macro-F1 on each evaluation set, for one seed."""
    with tempfile.TemporaryDirectory() as home:
        started = time.monotonic()
        run_stance([*makefile_command("TRAIN_DEFAULT"), "--seed", str(seed), "--quiet", *flags], Path(home))
        row = {"build_s": time.monotonic() - started}
        for title, (paths, split) in SETS.items():
            args = ["evaluate", "--data", *paths, "--json"] + (["--split", split] if split else [])
            row[title] = json.loads(run_stance(args, Path(home)).strip().splitlines()[-1])["macro_f1"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("flags", nargs=argparse.REMAINDER, help="`stance train` flags, after --")
    args = parser.parse_args()
    flags = args.flags[1:] if args.flags[:1] == ["--"] else args.flags
    print(f"stance train flags: {' '.join(flags) or '(defaults)'}")
    rows = []
    for seed in args.seeds:
        rows.append(build_and_score(seed, flags))
        scores = ", ".join(f"{title} {rows[-1][title]:.3f}" for title in SETS)
        print(f"seed {seed}: {scores}, build {rows[-1]['build_s']:.0f} s")
    means = {key: statistics.mean(row[key] for row in rows) for key in rows[0]}
    spread = {key: statistics.pstdev(row[key] for row in rows) for key in rows[0]}
    print(
        f"mean of {len(rows)}: "
        + ", ".join(f"{k} {means[k]:.3f} (sd {spread[k]:.3f})" for k in SETS)
        + f", build {means['build_s']:.0f} s"
    )


if __name__ == "__main__":
    main()
