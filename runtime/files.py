"""Expanding command-line inputs (files, folders, globs) into image paths, streamed in a stable order."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable, Iterator

# .heic/.heif too, though no decoder here reads them: a folder of iPhone photos is reported, not skipped
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm", ".ppm", ".pbm",
                            ".jp2", ".avif", ".heic", ".heif"})
_GLOB_CHARS = set("*?[")
_POSIX = os.name != "nt"  # pathlib's own test for its flavour


def as_named(path: str | os.PathLike) -> str:
    """``str(Path(path))``: the spelling results and error messages name files in (no "." parts,
    no doubled or trailing slash). Most paths are spelled so already (every path a folder walk
    yields is): those come back as they are, without building a Path for each image."""
    if (_POSIX and isinstance(path, str) and path and "//" not in path and "/./" not in path
            and not path.startswith("./") and not path.endswith(("/", "/."))):
        return path
    return str(Path(path))


def _walk(folder: str) -> Iterator[str]:
    """Image files under ``folder``, recursively, sorted per folder; symlinked folders are not
    followed (no loops); broken links to image names are yielded so they are reported.
    ``folder`` is spelled as ``as_named`` gives it, and so is every path yielded."""
    try:
        with os.scandir(folder) as it:
            entries = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in it)
    except OSError:
        yield folder  # unreadable folder: reported by the reader
        return
    for name, is_dir in entries:
        path = name if folder == "." else os.path.join(folder, name)  # "a.png", as pathlib spells "./a.png"
        if is_dir:
            yield from _walk(path)
        elif os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
            yield path


def _walk_named(folder: str) -> Iterator[str]:
    """A folder the user named: its images, or the folder itself when it holds none, so that it
    is reported ("folder holds no image files") instead of silently contributing nothing."""
    empty = True
    for path in _walk(folder):
        empty = False
        yield path
    if empty:
        yield folder


def iter_paths(inputs: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Each input as given: a file (any name), a folder (recursive), or a glob pattern; the paths
    as strings spelled as pathlib spells them (see ``as_named``)."""
    for raw in inputs:
        text = os.fspath(raw)
        if os.path.isdir(text):
            yield from _walk_named(as_named(text))
        elif not os.path.lexists(text) and _GLOB_CHARS & set(text):
            matches = sorted(glob.iglob(text, recursive=True))
            if not matches:
                yield as_named(text)  # reported as missing
            seen: set[str] = set()  # 'dir/**' matches folders and the files in them: name each file once
            for m in map(as_named, matches):
                for path in _walk(m) if os.path.isdir(m) else (m,):
                    if path not in seen:
                        seen.add(path)
                        yield path
        else:
            yield as_named(text)


def iter_inputs(inputs: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """``iter_paths`` as Path objects."""
    return map(Path, iter_paths(inputs))
