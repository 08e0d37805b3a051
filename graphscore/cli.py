"""The ``graphscore`` command. Each command parses arguments, calls one public function a
notebook could call, and writes the result; bad input becomes one line on stderr and exit code 2."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from graphscore.errors import GraphscoreError, InvalidData

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Relationship-aware penalty scoring: load entities, links and penalties into a "
                       "graph store, let penalties spill over under a policy, and report why.")
report_app = typer.Typer(no_args_is_help=True, help="Reports: spillover of a penalty or an entity; an entity's dossier.")
app.add_typer(report_app, name="report")

stderr = Console(stderr=True)
stdout = Console()

DbOption = Annotated[Path, typer.Option("--db", help="Embedded store folder (or a Neo4j bolt:// URI).")]
PolicyOption = Annotated[Path, typer.Option("--policy", exists=True, dir_okay=False, help="Policy TOML file.")]
AsOfOption = Annotated[dt.datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                                        help="Date to score at (default: the policy's, else today).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output on stderr.")]
WaitOption = Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait while another process "
                                                                 "writes to the store.")]
DEFAULT_WAIT = 180.0
Engine = enum.Enum("Engine", {"MEMORY": "memory", "SPARK": "spark"}, type=str)  # score --engine  # a load of 10^7 links takes minutes: wait for it rather than fail at once


def _echo_warnings(caught: list) -> None:
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    caught.clear()


def _fail_cleanly(command):
    """Bad input -> one line on stderr and exit code 2; data warnings -> lines on stderr."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        # plain echo, not rich, for messages: rich would read "[[transmit]]" in one as markup
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return command(*args, **kwargs)
            except (GraphscoreError, ValueError, KeyError, FileNotFoundError) as exc:
                _echo_warnings(caught)
                # every issue of a bad file on its own line, so it is fixed in one pass
                issues = exc.issues if isinstance(exc, InvalidData) else [
                    exc.args[0] if isinstance(exc, KeyError) and exc.args else exc]
                for issue in issues:
                    typer.echo(f"error: {issue}", err=True)
                raise typer.Exit(code=2) from None
            finally:
                _echo_warnings(caught)
    return wrapper


def _open(db: Path, *, create: bool = False, read_only: bool = False, wait: float = 0.0):
    """The store at ``--db``; only ``load`` creates one, so a typo never scores an empty store."""
    from graphscore.store import open_store

    return open_store(db, create=create, read_only=read_only, wait=wait)


def _progress(quiet: bool):
    from graphscore.progress import TerminalProgress

    return TerminalProgress(stderr, quiet=quiet)


def _workspace(db: Path, quiet: bool):
    """The store's workspace: its tables and cached projections (the store is closed at once)."""
    from graphscore.workspace import open_workspace

    return open_workspace(db, progress=_progress(quiet))


def _as_of(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _write_table(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)


def _write_scores(scores: pd.DataFrame, source, policy, out: Path) -> Path:
    """Scores, and beside them ``<name>.manifest.json``: which policy, data and date made them."""
    from graphscore.analysis.manifest import build_manifest

    _write_table(scores, out)
    manifest = build_manifest(source, policy, pd.Timestamp(scores.attrs["as_of"]))
    manifest["notes"] = scores.attrs["notes"]
    # model-wide figures, e.g. DebtRank's systemic impact
    manifest["model_figures"] = {k: v for k, v in scores.attrs.items() if k not in ("as_of", "notes")}
    path = out.with_name(out.stem + ".manifest.json")
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def _show(frame: pd.DataFrame, title: str | None = None, limit: int = 15, console: Console = stderr) -> None:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    if len(frame) > limit:
        console.print(f"... {len(frame) - limit} more rows")


@app.command()
@_fail_cleanly
def load(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="Folders of CSV/Parquet tables or FtM .json/.jsonl files.")],
    db: DbOption = Path("graphscore.db"),
    wait: WaitOption = DEFAULT_WAIT,
    quiet: QuietOption = False,
) -> None:
    """Load tables into the store: all inputs in one transaction, or nothing.

    New rows are copied in bulk; rows already stored are compared by key and only the changed
    ones rewritten, so loading the same input twice writes nothing."""
    from graphscore.cache import DiskCache
    from graphscore.io import read_paths
    from graphscore.workspace import cache_folder

    progress = _progress(quiet)
    store = _open(db, create=True, wait=wait)
    try:
        folder = cache_folder(store)
        recorded = store.data_fingerprint()
        stored = DiskCache(folder, recorded).load_tables() if folder is not None and recorded else None
        known = stored.entities[["id", "kind"]] if stored is not None else store.entity_kinds()
        with progress.step(f"reading and validating {len(paths)} input(s)", f"read and validated {len(paths)} input(s)"):
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
        cache.save_tables(summary.tables)
    written = ", ".join(f"{name} {w['new']:,} new, {w['changed']:,} changed, {w['unchanged']:,} unchanged"
                        for name, w in summary.written.items())
    stdout.print(f"{written}; store now holds {summary.stored}")


@app.command()
@_fail_cleanly
def score(
    policy: PolicyOption,
    out: Annotated[Path, typer.Option("--out", help="Scores file (.csv or .parquet).")],
    db: DbOption = Path("graphscore.db"),
    as_of: AsOfOption = None,
    wait: WaitOption = DEFAULT_WAIT,
    quiet: QuietOption = False,
    engine: Annotated[Engine, typer.Option(help="memory (the store's workspace) or spark (Parquet tables in, "
                                                 "Parquet out).")] = "memory",
    spark_master: Annotated[str, typer.Option(help="Spark master URL, with --engine spark.")] = "local[2]",
    input_folder: Annotated[Path | None, typer.Option("--input", exists=True, file_okay=False,
                                                      help="Folder of Parquet tables, with --engine spark.")] = None,
) -> None:
    """Score every entity under POLICY: id, name, kind, own, inherited, total; written back to the store
    (or, with --engine spark, read from --input Parquet tables and written as a Parquet folder)."""
    from graphscore.analysis.scores import score as score_tables
    from graphscore.policy import load_policy

    rules = load_policy(policy)
    if engine is Engine.SPARK:
        return _score_on_spark(rules, input_folder, out, spark_master, _as_of(as_of))
    workspace = _workspace(db, quiet)
    scores = score_tables(workspace, rules, _as_of(as_of))
    _write_scores(scores, workspace, rules, out)  # the files first: a full disk must not leave the store ahead
    with _open(db, wait=wait) as store, _progress(quiet).step(
            "writing the scores back to the store", "wrote the scores back to the store", total=len(scores)) as advance:
        advance(store.write_scores(scores, policy=rules, as_of=dt.date.fromisoformat(scores.attrs["as_of"])))
    for note in scores.attrs["notes"]:
        typer.echo(f"note: {note}", err=True)
    for figure, value in scores.attrs.items():
        if figure not in ("as_of", "notes"):
            stdout.print(f"{figure.replace('_', ' ')}: {value:.6g}")
    _show(scores.sort_values("total", ascending=False), f"top scores as of {scores.attrs['as_of']}")
    stdout.print(f"wrote {out}")


def _score_on_spark(rules, input_folder: Path | None, out: Path, master: str, as_of: dt.date | None) -> None:
    from graphscore.spark import score_parquet

    if input_folder is None:
        raise ValueError("--engine spark reads Parquet tables: give --input FOLDER.")
    result = score_parquet(input_folder, rules, out, master=master, as_of=as_of)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    for figure, value in result.figures.items():
        stdout.print(f"{figure.replace('_', ' ')}: {'none' if value is None else f'{value:.6g}'}")
    top = result.frame.orderBy(result.frame["total"].desc(), "id").limit(15).toArrow().to_pandas()
    _show(top, f"top scores as of {result.as_of} (spark)")
    stdout.print(f"wrote {out}")


@app.command()
@_fail_cleanly
def whatif(
    policy: PolicyOption,
    out: Annotated[Path, typer.Option("--out", help="Output folder: changes.csv and the report files.")],
    db: DbOption = Path("graphscore.db"),
    penalize: Annotated[str | None, typer.Option(help="Entity id to penalise.")] = None,
    severity: Annotated[float, typer.Option(help="Severity of the new penalty.")] = 1.0,
    lift: Annotated[str | None, typer.Option(help="Penalty id to lift.")] = None,
    as_of: AsOfOption = None,
    quiet: QuietOption = False,
) -> None:
    """What changes if an entity is penalised (--penalize) or a penalty lifted (--lift)."""
    from graphscore.analysis.spillover import spillover
    from graphscore.analysis.whatif import whatif as whatif_tables
    from graphscore.policy import load_policy
    from graphscore.report.render import write_report

    if (penalize is None) == (lift is None):
        raise ValueError("give exactly one of --penalize or --lift.")
    rules = load_policy(policy)
    workspace = _workspace(db, quiet)
    with _progress(quiet).step("computing the change", "computed the change"):
        changes = whatif_tables(workspace, rules, penalize=penalize, severity=severity, lift=lift,
                                as_of=_as_of(as_of))
        report = spillover(workspace, rules, penalize=penalize, severity=severity, lift=lift,
                           as_of=_as_of(as_of))
    out.mkdir(parents=True, exist_ok=True)
    changed = changes[changes["delta"] != 0]
    changed = changed.loc[changed["delta"].abs().sort_values(ascending=False).index]
    _write_table(changed[["id", "before", "after", "delta"]], out / "changes.csv")
    paths = write_report(report, out)
    _show(changed[["id", "name", "before", "after", "delta"]], report.title)
    stdout.print(f"wrote {out / 'changes.csv'} and {', '.join(str(p) for p in paths.values())}")


@report_app.command("spillover")
@_fail_cleanly
def report_spillover(
    policy: PolicyOption,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    db: DbOption = Path("graphscore.db"),
    entity: Annotated[str | None, typer.Option(help="Entity whose current penalties to report on.")] = None,
    penalty: Annotated[str | None, typer.Option(help="Penalty id to report on.")] = None,
    as_of: AsOfOption = None,
    quiet: QuietOption = False,
) -> None:
    """Spillover of one entity's penalties (--entity) or one penalty (--penalty): HTML, Markdown, JSON, PNG."""
    from graphscore.analysis.spillover import spillover
    from graphscore.policy import load_policy
    from graphscore.report.render import write_report

    if (entity is None) == (penalty is None):
        raise ValueError("give exactly one of --entity or --penalty.")
    rules = load_policy(policy)
    workspace = _workspace(db, quiet)
    with _progress(quiet).step("building the spillover report", "built the spillover report"):
        report = spillover(workspace, rules, entity=entity, penalty=penalty, as_of=_as_of(as_of))
    paths = write_report(report, out)
    stdout.print(f"wrote {', '.join(str(p) for p in paths.values())}")


@app.command()
@_fail_cleanly
def explain(
    entity: Annotated[str, typer.Argument(help="Entity id.")],
    policy: PolicyOption,
    db: DbOption = Path("graphscore.db"),
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
    stdout.print(f"{why.name} ({why.entity}): score {why.total:.6g}, own {why.own:.6g}, under "
                 f"{rules.name} as of {why.manifest['as_of']}"
                 + ("; contributions add up to the score" if why.exact else ""))
    table = why.table()
    if len(table):
        _show(table[["source_name", "contribution", "share", "strongest_path"]],
              limit=30, console=stdout)
    for note in why.notes:
        typer.echo(f"note: {note}", err=True)


@app.command()
@_fail_cleanly
def compare(
    policy: Annotated[list[Path], typer.Option("--policy", exists=True, dir_okay=False,
                                               help="Policy TOML file; give two or more, or one with --sweep.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder for the report files.")],
    db: DbOption = Path("graphscore.db"),
    sweep: Annotated[str | None, typer.Option(help="Parameter sweep of the one policy, e.g. damping=0.1,0.3,0.5.")]
    = None,
    threshold: Annotated[float | None, typer.Option(help="Collateral threshold (default: each policy's).")] = None,
    as_of: AsOfOption = None,
    quiet: QuietOption = False,
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


@app.command("ownership")
@_fail_cleanly
def ownership_command(
    out: Annotated[Path, typer.Option("--out", help="Output table (.csv or .parquet).")],
    db: DbOption = Path("graphscore.db"),
    rule: Annotated[str | None, typer.Option(help="ofac, eu or integrated (the shipped policies "
                                                  "ofac-50, eu-owned-controlled, beneficial-owners).")] = None,
    compare: Annotated[bool, typer.Option(help="Write where the three rules disagree, and why.")] = False,
    as_of: AsOfOption = None,
    quiet: QuietOption = False,
) -> None:
    """Entities an ownership rule flags beyond the listed ones (id, name, rule, stake, via), or --compare."""
    from graphscore.analysis.ownership import compare_rules, flagged_entities

    if compare == (rule is not None):
        raise ValueError("give --rule ofac|eu|integrated, or --compare.")
    workspace = _workspace(db, quiet)
    with _progress(quiet).step("applying the ownership rule(s)", "applied the ownership rule(s)"):
        table = (compare_rules(workspace, as_of=_as_of(as_of)) if compare
                 else flagged_entities(workspace, rule, as_of=_as_of(as_of)))
    _write_table(table, out)
    title = "where the rules disagree" if compare else f"flagged by {rule} beyond the listed entities"
    _show(table.drop(columns=["id"]), f"{title}, as of {table.attrs['as_of']}")
    stdout.print(f"wrote {out} ({len(table)} rows)")


@app.command()
@_fail_cleanly
def ubo(
    entity: Annotated[str, typer.Argument(help="Entity id.")],
    db: DbOption = Path("graphscore.db"),
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
    _show(owners.drop(columns=["id"]), f"owners of {entity} with {threshold:.0%} or more, as of {owners.attrs['as_of']}",
          console=stdout)


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
    db: DbOption = Path("graphscore.db"),
    as_of: AsOfOption = None,
    quiet: QuietOption = False,
) -> None:
    """Dossier of ENTITY: own penalties, inherited exposure with paths, owners, officers, neighbourhood."""
    from graphscore.analysis.dossier import dossier
    from graphscore.policy import load_policy
    from graphscore.report.render import write_report

    rules = load_policy(policy)
    workspace = _workspace(db, quiet)
    with _progress(quiet).step("assembling the dossier", "assembled the dossier"):
        report = dossier(workspace, rules, entity, as_of=_as_of(as_of))
    paths = write_report(report, out)
    stdout.print(f"wrote {', '.join(str(p) for p in paths.values())}")


@app.command()
@_fail_cleanly
def cypher(
    query: Annotated[str | None, typer.Argument(help="Cypher query; values as $name with --param.")] = None,
    file: Annotated[Path | None, typer.Option("--file", exists=True, dir_okay=False,
                                              help="Read the query from a file, e.g. cypher/queries/owners.cypher.")] = None,
    db: DbOption = Path("graphscore.db"),
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
    _show(scores.sort_values("total", ascending=False)[["name", "kind", "own", "inherited", "total"]],
          f"Top scores under {rules.name} as of {scores.attrs['as_of']}", limit=10, console=stdout)
    stdout.print(f"store: {store_path} holds {summary.stored}")
    stdout.print(f"scores: {out / 'scores.csv'}")
    for kind, path in paths.items():
        stdout.print(f"{kind}: {path}")
    stdout.print(f"done in {time.perf_counter() - started:.1f} s")


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    sys.exit(main())
