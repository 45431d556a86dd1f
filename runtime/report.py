"""Formatting results for people (table) and machines (jsonl, csv), one line per image."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Callable

from .batch import FileResult

if TYPE_CHECKING:
    from .reader import ReadResult

FORMATS = ("table", "jsonl", "csv")


def _top_text(res: FileResult) -> str:
    return " ".join(f"{k}:{p:.3f}" for k, p in res.prediction.top)


# a file name may hold a newline or an escape sequence: the table stays one line per image
_CONTROL = {i: f"\\x{i:02x}" for i in (*range(32), 127)}


def table_line(res: FileResult) -> str:
    path = res.path.translate(_CONTROL)
    if res.error is not None:
        return f"{path}  ERROR  {res.error.translate(_CONTROL)}"
    p = res.prediction
    label = "-" if p.label is None else str(p.label)
    note = f"  ({p.reason})" if p.reason else ""
    return f"{path}  {label}  {p.confidence:.3f}  [{_top_text(res)}]{note}"


# one encoder for every line: json.dumps with an option builds a new JSONEncoder per call (same output)
_JSON = json.JSONEncoder(ensure_ascii=False)


def jsonl_line(res: FileResult) -> str:
    return _JSON.encode(res.to_dict())


CSV_HEADER = ["path", "label", "confidence", "top", "reason", "error"]


def _csv_row(row: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    return buf.getvalue()


def csv_line(res: FileResult) -> str:
    if res.error is not None:
        return _csv_row([res.path, "", "", "", "", res.error])
    p = res.prediction
    return _csv_row([res.path, "" if p.label is None else p.label, f"{p.confidence:.6f}", _top_text(res), p.reason or "", ""])


def _pick(fmt: str, table: Callable, jsonl: Callable, csv_fn: Callable, csv_header: list[str]) -> tuple[str | None, Callable]:
    if fmt == "jsonl":
        return None, jsonl
    if fmt == "csv":
        return _csv_row(csv_header), csv_fn
    return None, table


def formatter(fmt: str) -> tuple[str | None, Callable[[FileResult], str]]:
    """(header line or None, per-result line function) for a format name."""
    return _pick(fmt, table_line, jsonl_line, csv_line, CSV_HEADER)


# -- readings of numbers (edge-digit read) ----------------------------------------------------
READ_CSV_HEADER = ["path", "number", "labels", "confidences", "boxes", "reason", "error"]


def read_table_line(res: ReadResult) -> str:
    path = res.path.translate(_CONTROL)
    if res.error is not None:
        return f"{path}  ERROR  {res.error.translate(_CONTROL)}"
    r = res.reading
    digits = " ".join(f"{'?' if d.label is None else d.label}:{d.confidence:.3f}@{d.box.x},{d.box.y},{d.box.w},{d.box.h}"
                      for d in r.digits)
    note = f"  ({r.reason})" if r.reason else ""
    return f"{path}  {r.number or '-'}  [{digits}]{note}"


def read_jsonl_line(res: ReadResult) -> str:
    return _JSON.encode(res.to_dict())


def read_csv_line(res: ReadResult) -> str:
    if res.error is not None:
        return _csv_row([res.path, "", "", "", "", "", res.error])
    r = res.reading
    return _csv_row([res.path, r.number, " ".join("" if d.label is None else str(d.label) for d in r.digits),
                     " ".join(f"{d.confidence:.6f}" for d in r.digits),
                     ";".join(" ".join(map(str, d.box.as_list())) for d in r.digits), r.reason or "", ""])


def read_formatter(fmt: str) -> tuple[str | None, Callable[[ReadResult], str]]:
    """(header line or None, per-result line function) for readings of numbers."""
    return _pick(fmt, read_table_line, read_jsonl_line, read_csv_line, READ_CSV_HEADER)
