"""An array shepherd's journal (``process/journal.py``): records written by one writer, read whole by any
number of readers at any moment."""

from __future__ import annotations

from pathlib import Path

from drmaa2cli.backends.process import journal


def test_records_are_read_back_by_task(tmp_path: Path) -> None:
    path = str(tmp_path / "7.journal")
    assert journal.read(path) is None  # not made yet: the reader falls back to a file per record
    writer = journal.Writer(path)
    assert journal.read(path) == {}
    writer.room(4)
    writer.append(b'{"task":"7.1","start":{"pid":10}}\n')
    writer.append(b'{"task":"7.2","exit":{"exit_status":null,"annotation":"killed before it started"}}\n')
    writer.append(b'{"task":"7.1","exit":{"exit_status":3}}\n')
    assert journal.read(path) == {
        "7.1": [{"pid": 10}, {"exit_status": 3}],
        "7.2": [None, {"exit_status": None, "annotation": "killed before it started"}],
    }


def test_space_is_claimed_ahead_and_a_record_being_written_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "7.journal"
    writer = journal.Writer(str(path))
    writer.room(3)
    assert path.stat().st_size >= 3 * journal.RECORD_ROOM  # zeros, which the reader stops at
    writer.append(b'{"task":"7.1","start":{"pid":10}}\n')
    writer.append(b'{"task":"7.2","start":{"pi')  # as a reader may find a record mid-write
    assert journal.read(str(path)) == {"7.1": [{"pid": 10}, None]}
    writer.room(1000)  # grows past what it had
    assert path.stat().st_size >= writer.offset + 1000 * journal.RECORD_ROOM
    assert journal.read(str(path)) == {"7.1": [{"pid": 10}, None]}


def test_a_damaged_line_costs_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "7.journal"
    path.write_bytes(b'{"task":"7.1","exit":{"exit_status":0}}\nnot json\n{"no task":1}\n'
                     b'{"task":"7.2","exit":{"exit_status":1}}\n')
    records = journal.read(str(path))
    assert records == {"7.1": [None, {"exit_status": 0}], "7.2": [None, {"exit_status": 1}]}
