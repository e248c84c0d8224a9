"""Bad input: one DataError naming file and row, and nothing left behind."""
import os
import pickle
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

import tfvisrec  # noqa: F401
from temp_writers import killed_writer_folder, running_writer
from tfvisrec.data import dataset as dataset_io
from tfvisrec.data.errors import DataError
from tfvisrec.data.ingest import ingest

INTERACTIONS = """user_id,item_id,timestamp
u1,a,2020-01-01
u1,b,2020-01-02
u1,c,2020-01-03
u2,a,2020-01-04
u2,c,2020-01-05
u2,d,2020-01-06
u3,b,2020-01-07
u3,d,2020-01-08
"""
ITEMS = """item_id,image,category
a,a.jpg,top
b,b.jpg,top
c,c.jpg,shoe
d,d.jpg,shoe
"""


@pytest.fixture
def world(tmp_path):
    """Folder with interactions.csv, items.csv, images/ and an empty `work` parent for outputs."""
    os.makedirs(tmp_path / "images")
    for k, item in enumerate("abcd"):
        Image.new("RGB", (5, 7), (50 * k, 0, 0)).save(tmp_path / "images" / f"{item}.jpg")
    (tmp_path / "interactions.csv").write_text(INTERACTIONS)
    (tmp_path / "items.csv").write_text(ITEMS)
    os.makedirs(tmp_path / "work")
    return tmp_path


def _replace(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _ingest(world, **kwargs):
    args = dict(interactions_csv=str(world / "interactions.csv"), items_csv=str(world / "items.csv"),
                images_dir=str(world / "images"), out_dir=str(world / "work" / "out"),
                min_user_interactions=3)
    args.update(kwargs)
    return ingest(**args)


def _fails(world, pattern, **kwargs):
    """Ingest must raise one DataError matching `pattern` and leave `work/` empty."""
    with pytest.raises(DataError) as info:
        _ingest(world, **kwargs)
    assert re.search(pattern, str(info.value)), str(info.value)
    assert os.listdir(world / "work") == []
    return str(info.value)


def test_good_world_ingests(world):
    assert dataset_io.load_dataset(_ingest(world)).num_users == 2


def test_rows_of_empty_cells_a_spreadsheet_left_are_skipped(world):
    """Excel saves rows it once formatted as `,,`: they used to stop ingest ("empty 'user_id'")."""
    for name in ("interactions.csv", "items.csv"):
        with open(world / name, "a") as f:
            f.write(",,\r\n , ,\r\n\r\n")
    ds = dataset_io.load_dataset(_ingest(world))
    assert (ds.num_users, ds.num_items, ds.meta["num_raw_interactions"]) == (2, 4, 8)


def test_missing_column(world):
    _replace(world / "interactions.csv", "user_id,item_id", "user_id,product")
    _fails(world, r"interactions\.csv, row 1 \(the header\): missing column 'item_id' \(the header has: "
                  r"user_id, product, timestamp\)")


def test_a_column_named_in_other_letter_case_says_to_rename_it(world):
    """A shop system's header ` User_ID , Item_ID `: spaces were stripped, but the message only
    listed the header; it now names the rename."""
    _replace(world / "interactions.csv", "user_id,item_id,", " User_ID , Item_ID ,")
    _fails(world, r"interactions\.csv, row 1 \(the header\): missing column 'user_id' \(the header has: "
                  r"User_ID, Item_ID, timestamp\); column names are case-sensitive: rename 'User_ID' to "
                  r"'user_id'$")


@pytest.mark.parametrize("file, column", [("interactions.csv", "timestamp"), ("items.csv", "category"),
                                          ("items.csv", "text")])
def test_an_optional_column_in_other_letter_case_is_refused(world, file, column):
    """`Timestamp` used to be ignored without a word (every time -1), `Category` kept as a mere
    attribute, `Text` as an attribute instead of the item's text."""
    if column == "text":
        _replace(world / file, "category\n", "category,text\n")
    _replace(world / file, column, column.capitalize())
    _fails(world, rf"{file}, row 1 \(the header\): column '{column.capitalize()}' would not be read as "
                  rf"'{column}' \(column names are case-sensitive\): rename it to '{column}'$")


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_file_separated_otherwise_says_so(world, separator):
    """A spreadsheet saved with `;` (European locales) or tabs is one column to a CSV reader."""
    (world / "interactions.csv").write_text(INTERACTIONS.replace(",", separator))
    _fails(world, rf"interactions\.csv, row 1 \(the header\): missing column 'user_id' .*; its columns are "
                  rf"separated by {re.escape(repr(separator))}: save the file comma-separated")


def test_missing_image_column_in_items(world):
    _replace(world / "items.csv", "item_id,image,", "item_id,picture,")
    _fails(world, r"items\.csv, row 1 \(the header\): missing column 'image'")


def test_corrupt_image_names_items_row(world):
    (world / "images" / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    _fails(world, r"items\.csv, row 4 \(the header is row 1\): image 'c\.jpg' does not decode")


def test_truncated_jpeg_names_items_row(world):
    data = (world / "images" / "b.jpg").read_bytes()
    (world / "images" / "b.jpg").write_bytes(data[: len(data) // 2])
    _fails(world, r"items\.csv, row 3 \(the header is row 1\): image 'b\.jpg' does not decode")


def test_image_file_missing(world):
    os.remove(world / "images" / "d.jpg")
    _fails(world, r"items\.csv, row 5 \(the header is row 1\): image 'd\.jpg' not found in folder .*images")


def test_item_without_image_when_required(world):
    _replace(world / "items.csv", "b,b.jpg,top", "b,,top")
    _fails(world, r"items\.csv, row 3 \(the header is row 1\): item 'b' has no image, and images are required",
           require_images=True)
    assert dataset_io.load_dataset(_ingest(world)).meta["num_images"] == 3  # allowed otherwise


def test_images_required_without_items_file(world):
    _fails(world, r"images are required .* no items file", items_csv=None, images_dir=None,
           require_images=True)


def test_interacted_item_missing_from_items(world):
    _replace(world / "items.csv", "d,d.jpg,shoe\n", "")
    _fails(world, r"interactions\.csv, row 7 \(the header is row 1\): item 'd' has no row in the items file .*items\.csv")


def test_an_id_that_lost_its_leading_zeros_says_so(world):
    """A spreadsheet that read one file's ids as numbers drops their zeros (H&M: 0108775015)."""
    _replace(world / "items.csv", "d,d.jpg", "00d,d.jpg")
    _fails(world, r"interactions\.csv, row 7 \(the header is row 1\): item 'd' has no row in the items "
                  r"file .*; the items file has '00d': leading zeros were lost")


def test_an_id_written_as_a_decimal_number_says_so(world):
    """pandas writes an id column with an empty cell as floats (42 → "42.0"): the items file's
    "42" used to be named as missing, without a word on why."""
    _replace(world / "items.csv", "d,d.jpg", "42,d.jpg")
    (world / "interactions.csv").write_text(INTERACTIONS.replace(",d,", ",42.0,"))
    _fails(world, r"interactions\.csv, row 7 \(the header is row 1\): item '42\.0' has no row in the items "
                  r"file .*; the items file has '42': one file's ids were written as decimal numbers")


def test_duplicate_item_ids(world):
    _replace(world / "items.csv", "d,d.jpg,shoe", "b,d.jpg,shoe")
    _fails(world, r"items\.csv, row 5 \(the header is row 1\): duplicate item_id 'b' \(rows 3 and 5\)")


def test_user_with_too_few_items_for_a_split(world):
    _fails(world, r"interactions\.csv, row 8 \(the header is row 1\): user 'u3' has only 2 distinct items; a split needs "
                  r"at least 3", min_user_interactions=2)


def test_duplicates_do_not_count_as_distinct_items(world):
    with open(world / "interactions.csv", "a") as f:
        f.write("u3,b,2020-02-01\n")
    _fails(world, r"user 'u3' has only 2 distinct items", min_user_interactions=1)


def test_empty_split(world):
    _fails(world, r"interactions\.csv: no user has at least 4 distinct items \(3 users in the "
                  r"file\), so every split would be empty", min_user_interactions=4)


@pytest.mark.parametrize("value", ["yesterday", "2020-13-45", "12abc"])
def test_invalid_timestamp_names_row(world, value):
    _replace(world / "interactions.csv", "u2,c,2020-01-05", f"u2,c,{value}")
    _fails(world, rf"interactions\.csv, row 6 \(the header is row 1\): invalid 'timestamp' '{value}'")


def test_a_column_of_ambiguous_day_or_month_first_dates_is_not_guessed(world):
    """A shop's export with dates whose order no value tells (01.01.2020 … 08.01.2020): no value
    fits, so neither format is "the column's" (the message used to say "expected unix seconds"
    alone); the line says the dates may be day- or month-first and how to convert, knowing it."""
    text = (world / "interactions.csv").read_text()
    (world / "interactions.csv").write_text(re.sub(r"2020-01-0(\d)", r"0\1.01.2020", text))
    _fails(world, r"interactions\.csv, row 2 \(the header is row 1\): invalid 'timestamp' '01\.01\.2020': "
                  r"a date that may be day-first or month-first \(.*\), not guessed; expected unix seconds or "
                  r"ISO dates/datetimes such as 2020-09-22 .*; write the dates as ISO dates from where they "
                  r"were exported, or, knowing the order, convert the column: python -c .*%d\.%m\.%Y.* "
                  r"\(that is day-first; month-first: the same with %m/%d/%Y\)$")


@pytest.mark.parametrize("day_first, order, source", [(r"\3/\2/\1", "day-first", "%d/%m/%Y"),
                                                      (r"\3.\2.\1", "day-first", "%d.%m.%Y"),
                                                      (r"\2/\3/\1", "month-first", "%m/%d/%Y")])
def test_a_column_of_day_first_dates_says_how_to_convert_it(world, day_first, order, source):
    """31/12/2020 was refused as "neither a finite number nor an ISO date", without a word on how
    to convert; the line names the order (a value with a part above 12 tells it) and the command
    writing the file with ISO dates beside it. The dates themselves are still not read."""
    text = (world / "interactions.csv").read_text()
    text = re.sub(r"(2020)-(01)-0(\d)", lambda m: f"2020-01-{int(m.group(3)) + 23}", text)   # days 24..31
    (world / "interactions.csv").write_text(re.sub(r"(\d{4})-(\d{2})-(\d{2})", day_first, text))
    message = _fails(world, rf"interactions\.csv, row 2 \(the header is row 1\): invalid 'timestamp' "
                            rf"'\S+': a {order} date, as the column's are; expected unix seconds or ISO .*; "
                            r"convert the column to ISO dates: python -c '.*'$")
    command = message.split("convert the column to ISO dates: ")[1]
    assert f'format="{source}"' in command
    subprocess.run(command, shell=True, check=True)
    converted = (world / "interactions.iso.csv").read_text()
    assert converted.splitlines()[:2] == ["user_id,item_id,timestamp", "u1,a,2020-01-24"]
    _ingest(world, interactions_csv=str(world / "interactions.iso.csv"))


def test_one_day_first_date_in_a_column_of_iso_dates_is_named_with_its_iso_form(world):
    _replace(world / "interactions.csv", "u2,c,2020-01-05", "u2,c,31/12/2020")
    _fails(world, r"row 6 \(the header is row 1\): invalid 'timestamp' '31/12/2020': a day-first date; "
                  r"expected ISO dates/.*, as 7 of the column's 8 values are; write it as 2020-12-31$")
    _replace(world / "interactions.csv", "31/12/2020", "01/12/2020")
    _fails(world, r"invalid 'timestamp' '01/12/2020': a date that may be day-first or month-first, not "
                  r"guessed; .*; write it as an ISO date \(YYYY-MM-DD\)$")


def test_a_latin1_file_says_how_to_convert_it(world):
    """A shop's Windows export (é as the single byte 0xE9): the message used to name the byte
    and stop there; it now names the conversion, with the file's own path (not guessed)."""
    items = world / "items.csv"
    items.write_bytes(items.read_bytes().replace(b"c,c.jpg,shoe", "c,c.jpg,escarpin d'été".encode("cp1252")))
    _fails(world, r"items\.csv, row 4 \(the header is row 1\): the items file is not UTF-8 text: byte "
                  r"b'\\xe9' .*; save it as UTF-8 \(Excel: \"CSV UTF-8\"; a Windows-1252 or Latin-1 export: "
                  rf"iconv -f cp1252 -t utf-8 {re.escape(str(items))} > {re.escape(str(world / 'items.utf8.csv'))}\)$")


def test_empty_timestamp_and_empty_id(world):
    _replace(world / "interactions.csv", "u2,c,2020-01-05", "u2,c,")
    _fails(world, r"interactions\.csv, row 6 \(the header is row 1\): empty 'timestamp'")
    _replace(world / "interactions.csv", "u2,c,", ",c,2020-01-05")
    _fails(world, r"interactions\.csv, row 6 \(the header is row 1\): empty 'user_id'")


def test_an_id_with_a_line_break_names_its_row(world):
    """users.txt / items.txt hold one id a line: a quoted id spanning lines would make the
    dataset unloadable ("damaged: ingest it again"), so ingest refuses it."""
    _replace(world / "interactions.csv", "u2,c,2020-01-05", '"u\n2",c,2020-01-05')
    _fails(world, r"interactions\.csv, row 6 \(the header is row 1\): user_id 'u\\n2' has a line break inside")
    _replace(world / "interactions.csv", '"u\n2",c', 'u2,c')
    _replace(world / "items.csv", "d,d.jpg", '"d\r\nx",d.jpg')
    _fails(world, r"items\.csv, row 5 \(the header is row 1\): item_id 'd\\r\\nx' has a line break inside")


def test_an_id_with_a_nul_character_names_its_row_and_column(world):
    """A NUL (\\x00) in an id was ingested as it was: NumPy string arrays drop it at an id's end
    and a command line cannot pass it, so the exported model's lookup of it may never match."""
    _replace(world / "interactions.csv", "u2,c,2020-01-05", "u2\x00,c,2020-01-05")
    _fails(world, r"interactions\.csv, row 6 \(the header is row 1\): column 'user_id' holds a NUL "
                  r"character \(\\x00\) in 'u2\\x00': .*; remove it$")
    _replace(world / "interactions.csv", "u2\x00,c", "u2,c")
    _replace(world / "items.csv", "d,d.jpg", "d\x00e,d.jpg")
    _fails(world, r"items\.csv, row 5 \(the header is row 1\): column 'item_id' holds a NUL character "
                  r"\(\\x00\) in 'd\\x00e'")
    (world / "items.csv").write_bytes(ITEMS.encode("utf-16-le"))   # UTF-16 without its byte-order mark
    _fails(world, r"items\.csv: the items file holds a NUL character \(\\x00\) every other character: "
                  r"it is UTF-16 text without a byte-order mark; save it as UTF-8$")


def test_temporal_needs_timestamps(world):
    (world / "interactions.csv").write_text(
        "\n".join(line.rsplit(",", 1)[0] for line in INTERACTIONS.splitlines()) + "\n")
    _fails(world, r"interactions\.csv, row 1 \(the header\): the temporal split needs a 'timestamp' column",
           split="temporal")


def test_empty_file(world):
    (world / "interactions.csv").write_text("")
    _fails(world, r"interactions\.csv: interactions file is empty: expected a header row")


def test_a_file_of_its_header_only(world):
    """An export of no records used to read "no user has at least 3 distinct items (0 users in
    the file) … lower --min_user_interactions", advice that cannot help."""
    (world / "interactions.csv").write_text("user_id,item_id,timestamp\r\n\r\n")
    _fails(world, r"interactions\.csv: the file has no interactions, only its header \(an export of an "
                  r"empty selection\?\)$")


@pytest.mark.parametrize("which", ["interactions_csv", "items_csv", "images_dir"])
def test_non_existent_path(world, which):
    missing = str(world / "nowhere" / "x")
    _fails(world, rf"nowhere/x: .*does not exist", **{which: missing})


def test_existing_output_needs_overwrite(world):
    out = world / "work" / "out"
    os.makedirs(out)
    (out / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match=r"work/out: output folder exists already \(pass "
                                        r"--overwrite to replace it\)"):
        _ingest(world)
    assert os.listdir(world / "work") == ["out"] and os.listdir(out) == ["keep.txt"]


def test_an_output_below_a_file_is_named(world):
    """It used to end in "[Errno 17] File exists", after the images were read."""
    (world / "work" / "notes").write_text("not a folder")
    with pytest.raises(DataError, match=r"cannot write .*work/notes/out: .*work/notes is a file, not a folder"):
        _ingest(world, out_dir=str(world / "work" / "notes" / "out"))
    assert os.listdir(world / "work") == ["notes"]


def test_failure_while_writing_leaves_no_temp_folder(world, monkeypatch):
    def broken_writer(folder, images, num_shards):
        raise OSError("disk full")

    monkeypatch.setattr(dataset_io, "_write_image_shards", broken_writer)
    with pytest.raises(OSError, match="disk full"):
        _ingest(world)
    assert os.listdir(world / "work") == []


def test_an_ingest_removes_the_folder_a_killed_ingest_left_but_not_a_running_ones(world):
    killed = killed_writer_folder(world / "work", ".out.tmp-")   # `python -m tfvisrec.data ingest` killed
    with running_writer(world / "work", ".out.tmp-") as running:   # an ingest running beside
        _ingest(world)
        assert sorted(os.listdir(world / "work")) == sorted([os.path.basename(running), "out"])
    assert not os.path.exists(killed)


def test_dvbpr_npy_bad_files(tmp_path):
    from tfvisrec.data.adapters.dvbpr_npy import ingest_dvbpr_npy
    with pytest.raises(DataError, match=r"nope\.npy: DVBPR \.npy file does not exist"):
        ingest_dvbpr_npy(str(tmp_path / "nope.npy"), str(tmp_path / "o"))
    np.save(tmp_path / "short.npy", np.array([{}, {}, {}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"short\.npy: expected \[user_train, user_validation"):
        ingest_dvbpr_npy(str(tmp_path / "short.npy"), str(tmp_path / "o"))
    (tmp_path / "text.npy").write_bytes(pickle.dumps("hello"))
    with pytest.raises(DataError, match=r"text\.npy: expected \[user_train"):
        ingest_dvbpr_npy(str(tmp_path / "text.npy"), str(tmp_path / "o"))
    (tmp_path / "junk.npy").write_bytes(b"these bytes are neither numpy nor pickle")
    with pytest.raises(DataError, match=r"junk\.npy: cannot load as a DVBPR \.npy pickle"):
        ingest_dvbpr_npy(str(tmp_path / "junk.npy"), str(tmp_path / "o"))
    assert sorted(os.listdir(tmp_path)) == ["junk.npy", "short.npy", "text.npy"]


def test_catalogue_missing_label_column(tmp_path):
    from tfvisrec.data.adapters.catalogue import ingest_catalogue
    (tmp_path / "labels.csv").write_text("product_id,title,masterCategory,image\n1,x,Apparel,1.jpg\n")
    with pytest.raises(DataError, match=r"labels\.csv, row 1 \(the header\): missing column 'baseColour'"):
        ingest_catalogue(str(tmp_path / "labels.csv"), None, str(tmp_path / "o"),
                         label_columns=["masterCategory", "baseColour"])
    assert os.listdir(tmp_path) == ["labels.csv"]


def test_catalogue_label_column_without_any_value(tmp_path):
    """Ingest used to accept it and the attribute classifier refuse the dataset later with
    "attribute cardinalities (2, 0)", naming neither the column nor the file."""
    from tfvisrec.data.adapters.catalogue import ingest_catalogue
    Image.new("RGB", (5, 7)).save(tmp_path / "1.jpg")
    (tmp_path / "labels.csv").write_text("product_id,masterCategory,season,image\n1,Apparel,,1.jpg\n2,Shoes,,1.jpg\n")
    with pytest.raises(DataError, match=r"labels\.csv, row 1 \(the header\): label column 'season' is empty "
                                        r"in every row: leave it out of --label_columns"):
        ingest_catalogue(str(tmp_path / "labels.csv"), None, str(tmp_path / "o"),
                         label_columns=["masterCategory", "season"])
    assert sorted(os.listdir(tmp_path)) == ["1.jpg", "labels.csv"]


def _write_npy(path, train, items, itemnum):
    data = np.empty(6, dtype=object)
    data[:] = [train, {}, {}, items, len(train), itemnum]
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, np.lib.format.header_data_from_array_1_0(data))
        pickle.dump(data, f, protocol=2)


def test_dvbpr_npy_bad_contents(tmp_path):
    from tfvisrec.data.adapters.dvbpr_npy import ingest_dvbpr_npy
    good = (tmp_path / "good.jpg")
    Image.new("RGB", (4, 4)).save(good)
    items = [{b"imgs": good.read_bytes()}, {b"imgs": b"\xff\xd8\xff broken"}]
    _write_npy(tmp_path / "range.npy", {0: [{b"productid": 5}]}, items, 2)
    with pytest.raises(DataError, match=r"range\.npy: user_train\[0\] has item 5, not an index "
                                        r"in 0\.\.1"):
        ingest_dvbpr_npy(str(tmp_path / "range.npy"), str(tmp_path / "o"))
    _write_npy(tmp_path / "image.npy", {0: [{b"productid": 1}]}, items, 2)
    with pytest.raises(DataError, match=r"image\.npy: Item\[1\] image does not decode"):
        ingest_dvbpr_npy(str(tmp_path / "image.npy"), str(tmp_path / "o"))
    assert not os.path.exists(tmp_path / "o")


def test_short_and_long_rows(world):
    _replace(world / "interactions.csv", "u2,c,2020-01-05", "u2")
    _fails(world, r"interactions\.csv, row 6 \(the header is row 1\): empty 'item_id'")
    _replace(world / "interactions.csv", "u2\n", "u2,c,2020-01-05,extra\n")
    _fails(world, r"interactions\.csv, row 6 \(the header is row 1\): 4 values but the header has 3 "
                  r"columns: 'u2,c,2020-01-05,extra'")


def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


@pytest.mark.parametrize("damage, file, pattern", [
    (_truncate, "interactions.npz", "BadZipFile|unreadable"),
    (_truncate, "items.npz", "unreadable"),
    (lambda p: p.write_text('{"format_version": '), "meta.json", "unreadable"),
    (lambda p: p.write_text("[1, 2]"), "meta.json", "not a JSON object"),
    (lambda p: p.write_text(""), "items.txt", "holds 0 ids where meta.json says 4"),
    (lambda p: p.write_text("u1\n"), "users.txt", "holds 1 ids where meta.json says 2"),
])
def test_a_damaged_dataset_names_its_file(world, damage, file, pattern):
    folder = _ingest(world)
    damage(world / "work" / "out" / file)
    with pytest.raises(DataError, match=pattern) as info:
        dataset_io.load_dataset(folder)
    assert os.path.join(folder, file) in str(info.value) and "ingest it again" in str(info.value)


def test_a_full_disk_names_the_dataset_and_leaves_nothing(world, monkeypatch):
    def full_disk(*args, **kwargs):   # numpy's own error names no file
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError) as raised:
        _ingest(world)
    assert str(raised.value) == f"cannot write the dataset {world / 'work' / 'out'} (No space left on device)"
    assert os.listdir(world / "work") == []


def test_a_dataset_written_meanwhile_by_another_ingest_is_not_replaced_without_overwrite(world, monkeypatch):
    out = world / "work" / "out"
    write_vocab = dataset_io._write_vocab

    def while_another_ingest_ends(path, ids):   # it publishes `out` while this one writes
        if not out.exists():
            out.mkdir()
            (out / "meta.json").write_text("{}")
        write_vocab(path, ids)

    monkeypatch.setattr(dataset_io, "_write_vocab", while_another_ingest_ends)
    with pytest.raises(DataError, match="output folder exists already"):
        _ingest(world)
    assert os.listdir(world / "work") == ["out"] and os.listdir(out) == ["meta.json"]
    assert _ingest(world, overwrite=True) == str(out)   # --overwrite replaces it
