"""Print benchmark rows as an aligned text table (shared by the scripts in benchmarks/)."""

from __future__ import annotations


def print_table(rows: list[dict]) -> None:
    """One line per row, columns in the order of the first row; floats to 3 significant digits."""
    columns = list(rows[0])

    def cell(value) -> str:
        return "-" if value is None else (f"{value:.3g}" if isinstance(value, float) else str(value))

    widths = [max(len(c), *(len(cell(r[c])) for r in rows)) for c in columns]
    print(" | ".join(c.rjust(w) for c, w in zip(columns, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(cell(row[c]).rjust(w) for c, w in zip(columns, widths)))


def print_markdown(rows: list[dict]) -> None:
    """The rows as a Markdown table (cells already formatted), for pasting into the README."""
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(row.values()) + " |")
