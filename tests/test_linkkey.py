"""The compiled link-key spelling against the rule written out by hand in Python."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from graphscore.linkkey import spell_keys

texts = st.one_of(st.none(), st.text(min_size=1, max_size=12))


def by_hand(row: list[str | None]) -> str:
    return "".join("-" if text is None else f"{len(text)}:{text}" for text in row)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(texts, min_size=6, max_size=6), min_size=1, max_size=30), st.integers(0, 3))
def test_keys_spell_each_field_as_its_length_colon_text_or_a_dash(rows, skip):
    # characters, not bytes, are counted (any code point, e.g. 'é' or an emoji); arrays sliced
    # off the front (offsets not from zero) are read from their first row
    fields = [pa.array([None] * skip + [row[f] for row in rows], pa.string()).slice(skip) for f in range(6)]
    assert spell_keys(fields).to_pylist() == [by_hand(row) for row in rows]


def test_a_missing_field_and_a_field_spelling_a_dash_differ():
    fields = [pa.array([None, "-"], pa.string())] + [pa.array(["x", "x"])] * 5
    assert spell_keys(fields).to_pylist() == ["-1:x1:x1:x1:x1:x", "1:-1:x1:x1:x1:x1:x"]


def test_the_store_schema_states_the_sample_key_as_link_keys_spells_it():
    # the store's schema hash takes the sample key as text (spelling it loaded the compiled
    # kernel in every command): a change of the spelling must change that text, and the hash
    import pandas as pd

    from graphscore.model import link_keys
    from graphscore.store.ladybug import LINK_KEY_SAMPLE, SAMPLE_KEY

    assert link_keys(pd.DataFrame({k: [v] for k, v in LINK_KEY_SAMPLE.items()})).tolist() == [SAMPLE_KEY]
