"""The ``graphscore`` command. Each command parses arguments, calls one public function a
notebook could call, and writes the result; bad input becomes one line on stderr and exit code 2."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import gc
import json
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from graphscore.errors import GraphscoreError, InvalidData
from graphscore.startup import skip_unused_modules, wait_for_work_asleep

# pandas and everything numeric is imported by the commands that use it, not here: `--help`,
# and any command, starts without them (graphscore/__init__.py imports nothing either).

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Relationship-aware penalty scoring: load entities, links and penalties into a "
                       "graph store, let penalties spill over under a policy, and report why.")
report_app = typer.Typer(no_args_is_help=True, help="Reports: spillover of a penalty or an entity; an entity's dossier.")
app.add_typer(report_app, name="report")

# Piped output (a file, a test, a notebook) gets room for a whole table instead of rich's 80 columns.
stderr = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
stdout = Console(width=None if sys.stdout.isatty() else 200)

# text, not a Path: a Path would turn bolt://host into the folder bolt:/host
DbOption = Annotated[str, typer.Option("--db", help="Embedded store folder, or a Neo4j URI (bolt://HOST:PORT, "
                                                    "neo4j://...; credentials from GRAPHSCORE_NEO4J_USER and "
                                                    "GRAPHSCORE_NEO4J_PASSWORD).")]
PolicyOption = Annotated[Path, typer.Option("--policy", exists=True, dir_okay=False, help="Policy TOML file.")]
AsOfOption = Annotated[dt.datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                                        help="Date to score at (default: the policy's, else today).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output on stderr.")]
# Read by _fail_cleanly, which runs the command with long model runs allowed (engine/budget.py).
ForceOption = Annotated[bool, typer.Option("--force", help="Run a model even where it is estimated to take "
                                                           "more than an hour on this graph.")]
WaitOption = Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait while another process "
                                                                 "writes to the store.")]
# Report files written (graphscore.report.render.FORMATS); the charts are drawn for html and svg only.
FormatOption = Annotated[list[str] | None, typer.Option(
    "--format", help="Report format to write: html, md, json or svg (repeatable; default: all). JSON and Markdown "
                     "alone draw no chart and start faster.")]
DEFAULT_WAIT = 180.0  # a load of 10^7 links takes minutes: wait for it rather than fail at once
Engine = enum.Enum("Engine", {"MEMORY": "memory", "SPARK": "spark"}, type=str)  # score --engine


def _echo_warnings(caught: list) -> None:
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    caught.clear()


def _fail_cleanly(command):
    """Bad input -> one line on stderr and exit code 2; data warnings -> lines on stderr."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from graphscore.engine.budget import allow_long_runs

        # plain echo, not rich, for messages: rich would read "[[transmit]]" in one as markup
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with allow_long_runs(kwargs.get("force", False)):
                    return command(*args, **kwargs)
            except (GraphscoreError, ValueError, KeyError, OSError) as exc:
                _echo_warnings(caught)
                # every issue of a bad file on its own line, so it is fixed in one pass
                issues = exc.issues if isinstance(exc, InvalidData) else [
                    exc.args[0] if isinstance(exc, KeyError) and exc.args else _os_error(exc)]
                for issue in issues:
                    typer.echo(f"error: {issue}", err=True)
                if getattr(exc, "unlisted", 0):
                    typer.echo(f"error: {exc.unlisted:,} more issue{'s' * (exc.unlisted > 1)} of the same kinds "
                               "not listed", err=True)
                raise typer.Exit(code=2) from None
            finally:
                _echo_warnings(caught)
    return wrapper


def _os_error(exc: Exception) -> object:
    """An OSError as one line: what failed, on which file (a full disk, a read-only folder)."""
    if not isinstance(exc, OSError) or exc.strerror is None:
        return exc
    return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror


def _open(db: str, *, create: bool = False, read_only: bool = False, wait: float = 0.0):
    """The store at ``--db``; only ``load`` creates one, so a typo never scores an empty store."""
    from graphscore.store import open_store

    return open_store(db, create=create, read_only=read_only, wait=wait)


def _progress(quiet: bool):
    from graphscore.progress import TerminalProgress

    return TerminalProgress(stderr, quiet=quiet)


def _workspace(db: str, quiet: bool):
    """The store's workspace: its tables and cached projections (the store is closed at once)."""
    from graphscore.workspace import open_workspace

    workspace = open_workspace(db, progress=_progress(quiet))
    _keep_out_of_collections()
    return workspace


# Set by main(): the command runs in a process of its own (not called in another program's, as
# by a test's CliRunner, whose objects must stay collectable).
_OWN_PROCESS = False


def _keep_out_of_collections() -> None:
    """In a process of its own, take what the command has made so far (the libraries, the
    workspace) out of the garbage collector's full collections: they live as long as the
    command, and with numba, scipy and pandas imported each full collection took 0.15-0.3 s,
    several of them during a report that makes 10^5 Python objects (a spillover report at 10^6
    links in one process took 4.1-8.3 s, 3.2 s with the libraries and workspace frozen, on the
    same loaded machine)."""
    if _OWN_PROCESS:
        gc.freeze()


def _as_of(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _write_table(frame: pd.DataFrame, out: Path) -> None:
    from graphscore.io.tables import write_table

    write_table(frame, out)


def _write_scores(scores: pd.DataFrame, source, policy, out: Path) -> Path:
    """Scores, and beside them ``<name>.manifest.json``: which policy, data and date made them."""
    import pandas as pd

    from graphscore.analysis.manifest import build_manifest

    _write_table(scores, out)
    manifest = build_manifest(source, policy, pd.Timestamp(scores.attrs["as_of"]))
    manifest["notes"] = scores.attrs["notes"]
    # model-wide figures, e.g. DebtRank's systemic impact
    manifest["model_figures"] = {k: v for k, v in scores.attrs.items() if k not in ("as_of", "notes")}
    from graphscore.io.tables import write_atomically

    text = json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False)
    return write_atomically(out.with_name(out.stem + ".manifest.json"),
                            lambda target: target.write_text(text, encoding="utf-8"))


def _cell(value) -> str:
    import pandas as pd

    from graphscore.report.markup import number

    return number(value) if isinstance(value, float) or value is None or value is pd.NA else str(value)


def _top(frame: pd.DataFrame, column: str, limit: int) -> pd.DataFrame:
    """The first ``limit`` rows of ``frame.sort_values(column, ascending=False)``, in its order
    (pandas sorts a column alone as it sorts the frame by that column), without moving every
    row of every column: the whole frame sorted took 1.2 s of a first score at 10^7 links."""
    order = frame[column].reset_index(drop=True).sort_values(ascending=False).index[:limit]
    return frame.take(order)


SHOWN = 15  # rows of a table a command prints


def _show(frame: pd.DataFrame, title: str | None = None, limit: int = SHOWN, console: Console = stderr,
          rows: int | None = None) -> None:
    """A table with ids and numbers whole on one line and long names wrapped between words,
    never folded into unreadable columns; "none" for an empty one. ``rows``: how many rows
    ``frame`` is the top of (default its own)."""
    import pandas as pd

    if frame.empty:
        console.print(f"{title}: none" if title else "none")
        return
    table = Table(title=title, title_justify="left")
    shown = frame.head(limit)
    for column in frame.columns:
        texts = shown[column].map(_cell)
        widest = int(max(texts.str.len().max(), len(str(column))))
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        if numeric or widest <= 26:  # ids, numbers, kinds: whole, on one line
            table.add_column(str(column), no_wrap=True, min_width=widest, justify="right" if numeric else "left")
        else:  # names and paths: wrapped between words on a narrow terminal, never inside one
            table.add_column(str(column), overflow="ellipsis", max_width=48)
    for row in shown.itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    console.print(table)
    rows = len(frame) if rows is None else rows
    if rows > limit:
        console.print(f"... {rows - limit} more rows")


@app.command()
@_fail_cleanly
def load(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="Folders of CSV/Parquet tables, FtM .json/.jsonl "
                                                                  "files, or BODS 0.4 statements (file or folder).")],
    db: DbOption = "graphscore.db",
    wait: WaitOption = DEFAULT_WAIT,
    quiet: QuietOption = False,
) -> None:
    """Load tables into the store: all inputs, or nothing.

    New rows are copied in bulk; rows already stored are compared by key and only the changed
    ones rewritten, so loading the same input twice writes nothing."""
    from graphscore.cache import DiskCache
    from graphscore.io import read_paths, table_chunks
    from graphscore.io.digest import input_digest
    from graphscore.workspace import cache_folder

    progress = _progress(quiet)
    store = _open(db, create=True, wait=wait)
    try:
        folder = cache_folder(store)
        # one folder of tables or one FtM file is validated and written chunk by chunk
        chunks = table_chunks(paths) if hasattr(store, "load_chunks") else None
        summary = store.load_chunks(chunks, progress=progress, digest=input_digest(paths)) \
            if chunks is not None else None
        if summary is None:
            recorded = store.data_fingerprint()
            stored = DiskCache(folder, recorded).load_tables() if folder is not None and recorded else None
            known = stored.entities[["id", "kind"]] if stored is not None else store.entity_kinds()
            with progress.step(f"reading and validating {len(paths)} input(s)",
                               f"read and validated {len(paths)} input(s)"):
                tables = read_paths(paths, known_entities=known)
            summary = store.load(tables, stored=stored, progress=progress)
    except BaseException:
        if getattr(store, "created", False):  # a failed first load leaves no empty store behind
            store.discard()
        else:
            store.close()
        raise
    store.close()
    if folder is not None:  # the next command starts from these tables, not from a read-back
        cache = DiskCache(folder, summary.fingerprint)
        cache.prune()
        if summary.tables is not None:  # a streamed load holds no tables: the next command reads them back
            cache.save_tables(summary.tables)
    written = ", ".join(f"{name} {w['new']:,} new, {w['changed']:,} changed, {w['unchanged']:,} unchanged"
                        for name, w in summary.written.items())
    stdout.print(f"{written}; store now holds {summary.stored}")


@app.command()
@_fail_cleanly
def score(
    policy: PolicyOption,
    out: Annotated[Path | None, typer.Option("--out", help="Scores file (.csv or .parquet); without it, "
                                                          "the top of the table is printed.")] = None,
    db: DbOption = "graphscore.db",
    as_of: AsOfOption = None,
    top: Annotated[int, typer.Option(help="Rows printed.")] = 15,
    wait: WaitOption = DEFAULT_WAIT,
    quiet: QuietOption = False,
    force: ForceOption = False,
    engine: Annotated[Engine, typer.Option(help="memory (the store's workspace) or spark (Parquet tables in, "
                                                 "Parquet out).")] = "memory",
    spark_master: Annotated[str, typer.Option(help="Spark master URL, with --engine spark.")] = "local[2]",
    input_folder: Annotated[Path | None, typer.Option("--input", exists=True, file_okay=False,
                                                      help="Folder of Parquet tables, with --engine spark.")] = None,
) -> None:
    """Score every entity under POLICY: id, name, kind, own, echo, inherited, total; written back to the store
    (or, with --engine spark, read from --input Parquet tables and written as a Parquet folder)."""
    from graphscore.analysis.scores import score as score_tables
    from graphscore.policy import load_policy

    rules = load_policy(policy)
    if engine is Engine.SPARK:
        return _score_on_spark(rules, input_folder, out, spark_master, _as_of(as_of), top)
    workspace = _workspace(db, quiet)
    scores = score_tables(workspace, rules, _as_of(as_of))
    if out is not None:
        _write_scores(scores, workspace, rules, out)  # the files first: a full disk must not leave the store ahead
    # The register, its projection and runs are done with: let them go before the write-back,
    # whose peak is LadybugDB's buffer pool on top of what this process still holds.
    del workspace
    gc.collect()
    with _open(db, wait=wait) as store, _progress(quiet).step(
            "writing the scores back to the store", "wrote the scores back to the store", total=len(scores)) as advance:
        store.write_scores(scores, policy=rules, as_of=dt.date.fromisoformat(scores.attrs["as_of"]))
        advance(len(scores))  # the store holds every score now, though it wrote only those that changed
    for note in scores.attrs["notes"]:
        typer.echo(f"note: {note}", err=True)
    for figure, value in scores.attrs.items():
        if figure not in ("as_of", "notes"):
            stdout.print(f"{figure.replace('_', ' ')}: {value:.6g}")
    _show(_top(scores, "total", top), f"top scores under {rules.name} as of {scores.attrs['as_of']}",
          limit=top, console=stderr if out else stdout, rows=len(scores))
    if out is not None:
        stdout.print(f"wrote {out}")


def _score_on_spark(rules, input_folder: Path | None, out: Path | None, master: str, as_of: dt.date | None,
                    top: int) -> None:
    from graphscore.spark import score_parquet

    if input_folder is None or out is None:
        raise ValueError("--engine spark reads Parquet tables and writes a Parquet folder: give --input FOLDER "
                         "and --out FOLDER.")
    result = score_parquet(input_folder, rules, out, master=master, as_of=as_of)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    for figure, value in result.figures.items():
        stdout.print(f"{figure.replace('_', ' ')}: {'none' if value is None else f'{value:.6g}'}")
    head = result.frame.orderBy(result.frame["total"].desc(), "id").limit(top).toArrow().to_pandas()
    _show(head, f"top scores under {rules.name} as of {result.as_of} (spark)", limit=top)
    stdout.print(f"wrote {out}")


@app.command()
@_fail_cleanly
def whatif(
    policy: PolicyOption,
    out: Annotated[Path, typer.Option("--out", help="Output folder: changes.csv and the report files.")],
    db: DbOption = "graphscore.db",
    penalize: Annotated[str | None, typer.Option(help="Entity id to penalise.")] = None,
    severity: Annotated[float, typer.Option(help="Severity of the new penalty.")] = 1.0,
    lift: Annotated[str | None, typer.Option(help="Penalty id to lift.")] = None,
    as_of: AsOfOption = None,
    accuracy: Annotated[float, typer.Option(
        help="Under a spread policy, the change at every entity is within this times the changed penalty "
             "(proven); a looser one is answered sooner on a large register.")] = 1e-6,
    formats: FormatOption = None,
    quiet: QuietOption = False,
    force: ForceOption = False,
) -> None:
    """What changes if an entity is penalised (--penalize) or a penalty lifted (--lift)."""
    from graphscore.analysis.spillover import whatif_spillover
    from graphscore.policy import load_policy
    from graphscore.report.render import FORMATS, write_report

    if (penalize is None) == (lift is None):
        raise ValueError("give exactly one of --penalize or --lift.")
    rules = load_policy(policy)
    workspace = _workspace(db, quiet)
    with _progress(quiet).step("computing the change", "computed the change"):
        changes, report = whatif_spillover(workspace, rules, penalize=penalize, severity=severity, lift=lift,
                                           as_of=_as_of(as_of), accuracy=accuracy)
    out.mkdir(parents=True, exist_ok=True)
    # largest change first; only the columns written, and the rows shown, taken in that order
    # (the whole table reordered, then its columns taken, copied 3.2x10^6 rows twice at 10^7 links)
    order = changes["delta"].abs().sort_values(ascending=False).index
    _write_table(changes.loc[order, ["id", "before", "after", "delta"]], out / "changes.csv")
    paths = write_report(report, out, formats=formats or FORMATS)
    _show(changes.loc[order[:SHOWN], ["id", "name", "before", "after", "delta"]], report.title, rows=len(changes))
    if changes.empty and penalize and rules.combine.value == "max":
        typer.echo(f"note: under combine = \"max\" only an entity's heaviest penalty counts, and {penalize} "
                   f"has one at least as heavy as severity {severity:g} in force", err=True)
    for note in changes.attrs["notes"]:  # how the change was computed, and its proven error bound
        typer.echo(f"note: {note}", err=True)
    stdout.print(f"wrote {out / 'changes.csv'} and {', '.join(str(p) for p in paths.values())}")


@report_app.command("spillover")
@_fail_cleanly
def report_spillover(
    policy: PolicyOption,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    db: DbOption = "graphscore.db",
    entity: Annotated[str | None, typer.Option(help="Entity whose current penalties to report on.")] = None,
    penalty: Annotated[str | None, typer.Option(help="Penalty id to report on.")] = None,
    as_of: AsOfOption = None,
    formats: FormatOption = None,
    quiet: QuietOption = False,
    force: ForceOption = False,
) -> None:
    """Spillover of one entity's penalties (--entity) or one penalty (--penalty): HTML, Markdown, JSON, SVG."""
    from graphscore.analysis.spillover import spillover
    from graphscore.policy import load_policy
    from graphscore.report.render import FORMATS, write_report

    if (entity is None) == (penalty is None):
        raise ValueError("give exactly one of --entity or --penalty.")
    rules = load_policy(policy)
    workspace = _workspace(db, quiet)
    with _progress(quiet).step("building the spillover report", "built the spillover report"):
        report = spillover(workspace, rules, entity=entity, penalty=penalty, as_of=_as_of(as_of))
    paths = write_report(report, out, formats=formats or FORMATS)
    stdout.print(f"wrote {', '.join(str(p) for p in paths.values())}")


@app.command()
@_fail_cleanly
def explain(
    entity: Annotated[str, typer.Argument(help="Entity id.")],
    policy: PolicyOption,
    db: DbOption = "graphscore.db",
    as_of: AsOfOption = None,
    top: Annotated[int, typer.Option(help="Paths listed per contribution.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Take ENTITY's score apart: each penalty's contribution and the paths that carry it."""
    from graphscore.analysis.explain import explain as explain_score
    from graphscore.policy import load_policy

    rules = load_policy(policy)
    workspace = _workspace(db, quiet)
    with _progress(quiet).step(f"explaining {entity}", f"explained {entity}"):
        why = explain_score(workspace, rules, entity, as_of=_as_of(as_of), top_paths=top)
    if as_json:
        typer.echo(json.dumps(why.to_json(), indent=2, ensure_ascii=False, default=str))
        return
    stdout.print(f"{why.name} ({why.entity}): score {_cell(why.total)}, own {_cell(why.own)}, under "
                 f"{rules.name} as of {why.manifest['as_of']}"
                 + ("; contributions add up to the score" if why.exact else ""))
    table = why.table()
    _show(table.reindex(columns=["source_name", "contribution", "share", "strongest_path"]), "contributions",
          limit=30, console=stdout)
    for note in why.notes:
        typer.echo(f"note: {note}", err=True)


@app.command()
@_fail_cleanly
def compare(
    policy: Annotated[list[Path], typer.Option("--policy", exists=True, dir_okay=False,
                                               help="Policy TOML file; give two or more, or one with --sweep.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder for the report files.")],
    db: DbOption = "graphscore.db",
    sweep: Annotated[str | None, typer.Option(help="Parameter sweep of the one policy, e.g. damping=0.1,0.3,0.5.")]
    = None,
    threshold: Annotated[float | None, typer.Option(help="Collateral threshold (default: each policy's).")] = None,
    as_of: AsOfOption = None,
    quiet: QuietOption = False,
    force: ForceOption = False,
) -> None:
    """Compare policies (or one policy's parameter sweep): rank correlation, top movers, collateral impact."""
    from graphscore.analysis.compare import compare_policies, parse_sweep, sweep as sweep_policy
    from graphscore.policy import load_policy
    from graphscore.report.render import write_report

    if sweep is not None and len(policy) != 1:
        raise ValueError("--sweep varies one policy: give exactly one --policy.")
    if sweep is None and len(policy) < 2:
        raise ValueError("give two or more --policy files, or one with --sweep.")
    policies = [load_policy(path) for path in policy]
    workspace = _workspace(db, quiet)
    with _progress(quiet).step("scoring every variant", "scored every variant"):
        report = (sweep_policy(workspace, policies[0], *parse_sweep(sweep), as_of=_as_of(as_of), threshold=threshold)
                  if sweep else compare_policies(workspace, policies, as_of=_as_of(as_of), threshold=threshold))
    paths = write_report(report, out)
    _show(report.variants[["label", "status", "reached", "collateral", "mean_inherited"]], "variants", console=stdout)
    stdout.print(f"wrote {', '.join(str(p) for p in paths.values())}")
    failed = report.variants[report.variants["status"] != "ok"]
    for label, error in zip(failed["label"], failed["error"]):
        typer.echo(f"error: variant {label} failed: {error}", err=True)
    if len(failed):
        raise typer.Exit(code=1)


@app.command("ownership")
@_fail_cleanly
def ownership_command(
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).")],
    db: DbOption = "graphscore.db",
    rule: Annotated[str | None, typer.Option(help="ofac, eu, uk or integrated (the shipped policies ofac-50, "
                                                  "eu-owned-controlled, uk-owned-controlled, beneficial-owners).")] = None,
    compare: Annotated[bool, typer.Option(help="Write where the rules disagree, and why.")] = False,
    as_of: AsOfOption = None,
    quiet: QuietOption = False,
) -> None:
    """Entities an ownership rule flags beyond the listed ones (id, name, rule, status, stake bands, via), or --compare."""
    from graphscore.analysis.ownership import compare_rules, flagged_entities

    if compare == (rule is not None):
        raise ValueError("give --rule ofac|eu|uk|integrated, or --compare.")
    workspace = _workspace(db, quiet)
    with _progress(quiet).step("applying the ownership rule(s)", "applied the ownership rule(s)"):
        table = (compare_rules(workspace, as_of=_as_of(as_of)) if compare
                 else flagged_entities(workspace, rule, as_of=_as_of(as_of)))
    _write_table(table, out)
    title = "where the rules disagree" if compare else f"flagged by {rule} beyond the listed entities"
    _show(table.drop(columns=["id", "thresholds"], errors="ignore"), f"{title}, as of {table.attrs['as_of']}")
    thresholds = table.attrs["thresholds"] if compare else {rule: table.attrs["threshold"]}
    _notes([f"threshold, {name}: {text}" for name, text in thresholds.items()] + table.attrs["notes"])
    stdout.print(f"wrote {out} ({len(table)} rows)")


def _notes(notes: list[str]) -> None:
    """What a table's numbers rest on (thresholds, links without a share), one line each."""
    for note in notes:
        stdout.print(f"note: {note}", markup=False, highlight=False)


@app.command()
@_fail_cleanly
def find(
    name: Annotated[str, typer.Argument(help="Part of a name (any script; case and accents ignored) or an id.")],
    db: DbOption = "graphscore.db",
    limit: Annotated[int, typer.Option(help="Entities listed.")] = 20,
    quiet: QuietOption = False,
) -> None:
    """Entities whose name or id matches NAME, with their ids: best matches first."""
    from graphscore.serve.search import NameIndex

    workspace = _workspace(db, quiet)
    ids = NameIndex(workspace.entities).search(name, limit)
    columns = [c for c in ("name", "kind", "jurisdiction") if c in workspace.entities.columns]
    found = workspace.entities.loc[ids, columns].reset_index()
    _show(found, f"entities matching {name!r}", limit=limit, console=stdout)


@app.command()
@_fail_cleanly
def ubo(
    entity: Annotated[str, typer.Argument(help="Entity id.")],
    db: DbOption = "graphscore.db",
    threshold: Annotated[float, typer.Option(help="Smallest integrated stake listed.")] = 0.25,
    persons_only: Annotated[bool, typer.Option(help="Natural persons only (beneficial owners).")] = False,
    as_of: AsOfOption = None,
    quiet: QuietOption = False,
) -> None:
    """Ultimate owners of ENTITY: integrated stakes through every chain, and the chains that carry them."""
    from graphscore.analysis.ownership import ultimate_owners_table

    workspace = _workspace(db, quiet)
    owners = ultimate_owners_table(workspace, entity, as_of=_as_of(as_of), threshold=threshold,
                                   persons_only=persons_only)
    # A band is shown by its two ends, never as one number.
    _show(owners.drop(columns=["id", "kind", "stake"]), f"owners of {entity} with {threshold:.0%} or more, as of {owners.attrs['as_of']}",
          console=stdout)
    _notes(owners.attrs["notes"])


@app.command()
@_fail_cleanly
def export(
    format: Annotated[str, typer.Option("--format", help="graphml (Gephi, networkx), neo4j-csv (a folder for "
                                                         "neo4j-admin database import) or ftm (FollowTheMoney JSON lines).")],
    out: Annotated[Path, typer.Option("--out", help="Output file (graphml, ftm) or folder (neo4j-csv).")],
    db: DbOption = "graphscore.db",
    quiet: QuietOption = False,
) -> None:
    """Export the store's entities, links and penalties in an exchange format."""
    from graphscore.io import EXPORT_FORMATS, check_export_format, export as export_tables

    check_export_format(format)  # before the store is read
    workspace = _workspace(db, quiet)
    with _progress(quiet).step(f"writing {format}", f"wrote {format}"):
        path = export_tables(workspace.tables, format, out)
    counts = ", ".join(f"{n:,} {name}" for name, n in workspace.tables.counts().items())
    stdout.print(f"wrote {path} ({EXPORT_FORMATS[format][2]}: {counts})", soft_wrap=True)


def _parameter(item: str) -> tuple[str, object]:
    """``name=value`` (text), ``name:int=value``, ``name:float=value`` or ``name:date=YYYY-MM-DD``."""
    key, sep, value = item.partition("=")
    name, _, kind = key.partition(":")
    if not sep or not name:
        raise ValueError(f"--param {item!r} is not name=value (or name:int=, name:float=, name:date=).")
    parsers = {"": str, "str": str, "int": int, "float": float, "date": dt.date.fromisoformat}
    if kind not in parsers:
        raise ValueError(f"--param {item!r}: type {kind!r} is not one of int, float, date.")
    try:
        return name, parsers[kind](value)
    except ValueError:
        raise ValueError(f"--param {item!r}: {value!r} is not a {kind}.") from None


@report_app.command("dossier")
@_fail_cleanly
def report_dossier(
    entity: Annotated[str, typer.Argument(help="Entity id.")],
    policy: PolicyOption,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    db: DbOption = "graphscore.db",
    as_of: AsOfOption = None,
    formats: FormatOption = None,
    quiet: QuietOption = False,
    force: ForceOption = False,
) -> None:
    """Dossier of ENTITY: own penalties, inherited exposure with paths, owners, officers, neighbourhood."""
    from graphscore.analysis.dossier import dossier
    from graphscore.policy import load_policy
    from graphscore.report.render import FORMATS, write_report

    rules = load_policy(policy)
    workspace = _workspace(db, quiet)
    with _progress(quiet).step("assembling the dossier", "assembled the dossier"):
        report = dossier(workspace, rules, entity, as_of=_as_of(as_of))
    paths = write_report(report, out, formats=formats or FORMATS)
    stdout.print(f"wrote {', '.join(str(p) for p in paths.values())}")


@app.command()
@_fail_cleanly
def trace(
    start: Annotated[str, typer.Argument(help="Entity id at one end.")],
    end: Annotated[str, typer.Argument(help="Entity id at the other end.")],
    db: DbOption = "graphscore.db",
    as_of: AsOfOption = None,
    max_links: Annotated[int, typer.Option(help="Longest chain searched.")] = 6,
    limit: Annotated[int, typer.Option(help="Most chains listed.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the chains as JSON.")] = False,
    quiet: QuietOption = False,
) -> None:
    """How START and END are connected: every shortest chain of links between them, any type,
    either direction, each step with the records joining it (links of any date unless --as-of)."""
    from graphscore.analysis.trace import trace as trace_connections

    workspace = _workspace(db, quiet)
    found = trace_connections(workspace, start, end, as_of=_as_of(as_of), max_links=max_links, limit=limit)
    if as_json:
        typer.echo(json.dumps(found.to_json(), indent=2, ensure_ascii=False, default=str))
        return
    if found.length is not None:
        typer.echo(f"{found.chains} shortest chain(s) of {found.length} link(s) between {start} and {end}, "
                   f"links {'in force on ' + found.as_of if found.as_of else 'of any date'}:")
    for number, chain in found.steps.groupby("chain", sort=True):
        typer.echo(f"chain {number + 1}\n  {chain['from_name'].iloc[0]} ({chain['from_id'].iloc[0]})")
        for step in chain.itertuples(index=False):
            typer.echo(f"    {step.links}\n  {step.to_name} ({step.to_id})")
    for note in found.notes:
        typer.echo(f"note: {note}", err=True)


@app.command()
@_fail_cleanly
def cypher(
    query: Annotated[str | None, typer.Argument(help="Cypher query; values as $name with --param.")] = None,
    file: Annotated[Path | None, typer.Option("--file", exists=True, dir_okay=False,
                                              help="Read the query from a file, e.g. cypher/queries/owners.cypher.")] = None,
    db: DbOption = "graphscore.db",
    param: Annotated[list[str] | None, typer.Option(
        help="Query parameter: name=value (text), name:int=, name:float= or name:date= (repeatable).")] = None,
    write: Annotated[bool, typer.Option(help="Allow the query to change the store (it opens read-only otherwise).")]
    = False,
) -> None:
    """Run a Cypher query on the store and print the result as a table."""
    if (query is None) == (file is None):
        raise ValueError("give a query or --file, not both.")
    text = query if file is None else file.read_text(encoding="utf-8")
    parameters = dict(_parameter(item) for item in param or [])
    with _open(db, read_only=not write, wait=DEFAULT_WAIT if write else 0.0) as store:
        try:
            result = store.query(text, parameters)
        except RuntimeError as exc:  # the database's own parse or bind error: bad input, one line
            raise ValueError(str(exc).splitlines()[0]) from None
        if write:  # the content may have changed outside a load: cached results no longer hold
            store.forget_fingerprint()
    _show(result, limit=1_000, console=stdout)


@app.command()
@_fail_cleanly
def synthetic(
    out: Annotated[Path, typer.Option("--out", help="Folder for entities.csv, links.csv, penalties.csv.")],
    companies: Annotated[int, typer.Option(help="Number of companies.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same registry.")] = 0,
    as_of: Annotated[dt.datetime, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                               help="Date the registry describes.")] = dt.datetime(2024, 6, 30),
    parquet: Annotated[bool, typer.Option(help="Write Parquet instead of CSV.")] = False,
) -> None:
    """Write a synthetic corporate registry (see graphscore.synthetic) as tables ready for `load`."""
    from graphscore.io import write_tables
    from graphscore.synthetic import generate_network

    with _progress(False).step(f"generating {companies} companies (seed {seed})",
                               f"generated {companies} companies (seed {seed})"):
        tables = generate_network(companies, seed=seed, as_of=as_of.date().isoformat())
    paths = write_tables(tables, out, format="parquet" if parquet else "csv")
    stdout.print(f"{tables.counts()} -> {', '.join(str(p) for p in paths)}")


@app.command()
@_fail_cleanly
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("graphscore-demo"),
    policy: Annotated[Path | None, typer.Option(help="Policy (default: the shipped joint-punishment policy).")] = None,
    entity: Annotated[str, typer.Option(help="Entity whose spillover to report (default: LLC CST, "
                                              "the maker of Zala drones).")] = "NK-abdzbEBkqyT29GyREbiURZ",
    as_of: Annotated[dt.datetime, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                               help="Date to score at (fixed, so the demo is reproducible).")]
    = dt.datetime(2022, 6, 30),
    quiet: QuietOption = False,
) -> None:
    """Build a fresh embedded store from the bundled OpenSanctions sample, score it, and report."""
    from graphscore.analysis.scores import score as score_tables
    from graphscore.analysis.spillover import spillover
    from graphscore.bundled import POLICIES, ZALA_FTM, bundled_path
    from graphscore.io import read_paths
    from graphscore.policy import load_policy
    from graphscore.report.render import write_report
    from graphscore.cache import DiskCache
    from graphscore.store.ladybug import LadybugStore
    from graphscore.workspace import Workspace, cache_folder

    started = time.perf_counter()
    source = bundled_path(*ZALA_FTM)
    rules = load_policy(policy or bundled_path(*POLICIES, "joint-punishment.toml"))
    store_path = out / "store"
    if store_path.exists():
        shutil.rmtree(store_path)  # "fresh": the demo never scores a store left by an earlier run
    out.mkdir(parents=True, exist_ok=True)
    progress = _progress(quiet)
    with LadybugStore(store_path) as store:
        with progress.step(f"reading {source.name} (OpenSanctions, FollowTheMoney)",
                           f"read {source.name} (OpenSanctions, FollowTheMoney)"):
            tables = read_paths([source])
        summary = store.load(tables, progress=progress)
        workspace = Workspace(summary.tables, fingerprint=summary.fingerprint, progress=progress,
                              cache=DiskCache(cache_folder(store), summary.fingerprint))
        scores = score_tables(workspace, rules, as_of.date())
        store.write_scores(scores, policy=rules, as_of=as_of.date())
    with progress.step("building the spillover report", "built the spillover report"):
        report = spillover(workspace, rules, entity=entity, as_of=as_of.date())
    _write_scores(scores, workspace, rules, out / "scores.csv")
    paths = write_report(report, out)
    _show(_top(scores, "total", 10)[["name", "kind", "own", "echo", "inherited", "total"]],
          f"Top scores under {rules.name} as of {scores.attrs['as_of']}", limit=10, console=stdout, rows=len(scores))
    stdout.print(f"store: {store_path} holds {summary.stored}")
    stdout.print(f"scores: {out / 'scores.csv'}")
    for kind, path in paths.items():
        stdout.print(f"{kind}: {path}")
    stdout.print(f"done in {time.perf_counter() - started:.1f} s")


@app.command()
@_fail_cleanly
def serve(
    db: DbOption = "graphscore.db",
    policy: Annotated[list[Path] | None, typer.Option("--policy", exists=True, dir_okay=False,
                                                      help="Policy TOML file (repeatable; default: the shipped ones).")]
    = None,
    host: Annotated[str, typer.Option(help="Address to listen on; other than loopback, a token is required.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8000,
    quiet: QuietOption = False,
) -> None:
    """Local web application: search, dossiers, the network, as-of dates and what-ifs (read-only)."""
    import secrets
    import socket

    import uvicorn

    from graphscore.bundled import POLICIES, bundled_path
    from graphscore.policy import load_policy
    from graphscore.serve import is_loopback
    from graphscore.serve.app import create_app

    paths = policy or sorted(bundled_path(*POLICIES).glob("*.toml"), key=lambda p: p.stem != "joint-punishment")
    token = None if is_loopback(host) else secrets.token_urlsafe(18)
    rules = [load_policy(path) for path in paths]
    workspace = _workspace(db, quiet)
    # prepared before listening: the first search, entity or what-if must not wait for the register's work
    web = create_app(workspace, rules, token=token, prepare=True)
    _keep_out_of_collections()  # and what the preparation made, for the server's lifetime
    # bound here, so the address printed is the one listening (port 0 gets a free one)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # listening before the address is printed: a bound socket not yet listening refuses whoever
    # connects as soon as they read it (uvicorn's own listen on this socket comes later)
    sock.listen(2048)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    stdout.print(f"graphscore serve: http://{shown}:{sock.getsockname()[1]}/" + (f"?token={token}" if token else "")
                 + "  (Ctrl-C stops)", soft_wrap=True)
    uvicorn.Server(uvicorn.Config(web, log_level="warning")).run(sockets=[sock])


# Allocations between two collections of the youngest generation (CPython's default is 700),
# and collections of each generation between two of the next (10 and 10). The libraries are
# imported inside the commands, after main() froze what was loaded: at the defaults, a spillover
# report at 10^6 links made seven full collections walking them (0.65 s of CPU), with these none.
GC_THRESHOLDS = (10_000, 10, 10)


def main() -> None:  # console-script entry point
    global _OWN_PROCESS
    _OWN_PROCESS = True
    # What is loaded so far (the libraries' modules, classes and functions) lives as long as the
    # process: the collector need never walk it again.
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    skip_unused_modules()  # what the libraries import and no command uses (graphscore/startup.py)
    wait_for_work_asleep()  # numba's idle threads sleep between parallel loops (graphscore/startup.py)
    try:
        app()
    finally:
        # The process ends here: the collector's last pass over every object left (the
        # interpreter's, at exit) finds nothing worth freeing, and took 0.4 s of CPU after an
        # explain on a 10^6-link store. Frozen, they are skipped; exit handlers still run.
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
