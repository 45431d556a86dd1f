"""A benchmark report as a plain table, for people (``--format json`` is for machines)."""

from __future__ import annotations

from .inprocess import BATCHES
from .results import BenchReport, Timing


def format_table(r: BenchReport) -> str:
    m = r.machine
    out = [f"machine: {m.cpu}, {m.cores} cores, {' '.join(m.simd) or 'no SIMD flags read'}, VNNI: {'yes' if m.vnni else 'no'}",
           f"software: Python {m.python}, onnxruntime {m.onnxruntime}, OpenCV {m.opencv}, numpy {m.numpy}",
           f"load average: {r.load_before} before, {r.load_after} after; other processes' share of the CPUs during the run: "
           + ("unknown" if r.other_cpu_share is None else f"{100 * r.other_cpu_share:.1f}%")
           + ("  (quiet)" if r.quiet else "  (BUSY: figures disturbed)")]
    if r.models or (r.keras is not None and r.keras.available):
        out.append(f"inputs: {r.settings.get('images')} digits from {r.settings.get('inputs')}")
    if r.models:
        out += ["", "models"]
        rows = [["model", "precision", "bytes", "accuracy", "agreement"]]
        for mi in r.models:
            rows.append([mi.name, mi.precision, f"{mi.bytes:,}", "-" if mi.accuracy is None else f"{100 * mi.accuracy:.2f}%",
                         "-" if mi.agreement is None else f"{100 * mi.agreement:.2f}%"])
        out += _grid(rows)
    for st in r.stages:
        out += ["", f"stages, one {st.input} per call (microseconds, p50 / p90 / p99)"]
        rows = [["stage", "model", "p50", "p90", "p99"]]
        for name, title in (("read", "read"), ("decode", "decode"), ("decode_gray", "decode to gray (as classify)"),
                            ("preprocess", "preprocess"), ("preprocess_1thread", "preprocess, OpenCV 1 thread")):
            if getattr(st, name) is not None:
                rows.append([title, "-", *_pct(getattr(st, name))])
        for label, ms in st.models.items():
            for name, title in (("inference", "inference"), ("postprocess", "post-process"), ("predict", "decoded -> Prediction"),
                                ("predict_pool", "decoded -> Prediction, OpenCV pool")):
                if getattr(ms, name) is not None:
                    rows.append([title, label, *_pct(getattr(ms, name))])
        out += _grid(rows)
    if r.throughput:
        out += ["", "inference throughput (images/s)"]
        batches = sorted({t.batch for t in r.throughput})
        rows = [["model", "threads", *[f"batch {b}" for b in batches]]]
        keys = sorted({(t.model, t.threads) for t in r.throughput}, key=lambda k: ([m.name for m in r.models].index(k[0]) if k[0] in [m.name for m in r.models] else 0, k[1]))
        for model, th in keys:
            vals = {t.batch: t.images_per_s for t in r.throughput if t.model == model and t.threads == th}
            rows.append([model, str(th), *[f"{vals[b]:,.0f}" if b in vals else "-" for b in batches]])
        out += _grid(rows)
    if r.verdict:
        out += ["", f"verdict: {r.verdict.message}"]
    if r.keras is not None:
        k = r.keras
        out += [""]
        if k.available:
            out += [f"Keras reference ({k.model}): import tensorflow {k.import_s:.2f} s; model.predict per image "
                    f"p50 {k.per_image.p50_us / 1000:.2f} ms ({k.per_image_images_per_s:,.0f} images/s); "
                    f"batch {max(BATCHES)}: {k.batch_images_per_s:,.0f} images/s"
                    + ("" if k.agreement is None else f"; top-1 agreement with ONNX {100 * k.agreement:.2f}%")]
        else:
            out += [f"Keras reference: {k.note}"]
    if r.cold_start:
        c = r.cold_start
        out += ["", f"process start (median of {c.runs}): import edge_digit.cli {c.import_cli_s:.3f} s; "
                    f"classify one image {c.classify_one_s:.3f} s wall"]
    if r.folder:
        out += ["", "folder mode: edge-digit classify DIR --format jsonl (wall time includes process start)"]
        rows = [["model", "images", "seconds", "images/s", "peak RSS (largest process)", "peak PSS (process tree)", "exit"]]
        for f in r.folder:
            rows.append([f.model, f"{f.images:,}", f"{f.seconds:.3f}", f"{f.images_per_s:,.0f}", f"{f.peak_rss_mb:.0f} MB",
                         "-" if f.peak_tree_pss_mb is None else f"{f.peak_tree_pss_mb:.0f} MB", str(f.exit_code)])
        out += _grid(rows)
    if r.ratios:
        out += ["", "ratios"] + [f"  {k}: {v:,}x" for k, v in r.ratios.items()]
    for n in r.notes:
        out += ["", f"note: {n}"]
    return "\n".join(out)


def _pct(t: Timing) -> list[str]:
    return [f"{t.p50_us:,.1f}", f"{t.p90_us:,.1f}", f"{t.p99_us:,.1f}"]


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]
