"""The demo's photos of new garments (`<work_dir>/new_items/*.jpg`) are written whole or not at all."""
import os

import numpy as np
import pytest

from tfvisrec import demo_serving
from tfvisrec.data.synthetic import new_items as new_items_lib


class _PhotoWhoseWriteFails:
    """A JPEG whose write fails (a full disk, a Ctrl-C): `f.write` refuses it."""


def test_a_failed_photo_write_keeps_the_previous_photo_and_leaves_no_part_of_it(tmp_path, monkeypatch):
    folder = tmp_path / "new_items"
    folder.mkdir()
    (folder / "new01.jpg").write_bytes(b"the previous run's photo")
    monkeypatch.setattr(new_items_lib, "draw_new_items",
                        lambda count, seed: (np.zeros((1, 3)), [_PhotoWhoseWriteFails()]))
    with pytest.raises(TypeError):
        demo_serving._score_new_garments(None, None, None, "u1", str(tmp_path), str(tmp_path), 1, 0)
    assert os.listdir(folder) == ["new01.jpg"]   # a plain open left it empty
    assert (folder / "new01.jpg").read_bytes() == b"the previous run's photo"
