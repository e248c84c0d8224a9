"""One bad value at the END of a long file: the error names that file, row and value.

Each case edits the last record of a 5,000-row interactions file (or of a 500-row items
file, every item bought) and checks the message names the file, the row as an editor
numbers it (header = row 1, which the message says) and the value, and that the output
folder's parent is left empty.
"""
import os

import pytest
from PIL import Image

import tfvisrec  # noqa: F401
from tfvisrec.data import dataset as dataset_io
from tfvisrec.data.errors import DataError
from tfvisrec.data.ingest import ingest

NUM_USERS, PER_USER, NUM_ITEMS, NUM_IMAGES = 1000, 5, 500, 5
LAST_INTERACTION_ROW = 1 + NUM_USERS * PER_USER   # 5001: the header is row 1
LAST_ITEM_ROW = 1 + NUM_ITEMS                     # 501


def _stamp(k, iso):
    seconds = 1_600_000_000 + 3600 * k
    return f"2020-09-{13 + k // 1000:02d}T{(k // 60) % 24:02d}:{k % 60:02d}:00" if iso else str(seconds)


def write_world(root, iso=False):
    """interactions.csv (user u, k-th purchase → item (7u + k) mod 500), items.csv, images/."""
    os.makedirs(root / "images")
    lines = ["user_id,item_id,timestamp"]
    for u in range(NUM_USERS):
        for k in range(PER_USER):
            lines.append(f"u{u:04d},i{(7 * u + k) % NUM_ITEMS:04d},{_stamp(PER_USER * u + k, iso)}")
    (root / "interactions.csv").write_text("\n".join(lines) + "\n")
    for k in range(NUM_IMAGES):
        Image.new("RGB", (6, 8), (40 * k, 90, 160)).save(root / "images" / f"p{k}.jpg")
    items = ["item_id,image,category"]
    items += [f"i{i:04d},p{i % NUM_IMAGES}.jpg,{'top' if i % 2 else 'shoe'}" for i in range(NUM_ITEMS)]
    (root / "items.csv").write_text("\n".join(items) + "\n")
    os.makedirs(root / "work")
    return root


def _ingest(root):
    return ingest(str(root / "interactions.csv"), str(root / "items.csv"), str(root / "images"),
                  str(root / "work" / "out"), min_user_interactions=5, image_shards=1)


def _edit_last(path, edit):
    """Replace the last line of `path` by edit(last line) (bytes → bytes)."""
    lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    lines[-1] = edit(lines[-1])
    path.write_bytes(b"\n".join(lines) + b"\n")


def _cell(k, value):
    def edit(line):
        cells = line.split(b",")
        cells[k] = value
        return b",".join(cells)
    return edit


LAST_ITEM = f"i{(7 * (NUM_USERS - 1) + PER_USER - 1) % NUM_ITEMS:04d}"  # the last user's last buy
INTERACTION_CASES = {  # case → (iso timestamps?, edit of the last line, value the message shows)
    "timestamp_letters": (False, _cell(2, b"16000x0000"), "'16000x0000'"),
    "timestamp_not_finite": (False, _cell(2, b"inf"), "'inf'"),
    "timestamp_in_milliseconds": (False, _cell(2, b"1618000000000"),
                                  "'1618000000000': beyond the unix seconds of years 1677..2262 "
                                  "(milliseconds? divide the column by 1000)"),
    "timestamp_date_among_seconds": (False, _cell(2, b"2021-04-09"), "'2021-04-09'"),
    "timestamp_impossible_date": (True, _cell(2, b"2020-02-30"), "'2020-02-30'"),
    "timestamp_number_among_dates": (True, _cell(2, b"1600000000"), "'1600000000'"),
    "timestamp_empty": (False, _cell(2, b""), "'timestamp'"),
    "user_id_empty": (False, _cell(0, b""), "'user_id'"),
    "item_id_empty": (True, _cell(1, b"  "), "'item_id'"),
    "item_not_in_items_file": (False, _cell(1, b"i9999"), "'i9999'"),
    "extra_value": (False, lambda line: line + b",web", f"{LAST_ITEM},{_stamp(4999, False)},web'"),
    "not_utf8": (False, _cell(0, b"u\xff999"), r"b'\xff'"),
    "unclosed_quote": (False, _cell(1, b'"' + LAST_ITEM.encode()), f"'u0999,\"{LAST_ITEM},"),
}


def _fails(root, path, row, value):
    with pytest.raises(DataError) as info:
        _ingest(root)
    message = str(info.value)
    assert f"{path}, row {row} (the header is row 1): " in message, message
    assert value in message, message
    assert os.listdir(root / "work") == []
    return message


def test_the_long_world_ingests(tmp_path):
    for iso in (False, True):
        root = write_world(tmp_path / ("iso" if iso else "unix"), iso=iso)
        last_line = root.joinpath("interactions.csv").read_text().splitlines()[-1]
        assert last_line == f"u0999,{LAST_ITEM},{_stamp(NUM_USERS * PER_USER - 1, iso)}"
        ds = dataset_io.load_dataset(_ingest(root))
        assert (ds.num_users, ds.num_items, ds.meta["num_images"]) == (NUM_USERS, NUM_ITEMS, NUM_ITEMS)


@pytest.mark.parametrize("case", sorted(INTERACTION_CASES))
def test_bad_interaction_value_at_the_end(tmp_path, case):
    iso, edit, value = INTERACTION_CASES[case]
    root = write_world(tmp_path, iso=iso)
    _edit_last(root / "interactions.csv", edit)
    _fails(root, root / "interactions.csv", LAST_INTERACTION_ROW, value)


def test_blank_lines_keep_their_row_numbers(tmp_path):
    root = write_world(tmp_path)
    text = (root / "interactions.csv").read_text().split("\n")
    text[100:100] = ["", "   ", ",,", " , ,"]  # blank lines, and empty cells a spreadsheet left
    (root / "interactions.csv").write_text("\n".join(text))
    _edit_last(root / "interactions.csv", _cell(2, b"later"))
    _fails(root, root / "interactions.csv", LAST_INTERACTION_ROW + 4, "'later'")


def test_a_quoted_value_over_two_lines_is_at_the_row_it_starts_on(tmp_path):
    root = write_world(tmp_path)
    items = (root / "items.csv").read_text().replace("i0003,p3.jpg,top", 'i0003,p3.jpg,"to\np"')
    (root / "items.csv").write_text(items)
    _edit_last(root / "items.csv", _cell(1, b"missing.jpg"))
    _fails(root, root / "items.csv", LAST_ITEM_ROW + 1, "'missing.jpg'")


def test_bad_value_in_the_first_row_of_a_long_column(tmp_path):
    root = write_world(tmp_path)
    text = (root / "interactions.csv").read_text()
    (root / "interactions.csv").write_text(text.replace(",1600000000\n", ",2020-09-13\n", 1))
    message = _fails(root, root / "interactions.csv", 2, "'2020-09-13'")
    assert "expected unix seconds, as 4999 of the column's 5000 values are" in message


ITEM_CASES = {  # case → (edit of the last items.csv line, value the message shows)
    "item_id_empty": (_cell(0, b""), "'item_id'"),
    "item_id_duplicate": (_cell(0, b"i0000"), "'i0000'"),
    "image_missing": (_cell(1, b"missing.jpg"), "'missing.jpg'"),
    "image_does_not_decode": (_cell(1, b"broken.jpg"), "'broken.jpg'"),
    "not_utf8": (_cell(2, b"sh\xe9e"), r"b'\xe9'"),
}


@pytest.mark.parametrize("case", sorted(ITEM_CASES))
def test_bad_item_value_at_the_end(tmp_path, case):
    edit, value = ITEM_CASES[case]
    root = write_world(tmp_path)
    (root / "images" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG after all")
    _edit_last(root / "items.csv", edit)
    _fails(root, root / "items.csv", LAST_ITEM_ROW, value)
