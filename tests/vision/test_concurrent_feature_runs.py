"""Two `python -m tfvisrec.vision.features` runs into one folder write one after the other."""
import os
import threading

from tfvisrec.vision import features

MARKER = "features.incomplete"


def test_a_second_run_waits_and_never_removes_the_marker_of_a_run_still_writing(tmp_path, capsys):
    first_writing, first_may_finish, second_wrote = threading.Event(), threading.Event(), threading.Event()

    def first():
        with features.one_run(str(tmp_path)):
            first_writing.set()
            first_may_finish.wait(30)

    def second():
        with features.one_run(str(tmp_path)):
            second_wrote.set()

    runs = [threading.Thread(target=first), threading.Thread(target=second)]
    runs[0].start()
    assert first_writing.wait(30)
    runs[1].start()
    try:
        # the second has come to write: without the lock it wrote and removed the first's marker at once
        assert not second_wrote.wait(0.5)
        assert MARKER in os.listdir(tmp_path)
    finally:
        first_may_finish.set()
        for run in runs:
            run.join(30)
    assert second_wrote.is_set()
    assert MARKER not in os.listdir(tmp_path)
    assert f"waiting for another `python -m tfvisrec.vision.features` run to finish writing into {tmp_path}" \
        in capsys.readouterr().err
