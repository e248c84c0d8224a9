"""The client checks image files by their leading bytes before sending them: a file that is not
an image the server decodes is refused with one line naming it (exit 2), no request sent."""
import io

import pytest
from PIL import Image

from tfvisrec.client import InvalidArgument, NotAnImage, RecommenderClient
from tfvisrec.client.cli import main
from tfvisrec.client.image_files import read_image

FORMATS = ["JPEG", "PNG", "GIF", "BMP", "WEBP"]


def _encoded(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 90)).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def no_request(monkeypatch):
    """Any request the client would send fails the test."""
    def refuse(self, method, request):
        raise AssertionError(f"a request was sent: {type(request).__name__}")
    monkeypatch.setattr(RecommenderClient, "_call", refuse)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "good1.jpg").write_bytes(_encoded("JPEG"))
    (tmp_path / "good2.png").write_bytes(_encoded("PNG"))
    (tmp_path / "bad.jpg").write_text("this is not an image\n")
    return {name: str(tmp_path / name) for name in ("good1.jpg", "good2.png", "bad.jpg")}


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_images_pass_the_check(fmt, tmp_path):
    path = tmp_path / f"item.{fmt.lower()}"
    path.write_bytes(_encoded(fmt))
    assert read_image(path) == path.read_bytes()


@pytest.mark.parametrize("data", [b"", b"this is not an image\n", b"\xff\xd8", b"RIFF\0\0\0\0WAVE",
                                  b"%PDF-1.7\n"])
def test_other_bytes_are_refused_naming_the_file(data, tmp_path):
    path = tmp_path / "bad.jpg"
    path.write_bytes(data)
    with pytest.raises(NotAnImage, match=r"bad\.jpg: not a JPEG, PNG, GIF, BMP or WebP file$"):
        read_image(path)


@pytest.mark.parametrize("command", [
    lambda f: ["score-images", "--user", "u0001", "--images", f["good1.jpg"], f["good2.png"], f["bad.jpg"]],
    lambda f: ["embed", "--images", f["good1.jpg"], f["bad.jpg"]],
    lambda f: ["explain", "--user", "u0001", "--image", f["bad.jpg"]],
    lambda f: ["tailor", "--user", "u0001", "--image", f["bad.jpg"], "--category", "top"],
    lambda f: ["outfit-score", "--user", "u0001", "--images", f["good1.jpg"], "", f["bad.jpg"]],
])
def test_cli_names_the_file_that_is_not_an_image_and_exits_2(command, files, no_request, capsys):
    assert main(["--target", "127.0.0.1:1", "--model", "dvbpr", *command(files)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {files['bad.jpg']}: not a JPEG, PNG, GIF, BMP or WebP file\n"
    assert captured.out == ""


def test_cli_missing_file_still_exits_2(files, no_request, capsys):
    assert main(["--target", "127.0.0.1:1", "embed", "--images", files["good1.jpg"] + ".gone"]) == 2
    assert "No such file" in capsys.readouterr().err


def test_client_api_refuses_a_file_that_is_not_an_image(files, no_request):
    with RecommenderClient("127.0.0.1:1", model="pan") as client:
        with pytest.raises(InvalidArgument, match=r"bad\.jpg: not a JPEG"):
            client.outfit_score_images("u0001", [files["good1.jpg"], b"", files["bad.jpg"]])


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP"])
def test_a_file_cut_short_is_refused_naming_it(fmt, tmp_path):
    """It passed the leading-bytes check, and the server answered 'jpeg::Uncompress failed'
    for the request, not saying which file, with libjpeg's own line on its stderr."""
    path = tmp_path / "cut.img"
    data = _encoded(fmt)
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(NotAnImage, match=r"cut\.img: cannot be decoded as an image: the file is cut short or damaged$"):
        read_image(path)


@pytest.mark.parametrize("command", [
    lambda f: ["score-images", "--user", "u0001", "--images", f["good1.jpg"], f["cut.jpg"]],
    lambda f: ["explain", "--user", "u0001", "--image", f["cut.jpg"]],
    lambda f: ["tailor", "--user", "u0001", "--image", f["cut.jpg"], "--category", "top"],
])
def test_cli_names_a_cut_jpeg_unsent_and_exits_2(command, files, tmp_path, no_request, capsys):
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(_encoded("JPEG")[:200])
    assert main(["--target", "127.0.0.1:1", "--model", "dvbpr", *command({**files, "cut.jpg": str(cut)})]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {cut}: cannot be decoded as an image: the file is cut short or damaged\n"
    assert captured.out == ""
