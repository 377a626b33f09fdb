"""Pin the installed environment into the project's two lock files.

``requirements/dev.lock`` pins everything the project needs with its training and test
extras: ``make install`` installs under it as constraints, so every set-up (CI's included)
gets the versions the suite last passed with, not whatever new release a range admits.
``requirements/serve.lock`` pins what scoring alone needs: the Bento installs exactly it.

Both are the dependency closure of the installed ``troop-stance`` distribution, walked
through each package's declared requirements, so packages that happen to sit in the
environment are left out. ``make lock`` upgrades within pyproject's ranges, then runs this.

    python tools/lock_requirements.py           # write both files
    python tools/lock_requirements.py --check   # exit 1 if they differ from the environment
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PROJECT = "troop-stance"
REPO = Path(__file__).resolve().parent.parent
LOCKS = {
    REPO / "requirements" / "dev.lock": ("train", "test"),
    REPO / "requirements" / "serve.lock": (),
}
# BentoML writes its own pin of the building environment's bentoml into a Bento.
LEFT_TO_BENTOML = {"bentoml"}
# torch's CUDA build requires these, its CPU build does not: the locks leave them to the
# build installed, so a GPU set-up (README) still matches them.
CUDA_RUNTIME = ("nvidia-", "triton", "cuda-")
HEADER = "# Written by tools/lock_requirements.py from the installed environment ({what}); do not edit.\n"


def _requirements(name: str, extras: frozenset[str]) -> list[Requirement]:
    """The requirements a package declares that apply here, with these extras asked for."""
    declared = [Requirement(text) for text in distribution(name).requires or []]
    wanted = extras | {""}
    return [r for r in declared if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in wanted)]


def closure(extras: tuple[str, ...]) -> dict[str, str]:
    """Every package the project needs with these extras, by normalized name: its public version.

    The public version drops a local label ("2.13.0+cpu"), so a CUDA build of the same
    torch release satisfies the pin too.
    """
    pinned: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(PROJECT, frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        if (key, wanted) in seen:
            continue
        seen.add((key, wanted))
        try:
            version = distribution(name).version
        except PackageNotFoundError:
            raise SystemExit(f"{name} is required but not installed; run `make install` first") from None
        if key != PROJECT:
            pinned[key] = Version(version).public
        needed = _requirements(name, wanted)
        if key == "torch":
            needed = [r for r in needed if not canonicalize_name(r.name).startswith(CUDA_RUNTIME)]
        todo.extend((r.name, frozenset(r.extras)) for r in needed)
    return pinned


def render(extras: tuple[str, ...]) -> str:
    what = f"{PROJECT} with {', '.join(extras)}" if extras else f"{PROJECT}, scoring only"
    skip = set() if extras else LEFT_TO_BENTOML
    lines = [f"{name}=={version}\n" for name, version in sorted(closure(extras).items()) if name not in skip]
    return HEADER.format(what=what) + "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing; exit 1 on a difference")
    args = parser.parse_args(argv)
    stale = []
    for path, extras in LOCKS.items():
        text = render(extras)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
            continue
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    if stale:
        names = ", ".join(f"requirements/{name}" for name in stale)
        print(f"{names} differ from the installed environment: run `make install` or `make lock`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
