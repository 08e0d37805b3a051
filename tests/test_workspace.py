"""The workspace: projections and baseline runs computed once, kept on disk beside the store
for the next command, and never trusted after the store's content changed."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import graphscore as gs
import graphscore.store.ladybug as ladybug_module
import graphscore.workspace as workspace_module
from graphscore.cli import app
from graphscore.engine.matrix import build_projection
from graphscore.engine.run import run_model
from graphscore.policy import MissingShare
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network
from graphscore.workspace import Workspace, cache_folder, open_workspace
from tests.conftest import POLICIES, SPREAD_SPLIT, ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")
JOINT = gs.load_policy(POLICIES / "joint-punishment.toml")
runner = CliRunner()


def run(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def counted(monkeypatch) -> dict:
    """Count the real builds and model runs the workspace makes."""
    calls = {"build": 0, "run": 0}
    build, run_model = workspace_module.build_projection, workspace_module.run_model

    def counting_build(*args, **kwargs):
        calls["build"] += 1
        return build(*args, **kwargs)

    def counting_run(*args, **kwargs):
        calls["run"] += 1
        return run_model(*args, **kwargs)
    monkeypatch.setattr(workspace_module, "build_projection", counting_build)
    monkeypatch.setattr(workspace_module, "run_model", counting_run)
    return calls


def test_a_second_command_starts_from_the_disk_cache(tmp_path, counted):
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    first = open_workspace(db)
    scores = first.baseline(JOINT, "2022-06-30").total
    assert counted == {"build": 1, "run": 1}
    second = open_workspace(db)  # a new process would see exactly this
    np.testing.assert_array_equal(second.baseline(JOINT, "2022-06-30").total, scores)
    projection = second.projection(JOINT, "2022-06-30")
    assert counted == {"build": 1, "run": 1}
    fresh = gs.build_projection(second.tables, JOINT, "2022-06-30")
    assert (projection.W != fresh.W).nnz == 0 and np.array_equal(projection.s, fresh.s)
    pd.testing.assert_frame_equal(projection.edges_touching(), fresh.edges_touching())
    pd.testing.assert_frame_equal(projection.penalties, fresh.penalties)
    for name, df in second.tables.items():
        pd.testing.assert_frame_equal(df, getattr(first.tables, name), obj=name)


def test_a_store_whose_cache_holds_its_tables_is_opened_with_a_small_buffer_pool(tmp_path, monkeypatch):
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    pools = []
    database = ladybug_module.ladybug.Database

    def recording(*args, **kwargs):
        pools.append(kwargs.get("buffer_pool_size", 0))
        return database(*args, **kwargs)
    with LadybugStore(db, read_only=True) as store:
        shutil.rmtree(cache_folder(store), ignore_errors=True)
    monkeypatch.setattr(ladybug_module.ladybug, "Database", recording)
    first = open_workspace(db)  # no cache: a glance, then opened again to read the tables back
    assert pools == [workspace_module.GLANCE_BUFFER_POOL, 0]
    pools.clear()
    second = open_workspace(db)
    assert pools == [workspace_module.GLANCE_BUFFER_POOL]
    assert second.fingerprint == first.fingerprint
    for name, df in second.tables.items():
        pd.testing.assert_frame_equal(df, getattr(first.tables, name), obj=name)


def test_a_load_makes_the_cache_stale(tmp_path, counted):
    db = tmp_path / "db"
    registry = gs.validate(generate_network(300, seed=5))
    half = gs.Tables(registry.entities, registry.links.iloc[:400], registry.penalties)
    with LadybugStore(db) as store:
        store.load(half)
    before = open_workspace(db).baseline(JOINT, "2024-06-30").total
    with LadybugStore(db) as store:
        store.load(registry)
    after = open_workspace(db)
    assert after.fingerprint == registry.fingerprint()
    reference = build_projection(registry, JOINT, "2024-06-30")  # rows in the input's order
    expected = pd.Series(run_model(reference, JOINT).total, index=reference.ids)
    np.testing.assert_allclose(after.baseline(JOINT, "2024-06-30").total,
                               expected.reindex(after.tables.entities["id"]).to_numpy(), rtol=1e-9)
    assert counted == {"build": 2, "run": 2}
    assert not np.allclose(before, after.baseline(JOINT, "2024-06-30").total)


def test_a_cypher_write_makes_the_cache_untrusted(tmp_path):
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    assert open_workspace(db).cache is not None
    run("cypher", "MATCH (e:Entity {id: $id}) SET e.name = 'Renamed'", "--param", "id=NK-abdzbEBkqyT29GyREbiURZ",
        "--db", db, "--write")
    ws = open_workspace(db)
    assert ws.cache is None
    assert "Renamed" in set(ws.tables.entities["name"])


def test_a_reload_through_the_cli_writes_nothing(tmp_path):
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    output = run("load", ZALA, "--db", db)
    assert "entities 0 new, 0 changed, 17 unchanged" in output
    assert "links 0 new, 0 changed, 21 unchanged" in output
    with LadybugStore(db, read_only=True) as store:
        # a streamed load keeps no tables in the cache; whatever the cache holds is of this content
        folder = cache_folder(store)
        held = [p.name for p in folder.iterdir()] if folder.exists() else []
        assert held in ([], [store.data_fingerprint()])


def test_an_unwritable_cache_only_costs_time(tmp_path):
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    with LadybugStore(db, read_only=True) as store:
        folder = cache_folder(store)
    folder.mkdir(exist_ok=True)  # a streamed load writes no cache: an empty one, then unwritable
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    folder.chmod(0o500)
    try:
        ws = open_workspace(db)
        assert ws.baseline(JOINT, "2022-06-30").total.max() > 0
    finally:
        folder.chmod(0o700)


def test_a_store_without_its_cache_is_read_back_as_arrow_and_kept(tmp_path):
    """With no disk cache (removed, or never written), a command reads the content a load
    validated through the store's Arrow read-back: the tables read_tables gives, kept on disk
    for the next command, which then scores the same."""
    import shutil

    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    with LadybugStore(db, read_only=True) as store:
        folder, expected = cache_folder(store), store.read_tables()
    shutil.rmtree(folder, ignore_errors=True)  # a streamed load writes none
    ws = open_workspace(db)
    assert (folder / ws.fingerprint / "tables" / "links.arrow").exists() and ws.tables.loaded() == []
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(getattr(ws.tables, name), frame, obj=name)
    scores = ws.baseline(JOINT, "2022-06-30").total
    np.testing.assert_array_equal(open_workspace(db).baseline(JOINT, "2022-06-30").total, scores)
    fresh = run_model(build_projection(expected, JOINT, "2022-06-30"), JOINT).total
    np.testing.assert_array_equal(scores, fresh)


def test_a_workspace_over_plain_tables_caches_in_memory(hand_tables, hand_policy, counted):
    ws = Workspace(hand_tables)
    assert ws.projection(hand_policy, "2024-01-01") is ws.projection(hand_policy, "2024-01-01")
    ws.baseline(hand_policy, "2024-01-01")
    ws.baseline(hand_policy, "2024-01-01")
    assert counted == {"build": 1, "run": 1} and ws.cache is None


def test_commands_after_score_start_from_its_projection_and_run(tmp_path, counted):
    db, joint = tmp_path / "db", POLICIES / "joint-punishment.toml"
    run("load", ZALA, "--db", db)
    run("score", "--db", db, "--policy", joint, "--as-of", "2022-06-30", "--out", tmp_path / "scores.csv")
    assert counted == {"build": 1, "run": 1}
    run("explain", "NK-abdzbEBkqyT29GyREbiURZ", "--db", db, "--policy", joint, "--as-of", "2022-06-30")
    run("report", "dossier", "NK-abdzbEBkqyT29GyREbiURZ", "--db", db, "--policy", joint, "--as-of", "2022-06-30",
        "--out", tmp_path / "dossier")
    run("whatif", "--db", db, "--policy", joint, "--as-of", "2022-06-30", "--penalize", "NK-mCEmxFfuhfdjpC8gsxH74o",
        "--out", tmp_path / "whatif")
    # + the dossier's ultimate owners (beneficial-owners), at both ends of the stake bands
    assert counted["run"] == 1 and counted["build"] == 3


def test_an_entity_question_reads_neither_the_links_nor_the_register(tmp_path):
    """Opened from the cache, a workspace reads a table only when asked for it, and finds an
    entity's links in the Arrow columns: the same records, in the same order and with the same
    labels and dtypes, as the index over the whole links table finds."""
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    lazy, whole = open_workspace(db), open_workspace(db)
    assert lazy.tables.loaded() == [] and lazy.tables.counts() == whole.tables.counts()
    assert len(whole.tables.links) == whole.tables.counts()["links"] and whole.tables.loaded() == ["links"]
    links = whole.tables.links
    ids = list(links["source"].iloc[[0, len(links) // 2]]) + list(links["target"].iloc[[-1]]) + ["no such id"]
    found = lazy.records_touching(ids)
    assert lazy.tables.loaded() == []
    indexed = whole.records_touching(ids)  # links in memory: the index over them
    assert len(found) >= 3
    pd.testing.assert_frame_equal(found, indexed)
    pd.testing.assert_frame_equal(lazy.links_touching(ids, "2022-06-30"), whole.links_touching(ids, "2022-06-30"))
    assert lazy.tables.loaded() == []
    # once the entities are read (as a dossier's names are), by the links' ends kept as entity rows
    lazy.names  # noqa: B018
    assert lazy.tables.loaded() == ["entities"] and lazy.tables.kept_link_ends() is not None
    pd.testing.assert_frame_equal(lazy.records_touching(ids), indexed)
    pd.testing.assert_frame_equal(lazy.records_touching(ids[1:2] * 2), whole.records_touching(ids[1:2]))
    pd.testing.assert_frame_equal(lazy.links_touching(ids, "2022-06-30"), whole.links_touching(ids, "2022-06-30"))
    assert lazy.tables.loaded() == ["entities"]


def test_tables_stay_readable_when_a_load_prunes_them(tmp_path):
    """A server opened before a load keeps reading the content it opened: its files are open."""
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    opened = open_workspace(db)
    expected = open_workspace(db).tables.links
    registry = gs.validate(generate_network(50, seed=1))
    folder = tmp_path / "other"
    gs.io.write_tables(registry, folder)
    run("load", folder, "--db", db)  # prunes the cache of the content `opened` holds
    assert not (cache_folder(LadybugStore(db, read_only=True)) / opened.fingerprint).exists()
    pd.testing.assert_frame_equal(opened.tables.links, expected)


def test_register_wide_facts_are_worked_out_once_per_content(tmp_path):
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    calls = []
    first = open_workspace(db)
    assert first.remembered("answer", lambda: calls.append(1) or [42, "x"]) == [42, "x"]
    assert open_workspace(db).remembered("answer", lambda: calls.append(1) or None) == [42, "x"]
    assert calls == [1]


def test_a_what_if_rescored_on_changed_penalties_works_on_tables_from_the_cache(tmp_path):
    from graphscore.analysis.scores import rescore_penalties

    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    policy = gs.parse_policy('name="r"\nlink_time="at_penalty"\n[[transmit]]\nlink="OWNS"\ndirection="backward"')
    stored, tables = open_workspace(db), open_workspace(db).tables
    plain = gs.Workspace(gs.Tables(tables.entities, tables.links, tables.penalties, validated=True))
    penalties = stored.tables.penalties.iloc[:1]
    np.testing.assert_array_equal(rescore_penalties(stored, policy, "2022-06-30", penalties),
                                  rescore_penalties(plain, policy, "2022-06-30", penalties))


def test_the_cache_keeps_the_tables_their_link_ends_and_the_ownership_matrices_exactly(tmp_path):
    """What the disk cache keeps is what a command would compute: the tables as the store reads
    them back (text repeated across rows is kept once, dictionary encoded), the links' ends as
    entity rows, and the stakes and control matrices of an ownership projection."""
    from graphscore.analysis.ownership import rule_policy
    from graphscore.engine.matrix import OWNERSHIP_MATRICES, link_ends, ownership_matrices

    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    ws = open_workspace(db)
    with LadybugStore(db, read_only=True) as store:
        fresh = store.read_tables()
    for name, frame in fresh.items():
        pd.testing.assert_frame_equal(getattr(ws.tables, name), frame, obj=name)
    assert (cache_folder(LadybugStore(db, read_only=True)) / ws.fingerprint / "tables" / "links.arrow").exists()
    kept = link_ends(ws.tables.links, ws.tables.entities)  # read from the cache, not found again
    assert all(np.array_equal(k, f) for k, f in zip(kept, link_ends(fresh.links, fresh.entities)))
    policy = rule_policy("integrated")
    first = ws.projection(policy, "2022-06-30").derived[OWNERSHIP_MATRICES]
    again = open_workspace(db).projection(policy, "2022-06-30").derived[OWNERSHIP_MATRICES]
    computed = ownership_matrices(gs.build_projection(fresh, policy, "2022-06-30"))
    for kept_matrix, first_matrix, made in zip(again, first, computed):
        assert (kept_matrix != made).nnz == 0 and (first_matrix != made).nnz == 0
        assert kept_matrix.has_canonical_format and kept_matrix.dtype == made.dtype


def test_a_cache_written_as_parquet_is_still_read(tmp_path):
    """Caches written before the tables were kept as Arrow files stay usable."""
    from graphscore.cache import _frame_path

    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    ws = open_workspace(db)
    folder = cache_folder(LadybugStore(db, read_only=True)) / ws.fingerprint / "tables"
    expected = {name: frame.copy() for name, frame in ws.tables.items()}
    for name, frame in expected.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
        (folder / f"{name}.arrow").unlink()
        assert _frame_path(folder, name).suffix == ".parquet"
    (folder / "link-ends.npy").unlink()
    old = open_workspace(db)
    assert old.tables.counts() == ws.tables.counts() and old.tables.loaded() == []
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(getattr(old.tables, name), frame, obj=name)


def test_what_a_projection_derives_at_a_cost_is_kept_for_the_next_command(tmp_path):
    # the convergence certificates, a dossier's cycles and return bound (or W's reversible form),
    # a what-if's hub bound: held mapped from disk once written, and a second process reads them
    # back, equal to what is computed without a disk cache, and answers as the first did
    from graphscore.analysis.dossier import dossier
    from graphscore.analysis.whatif import prepare_whatif
    from graphscore.cache import KEPT_DERIVED
    from graphscore.engine.paths import pair_types

    diffusion = gs.load_policy(POLICIES / "diffusion.toml")  # a spread: every kept value is derived
    general = gs.load_policy(SPREAD_SPLIT)  # a spread whose W is not reversible: its echo's cycles and bound
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    entity = "NK-abdzbEBkqyT29GyREbiURZ"

    def derive(ws) -> dict:
        """What the commands derive, by (policy, key)."""
        dossier(ws, general, entity, as_of="2022-06-30")
        pair_types(ws.projection(diffusion, "2022-06-30"))  # what a spillover report reaching many entities reads
        prepare_whatif(ws, diffusion, "2022-06-30")  # a what-if's hub bound
        return {(policy.name, key): value for policy in (diffusion, general)
                for key, value in ws.projection(policy, "2022-06-30").derived.items()}

    first = open_workspace(db)
    answer = dossier(first, diffusion, entity, as_of="2022-06-30")
    kept = {key: value for key, value in derive(first).items()
            if (key[1][0] if isinstance(key[1], tuple) else key[1]) in KEPT_DERIVED}
    # all but an explanation's path lengths: under diffusion no hop carries more than it
    # receives, so they are worked out where read and none is kept (graphscore.analysis.explain)
    assert {key[1][0] if isinstance(key[1], tuple) else key[1] for key in kept} == set(KEPT_DERIVED) - {"path lengths"}
    # the first command holds them as mapped from the files it wrote (the computed arrays let go),
    # equal to what a workspace keeping nothing on disk computes
    computed = gs.Workspace(first.tables)
    dossier(computed, diffusion, entity, as_of="2022-06-30")
    reference = derive(computed)
    assert not any(_mapped(a) for key in kept for a in _arrays_of(reference[key]))
    for key, value in kept.items():
        assert all(_mapped(array) for array in _arrays_of(value))
        _assert_same(value, reference[key])
    second = open_workspace(db)
    again = {policy.name: second.projection(policy, "2022-06-30").derived for policy in (diffusion, general)}
    assert not any(dict.keys(derived) for derived in again.values())  # nothing read until asked for
    for (name, key), value in kept.items():
        assert key in again[name]
        _assert_same(again[name][key], reference[(name, key)])
    assert dossier(second, diffusion, entity, as_of="2022-06-30").score == answer.score


def _assert_same(read, written):
    import dataclasses

    import scipy as sp

    if dataclasses.is_dataclass(written):
        assert type(read) is type(written)
        for field in dataclasses.fields(written):
            _assert_same(getattr(read, field.name), getattr(written, field.name))
    elif isinstance(written, tuple):
        assert len(read) == len(written)
        for a, b in zip(read, written):
            _assert_same(a, b)
    elif sp.sparse.issparse(written):
        assert read.format == written.format and (read != written).nnz == 0
    else:
        np.testing.assert_array_equal(read, written)


def _mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is a view of a mapped file (np.memmap somewhere down its bases)."""
    while array is not None and not isinstance(array, np.memmap):
        array = array.base if isinstance(array, np.ndarray) else None
    return array is not None


def test_a_second_command_maps_the_kept_arrays_instead_of_reading_them(tmp_path):
    """The arrays a second command finds on disk (W, s, the baseline run, what the projection
    derived, the links' ends) are mapped, not read whole: writable as computed ones are, and a
    write stays in the process (copy-on-write), never reaching the file the next command maps."""
    from graphscore.analysis.dossier import dossier
    from graphscore.engine.matrix import link_ends

    diffusion = gs.load_policy(POLICIES / "diffusion.toml")
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    entity = "NK-abdzbEBkqyT29GyREbiURZ"
    first = open_workspace(db)
    answer = dossier(first, diffusion, entity, as_of="2022-06-30")
    computed = first.projection(diffusion, "2022-06-30")
    second = open_workspace(db)
    projection, run_ = second.projection(diffusion, "2022-06-30"), second.baseline(diffusion, "2022-06-30")
    mapped = [projection.W.data, projection.W.indices, projection.W.indptr, projection.s, run_.total, run_.own,
              *link_ends(second.tables.links, second.tables.entities)]
    assert all(_mapped(array) and array.flags.writeable for array in mapped)
    assert (projection.W != computed.W).nnz == 0 and np.array_equal(projection.s, computed.s)
    derived = {key: value for key, value in computed.derived.items() if key in projection.derived}
    assert derived and all(_mapped(array) for key in derived for array in _arrays_of(projection.derived[key]))
    assert dossier(second, diffusion, entity, as_of="2022-06-30").score == answer.score
    expected = projection.s.copy()
    projection.s[:] = -1.0  # this process's pages only
    np.testing.assert_array_equal(open_workspace(db).projection(diffusion, "2022-06-30").s, expected)


def _arrays_of(value) -> list:
    import dataclasses

    import scipy as sp

    if dataclasses.is_dataclass(value):
        return [a for f in dataclasses.fields(value) for a in _arrays_of(getattr(value, f.name))]
    if isinstance(value, tuple):
        return [a for item in value for a in _arrays_of(item)]
    if sp.sparse.issparse(value):
        return [value.data, value.indices, value.indptr]
    return [value] if isinstance(value, np.ndarray) and value.size else []


def test_a_cache_written_with_npz_archives_is_still_read(tmp_path):
    """Caches written before arrays were kept one file each (``.npz`` archives) stay usable:
    the same projection, run and derived values, and a later command adds to them."""
    import shutil

    diffusion = gs.load_policy(POLICIES / "diffusion.toml")
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    entity = "NK-abdzbEBkqyT29GyREbiURZ"
    def explained() -> dict:
        answer = json.loads(run("explain", entity, "--db", db, "--policy", POLICIES / "diffusion.toml",
                                "--as-of", "2022-06-30", "--json", "-q"))
        answer["manifest"].pop("generated_at")
        return answer

    out = explained()
    first = open_workspace(db)
    expected = first.projection(diffusion, "2022-06-30"), first.baseline(diffusion, "2022-06-30")
    folder = cache_folder(LadybugStore(db, read_only=True)) / first.fingerprint
    folders = [path.parent for path in folder.rglob("names.json")]
    assert {path.name for path in folders} >= {"arrays", "run"}
    for path in folders:  # as the cache was written before
        arrays = {name: np.load(path / f"{name}.npy") for name in json.loads((path / "names.json").read_text())}
        np.savez(path.with_suffix(".npz"), **arrays)
        shutil.rmtree(path)
    again = open_workspace(db)
    projection, baseline = again.projection(diffusion, "2022-06-30"), again.baseline(diffusion, "2022-06-30")
    assert (projection.W != expected[0].W).nnz == 0 and np.array_equal(projection.s, expected[0].s)
    assert np.array_equal(baseline.total, expected[1].total) and list(baseline.columns) == list(expected[1].columns)
    assert not _mapped(projection.s)
    assert explained() == out


def test_links_read_after_the_entities_share_their_id_strings(tmp_path):
    """The links' source and target columns, read once the entities are, are the entities' own
    id strings (gathered through the link ends kept beside the tables), equal to the columns
    read alone."""
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    ws, alone = open_workspace(db), open_workspace(db)
    entities, links = ws.tables.entities, ws.tables.links
    assert alone.tables.loaded() == []
    pd.testing.assert_frame_equal(links, alone.tables.links)
    rows = pd.Index(entities["id"]).get_indexer(links["source"])
    assert all(link is entities["id"].iloc[row] for link, row in zip(links["source"], rows))
    assert not any(link is entity for link, entity in zip(alone.tables.links["source"], entities["id"].iloc[rows]))


@pytest.mark.parametrize("name", ["diffusion", "joint-punishment", "beneficial-owners", "ofac-50"])
def test_edges_found_again_from_the_cached_files_are_those_of_the_links_read(tmp_path, name):
    """A projection read back from the cache finds the links of the edges a path names in the
    Arrow files and the link ends kept beside them, without reading the links table: the same
    edge table, column for column, as from the links read whole (a rule by share, with the
    other owners of an asset read for a bounded missing stake, included)."""
    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    policy = gs.load_policy(POLICIES / f"{name}.toml")
    for missing_share in (None, MissingShare.HIGH):
        open_workspace(db).projection(policy, "2022-06-30", missing_share=missing_share)  # kept on disk
        lazy, whole = open_workspace(db), open_workspace(db)
        assert len(whole.tables.links)  # read whole first
        found, read = (ws.projection(policy, "2022-06-30", missing_share=missing_share) for ws in (lazy, whole))
        chosen = np.arange(0, found.n, 7)
        pd.testing.assert_frame_equal(found.edges_touching(chosen), read.edges_touching(chosen))
        assert "links" not in lazy.tables.loaded()
        pd.testing.assert_frame_equal(found.edges_touching(), read.edges_touching())


def test_questions_about_one_entity_read_no_links_table(tmp_path):
    """A second explanation, dossier, what-if or spillover report reads the entities (and a
    dossier the penalties) from the cache, never the whole links table, and answers exactly as
    with the links read."""
    from graphscore.analysis.dossier import dossier
    from graphscore.analysis.explain import explain
    from graphscore.analysis.spillover import spillover, whatif_spillover
    from graphscore.report.render import to_json

    db = tmp_path / "db"
    run("load", ZALA, "--db", db)
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    entity = "NK-abdzbEBkqyT29GyREbiURZ"
    questions = {
        "explain": lambda ws: explain(ws, policy, entity, as_of="2022-06-30").to_json(),
        "dossier": lambda ws: to_json(dossier(ws, policy, entity, as_of="2022-06-30")),
        "whatif": lambda ws: to_json(whatif_spillover(ws, policy, penalize=entity, as_of="2022-06-30")[1]),
        "spillover": lambda ws: to_json(spillover(ws, policy, entity=entity, as_of="2022-06-30")),
    }
    for name, ask in questions.items():
        ask(open_workspace(db))  # the first command: what it derives is kept on disk
        lazy, whole = open_workspace(db), open_workspace(db)
        assert len(whole.tables.links)
        answer, expected = ask(lazy), ask(whole)
        for report in (answer, expected):
            report.get("manifest", {}).pop("generated_at", None)
        assert answer == expected, name
        assert "links" not in lazy.tables.loaded(), name


def test_text_of_a_few_rows_of_a_large_dictionary_is_their_own_values():
    """A few rows taken from a dictionary-encoded column keep its whole dictionary: their text
    is made of their own values (None for nulls), as the whole column's is."""
    import pyarrow as pa

    from graphscore.cache import _text

    column = pa.array([f"id-{k}" if k % 7 else None for k in range(5000)]).dictionary_encode()
    rows = pa.array([3, 0, 4999, 14, 3])
    few = column.take(rows)
    assert len(few.dictionary) == len(column.dictionary) > len(few)
    assert _text(few).tolist() == _text(column)[rows.to_numpy()].tolist() == ["id-3", None, "id-4999", None, "id-3"]
    assert _text(pa.chunked_array([few])).dtype == object


def test_the_cache_encodes_text_that_repeats_and_keeps_text_that_starts_distinct(tmp_path):
    """Past SAMPLE_ROWS rows, a text column whose start is mostly distinct is written as it is
    (no dictionary built for the whole column only to be dropped), one that repeats is
    dictionary encoded, and both read back as they were, nulls included."""
    import pyarrow as pa

    from graphscore.cache import SAMPLE_ROWS, _read_frame, _write_frame

    rows = SAMPLE_ROWS + 1_000
    frame = pd.DataFrame({"name": [f"name-{k}" if k % 9 else None for k in range(rows)],
                          "kind": np.where(np.arange(rows) % 2, "company", "person").astype(object),
                          "late": [f"x-{k % 3}" if k < SAMPLE_ROWS else f"y-{k}" for k in range(rows)]})
    _write_frame(frame, tmp_path / "t.arrow")
    stored = pa.ipc.open_file(pa.memory_map(str(tmp_path / "t.arrow"))).read_all()
    assert not pa.types.is_dictionary(stored.schema.field("name").type)
    assert pa.types.is_dictionary(stored.schema.field("kind").type)
    assert pa.types.is_dictionary(stored.schema.field("late").type)  # decided on the whole column, as before
    pd.testing.assert_frame_equal(_read_frame(tmp_path / "t.arrow"), frame)
