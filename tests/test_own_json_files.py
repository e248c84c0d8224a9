"""A JSON output is written over only when the file there is one of ours."""
from tfvisrec.own_json_files import foreign_json_problem, read_json_object


def _ours(value):
    return value.get("kind") == "ours"


def test_only_a_file_of_ours_may_be_written_over(tmp_path):
    path = tmp_path / "out.json"
    assert foreign_json_problem(str(path), _ours, "ours", "pick another") is None   # nothing there
    path.write_text('{"kind": "ours"}')
    assert foreign_json_problem(str(path), _ours, "ours", "pick another") is None
    for other in ('{"kind": "theirs"}', "[1, 2]", "not json", "\xff"):
        path.write_text(other, encoding="latin-1")
        assert foreign_json_problem(str(path), _ours, "ours", "pick another") == (
            f"{path} exists and is not ours, so it is not written over: pick another")
    assert foreign_json_problem(str(tmp_path), _ours, "ours", "pick another") is None   # a folder: the writer's check


def test_read_json_object_gives_none_for_nothing_to_keep(tmp_path):
    assert read_json_object(str(tmp_path / "missing.json")) is None
    (tmp_path / "list.json").write_text("[1]")
    assert read_json_object(str(tmp_path / "list.json")) is None
    (tmp_path / "object.json").write_text('{"a": 1}')
    assert read_json_object(str(tmp_path / "object.json")) == {"a": 1}
