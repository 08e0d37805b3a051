"""Reading tables from disk: each row keeps its physical line, whichever parser reads the file."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import graphscore as gs
from graphscore.io import read_table
from graphscore.io.tables import iter_table
from graphscore.model import Reread


def read(tmp_path, data: bytes, name="entities.csv"):
    """The file as read_table reads it, and whether the fast (chunked) reader read it alone."""
    path = tmp_path / name
    path.write_bytes(data)
    try:
        list(iter_table(path))
        fast = True
    except Reread:
        fast = False
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


# Chunked reading: a file is read and validated a chunk at a time (graphscore.model.validate_chunks);
# small chunks make these files of a few lines span many of them.

def registry(folder, *, entities: int = 40, bad_at: dict | None = None) -> dict:
    """A folder of CSV tables: ``entities`` companies and a chain of OWNS links, with the cells
    of ``bad_at`` ({(table, row): (column, text)}) replaced; returns each table's lines."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = {"entities": [["id", "kind", "name"]] + [[f"c{i}", "company", f"Company {i}"] for i in range(entities)],
            "links": [["source", "target", "type", "share"]] + [[f"c{i}", f"c{i + 1}", "OWNS", "0.5"]
                                                                for i in range(entities - 1)]}
    for (table, row), (column, text) in (bad_at or {}).items():
        rows[table][row + 1][rows[table][0].index(column)] = text
    for table, lines in rows.items():
        (folder / f"{table}.csv").write_text("".join(",".join(line) + "\n" for line in lines))
    return rows


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(gs.io.tables, "_CSV_BLOCK", 64)
    monkeypatch.setattr(gs.io.tables, "CHUNK_ROWS", 7)


def test_a_file_is_read_in_chunks_and_validated_as_one(tmp_path, small_chunks):
    registry(tmp_path / "csv")
    chunks = list(gs.io.tables.iter_table(tmp_path / "csv" / "links.csv"))
    assert len(chunks) > 5
    assert [line for chunk in chunks for line in chunk.attrs["lines"]] == list(range(2, 41))
    streamed = gs.io.read_paths([tmp_path / "csv"])
    whole = gs.validate(gs.io.read_tables(tmp_path / "csv"))
    for name, df in streamed.items():
        pd.testing.assert_frame_equal(df, getattr(whole, name))
        assert df.attrs == getattr(whole, name).attrs


def test_errors_in_later_chunks_name_their_file_and_line(tmp_path, small_chunks):
    registry(tmp_path, bad_at={("links", 30): ("share", "1.7"), ("entities", 33): ("id", "c3"),
                               ("links", 35): ("type", "OWN")})
    with pytest.raises(gs.InvalidData) as caught:
        gs.io.read_paths([tmp_path])
    assert [str(issue) for issue in caught.value.issues] == [
        "entities.csv:35: id='c3' is a duplicate id",
        "links.csv:37: type='OWN' is not a link type (OWNS, OFFICER_OF, CONTROLS, FAMILY, ASSOCIATE, AGENT_OF)",
        "links.csv:32: share=1.7 outside [0, 1] (OWNS)",
        "links.csv:35: source='c33' is not a known entity id",  # c33 became a second c3
        "links.csv:34: target='c33' is not a known entity id",
    ]


def test_issues_past_the_limit_are_counted_over_all_chunks(tmp_path, small_chunks):
    bad = {("links", row): ("share", "x") for row in range(0, 39)}
    registry(tmp_path, bad_at=bad)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(gs.model, "_MAX_ISSUES", 10)
    try:
        with pytest.raises(gs.InvalidData, match=r"^links\.csv:2: share='x' is not a number \(and 38 more issues\)$") as caught:
            gs.io.read_paths([tmp_path])
    finally:
        monkeypatch.undo()
    assert len(caught.value.issues) == 10 and caught.value.unlisted == 29


def test_a_quoted_line_break_found_late_reads_the_file_again_exactly(tmp_path, small_chunks):
    rows = registry(tmp_path, bad_at={("entities", 30): ("name", '"Company\n30"')})
    with pytest.raises(Reread):
        list(iter_table(tmp_path / "entities.csv"))
    tables = gs.io.read_paths([tmp_path])
    assert tables.entities["name"].iloc[30] == "Company\n30"
    assert list(tables.entities.attrs["lines"])[29:33] == [31, 32, 34, 35]
    assert len(tables.entities) == len(rows["entities"]) - 1


def test_line_ends_across_scan_blocks(tmp_path, small_chunks):
    text = "id,kind,name\r\n" + "".join(f"c{i},company,N{i}\r\n" + "\r\n" * (i % 3 == 0) for i in range(30))
    df, fast = read(tmp_path, text.encode())
    assert fast
    expected, line = [], 2
    for i in range(30):
        expected.append(line)
        line += 1 + (i % 3 == 0)
    assert list(df.attrs["lines"]) == expected
    assert df["name"].tolist() == [f"N{i}" for i in range(30)]


def test_a_chunk_is_dropped_before_the_next_is_read(tmp_path, small_chunks):
    """What bounds memory: validate_chunks holds no raw chunk while it reads the next."""
    import gc
    import weakref

    registry(tmp_path)
    chunks = gs.io.tables.iter_tables(tmp_path)
    alive = []

    def watched(table):
        for chunk in chunks[table]:
            gc.collect()
            alive.append(sum(ref() is not None for ref in refs))
            refs.append(weakref.ref(chunk))
            yield chunk
    refs: list = []
    gs.model.validate_chunks({table: watched(table) for table in chunks})
    assert len(refs) > 10 and max(alive) == 0


def test_parquet_is_read_in_chunks_naming_rows_as_lines(tmp_path, small_chunks):
    registry(tmp_path / "csv", bad_at={("links", 20): ("share", "-0.5")})
    folder = tmp_path / "parquet"
    folder.mkdir()
    for name in ("entities", "links"):
        df = pd.read_csv(tmp_path / "csv" / f"{name}.csv")
        df.to_parquet(folder / f"{name}.parquet", index=False, row_group_size=5)
    assert len(list(iter_table(folder / "links.parquet"))) == 6
    with pytest.raises(gs.InvalidData, match=r"^links\.parquet:22: share=-0\.5 outside \[0, 1\] \(OWNS\)$"):
        gs.io.read_paths([folder])
