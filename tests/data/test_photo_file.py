"""A photo a command line names (explain --image, design --tailor) is read and checked by one
function, whose one error line names the file and what is wrong with it."""
import io

import pytest
from PIL import Image

from tfvisrec.data import photo_file
from tfvisrec.data.errors import DataError


def _jpeg():
    out = io.BytesIO()
    Image.new("RGB", (20, 14), (200, 30, 30)).save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize("make, message", [
    (lambda path: path.mkdir(), "is a folder, not an image file: give one JPEG or PNG photo"),
    (lambda path: None, "no such image file"),
    (lambda path: path.write_bytes(b""), "is empty (0 bytes), not a JPEG or PNG photo"),
    (lambda path: path.write_text("not a photo"), "not a JPEG or PNG file"),
    (lambda path: path.write_bytes(_jpeg()[:200]), "cannot be decoded as an image: the file is cut short or damaged"),
])
def test_a_bad_photo_file_is_named_with_what_is_wrong(tmp_path, make, message):
    path = tmp_path / "photo.jpg"
    make(path)
    with pytest.raises(DataError) as raised:
        photo_file.read_photo(str(path))
    assert str(raised.value) == f"{path}: {message}"


def test_an_unreadable_photo_file_is_named(tmp_path, monkeypatch):
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg())

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(photo_file, "open", denied, raising=False)
    with pytest.raises(DataError, match=r"photo\.jpg: cannot be read: Permission denied$"):
        photo_file.read_photo(str(path))


def test_a_jpeg_is_read_whole(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg())
    assert photo_file.read_photo(str(path)) == _jpeg()
