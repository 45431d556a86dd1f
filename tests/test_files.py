"""Input paths are named as pathlib spells them, whether or not a Path was built for them; Ctrl-C
inside a held block of output waits for the block to end."""

import io
import itertools
import os
import signal
from pathlib import Path

import pytest

from edge_digit.runtime.files import as_named, iter_inputs, iter_paths
from edge_digit.runtime.lines import LineWriter


def test_as_named_spells_paths_as_pathlib():
    for n in range(7):
        for chars in itertools.product("a./", repeat=n):
            text = "".join(chars)
            assert as_named(text) == str(Path(text)), text
    assert as_named(Path("a/b")) == "a/b"


def test_iter_paths_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("a.png", "notes.txt", "d/b.png", "d/sub/c.png"):
        (tmp_path / name).write_bytes(b"x")
    assert list(iter_paths(["."])) == ["a.png", "d/b.png", "d/sub/c.png"]
    assert list(iter_paths(["./d//"])) == ["d/b.png", "d/sub/c.png"]
    assert list(iter_paths(["./*.png", "d/**", "./missing.png", "a.png/"])) == [
        "a.png", "d/b.png", "d/sub/c.png", "missing.png", "a.png"]
    inputs = [".", "./d/", "./d/**/*.png", str(tmp_path) + "//d/./sub/", "nothing*"]
    assert list(iter_inputs(inputs)) == [Path(p) for p in iter_paths(inputs)]


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
def test_interrupt_waits_for_the_outermost_held_block():
    with LineWriter(io.StringIO()) as out:
        with pytest.raises(KeyboardInterrupt):
            with out.held():
                with out.held():
                    os.kill(os.getpid(), signal.SIGINT)
                    out.write("a")
                out.write("b")  # the inner block ended; the interrupt is still held
        assert out.stream.getvalue() == "a\nb\n"
        with pytest.raises(ValueError):  # an error from the block goes on; the interrupt stays pending
            with out.held():
                os.kill(os.getpid(), signal.SIGINT)
                raise ValueError
        out.drain()
