"""What the client's command line prints (a row per user given, in order, as score does per item)
and writes (PNGs, as the package writes every file)."""
import json
import os

import pytest

from answering_server import answering_server
from temp_writers import killed_file_writer_temp
from tfvisrec.client.cli import main


@pytest.fixture(scope="module")
def target():
    with answering_server() as address:
        yield address


def test_recommend_prints_a_row_per_user_given_in_order(target, capsys):
    assert main(["--target", target, "--model", "m", "recommend", "--user", "u", "--user", "v",
                 "--user", "u", "--k", "2"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["user_id"] for row in rows] == ["u", "v", "u"]   # u asked twice: answered twice
    assert [[item["item_id"] for item in row["items"]] for row in rows] == [
        ["u-best", "u-next"], ["v-best", "v-next"], ["u-best", "u-next"]]
    assert rows[0]["items"][0]["score"] == 2.0


def test_generate_writes_its_pngs_as_the_package_writes_files(target, tmp_path, capsys):
    png = tmp_path / "designs" / "u-top-seed0-0.png"
    png.parent.mkdir()
    left = killed_file_writer_temp(str(png))   # a run SIGKILLed while writing that PNG
    assert main(["--target", target, "--model", "m", "generate", "--user", "u", "--category", "top",
                 "--out_dir", str(png.parent)]) == 0
    assert [d["file"] for d in json.loads(capsys.readouterr().out)["designs"]] == [str(png)]
    assert os.listdir(png.parent) == [png.name] and not os.path.exists(left)
