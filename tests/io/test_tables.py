"""Reading tables from disk: each row keeps its physical line, whichever parser reads the file."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import graphscore as gs
from graphscore.io import read_table
from graphscore.io.tables import _read_csv_fast


def read(tmp_path, data: bytes, name="entities.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    with pa.memory_map(str(path)) as source:
        fast = _read_csv_fast(path, source.read_buffer()) is not None
    return read_table(path), fast


@pytest.mark.parametrize("data, lines, fast", [
    (b"id,kind,name\nc1,company,A\nc2,company,B\n", [2, 3], True),
    (b"\xef\xbb\xbfid,kind,name\r\n\r\nc1,company,\"A, Inc\"\r\n,,\r\nc2,company,B\r\n", [3, 5], True),
    (b"id,kind,name\nc1,company,A\n\nc2,company,B", [2, 4], True),  # no line end at the end
    (b'id,kind,name\n\nc1,company,"Alpha\nHoldings"\n\nc2,company,Beta\n', [3, 6], False),
    (b"id,kind,name\nc1,company,A\n   \nc2,company,B\n", [2, 4], False),  # whitespace-only line
    (b"id,kind,name\rc1,company,A\rc2,company,B\r", [2, 3], False),  # old Mac line ends
])
def test_rows_keep_their_physical_lines(tmp_path, data, lines, fast):
    df, used_fast = read(tmp_path, data)
    assert list(df.attrs["lines"]) == lines
    assert used_fast is fast
    assert df["id"].tolist() == ["c1", "c2"]


def test_fast_and_exact_readers_agree(tmp_path):
    data = b'id,kind,name\nc1,company," Alpha, Inc "\n\nc2,company,""\np1,person,"Pat ""P"""\n'
    fast, used_fast = read(tmp_path, data)
    assert used_fast
    exact = gs.io.tables._read_csv_exact(tmp_path / "entities.csv")
    pd.testing.assert_frame_equal(fast.astype(object), exact.astype(object))
    assert list(fast.attrs["lines"]) == list(exact.attrs["lines"]) == [2, 4, 5]


def test_a_wrong_field_count_found_by_the_fast_reader_is_named_by_line(tmp_path):
    with pytest.raises(gs.InvalidData, match=r"^entities\.csv:4: row: has 2 fields, the header has 3$"):
        read(tmp_path, b"id,kind,name\nc1,company,A\n\nc2,company\n")


def test_parquet_list_cells_are_refused_naming_file_row_and_field(tmp_path):
    folder = tmp_path / "registry"
    folder.mkdir()
    pd.DataFrame({"id": ["c1", "c2"], "kind": ["company"] * 2, "name": ["A", "B"]}).to_parquet(folder / "entities.parquet")
    links = pa.table({"source": ["c1", "c2"], "target": ["c2", "c1"], "type": ["OFFICER_OF"] * 2,
                      "role": pa.array([None, ["director", "other"]], pa.list_(pa.string()))})
    pq.write_table(links, folder / "links.parquet")
    with pytest.raises(gs.InvalidData, match=r"^links\.parquet:3: role=\['director', 'other'\] is a list; "
                                             r"a cell holds one value$"):
        gs.validate(gs.io.read_tables(folder))
