"""Formatting results for people (table) and machines (jsonl, csv), one line per image."""

from __future__ import annotations

import csv
import io
import json
from typing import Callable

from .batch import FileResult

FORMATS = ("table", "jsonl", "csv")


def _top_text(res: FileResult) -> str:
    return " ".join(f"{k}:{p:.3f}" for k, p in res.prediction.top)


def table_line(res: FileResult) -> str:
    if res.error is not None:
        return f"{res.path}  ERROR  {res.error}"
    p = res.prediction
    label = "-" if p.label is None else str(p.label)
    note = f"  ({p.reason})" if p.reason else ""
    return f"{res.path}  {label}  {p.confidence:.3f}  [{_top_text(res)}]{note}"


def jsonl_line(res: FileResult) -> str:
    return json.dumps(res.to_dict(), ensure_ascii=False)


CSV_HEADER = ["path", "label", "confidence", "top", "reason", "error"]


def csv_line(res: FileResult) -> str:
    buf = io.StringIO()
    if res.error is not None:
        row = [res.path, "", "", "", "", res.error]
    else:
        p = res.prediction
        row = [res.path, "" if p.label is None else p.label, f"{p.confidence:.6f}", _top_text(res), p.reason or "", ""]
    csv.writer(buf, lineterminator="").writerow(row)
    return buf.getvalue()


def formatter(fmt: str) -> tuple[str | None, Callable[[FileResult], str]]:
    """(header line or None, per-result line function) for a format name."""
    if fmt == "jsonl":
        return None, jsonl_line
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(CSV_HEADER)
        return buf.getvalue(), csv_line
    return None, table_line
