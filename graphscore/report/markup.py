"""How report values are written, whatever the report: JSON-ready values, numbers as text,
Markdown that data cannot break, and the Jinja environment every HTML template renders in.

Shared by :mod:`~graphscore.report.render_spillover`, :mod:`~graphscore.report.render_compare`
and :mod:`~graphscore.report.render_dossier`, so the reports look alike and escape alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CHART_TITLES", "plain", "records", "number", "percent", "check_top", "day", "shown", "md", "md_code", "md_table",
           "md_manifest", "md_charts", "environment", "template_cache", "svg_uri"]

# Figure stem -> caption: the file names charts.save_charts writes and the reports' captions (here,
# not in charts, so a command that only formats numbers loads no chart code).
CHART_TITLES = {"spillover_histogram": "Distribution of score change",
                "spillover_by_hop": "Spillover by hop distance",
                "compare_scatter": "Scores: baseline against each variant",
                "compare_sweep": "Collateral and mean inherited score along the sweep",
                "dossier_neighbourhood": "Neighbourhood: links in force at the as-of date"}


# ---- JSON ---------------------------------------------------------------------------------------

def plain(value):
    """``value`` with only JSON types left: numpy scalars and arrays become Python ones, NaN,
    infinities and missing values ``None``, dates ISO strings.

    Examples
    --------
    >>> plain({"a": np.float64("nan"), "b": [np.int64(2), float("inf")], "c": pd.NaT, 1: True})
    {'a': None, 'b': [2, None], 'c': None, '1': True}
    """
    kind = type(value)  # the plain types first, by identity: a report of 3 x 10^5 rows is millions of values
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, dt.date):  # datetime and Timestamp too
        return value.isoformat()
    raise TypeError(f"cannot write a {type(value).__name__} to JSON: {value!r}")


def records(frame: pd.DataFrame) -> list[dict]:
    """A table as JSON-ready rows: ``plain(frame.to_dict(orient="records"))``, read a column at a
    time (pandas' ``to_dict`` boxes each value of a text column on its own: 0.2 s of a 10^6-link
    dossier's 4,258 rows of exposure, a quarter of that by column).

    Examples
    --------
    >>> frame = pd.DataFrame({"id": ["a", None], "share": [0.5, float("nan")], "n": pd.array([1, None], dtype="Int64")})
    >>> records(frame)
    [{'id': 'a', 'share': 0.5, 'n': 1}, {'id': None, 'share': None, 'n': None}]
    """
    if not len(frame.columns):
        return [{} for _ in range(len(frame))]
    names = frame.columns.tolist()  # a list: zipping each row with the Index itself costs as much again
    columns = [frame.iloc[:, k].tolist() for k in range(len(names))]
    return plain([dict(zip(names, row)) for row in zip(*columns)])


# ---- text ---------------------------------------------------------------------------------------

# Below this a number is solver residue, not a result: the local what-if is exact to 1e-9 per
# unit of penalty (graphscore.analysis.whatif.PUSH_TOL), and iterative solves stop near it.
RESOLUTION = 1e-9


def number(value, *, signed: bool = False) -> str:
    """Four significant digits, a dash when missing, 0 below :data:`RESOLUTION`.

    Examples
    --------
    >>> number(0.117739), number(0.117739, signed=True), number(None), number(float("nan"))
    ('0.1177', '+0.1177', '—', '—')
    >>> number(8.07e-11), number(-3e-12, signed=True)
    ('0', '0')
    """
    if value is None or value is pd.NA or not math.isfinite(value):
        return "—"
    if abs(value) < RESOLUTION:
        return "0"  # not "+0"
    return f"{value:+.4g}" if signed else f"{value:.4g}"


def percent(value) -> str:
    """A fraction as a percentage: whole when it is one, else to one decimal; a dash when missing.

    Examples
    --------
    >>> percent(0.5), percent(0.0125), percent(1 / 3), percent(None)
    ('50%', '1.2%', '33.3%', '—')
    """
    if value is None or value is pd.NA or not math.isfinite(value):
        return "—"
    whole = round(value * 100)
    return f"{whole}%" if abs(value * 100 - whole) < 1e-9 else f"{value:.1%}"


def check_top(top: int) -> None:
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}.")


def day(value) -> str:
    """An ISO date (from JSON-ready data) as its day, a dash when open."""
    return str(value)[:10] if value else "–"


# Unicode's bidirectional controls (UAX #9): in a name, a right-to-left override (U+202E) makes
# "Acme \u202eLTD gnikoob" read "Acme booking DTL", and can flip the order of the words and
# numbers after it in a table row ("Trojan Source", Boucher & Anderson 2021). Reports show them
# as visible marks instead.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """Text with every bidirectional control replaced by a visible mark naming it.

    Examples
    --------
    >>> shown("Acme \u202eLTD")
    'Acme [U+202E]LTD'
    """
    return _BIDI_CONTROLS.sub(lambda found: f"[U+{ord(found.group()):04X}]", text)


# ---- Markdown -----------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|"})


def md(text) -> str:
    r"""Data text made inert in Markdown: punctuation that would format, link, open raw HTML or
    split a table cell is backslash-escaped (CommonMark escapes any ASCII punctuation).

    Examples
    --------
    >>> print(md("A|B <script>"))
    A\|B \<script\>
    """
    if text is None or text is pd.NA or (isinstance(text, float) and math.isnan(text)):
        return "—"
    return shown(" ".join(str(text).split()).translate(_MD_SPECIAL))


def md_code(text) -> str:
    """Text as a Markdown code span (raw HTML stays literal inside one), fenced with more
    backticks than it contains; ``|`` is still escaped because GFM splits table cells first."""
    text = shown(" ".join(str(text or "").split()))
    if not text:
        return ""
    fence = "`" * (1 + max(map(len, re.findall("`+", text)), default=0))
    text = text.replace("|", "\\|")
    return f"{fence} {text} {fence}"


def md_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A GitHub-flavoured table; cells must already be escaped."""
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def md_manifest(manifest: Mapping, policies: Iterable[Mapping]) -> str:
    """The manifest box of every report as a Markdown table: one row per policy, labelled when
    the report compares several (``label`` key), then the data and dates they share."""
    counts = manifest.get("data_counts", {})
    rows = [["graphscore version", md(manifest["graphscore_version"])]]
    for policy in policies:
        name = f"{md(policy['label'])}: " if policy.get("label") else ""
        rows.append(["policy", f"{name}{md(policy['name'])} ({md(policy['model'])}), hash `{policy['hash']}`"])
    rows += [["data fingerprint", f"`{manifest['data_fingerprint']}`"],
             ["data", ", ".join(f"{n} {md(table)}" for table, n in counts.items())],
             ["as of", md(manifest["as_of"])],
             ["generated at", md(manifest["generated_at"])]]
    return md_table(["Manifest", ""], rows)


def md_charts(charts: Mapping[str, str | Path]) -> str:
    """Image links to chart files, captioned with their titles; paths are written as given."""
    return "\n\n".join(f"![{CHART_TITLES.get(stem, stem)}]({Path(path).as_posix()})" for stem, path in charts.items())


# ---- HTML ---------------------------------------------------------------------------------------

def template_cache(directory: str | None = None):
    """Jinja's cache of compiled templates in ``directory``, by default this user's own temporary
    folder (Jinja's default: ``_jinja2-cache-UID``, private to the user), or None where there is
    none to be had.

    Each command is a process of its own and compiled the page's templates again (0.02-0.03 s
    of CPU a template, with Jinja's import 0.1 s). A cached template is used
    only while the checksum of its source is the one it was compiled from, and Jinja stamps
    each file with its bytecode version and Python's, so a changed template or another Python
    compiles again. A cache that cannot be read or written is not an error: the page is compiled as
    before.
    """
    import jinja2

    class Cache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except OSError:  # nothing read: the template is compiled from its source
                pass

        def dump_bytecode(self, bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        return Cache(directory)
    except (OSError, RuntimeError):  # no private folder can be made (RuntimeError: not one's own)
        return None


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja environment of ``report/templates`` (``base.html.j2`` and the pages extending it)."""
    import jinja2  # here: commands that only format numbers (explain, score) need not load it

    # Names, paths and notes come from the data: autoescape keeps them text, never markup.
    # finalize: every value a template prints shows its bidirectional controls, as Markdown does.
    env = jinja2.Environment(loader=jinja2.PackageLoader("graphscore.report", "templates"),
                             bytecode_cache=template_cache(),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined,
                             finalize=lambda value: shown(value) if type(value) is str else value)
    env.filters["number"] = number
    env.filters["signed"] = functools.partial(number, signed=True)
    env.filters["percent"] = percent
    return env


def svg_uri(svg: str) -> str:
    """An SVG document as a ``data:`` URI, so a page shows the image without fetching it (as an
    image: nothing in it runs, whatever the data put in its text)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
