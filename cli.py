"""The `edge-digit` command: a thin typer layer. Each command parses, calls one library
function, prints. TensorFlow is imported only inside `train` and `export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .runtime.errors import EdgeDigitError
from .runtime.second_look import BELOW as SECOND_LOOK_BELOW

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,  # help text is plain: "edge-digit[train]" must not be read as markup
    no_args_is_help=True,
    help="Handwritten digit recognition at the edge: classify images, read numbers, train and export models.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False, "interrupt_reported": False}
INTERRUPTED = 130  # the shell's code for a Ctrl-C


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors.")) -> None:
    _state["debug"] = debug
    if debug:
        import os

        os.environ["EDGE_DIGIT_DEBUG"] = "1"  # libraries keep their own diagnostics on stderr
    else:
        _quiet_decoders()


def _quiet_decoders() -> None:
    """Bad files are reported once, as one line naming the file (ImageError); the decoders' own
    log lines on stderr would only repeat that. --debug keeps them."""
    import warnings

    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    # Pillow warns about damaged metadata ("Corrupt EXIF data") and big images (decode.py applies
    # its own, lower pixel limit and says so)
    warnings.filterwarnings("ignore", module=r"PIL(\.|$)")


def check_out(out: Path) -> None:
    """An output path that cannot be written fails now, not after a long training or export."""
    import os

    if out.is_dir():
        fail(EdgeDigitError(f"{out}: is a folder; --out needs a file name"), 2)
    folder = out.absolute().parent
    existing = next(p for p in (folder, *folder.parents) if p.exists())  # atomic writes create the rest
    if not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
        fail(EdgeDigitError(f"{out}: cannot write there ({existing} is not a writable folder)"), 2)


def check_folder(folder: Path, option: str) -> None:
    """A folder for output, made now with its parents: a path that cannot be one fails before any work."""
    import os

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        fail(EdgeDigitError(f"{option} {folder}: is a file, not a folder"), 2)
    except OSError as exc:
        fail(EdgeDigitError(f"{option} {folder}: cannot make the folder ({exc.strerror or exc})"), 2)
    if not os.access(folder, os.W_OK | os.X_OK):
        fail(EdgeDigitError(f"{option} {folder}: folder is not writable"), 2)


def check_stdin(paths: list[str]) -> None:
    """'-' is a picture on standard input. Worker processes read theirs from /dev/null, so it
    comes alone (one picture is read in this process)."""
    if "-" in paths and len(paths) > 1:
        fail(EdgeDigitError("'-' (a picture on standard input) must be the only input"), 2)


def interrupted(detail: str = "") -> None:
    """Ctrl-C: one line on stderr, exit 130. Output already written is whole lines."""
    _state["interrupt_reported"] = True
    typer.echo(f"edge-digit: interrupted{' ' + detail if detail else ''}", err=True)
    raise typer.Exit(INTERRUPTED)


def fail(exc: BaseException, code: int | None = None) -> None:
    """One line on stderr (a traceback only with --debug), then exit."""
    if _state["debug"]:
        raise exc
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    typer.echo(f"edge-digit: error: {msg}", err=True)
    raise typer.Exit(code if code is not None else getattr(exc, "exit_code", 1))


@app.command()
def train(
    data: Optional[str] = typer.Option(None, "--data", help="A keras-style mnist.npz, an MNIST IDX folder, or a folder tree root/<label>/*.png."),
    out: Path = typer.Option(Path("model.keras"), "--out", "-o", help="Where to write the trained Keras model."),
    epochs: int = typer.Option(20, min=1, help="Training epochs (fixed schedule; the last model is saved)."),
    seed: int = typer.Option(0, help="Seed for the split, the augmentations and the weights."),
    width: str = typer.Option("wide", help="Network width: small, base, wide or wider."),
    augment_copies: int = typer.Option(2, min=0, help="Photo/scan-like renderings made of each training digit."),
    batch_size: int = typer.Option(128, min=1),
    limit: Optional[int] = typer.Option(None, min=10, help="Use only N training images (quick trials)."),
    teacher: Optional[list[Path]] = typer.Option(None, "--teacher", help="A trained .keras model to distil from "
                                                 "(repeat for an ensemble): the new model learns the teachers' answers "
                                                 "as well as the labels."),
) -> None:
    """Train the digit model (needs the train extra: pip install 'edge-digit[train]')."""
    try:
        from .train.fit import TrainConfig
        from .train.fit import train as run_training
        from .train.model import WIDTHS
    except ImportError as exc:
        fail(EdgeDigitError(f"training needs the train extra (pip install 'edge-digit[train]'): {exc}"), 2)
    if width not in WIDTHS:
        fail(EdgeDigitError(f"--width must be one of {', '.join(WIDTHS)}, not {width!r}"), 2)
    check_out(out)
    cfg = TrainConfig(data=data, out=str(out), epochs=epochs, seed=seed, width=width,
                      augment_copies=augment_copies, batch_size=batch_size, limit=limit,
                      teachers=[str(t) for t in teacher or []])
    try:
        result = run_training(cfg, log=lambda line: typer.echo(line, err=True))
    except EdgeDigitError as exc:
        fail(exc)
    typer.echo(f"wrote {result.model_path}: validation {100 * result.val_accuracy:.2f}%, "
               f"test {100 * result.test_accuracy:.2f}% on {result.test_images} images")


def _second_look_option():
    """The same --second-look for classify, read and live."""
    return typer.Option(SECOND_LOOK_BELOW, "--second-look", min=0.0, max=1.0,
                        help="Below this top probability a digit gets a second look: a few slightly turned "
                        "and zoomed views, their answers averaged, with those of the second network the model "
                        "file carries, if any (0: off).")


def _open_classifier(model: Optional[Path], min_confidence: float, top: int, second_look: float,
                     threads: Optional[int] = None):
    from .runtime.classifier import Classifier

    try:
        return Classifier(model, min_confidence=min_confidence, top_k=top, second_look=second_look, threads=threads)
    except EdgeDigitError as exc:
        fail(exc)


class _Progress:
    """A one-line counter on stderr for long runs, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        import time

        self.enabled, self.count, self.start, self._clock, self._last = enabled, 0, time.perf_counter(), time.perf_counter, 0.0

    def tick(self) -> None:
        self.count += 1
        if self.enabled and self.count % 256 == 0:
            now = self._clock()
            if now - self._last > 0.2:
                self._last = now
                rate = self.count / max(now - self.start, 1e-9)
                sys.stderr.write(f"\r{self.count:,} images  {rate:,.0f}/s")
                sys.stderr.flush()

    def done(self) -> float:
        if self.enabled and self._last:
            sys.stderr.write("\r\033[K")
        return self._clock() - self.start


def _print_results(results, header: str | None, line, *, quiet: bool, verb: str, empty) -> None:
    """One line per result on stdout, whole lines even on Ctrl-C; a summary on stderr; then exit
    0 (all done), 1 (some files failed) or 130 (interrupted). A model failing mid-run keeps what
    was printed and ends with one line."""
    from .runtime.lines import LineWriter

    progress = _Progress(enabled=not quiet and sys.stderr.isatty())
    failed = without = 0
    with LineWriter(sys.stdout) as out:
        try:
            if header:
                out.write(header)
            for res in results:
                with out.held():  # Ctrl-C waits for the whole line (never half a JSON object) and its count
                    out.write(line(res))
                    failed += res.error is not None
                    without += res.error is None and empty(res)
                    progress.tick()
            out.flush()
        except KeyboardInterrupt:
            out.drain()
            progress.done()
            n = progress.count
            interrupted(f"after {n} image{'' if n == 1 else 's'} ({n - failed} {verb}, {failed} failed); the output above is complete")
        except EdgeDigitError as exc:
            out.drain()
            progress.done()
            fail(exc)
    seconds = progress.done()
    if not quiet:
        typer.echo(f"{progress.count - failed} {verb} ({without} without a digit), {failed} failed, {seconds:.2f} s", err=True)
    if progress.count == 0:
        fail(EdgeDigitError("no images found in the given paths"), 1)
    raise typer.Exit(1 if failed else 0)


@app.command()
def classify(
    paths: list[str] = typer.Argument(..., help="Image files, folders (searched recursively) or glob patterns; "
                                      "- alone: one picture on standard input."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output: table (people), jsonl or csv (machines)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An edge-digit ONNX file (default: the shipped model)."),
    top: int = typer.Option(3, "--top", "-k", min=1, max=10, help="How many (label, probability) pairs to report."),
    min_confidence: float = typer.Option(0.5, "--min-confidence", min=0.0, max=1.0,
                                         help="Below this top probability the label is null ('unsure')."),
    second_look: float = _second_look_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary on stderr."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", min=1, help="Processes that classify files "
                                          "(default: one per core once there are hundreds of files; 1: this process only)."),
) -> None:
    """Classify one digit per image. Exit code 0: all classified; 1: some images could not be read."""
    from .runtime.batch import classify_files
    from .runtime.report import FORMATS, formatter

    if fmt not in FORMATS:
        fail(EdgeDigitError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}"), 2)
    check_stdin(paths)
    # one inference thread: fastest for one image, and for a folder the worker processes have the cores (BENCHMARKS.md)
    clf = _open_classifier(model, min_confidence, top, second_look, threads=1)
    header, line = formatter(fmt)
    _print_results(classify_files(clf, paths, workers=workers), header, line, quiet=quiet, verb="classified",
                   empty=lambda res: res.prediction.label is None)


@app.command()
def read(
    paths: list[str] = typer.Argument(..., help="Image files, folders (searched recursively) or glob patterns; "
                                      "- alone: one picture on standard input."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output: table (people), jsonl or csv (machines)."),
    annotate: Optional[Path] = typer.Option(None, "--annotate", "-a", help="Write a copy of each image with boxes and "
                                            "labels drawn into this folder (as <name>.png)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An edge-digit ONNX file (default: the shipped model)."),
    min_confidence: float = typer.Option(0.5, "--min-confidence", min=0.0, max=1.0,
                                         help="Below this top probability a digit's label is null and shows as '?'."),
    second_look: float = _second_look_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary on stderr."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", min=1, help="Processes that read pictures "
                                          "(default: one per core once there are 16 or more; 1: this process only)."),
) -> None:
    """Read the number written in each image: every digit found, left to right (lines top to
    bottom, a space between them), with its box and confidence. Exit code 0: all read; 1: some
    images could not be read."""
    from .runtime.reader import read_files
    from .runtime.report import FORMATS, read_formatter

    if fmt not in FORMATS:
        fail(EdgeDigitError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}"), 2)
    check_stdin(paths)
    if annotate is not None:
        check_folder(annotate, "--annotate")
    clf = _open_classifier(model, min_confidence, 1, second_look)
    header, line = read_formatter(fmt)
    _print_results(read_files(clf, paths, annotate_dir=annotate, workers=workers), header, line, quiet=quiet, verb="read",
                   empty=lambda res: not res.reading.number)


@app.command()
def info(model: Optional[Path] = typer.Argument(None, help="An edge-digit ONNX file (default: the shipped model).")) -> None:
    """Print the preprocessing contract embedded in a model, as JSON (with the provenance of the
    second network it carries for the second look, if any)."""
    import json

    from .runtime.model_file import load_session, second_opinion, shipped_model

    try:
        path = model if model is not None else shipped_model()
        session, contract = load_session(path, threads=1)
        second = second_opinion(session, contract, path)
    except EdgeDigitError as exc:
        fail(exc)
    meta = json.loads(contract.to_json())
    meta["second_opinion"] = None if second is None else {"extra": second[1].extra, "precision": second[1].precision}
    meta["file"] = str(path)
    meta["bytes"] = path.stat().st_size
    typer.echo(json.dumps(meta, indent=2, sort_keys=True))


@app.command()
def export(
    keras_model: Path = typer.Argument(..., help="A .keras file written by 'edge-digit train'."),
    out: Path = typer.Option(Path("model.onnx"), "--out", "-o", help="Where to write the fp32 ONNX model."),
    int8: bool = typer.Option(False, "--int8", help="Also write an int8 (static QDQ) model beside it: digits-fp32.onnx -> digits-int8.onnx, model.onnx -> model-int8.onnx."),
    calibration: Optional[str] = typer.Option(None, "--calibration", help="Data for int8 calibration and the parity check "
                                              "(default: the data the model was trained on, as recorded in it)."),
    samples: int = typer.Option(1000, min=10, help="Images used for calibration and for the parity check."),
    second_opinion: Optional[Path] = typer.Option(None, "--second-opinion", help="A second .keras model trained for the "
                                                  "same contract: the fp32 file carries it, and the second look at unsure "
                                                  "digits averages its answers in (the int8 file stays small, without it)."),
) -> None:
    """Export a trained model to ONNX with its contract embedded; checks parity before writing."""
    try:
        from .export.pipeline import export_from_cli
    except ImportError as exc:
        fail(EdgeDigitError(f"export needs the train extra (pip install 'edge-digit[train]'): {exc}"), 2)
    check_out(out)
    try:
        result = export_from_cli(keras_model, out, int8=int8, data=calibration, samples=samples,
                                 second_opinion=second_opinion, log=lambda line: typer.echo(line, err=True))
    except EdgeDigitError as exc:
        fail(exc)
    typer.echo(f"wrote {result.path} ({result.bytes:,} bytes)")
    if result.int8_path:
        typer.echo(f"wrote {result.int8_path} ({result.int8_bytes:,} bytes)")


@app.command()
def benchmark(
    model: Optional[list[Path]] = typer.Option(None, "--model", "-m", help="ONNX model(s) to time; an int8/fp32 sibling "
                                               "beside one (X.onnx / X-int8.onnx) joins it (default: the shipped models)."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output: table (people) or json (machines)."),
    data: Optional[Path] = typer.Option(None, "--data", help="A keras-style mnist .npz for the inputs and accuracy "
                                        "(default: digits rendered with OpenCV fonts)."),
    limit: int = typer.Option(2000, min=1, help="Use at most N digits from --data."),
    keras: Optional[Path] = typer.Option(None, "--keras", help="A .keras model: time Keras model.predict on the same "
                                         "inputs as the reference (needs the train extra)."),
    folder: Optional[Path] = typer.Option(None, "--folder", help="Folder mode: time real 'edge-digit classify FOLDER' "
                                          "runs end to end (images/s counting process start, peak memory)."),
    iterations: int = typer.Option(1000, min=1, help="Timed calls per stage (photos: a tenth)."),
    warmup: int = typer.Option(50, min=0, help="Untimed calls before each stage is timed."),
    seconds: float = typer.Option(1.0, min=0.01, help="Seconds per throughput figure (shared by the models' turns)."),
    runs: int = typer.Option(3, min=1, help="Folder mode: runs per model (the median is reported)."),
    cold_runs: int = typer.Option(3, min=0, help="Process-start runs (0: skip)."),
) -> None:
    """Measure speed: per-stage timings, throughput at batch 1/32/256, fp32 vs int8, the Keras
    reference, process start; or, with --folder, end-to-end classify of a folder."""
    from .runtime.bench.run import run_benchmark
    from .runtime.bench.table import format_table

    if fmt not in ("table", "json"):
        fail(EdgeDigitError(f"--format must be table or json, not {fmt!r}"), 2)
    if folder is not None and not folder.is_dir():
        fail(EdgeDigitError(f"{folder}: not a folder"), 2)
    try:
        report = run_benchmark(model or [], data=data, limit=limit, iterations=iterations, warmup=warmup,
                               seconds=seconds, keras_model=keras, folder=folder, runs=runs, cold_runs=cold_runs,
                               log=lambda line: typer.echo(line, err=True))
    except EdgeDigitError as exc:
        fail(exc)
    typer.echo(report.to_json() if fmt == "json" else format_table(report))


@app.command()
def live(
    camera: Optional[int] = typer.Option(None, "--camera", "-c", min=0, help="Camera index (0 is the first camera)."),
    video: Optional[str] = typer.Option(None, "--video", "-v", help="A video file OpenCV reads, a folder of images, a glob of "
                                         "images, or a network camera's address (rtsp://..., http://...), read like a camera."),
    display: bool = typer.Option(True, "--display/--no-display", help="Show a window (off automatically without a screen, "
                                 "or where no window opens); without one, print one JSON line per frame."),
    save: Optional[Path] = typer.Option(None, "--save", help="Write the annotated video here (.mp4, .avi, .mkv, .mov)."),
    smooth: Optional[int] = typer.Option(None, "--smooth", min=0, help="Frames a new label must persist before it is shown "
                                         "(default: 3 for a camera, 0 = off for a video)."),
    realtime: bool = typer.Option(False, "--realtime", help="For a video: drop frames to keep pace with its clock."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An edge-digit ONNX file (default: the shipped model)."),
    min_confidence: float = typer.Option(0.5, "--min-confidence", min=0.0, max=1.0,
                                         help="Below this top probability a digit's label is null and shows as '?'."),
    second_look: float = _second_look_option(),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="Stop after this many frames."),
) -> None:
    """Read digits live from a camera or a video: boxes, labels, the number, FPS and latency.
    q or Esc closes the window. Exit code 0 at the end of the video or on quit."""
    import json
    import time

    from .runtime.lines import LineWriter
    from .runtime.live import CameraSource, open_source, run_live
    from .runtime.live_output import VideoSaver, Window, display_available, draw_frame, window_problem

    if (camera is None) == (video is None):
        fail(EdgeDigitError("give exactly one of --camera N or --video FILE"), 2)
    clf = _open_classifier(model, min_confidence, 1, second_look)
    show = display and display_available()
    if show and (problem := window_problem()):
        typer.echo(f"no window: {problem}; printing one JSON line per frame instead (--no-display skips the window)", err=True)
        show = False
    saver = window = None
    ok = False
    try:
        with open_source(camera, video, realtime=realtime) as source, LineWriter(sys.stdout) as out:
            saver = VideoSaver(save, source.fps) if save else None
            window = Window() if show else None
            smooth_frames = smooth if smooth is not None else (3 if isinstance(source, CameraSource) else 0)
            fps, last = 0.0, time.perf_counter()
            for result, frame in run_live(clf, source, smooth_frames=smooth_frames, max_frames=max_frames):
                now = time.perf_counter()
                fps = 0.9 * fps + 0.1 / max(now - last, 1e-6) if fps else 1.0 / max(now - last, 1e-6)
                last = now
                if not show:
                    with out.held():  # Ctrl-C waits for the whole JSON line
                        out.write(json.dumps(result.to_dict()))
                        out.flush()
                if saver or window:
                    canvas = draw_frame(frame, result, fps)
                    if saver:
                        saver.write(canvas)
                    if window and not window.show(canvas):
                        break
        ok = True
    except EdgeDigitError as exc:
        fail(exc)
    except KeyboardInterrupt:
        ok = True  # Ctrl-C is how a camera run ends: keep the video recorded so far
    finally:
        if saver:
            saver.close(keep=ok)
        if window:
            window.close()


def main() -> None:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # file names that are not valid UTF-8 print escaped instead of crashing
            stream.reconfigure(errors="backslashreplace")
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("edge-digit: interrupted", err=True)
        sys.exit(INTERRUPTED)
    except SystemExit as exc:
        # typer turns Ctrl-C into a silent exit 130; say so, unless the command already did
        if exc.code == INTERRUPTED and not _state["interrupt_reported"]:
            typer.echo("edge-digit: interrupted", err=True)
        raise


if __name__ == "__main__":
    main()
