"""Reading images at ingest: a counter redrawn in place on a terminal, one closing line in a
log file or a pipe (not a carriage return per update), nothing before the first image."""
import io
import re

import pytest
from PIL import Image

import tfvisrec  # noqa: F401
from tfvisrec.data.image_reader import Progress, read_item_images

TOTAL = 580


class Terminal(io.StringIO):
    def isatty(self):
        return True


class MemoryImages:
    """An image source of `count` tiny JPEGs."""

    def __init__(self, count):
        out = io.BytesIO()
        Image.new("RGB", (4, 4), (10, 200, 30)).save(out, format="JPEG")
        self.refs, self.jpeg = [f"i{k:04d}.jpg" for k in range(count)], out.getvalue()

    def describe(self):
        return "memory"

    def read_many(self, refs):
        for ref in refs:
            yield ref, self.jpeg


def _untimed(text):
    return re.sub(r" - \d+m?s( - |$)", r" - <t>\1", text, flags=re.M)


def _count(stream, steps, total=TOTAL):
    progress = Progress(total, "reading images", stream=stream)
    for _ in range(steps):
        progress.step()
    progress.close()
    return stream.getvalue()


def test_a_file_gets_one_closing_line():
    text = _count(io.StringIO(), TOTAL)
    assert "\r" not in text and _untimed(text) == "reading images - <t>\n"


def test_a_terminal_gets_a_counter_redrawn_in_place_then_the_closing_line():
    text = _count(Terminal(), TOTAL)
    assert text.count("\n") == 1 and text.endswith("\n") and text.count("\r") >= 2
    frames = text[:-1].split("\r")
    assert re.match(r"reading images   1/580 \[>\.{29}\]", frames[1])
    assert _untimed(frames[-1].rstrip()) == "reading images - <t>"


def test_reading_cut_short_says_where_it_stopped():
    assert _untimed(_count(io.StringIO(), 3)) == "reading images - image 3/580 - <t>\n"


@pytest.mark.parametrize("stream", [io.StringIO, Terminal])
def test_nothing_before_the_first_image(stream):
    assert _count(stream(), 0) == ""


def test_ingest_reading_piped_to_a_log_writes_one_line(capsys):
    source = MemoryImages(TOTAL)
    images = read_item_images(source.refs, source, lambda k: ("items.csv", k + 2), progress=True)
    assert len(images) == TOTAL and all(images)
    err = capsys.readouterr().err
    assert "\r" not in err and _untimed(err) == "reading images - <t>\n"


@pytest.mark.parametrize("stream,shown", [(Terminal, True), (io.StringIO, False)])
def test_decoding_a_catalogue_shows_a_bar_on_a_terminal_only(stream, shown):
    """Every visual command decodes the whole catalogue before its own progress starts (30 s for
    20k photos): a terminal sees it go; logs and pipes keep only the command's own lines."""
    import numpy as np
    from tfvisrec.data import images as images_lib
    from tfvisrec.data.item_features import decode_catalogue
    jpegs = [MemoryImages(1).jpeg] * 1500
    out = stream()
    decoded = decode_catalogue(jpegs, 8, stream=out)
    assert decoded.shape == (1500, 8, 8, 3)
    np.testing.assert_array_equal(decoded[-1], images_lib.decode_to_uint8(jpegs[0], 8))
    text = out.getvalue()
    assert (_untimed(text.rsplit("\r", 1)[-1].rstrip()) == "decoding images at 8px - <t>") if shown else text == ""
