"""Ownership tables for investigators: who each rule flags and through what, where the rules
disagree and why, and an entity's ultimate owners with the chains that carry their stakes.

Examples
--------
Listed Xavier holds 30 % of Target directly and 49 % of Mid, which holds 70 % of Target:

>>> import pandas as pd, graphscore as gs
>>> tables = gs.validate(gs.Tables(
...     pd.DataFrame({"id": ["x", "m", "c"], "kind": ["person", "company", "company"],
...                   "name": ["Xavier", "Mid Ltd", "Target Ltd"]}),
...     pd.DataFrame({"source": ["x", "x", "m"], "target": ["c", "m", "c"], "type": "OWNS",
...                   "share": [0.3, 0.49, 0.7]}),
...     pd.DataFrame({"id": ["s"], "entity": ["x"], "kind": ["sanction"], "severity": [1.0],
...                   "start": ["2020-01-01"]})))
>>> row = compare_rules(tables, as_of="2024-01-01").iloc[0]
>>> row["name"], bool(row["ofac"]), round(float(row["integrated_stake"]), 3)
('Target Ltd', False, 0.643)
>>> row["why"]
'OFAC: 30% held directly by blocked owners (stakes through non-blocked Mid Ltd count zero); integrated: 64.3%'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from graphscore.bundled import POLICIES, bundled_path
from graphscore.engine import ownership
from graphscore.engine.matrix import Projection, ownership_matrices
from graphscore.engine.run import run_model
from graphscore.model import Tables
from graphscore.policy import ModelName, Policy, load_policy
from graphscore.workspace import Workspace, as_workspace

__all__ = ["RULES", "rule_policy", "flagged_entities", "compare_rules", "ultimate_owners_table"]

# The shipped policy that states each rule, its sources and its simplifications.
RULES = {"ofac": "ofac-50.toml", "eu": "eu-owned-controlled.toml", "integrated": "beneficial-owners.toml"}


def rule_policy(rule: str) -> Policy:
    """The shipped policy of an ownership rule: ``"ofac"``, ``"eu"`` or ``"integrated"``."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}.")
    return load_policy(bundled_path(*POLICIES, RULES[rule]))


def _percent(stake: float) -> str:
    return f"{stake:.0%}" if abs(stake * 100 - round(stake * 100)) < 1e-9 else f"{stake:.1%}"


def _direct_holders(D, flagged: np.ndarray, asset: int, names) -> str:
    """"A 30 % + B 20 %": the flagged direct owners whose stakes the OFAC and EU rules add up."""
    column = D[:, [asset]].tocoo()
    holders = sorted(((float(w), int(o)) for o, w in zip(column.row, column.data) if flagged[o]), reverse=True)
    return " + ".join(f"{names[o]} {_percent(w)}" for w, o in holders)


def _chain_text(chain: list[int], D, names) -> str:
    return " -> ".join(
        [names[chain[0]]] + [f"[{_percent(float(D[a, b]))}] {names[b]}" for a, b in zip(chain, chain[1:])])


def _strongest_chains(D, listed: np.ndarray, asset: int, names, top: int = 2) -> str:
    """The chains from listed owners into ``asset`` that carry the largest stakes."""
    owners = np.flatnonzero(listed & ownership._ancestors(D, np.array([asset])))
    chains = [chain for owner in owners if owner != asset
              for chain in ownership.ownership_chains(D, int(owner), asset, top=top)]
    chains.sort(key=lambda item: -item[1])
    return "; ".join(f"{_chain_text(chain, D, names)} ({_percent(product)})" for chain, product in chains[:top])


class _Names:
    """Entity names by row of a projection, looked up as they are needed: one answer names a
    few entities, and should not pay for naming the register."""

    def __init__(self, ws: Workspace, projection: Projection):
        self._names, self._ids = ws.names, projection.ids

    def __getitem__(self, idx: int):
        return self._names[self._ids[idx]]


def _projection(ws: Workspace, policy: Policy, as_of) -> tuple[Projection, object, object, np.ndarray]:
    projection = ws.projection(policy, as_of)
    D, C = ownership_matrices(projection)
    return projection, D, C, projection.s > 0


def flagged_entities(source: Tables | Workspace, rule: str, *, as_of: dt.date | str | None = None,
                     policy: Policy | None = None, entity_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Entities a rule flags beyond the listed ones: ``id, name, rule, stake, via``.

    ``stake`` is what the rule adds up (OFAC and EU: direct stakes of blocked or frozen owners;
    integrated: the listed group's stake through any chains), ``via`` the owners or chains
    that carry it (or the CONTROLS link, under the EU rule). ``source`` is validated tables or a
    :class:`~graphscore.workspace.Workspace`; ``entity_ids`` limits the table to those entities
    (the rows are those of the whole table, found without tracing every other one).
    """
    ws = as_workspace(source)
    policy = policy or rule_policy(rule)
    projection, D, C, listed = _projection(ws, policy, as_of)
    run = ws.baseline(policy, as_of)
    names = _Names(ws, projection)
    flagged = run.total > 0
    chosen = flagged & ~listed
    if entity_ids is not None:
        only = np.zeros(projection.n, dtype=bool)
        only[[projection.index_of(entity_id) for entity_id in entity_ids]] = True
        chosen &= only
    rows = []
    for idx in np.flatnonzero(chosen):
        if policy.model is ModelName.OWNERSHIP_INTEGRATED:
            via = _strongest_chains(D, listed, int(idx), names)
        elif run.columns.get("controlled", np.zeros(len(flagged), bool))[idx]:
            controllers = C[:, [idx]].tocoo().row
            via = "controlled by " + ", ".join(names[int(c)] for c in controllers if flagged[c])
        else:
            via = _direct_holders(D, flagged, int(idx), names)
        rows.append({"id": projection.ids[idx], "name": names[int(idx)], "rule": rule,
                     "stake": float(run.columns["stake"][idx]), "via": via})
    frame = pd.DataFrame(rows, columns=["id", "name", "rule", "stake", "via"])
    frame.attrs["as_of"] = projection.as_of.date().isoformat()
    return frame.sort_values(["stake", "name"], ascending=[False, True], ignore_index=True)


def compare_rules(source: Tables | Workspace, *, as_of: dt.date | str | None = None) -> pd.DataFrame:
    """Where the OFAC, EU and integrated readings disagree, and why.

    One row per entity that one rule flags and another does not: ``id, name, ofac, eu,
    integrated`` (flags), ``ofac_stake, eu_stake, integrated_stake`` and ``why``. The integrated
    reading is compared at OFAC's 50 %, so that only the way stakes are counted differs.
    """
    ws = as_workspace(source)
    ofac_policy, eu_policy = rule_policy("ofac"), rule_policy("eu")
    integrated_policy = replace(rule_policy("integrated"), stake_threshold=0.5)
    projection, D, C, listed = _projection(ws, ofac_policy, as_of)
    # All three rules read OFAC's projection (one list of owners, one set of stakes), so that
    # only the rule differs: the EU and integrated runs are not those policies' own baselines.
    ofac_run = ws.baseline(ofac_policy, as_of)
    eu_run, integrated_run = run_model(projection, eu_policy), run_model(projection, integrated_policy)
    names = _Names(ws, projection)
    flags = np.column_stack([ofac_run.total, eu_run.total, integrated_run.total]) > 0
    rows = []
    for idx in np.flatnonzero(flags.any(axis=1) & ~flags.all(axis=1) & ~listed):
        ofac_flag, eu_flag, integrated_flag = flags[idx]
        ofac_stake = float(ofac_run.columns["stake"][idx])
        integrated_stake = float(integrated_run.columns["stake"][idx])
        reasons = []
        if integrated_flag != ofac_flag:
            intermediaries = [names[int(o)] for o in D[:, [idx]].tocoo().row if not ofac_run.total[o] > 0]
            reasons.append(f"OFAC: {_percent(ofac_stake)} held directly by blocked owners (stakes through "
                           f"non-blocked {', '.join(intermediaries) or 'owners'} count zero); "
                           f"integrated: {_percent(integrated_stake)}")
        if eu_flag != ofac_flag:
            if eu_run.columns["controlled"][idx]:
                reasons.append("EU: controlled by a listed or frozen party (CONTROLS); OFAC does not block on control")
            else:
                reasons.append(f"exactly {_percent(ofac_stake)}: OFAC blocks at 50 % or more, "
                               f"the EU reading in force ({'50 % or more' if eu_policy.eu_inclusive else 'more than 50 %'}) "
                               f"{'does' if eu_flag else 'does not'}")
        rows.append({"id": projection.ids[idx], "name": names[int(idx)], "ofac": bool(ofac_flag),
                     "eu": bool(eu_flag), "integrated": bool(integrated_flag), "ofac_stake": ofac_stake,
                     "eu_stake": float(eu_run.columns["stake"][idx]), "integrated_stake": integrated_stake,
                     "why": "; ".join(reasons)})
    frame = pd.DataFrame(rows, columns=["id", "name", "ofac", "eu", "integrated", "ofac_stake", "eu_stake",
                                        "integrated_stake", "why"])
    frame.attrs["as_of"] = projection.as_of.date().isoformat()
    return frame


def ultimate_owners_table(source: Tables | Workspace, entity_id: str, *, as_of: dt.date | str | None = None,
                          threshold: float = 0.25, persons_only: bool = False) -> pd.DataFrame:
    """Owners of ``entity_id`` with an integrated stake of ``threshold`` or more:
    ``id, name, kind, stake, chains`` (the chains carrying most of each stake), largest first.
    ``source`` is validated tables or a :class:`~graphscore.workspace.Workspace`."""
    ws = as_workspace(source)
    policy = rule_policy("integrated")
    projection, D, _, _ = _projection(ws, policy, as_of)
    asset = projection.index_of(entity_id)
    names = _Names(ws, projection)
    entities = ws.entities
    if persons_only:
        kinds = entities["kind"].to_numpy() if entities.index.equals(projection.ids) else \
            entities["kind"].reindex(projection.ids).to_numpy()
        mask = kinds == "person"
    else:
        mask = None
    owners = ownership.ultimate_owners(D, asset, threshold=threshold, owners_mask=mask)
    rows = [{"id": projection.ids[o], "name": names[o], "kind": entities["kind"].get(projection.ids[o]), "stake": stake,
             "chains": "; ".join(f"{_chain_text(chain, D, names)} ({_percent(product)})"
                                 for chain, product in ownership.ownership_chains(D, o, asset, top=3))}
            for o, stake in owners]
    frame = pd.DataFrame(rows, columns=["id", "name", "kind", "stake", "chains"])
    frame.attrs["as_of"] = projection.as_of.date().isoformat()
    return frame
