"""The command line: ``python -m fer {label,adapt,train,unpack,evaluate,compare,export,baselines}``.

``label`` and ``adapt`` serve: they run the shipped LiteRT files and never import TensorFlow. The
other commands belong to the training half (``fer.training``), imported when they run.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Self

from fer.adapter import SUFFIX as ADAPTER_SUFFIX
from fer.classifier import CONTRACT_MODEL, DEFAULT_MODEL, RUNTIMES
from fer.detection import DEFAULT_DETECTOR, DEFAULT_MIN_SCORE, DETECTORS

if TYPE_CHECKING:
    from fer.adapting import Adaptation, Progress
    from fer.pipeline import EmotionPipeline

DEFAULT_OUT = Path("runs")
ENGINES = ("local", "ray")
VOTES_HELP = ("FER+ ten-annotator votes for the FER2013 CSV, row for row (default: the config's votes_file, "
              "ferplus.csv.gz, beside --data, where it is there)")
CROPS_HELP = ("every image is one face crop (a labelled face collection): no detection, the whole image is read "
              "as the face; without it, an image where the detector finds no face is looked at once more on a "
              "wider canvas, which finds most face crops too")
ADAPTER_HELP = ("read every face with this adapter, fit on your own labelled faces by `python -m fer adapt` for "
                "the same model: better on faces like those, worse on faces unlike them (docs/model-card.md)")
THOROUGH_HELP = ("average each face over ten views (the face, its four 2-pixel shifts, and the mirror image "
                 "of each): about ten times the classification time per face; the shipped model's scores "
                 "with it are in models/metrics_thorough.json")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return args.handler(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fer", description="Facial expression recognition")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    label = commands.add_parser("label", help="label the faces in images, folders and videos")
    label.add_argument("paths", nargs="+", help="image files, video files, folders, globs (quoted: 'photos/**/*.jpg') "
                       "or URIs that pyarrow reads (s3://bucket/prefix, gs://..., file:///...)")
    label.add_argument("--out", help="write one row per face here, .csv or .parquet (with --engine ray a folder of parts, "
                       "a path or a URI); run again with the same --out to label only the files not in it yet "
                       "(default: print a summary)")
    label.add_argument("--engine", choices=ENGINES, default="local",
                       help="local: this process; ray: a Ray Data job, one worker per CPU of a cluster, writing --out "
                            "as a folder of part files. Ray labels images only: videos stay with the local engine")
    label.add_argument("--address", help="(ray) a running cluster to join, e.g. auto or ray://head:10001 "
                       "(default: start one on this machine)")
    label.add_argument("--workers", type=int, metavar="N", help="(ray) labelling workers, one CPU each "
                       "(default: one per CPU of the cluster)")
    label.add_argument("--annotated", type=Path, metavar="DIR", help="also write annotated copies here")
    label.add_argument("--every", type=int, default=1, metavar="K", help="analyse every K-th video frame")
    label.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS)
    label.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE, help="detector confidence threshold")
    label.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                       help="a served .tflite file (default: the shipped one) or a .keras model, exported on loading")
    label.add_argument("--thorough", action="store_true", help=THOROUGH_HELP)
    label.add_argument("--crops", action="store_true", help=CROPS_HELP)
    label.add_argument("--adapter", type=Path, metavar="FILE", help=ADAPTER_HELP)
    label.add_argument("--overwrite", action="store_true",
                       help="start --out afresh; without it, an existing --out is appended to and the files already "
                            "in it are skipped (to resume an interrupted run)")
    label.set_defaults(handler=_label)

    adapt = commands.add_parser("adapt", help="fit an adapter on your own labelled faces, checked by a k-fold on "
                                "faces it never saw, for label and evaluate --adapter")
    adapt.add_argument("--images", required=True, type=Path, metavar="DIR",
                       help="a folder of emotion folders, as evaluate --images reads it; at least 10 faces of each "
                            "emotion you want it to learn")
    adapt.add_argument("--out", required=True, type=Path, metavar="FILE", help=f"the adapter to write, e.g. my{ADAPTER_SUFFIX}")
    adapt.add_argument("--group", metavar="REGEX",
                       help="faces that look alike (frames of one clip, photos of one person) stay in one fold: the "
                            "group is the first capture group of REGEX searched in each file's name, e.g. '^([^_]+)_' "
                            "for <Movie>_<clip>_<frame>.png (default: every face its own)")
    adapt.add_argument("--crops", action="store_true", help=CROPS_HELP)
    adapt.add_argument("--thorough", action="store_true", help="judge the k-fold, and choose the grid point, as "
                       "thorough mode reads (ten views a face: about ten times the reading time)")
    adapt.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                       help="the served file (default: the shipped one); its .embed.tflite file is read")
    adapt.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS)
    adapt.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE, help="detector threshold")
    adapt.add_argument("--report", type=Path, metavar="FILE", help="also write the k-fold report here as JSON")
    adapt.set_defaults(handler=_adapt)

    train = commands.add_parser("train", help="train the CNN on FER2013 (resumable)")
    train.add_argument("--data", required=True, type=Path, help="fer2013.csv(.gz) or image-folder root")
    train.add_argument("--config", type=Path, help="YAML training config (one with init_from first trains the run it starts from, "
                       "which may be a soup), "
                       "an ensemble config naming its members' configs, or a soup config naming its ingredients' "
                       "(default: built-in)")
    train.add_argument("--out", type=Path, help="run directory (default: runs/<config name>)")
    train.add_argument("--epochs", type=int, help="override the config's epoch count")
    train.add_argument("--votes", type=Path, help=VOTES_HELP)
    train.add_argument("--init", type=Path, metavar="MODEL",
                       help="start from the weights of the first network in this model file with the config's architecture "
                            "(fine-tuning, e.g. on a corrections export)")
    train.set_defaults(handler=_train)

    unpack = commands.add_parser("unpack", help="recover the runs a saved model was made of (an ensemble's "
                                 "members, or the one network of a soup or run) as finished runs, for new ensembles, "
                                 "soups and fine-tunes in a fresh clone")
    unpack.add_argument("--config", required=True, type=Path, help="the model's config, e.g. configs/resnet-soup3.yaml for the shipped model")
    unpack.add_argument("--data", required=True, type=Path, help="fer2013.csv(.gz), to finalise each run")
    unpack.add_argument("--model", required=True, type=Path,
                        help="the model file, history.csv beside it, e.g. models/emotion_cnn.keras")
    unpack.add_argument("--runs", type=Path, default=DEFAULT_OUT, help="where the runs go (default: runs)")
    unpack.add_argument("--votes", type=Path, help=VOTES_HELP + "; a FER+ run's logit adjustment is chosen on them")
    unpack.set_defaults(handler=_unpack)

    evaluate = commands.add_parser("evaluate", help="recompute metrics.json for a model on FER2013, or check the served "
                                   "model on your own labelled photos (--images)")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="fer2013.csv(.gz): scores a .keras model on PublicTest and PrivateTest")
    source.add_argument("--images", type=Path, metavar="DIR",
                        help="a folder of emotion folders (angry/, happy/… any case; synonyms such as anger/ or "
                             "happiness/ too; others skipped): every image through the served pipeline, its largest "
                             "face its answer, no face counted wrong")
    evaluate.add_argument("--model", type=Path,
                          help=f"with --data a .keras model (default {CONTRACT_MODEL}); with --images the served "
                               f"file (default {DEFAULT_MODEL})")
    evaluate.add_argument("--crops", action="store_true", help="(--images) " + CROPS_HELP)
    evaluate.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS, help="(--images)")
    evaluate.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE, help="(--images) detector threshold")
    evaluate.add_argument("--out", type=Path,
                          help="metrics file (default: metrics.json beside the model, metrics_thorough.json with "
                               "--thorough; with --images none: the report is printed, and written here as JSON)")
    evaluate.add_argument("--runtime", choices=RUNTIMES, default="keras",
                          help="score the probabilities this runtime serves (default: keras, the reference)")
    evaluate.add_argument("--thorough", action="store_true", help=THOROUGH_HELP)
    evaluate.add_argument("--adapter", type=Path, metavar="FILE", help="(--images) " + ADAPTER_HELP)
    evaluate.add_argument("--votes", type=Path, help=VOTES_HELP + "; scores against the FER+ majority labels too")
    evaluate.set_defaults(handler=_evaluate)

    compare = commands.add_parser("compare", help="a candidate model against a reference on the same PublicTest faces "
                                  "(paired bootstrap of the FER+ majority accuracy and the clear faces' balanced accuracy)")
    compare.add_argument("--model", required=True, type=Path, help="the candidate .keras model, as it would ship")
    compare.add_argument("--against", required=True, type=Path, help="the reference .keras model (e.g. the shipped one)")
    compare.add_argument("--data", required=True, type=Path, help="fer2013.csv(.gz); its votes file beside it")
    compare.add_argument("--votes", type=Path, help=VOTES_HELP)
    compare.add_argument("--resamples", type=int, default=2000, help="bootstrap draws of PublicTest's faces")
    compare.set_defaults(handler=_compare)

    export = commands.add_parser("export", help="write the served LiteRT file (int8 weights) from a .keras model, and "
                                 "beside it the embedding file adapters read (.embed.tflite)")
    export.add_argument("--model", type=Path, default=CONTRACT_MODEL, help=f"the .keras model (default: {CONTRACT_MODEL.name})")
    export.add_argument("--out", type=Path, help="the LiteRT file (default: the model's name with .tflite)")
    export.set_defaults(handler=_export)
    baselines = commands.add_parser("baselines", help="fit the classical baselines (PCA/HOG + SVM, Random Forest)")
    baselines.add_argument("--data", required=True, type=Path)
    baselines.add_argument("--out", type=Path, default=Path("models/baselines.json"))
    baselines.add_argument("--votes", type=Path, help=VOTES_HELP)
    baselines.set_defaults(handler=_baselines)
    return parser


def _baselines(args: argparse.Namespace) -> int:
    import json

    from fer.datasets import load_fer
    from fer.training.baselines import run_baselines

    report = run_baselines(load_fer(args.data, votes=_votes_path(args.data, args.votes)))
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, row in report.items():
        plus = f"  FER+ majority accuracy {row['ferplus_private_test_accuracy']:.4f}" if "ferplus_private_test_accuracy" in row else ""
        print(f"{name:14s} PrivateTest accuracy {row['private_test_accuracy']:.4f}  macro-F1 {row['private_test_macro_f1']:.4f}{plus}")
    return 0


def _label(args: argparse.Namespace) -> int:
    from fer.imaging import IMAGE_SUFFIXES
    from fer.scale.results import labelled_files
    from fer.sources import MEDIA_SUFFIXES, exists, list_sources

    _check_label_options(args)
    # Folders and globs give Ray their images only: videos stay with the local engine.
    files = list_sources(args.paths, IMAGE_SUFFIXES if args.engine == "ray" else MEDIA_SUFFIXES)
    if not files:
        raise SystemExit("no image or video files found in the given paths")
    # --overwrite: the old output goes only once the model has loaded (_start_afresh), so a typo in
    # --model costs nothing.
    done = labelled_files(args.out) if args.out is not None and not args.overwrite else set()
    todo = [f for f in files if f not in done]
    if args.out is not None and exists(str(args.out)) and not args.overwrite:
        print(f"appending to {args.out}: {len(files) - len(todo)} of {len(files)} file(s) already there skipped "
              "(--overwrite starts it afresh)")
    if not args.model.is_file():
        raise SystemExit(f"no model at {args.model} (the shipped one is {DEFAULT_MODEL})")
    failed = _label_on_ray(todo, args) if args.engine == "ray" else _label_locally(todo, args)
    if failed:
        print(f"{len(failed)} of {len(todo)} file(s) could not be labelled: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _check_label_options(args: argparse.Namespace) -> None:
    from fer.scale.results import output_format
    from fer.sources import is_uri

    if args.every < 1:
        raise SystemExit("--every must be 1 or more")
    if args.engine == "local" and (args.address or args.workers):
        raise SystemExit("--address and --workers go with --engine ray")
    if args.engine == "local" and args.out is not None and is_uri(args.out):
        raise SystemExit("the local engine writes a local file: --out on object storage goes with --engine ray")
    if args.out is not None:
        try:
            output_format(args.out)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None


def _label_locally(files: list[str], args: argparse.Namespace) -> list[str]:
    """Label in this process; the names of the files that failed."""
    from tqdm import tqdm

    from fer.labelling import BulkLabeller, rows_to_frame
    from fer.scale.results import append_local

    if not files:
        return []
    pipeline = _served_pipeline(args, thorough=args.thorough, crops=args.crops)
    _start_afresh(args)
    with tqdm(total=len(files), unit="file", disable=len(files) < 2) as bar, \
            tqdm(unit="frame", leave=False, disable=None) as frames:

        def video_progress(done: int, total: int) -> None:
            if done == 1:
                frames.reset(total=total or None)
            frames.update(done - frames.n)

        labeller = BulkLabeller(pipeline, args.every, args.annotated, on_video_progress=video_progress)
        rows = list(labeller.label(files, on_file=lambda _: bar.update()))
    if args.out:
        try:
            append_local(rows, Path(args.out))
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        print(f"wrote {len(rows)} rows to {args.out}")
    else:
        table = rows_to_frame(rows)
        print(table[["file", "frame", "face", "x", "y", "w", "h", "emotion", "confidence", "status"]].to_string(index=False))
    return sorted({row.file for row in rows if row.failed})


def _start_afresh(args: argparse.Namespace) -> None:
    """With --overwrite, delete the old output: called once the model is loaded, before any row."""
    from fer.scale.results import remove_output

    if args.out is not None and args.overwrite:
        try:
            remove_output(args.out)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None


def _label_on_ray(files: list[str], args: argparse.Namespace) -> list[str]:
    """Label as a Ray Data job; the names of the files that failed."""
    from fer.sources import suffix
    from fer.video import VIDEO_SUFFIXES

    if args.out is None:
        raise SystemExit("--engine ray writes its rows with Ray's writers: name an --out (.parquet or .csv)")
    if args.annotated is not None:
        raise SystemExit("--annotated goes with the local engine: a cluster's workers write rows only")
    videos = [f for f in files if suffix(f) in VIDEO_SUFFIXES]
    if videos:
        raise SystemExit(f"--engine ray labels images; label these video(s) with --engine local: {', '.join(videos)}")
    if args.model.suffix != ".tflite":
        raise SystemExit("--engine ray serves a LiteRT file: export the model first (`python -m fer export`)")
    from fer.scale.ray_engine import LabelSettings, RayJob, label_with_ray

    model, adapter = _ray_model(args)
    settings = LabelSettings(model, args.detector, args.min_score, args.thorough, args.crops, adapter)
    _start_afresh(args)
    summary = label_with_ray(files, settings, args.out, RayJob(args.address, args.workers))
    print(f"wrote {summary.rows} rows for {summary.files} file(s) to {args.out}")
    return summary.failed


def _train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from fer.datasets import load_fer
    from fer.training.recipes import read_config, train_config
    from fer.training.trainer import TrainConfig, train

    config = read_config(args.config) if args.config else TrainConfig()
    out = args.out or DEFAULT_OUT / config.name
    if args.epochs and not isinstance(config, TrainConfig):
        raise SystemExit("--epochs applies to single runs; set it in the configs this one names")
    if args.init is not None and (not isinstance(config, TrainConfig) or config.init_from is not None or config.teachers):
        raise SystemExit(f"{args.config} names the runs it is made of, starts from or learns from; drop --init")
    votes_name = config.votes_file if isinstance(config, TrainConfig) else None
    data = load_fer(args.data, votes=_votes_path(args.data, args.votes, votes_name))
    if args.config and args.init is None:
        _print_training_summary(train_config(args.config, data, out, epochs=args.epochs), out)
        return 0
    assert isinstance(config, TrainConfig)  # the built-in default, or a single run with --init (checked above)
    if args.epochs:
        config = replace(config, epochs=args.epochs)
    _print_training_summary(train(config, data, out, init=args.init), out)
    return 0


def _votes_path(data: Path, votes: Path | None, name: str | None = None) -> Path | None:
    """The FER+ votes file to read with ``data``: the one given, else ``name`` (or the usual name)
    beside a FER2013 CSV where it is there."""
    from fer.datasets import default_votes
    from fer.votes import DEFAULT_VOTES_NAME

    return votes if votes is not None else default_votes(data, name or DEFAULT_VOTES_NAME)


def _unpack(args: argparse.Namespace) -> int:
    from fer.datasets import load_fer
    from fer.training.recipes import unpack

    data = load_fer(args.data, votes=_votes_path(args.data, args.votes))
    for run in unpack(args.model, args.config, data, args.runs):
        print(f"{run}: finished")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    if args.images is not None:
        return _evaluate_images(args)
    if args.adapter is not None:
        raise SystemExit("--adapter goes with --images: an adapter is judged on faces like those it was fit on")
    import keras

    from fer.datasets import load_fer
    from fer.metrics import file_sha256, write_metrics
    from fer.training.evaluate import evaluate_model
    from fer.views import TEN_VIEWS

    args.model = args.model or CONTRACT_MODEL
    model = keras.models.load_model(args.model, compile=False)
    data = load_fer(args.data, votes=_votes_path(args.data, args.votes))
    report = evaluate_model(model, data, args.runtime, thorough=args.thorough)
    report["model_sha256"] = file_sha256(args.model)
    if args.thorough:
        report["thorough"] = TEN_VIEWS
    write_metrics(report, args.out or args.model.with_name("metrics_thorough.json" if args.thorough else "metrics.json"))
    _print_summary(report)
    return 0


def _evaluate_images(args: argparse.Namespace) -> int:
    """The served pipeline on a user's labelled folders: a table printed, the report as JSON."""
    import json

    from tqdm import tqdm

    from fer.folders import check_images, directory_images, summary_table
    from fer.uploads import Rejected

    if not args.images.is_dir():
        raise SystemExit(f"--images names a folder of emotion folders: {args.images} is not a folder")
    pipeline = _served_pipeline(args, thorough=args.thorough, crops=args.crops)
    skipped: list[Rejected] = []
    with tqdm(unit="image", disable=None) as bar:
        report = check_images(directory_images(args.images, skipped), pipeline, skipped, on_image=lambda _: bar.update())
    try:
        summary = report.summary()
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    summary |= {"images_dir": str(args.images), "crops": args.crops, "thorough": args.thorough,
                "adapter": None if args.adapter is None else str(args.adapter),
                "detector": None if args.crops else args.detector, "predictions": report.rows()}
    print(summary_table(summary))
    if args.out is not None:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


def _served_pipeline(args: argparse.Namespace, **options: bool) -> EmotionPipeline:
    """The served pipeline of ``--model``, ``--detector``, ``--min-score`` and ``--adapter``; an
    adapter that cannot be used exits with the reason."""
    from fer.adapter import Adapter, AdapterError
    from fer.pipeline import load_pipeline

    try:
        adapter = Adapter.load(args.adapter) if getattr(args, "adapter", None) is not None else None
        return load_pipeline(args.detector, args.model or DEFAULT_MODEL, args.min_score, adapter=adapter, **options)
    except AdapterError as exc:
        raise SystemExit(f"--adapter: {exc}") from None
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None


def _ray_model(args: argparse.Namespace) -> tuple[bytes, bytes | None]:
    """The model's bytes for Ray's workers and, with ``--adapter``, the adapter's: then the model is
    the embedding file it reads, checked here so that a wrong adapter fails before the job starts."""
    if args.adapter is None:
        return args.model.read_bytes(), None
    from fer.adapter import Adapter, AdapterError
    from fer.classifier import EmotionClassifier, embedding_file

    model = embedding_file(args.model)
    if not model.is_file():
        raise SystemExit(f"--adapter reads {model}, which is not there: `python -m fer export` writes it")
    content = model.read_bytes()
    try:
        adapter = Adapter.load(args.adapter)  # its missing-file and size checks, as the local engine's
        EmotionClassifier.from_litert(content, source=str(model), adapter=adapter)
    except AdapterError as exc:
        raise SystemExit(f"--adapter: {exc}") from None
    return content, adapter.to_bytes()


def _adapt(args: argparse.Namespace) -> int:
    """An adapter fit on a folder of emotion folders, its k-fold report printed."""
    import json

    from fer.adapting import AdaptError, adapt_images
    from fer.folders import directory_images
    from fer.uploads import Rejected

    if not args.images.is_dir():
        raise SystemExit(f"--images names a folder of emotion folders: {args.images} is not a folder")
    pipeline = _served_pipeline(args, thorough=args.thorough, crops=args.crops, embeddings=True)
    skipped: list[Rejected] = []
    with _StageBar(_image_count(args.images)) as bar:
        try:
            adaptation = adapt_images(directory_images(args.images, skipped), pipeline, skipped, args.group,
                                      on_progress=bar.show, total=bar.images)
        except AdaptError as exc:
            raise SystemExit(str(exc)) from None
    _print_adaptation(adaptation, args.group)
    adaptation.adapter.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} kB): use it with `python -m fer label --adapter "
          f"{args.out}` or `evaluate --images DIR --adapter {args.out}`")
    if args.report is not None:
        args.report.write_text(json.dumps(adaptation.report.to_dict(), indent=2) + "\n")
        print(f"wrote {args.report}")
    return 0


def _image_count(root: Path) -> int:
    """The images in ``root``'s emotion folders, for the progress bar (before any is read)."""
    from fer.folders import folder_emotion
    from fer.imaging import IMAGE_SUFFIXES

    return sum(1 for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and folder_emotion(p.parent.name)
               and p.is_file())


class _StageBar:
    """One tqdm bar for ``fer.adapting``'s progress: the images read, then the head fits."""

    def __init__(self, images: int) -> None:
        from tqdm import tqdm

        self.images = images
        self.bar = tqdm(total=images, unit="image", desc="reading", disable=None)
        self.stage = "reading"

    def show(self, progress: Progress) -> None:
        if progress.stage != self.stage:
            self.stage = progress.stage
            self.bar.set_description(progress.stage)
            self.bar.unit = "fit"
            self.bar.reset(total=progress.total)
        self.bar.update(progress.done - self.bar.n)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def _print_adaptation(adaptation: Adaptation, group: str | None) -> None:
    """The faces it had, the warnings, and the k-fold report before and after, as evaluate prints its own."""
    from fer.adapting import BLENDS, REGULARISATION
    from fer.folders import summary_table

    report = adaptation.report
    print("faces per emotion: " + ", ".join(f"{name} {n}" for name, n in report.faces.items())
          + f" ({report.before['faces_not_found']} image(s) with no face found, which it cannot fit on)")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    grouped = f", each group of '{group}' in one fold ({report.groups} groups)" if report.groups else ""
    print(f"\nBefore: the shipped model. {report.folds}-fold check{grouped}")
    print(summary_table(report.before))
    print("\nAfter: each face read by an adapter fit on the other folds, its grid point chosen by a k-fold inside "
          "them (nested): what to expect on faces like these that it never saw")
    print(summary_table({**report.after, "skipped": []}))
    print("\nBalanced accuracy of each grid point, k-fold over all faces (C: regularisation, smaller is stronger; "
          "w: the adapter's weight against the shipped model's)")
    scores = {(p.regularisation, p.blend): p.balanced_accuracy for p in report.grid}
    print("C \\ w   " + "".join(f"{w:>8g}" for w in BLENDS))
    for c in REGULARISATION:
        print(f"{c:<8g}" + "".join(f"{scores[c, w]:8.1%}" for w in BLENDS))
    chosen = report.chosen
    print(f"chosen: C={chosen.regularisation:g}, w={chosen.blend:g}, fit on all {sum(report.faces.values())} faces "
          f"(its own k-fold figure, {chosen.balanced_accuracy:.1%}, is the best of the grid on these folds: "
          "optimistic; the nested 'after' is the estimate)")


def _compare(args: argparse.Namespace) -> int:
    import keras

    from fer.datasets import load_fer
    from fer.training.compare import paired_bootstrap
    from fer.training.evaluate import predict_split

    votes = _votes_path(args.data, args.votes)
    if votes is None:
        raise SystemExit(f"compare scores against the FER+ majority: no votes file beside {args.data}; pass --votes")
    val = load_fer(args.data, votes=votes).val
    candidate, reference = (predict_split(keras.models.load_model(path, compile=False), val).argmax(axis=1)
                            for path in (args.model, args.against))
    print(f"PublicTest, {len(val)} faces, {args.resamples} paired resamples: {args.model} minus {args.against}")
    for d in paired_bootstrap(val, candidate, reference, args.resamples):
        print(f"  {d.measure}: {100 * d.candidate:.2f}% against {100 * d.reference:.2f}%, "
              f"difference {100 * d.difference:+.2f} points (standard error {100 * d.standard_error:.2f}; "
              f"5th to 95th percentile {100 * d.low:+.2f} to {100 * d.high:+.2f})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from fer.classifier import embedding_file
    from fer.training.export import export_embedding, export_served

    out = args.out or args.model.with_suffix(".tflite")
    record = export_served(args.model, out)
    print(f"wrote {out} from {args.model} (sha256 {record['sha256'][:12]}…)")
    export_embedding(args.model, embedding_file(out))
    print(f"wrote {embedding_file(out)}, the same model giving each face's embedding too (what adapters read)")
    return 0


def _print_training_summary(report: dict, out: Path) -> None:
    """A finished run's PublicTest scores only: the split its choices were made on. A candidate's
    PrivateTest, printed beside them, would be read before the decision it must not inform."""
    _print_summary(report, ("public_test",))
    print(f"PrivateTest is in {out / 'metrics.json'}: read it once the run is chosen or rejected on PublicTest")


def _print_summary(report: dict, splits: tuple[str, ...] = ("public_test", "private_test")) -> None:
    for key in splits:
        m = report[key]
        if "ferplus" in report:
            plus, certain = report["ferplus"][key], report["certain"][key]
            print(f"{key:13s} FER+ majority accuracy {plus['accuracy']:.4f}  macro-F1 {plus['macro_f1']:.4f}  "
                  f"({plus['faces']} faces); certain faces' balanced accuracy {certain['balanced_accuracy']:.4f}")
        print(f"{key:13s} accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f} (FER2013 labels)")
