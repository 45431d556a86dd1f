"""The `edge-digit` command: a thin typer layer. Each command parses, calls one library
function, prints. TensorFlow is imported only inside `train` and `export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from .runtime.errors import EdgeDigitError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Handwritten digit recognition at the edge: classify images, read numbers, train and export models.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors.")) -> None:
    _state["debug"] = debug


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
    epochs: int = typer.Option(15, min=1, help="Training epochs (fixed schedule; the last model is saved)."),
    seed: int = typer.Option(0, help="Seed for the split, the augmentations and the weights."),
    width: str = typer.Option("base", help="Network width: small, base or wide."),
    augment_copies: int = typer.Option(2, min=0, help="Photo/scan-like renderings made of each training digit."),
    batch_size: int = typer.Option(128, min=1),
    limit: Optional[int] = typer.Option(None, min=10, help="Use only N training images (quick trials)."),
) -> None:
    """Train the digit model (needs the train extra: pip install 'edge-digit[train]')."""
    try:
        from .train.fit import TrainConfig
        from .train.fit import train as run_training
    except ImportError as exc:
        fail(EdgeDigitError(f"training needs the train extra (pip install 'edge-digit[train]'): {exc}"), 2)
    if width not in ("small", "base", "wide"):
        fail(EdgeDigitError(f"--width must be small, base or wide, not {width!r}"), 2)
    cfg = TrainConfig(data=data, out=str(out), epochs=epochs, seed=seed, width=width,
                      augment_copies=augment_copies, batch_size=batch_size, limit=limit)
    try:
        result = run_training(cfg, log=lambda line: typer.echo(line, err=True))
    except EdgeDigitError as exc:
        fail(exc)
    typer.echo(f"wrote {result.model_path}: validation {100 * result.val_accuracy:.2f}%, "
               f"test {100 * result.test_accuracy:.2f}% on {result.test_images} images")


def _open_classifier(model: Optional[Path], min_confidence: float, top: int):
    from .runtime.classifier import Classifier

    try:
        return Classifier(model, min_confidence=min_confidence, top_k=top)
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


@app.command()
def classify(
    paths: list[str] = typer.Argument(..., help="Image files, folders (searched recursively) or glob patterns."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output: table (people), jsonl or csv (machines)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An edge-digit ONNX file (default: the shipped model)."),
    top: int = typer.Option(3, "--top", "-k", min=1, max=10, help="How many (label, probability) pairs to report."),
    min_confidence: float = typer.Option(0.5, "--min-confidence", min=0.0, max=1.0,
                                         help="Below this top probability the label is null ('unsure')."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary on stderr."),
) -> None:
    """Classify one digit per image. Exit code 0: all classified; 1: some images could not be read."""
    from .runtime.batch import classify_files
    from .runtime.report import FORMATS, formatter

    if fmt not in FORMATS:
        fail(EdgeDigitError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}"), 2)
    clf = _open_classifier(model, min_confidence, top)
    header, line = formatter(fmt)
    out = sys.stdout
    if header:
        out.write(header + "\n")
    progress = _Progress(enabled=not quiet and sys.stderr.isatty())
    failed = unsure = 0
    for res in classify_files(clf, paths):
        out.write(line(res) + "\n")  # whole lines only: an interrupt never leaves half a JSON object
        failed += res.error is not None
        unsure += res.error is None and res.prediction.label is None
        progress.tick()
    out.flush()
    seconds = progress.done()
    if not quiet:
        typer.echo(f"{progress.count - failed} classified ({unsure} without a digit), {failed} failed, "
                   f"{seconds:.2f} s", err=True)
    if progress.count == 0:
        fail(EdgeDigitError("no images found in the given paths"), 1)
    raise typer.Exit(1 if failed else 0)


@app.command()
def info(model: Optional[Path] = typer.Argument(None, help="An edge-digit ONNX file (default: the shipped model).")) -> None:
    """Print the preprocessing contract embedded in a model, as JSON."""
    import json

    from .runtime.model_file import load_session, shipped_model

    try:
        path = model if model is not None else shipped_model()
        session, contract = load_session(path, threads=1)
    except EdgeDigitError as exc:
        fail(exc)
    meta = json.loads(contract.to_json())
    meta["file"] = str(path)
    meta["bytes"] = path.stat().st_size
    typer.echo(json.dumps(meta, indent=2, sort_keys=True))


@app.command()
def export(
    keras_model: Path = typer.Argument(..., help="A .keras file written by 'edge-digit train'."),
    out: Path = typer.Option(Path("model.onnx"), "--out", "-o", help="Where to write the fp32 ONNX model."),
    int8: bool = typer.Option(False, "--int8", help="Also write an int8 (static QDQ) model beside it: OUT stem + '-int8.onnx'."),
    calibration: Optional[str] = typer.Option(None, "--calibration", help="Data for int8 calibration and the parity check "
                                              "(default: the data the model was trained on, as recorded in it)."),
    samples: int = typer.Option(1000, min=10, help="Images used for calibration and for the parity check."),
) -> None:
    """Export a trained model to ONNX with its contract embedded; checks parity before writing."""
    try:
        from .export.pipeline import export_from_cli
    except ImportError as exc:
        fail(EdgeDigitError(f"export needs the train extra (pip install 'edge-digit[train]'): {exc}"), 2)
    try:
        result = export_from_cli(keras_model, out, int8=int8, data=calibration, samples=samples,
                                 log=lambda line: typer.echo(line, err=True))
    except EdgeDigitError as exc:
        fail(exc)
    typer.echo(f"wrote {result.path} ({result.bytes:,} bytes)")
    if result.int8_path:
        typer.echo(f"wrote {result.int8_path} ({result.int8_bytes:,} bytes)")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("edge-digit: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
