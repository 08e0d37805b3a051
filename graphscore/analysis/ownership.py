"""Ownership tables for investigators: who each rule flags and through what, where the rules
disagree and why, and an entity's ultimate owners with the chains that carry their stakes.

A stake that is a range, or missing, is carried as a band: ``stake_low`` and ``stake_high``
(a missing stake is at most what the other owners' recorded stakes leave, see
:func:`graphscore.timeline.stake_bounds`), and ``stake`` is left empty unless the two
ends agree, so that a band is never shown as one number. ``status`` says how sure the answer is:
``flagged`` where the low end already reaches the rule's threshold, ``possible`` where only the
high end does, ``review`` where an ownership cycle lets the rule hold both ways (see
:func:`graphscore.engine.ownership.ofac_review`). ``attrs["notes"]`` names the links without a
share and the band each was given.

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
>>> row = compare_rules(tables, as_of="2024-01-01").set_index("name").loc["Target Ltd"]
>>> bool(row["ofac"]), bool(row["integrated"]), round(float(row["integrated_stake"]), 3)
(False, True, 0.643)
>>> row["why"]
'integrated: 64.3% through any chains; OFAC: 30% held directly by blocked owners (Mid Ltd is not blocked, so its 70% counts zero)'
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy as sp

from graphscore.bundled import POLICIES, bundled_path
from graphscore.engine import ownership
from graphscore.engine.matrix import Projection, link_timeline, ownership_matrices, resolve_as_of
from graphscore.engine.run import ModelRun, run_model
from graphscore.timeline import active, stake_ends
from graphscore.model import Tables
from graphscore.policy import MissingShare, ModelName, Policy, load_policy
from graphscore.workspace import Workspace, as_workspace

__all__ = ["RULES", "rule_policy", "rule_threshold", "flagged_entities", "compare_rules",
           "ultimate_owners_table", "prepare_owners"]

# The shipped policy that states each rule, its sources and its simplifications.
RULES = {"ofac": "ofac-50.toml", "eu": "eu-owned-controlled.toml", "uk": "uk-owned-controlled.toml",
         "integrated": "beneficial-owners.toml"}
_LABEL = {"ofac": "OFAC", "eu": "EU", "uk": "UK", "integrated": "integrated"}
# Most links without a share named one by one in a table's notes.
_NOTES_NAMED = 10


def rule_policy(rule: str) -> Policy:
    """The shipped policy of an ownership rule: ``"ofac"``, ``"eu"``, ``"uk"`` or ``"integrated"``."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}.")
    return load_policy(bundled_path(*POLICIES, RULES[rule]))


def rule_threshold(policy: Policy, as_of: dt.date) -> str:
    """The threshold a rule applies at ``as_of``, in words: what a reader must know to check a flag.

    Examples
    --------
    >>> rule_threshold(rule_policy("eu"), dt.date(2024, 7, 2)), rule_threshold(rule_policy("eu"), dt.date(2024, 7, 3))
    ('more than 50% in aggregate, or control', '50% or more in aggregate, or control')
    """
    limit = _percent(policy.stake_limit)
    if policy.model is ModelName.OWNERSHIP_OFAC:
        return f"{limit} or more in aggregate, direct stakes of blocked owners"
    if policy.model is ModelName.OWNERSHIP_EU:
        words = f"{limit} or more" if policy.eu_inclusive_at(as_of) else f"more than {limit}"
        return f"{words} in aggregate, or control"
    if policy.model is ModelName.OWNERSHIP_UK:
        return f"more than {limit} held by one designated person, or control"
    return f"{limit} or more through any chains"


def _percent(stake: float) -> str:
    return f"{stake:.0%}" if abs(stake * 100 - round(stake * 100)) < 1e-9 else f"{stake:.1%}"


def _band(low: float, high: float) -> str:
    """"50%", or "50-75%" for a band: never one end of a band alone."""
    if abs(high - low) <= 1e-9:
        return _percent(low)
    return f"{_percent(low).rstrip('%')}-{_percent(high)}"


def _point(low: float, high: float) -> float:
    """The stake where both ends agree, NaN for a band."""
    return float(low) if abs(high - low) <= 1e-9 else float("nan")


class _Names:
    """Entity names by row of a projection (or of a block of its rows: ``rows``), looked up as
    they are needed: one answer names a few entities, and should not pay for naming the register.
    A projection's rows are the entities table's, so a name is read by position: by id, the
    first lookup would hash every id of the register (1.5 s at 10^7 links)."""

    def __init__(self, ws: Workspace, rows: np.ndarray | None = None):
        self._names, self._rows = ws.tables.entities["name"].to_numpy(), rows

    def __getitem__(self, idx: int):
        return self._names[idx if self._rows is None else self._rows[idx]]


@dataclass(frozen=True)
class _Reading:
    """One rule on one date at both ends of every stake band (the same run twice where every
    stake is recorded or the policy does not bracket them)."""

    policy: Policy
    projection: Projection
    high_projection: Projection  # the projection itself where nothing is bracketed
    low: ModelRun | None  # None where only the stakes were asked for
    high: ModelRun | None
    D_low: object
    D_high: object
    C: object

    @property
    def listed(self) -> np.ndarray:
        return self.projection.s > 0

    def column(self, name: str, high: bool = False) -> np.ndarray:
        run = self.high if high else self.low
        return run.columns[name] if name in run.columns else self._absent

    @functools.cached_property
    def _absent(self) -> np.ndarray:
        """A column a rule does not have (no "review" under the UK rule): made once, not per row asked."""
        return np.zeros(self.projection.n, dtype=bool)

    def status(self, idx: int) -> str:
        if self.low.total[idx] > 0:
            return "flagged"
        if self.column("review")[idx] or self.column("review", high=True)[idx]:
            return "review"
        return "possible" if self.high.total[idx] > 0 else ""


def _has_bands(ws: Workspace, policy: Policy, as_of) -> bool:
    """Whether any OWNS link in force at ``as_of`` lacks a share (so its two ends differ)."""
    day = resolve_as_of(as_of, policy)

    def compute() -> bool:
        links = ws.tables.links
        # the OWNS records by the codes the projections read (no text compared), then the
        # windows of those without a share
        timeline = link_timeline(links, ws.tables.entities)
        unshared = np.flatnonzero(timeline.codes.is_type("OWNS") & np.isnan(links["share"].to_numpy(float)))
        dates = pd.DataFrame({name: links[name].iloc[unshared].to_numpy() for name in ("start", "end")})
        return bool(unshared.size) and bool(active(dates, day).any())
    return ws.remembered(f"unshared-owns-{day.date().isoformat()}", compute)


def _by_asset(projection: Projection):
    """The projection's D in compressed columns (each asset's owners), made once and kept with it."""
    key = "ownership matrix by asset"
    if key not in projection.derived:
        projection.derived[key] = sp.sparse.csc_array(ownership_matrices(projection)[0])
    return projection.derived[key]


def _read(ws: Workspace, policy: Policy, as_of, *, runs: bool = True) -> _Reading:
    """The rule's projections (and runs) at both ends of the stake bands; one of each where
    nothing is bracketed, so that registers with every share recorded pay for one."""
    # The policy's own projection and baseline are the low end under "bounds": shared with
    # score, explain and the rest.
    bracket = policy.missing_share is MissingShare.BOUNDS and _has_bands(ws, policy, as_of)
    ends = (None, MissingShare.HIGH) if bracket else (None, None)
    projection = ws.projection(policy, as_of, missing_share=ends[0])
    high_projection = ws.projection(policy, as_of, missing_share=ends[1])
    D_low, C = ownership_matrices(projection)
    D_high = ownership_matrices(high_projection)[0] if bracket else D_low
    low = ws.baseline(policy, as_of, missing_share=ends[0]) if runs else None
    high = ws.baseline(policy, as_of, missing_share=ends[1]) if runs else None
    return _Reading(policy, projection, high_projection, low, high, D_low, D_high, C)


def _unshared_notes(ws: Workspace, projection: Projection) -> list[str]:
    """One note per OWNS link in force without a share, with the band it was given (the first
    few named), worked out once per register and date (:meth:`Workspace.remembered`)."""
    return ws.remembered(f"unshared-notes-{projection.as_of.date().isoformat()}",
                         lambda: _unshared_notes_of(ws, projection.as_of))


def _unshared_notes_of(ws: Workspace, day: pd.Timestamp) -> list[str]:
    links = ws.tables.links
    # the OWNS records in force, from the links' timeline the projections made (no record
    # dated or id hashed again), their bands as the projections give them
    timeline = link_timeline(links, ws.tables.entities)
    is_owns = timeline.codes.is_type("OWNS")
    share = links["share"].to_numpy(float)
    if not np.isnan(share[is_owns]).any():
        return []
    rows = np.flatnonzero(is_owns & timeline.in_force(day))
    unshared = np.isnan(share[rows])
    if not unshared.any():
        return []
    range_low, range_high = links["share_low"].to_numpy(float)[rows], links["share_high"].to_numpy(float)[rows]
    low, high = stake_ends(share[rows], range_low, range_high, timeline.codes.target[rows])
    named = np.flatnonzero(unshared)[:_NOTES_NAMED]
    names = _Names(ws)  # by the ends' entity rows: by id, the first lookup hashes every id

    def name(end: np.ndarray, column: str) -> list:
        return [names[row] if row >= 0 else text for row, text in zip(end[rows[named]], links[column].iloc[rows[named]].to_numpy())]
    notes = [f"{s} -> {t}: no recorded share, taken as {_band(lo, hi)}"
             + (" (a range)" if not (np.isnan(r_lo) and np.isnan(r_hi)) else " (what the other owners' recorded stakes leave)")
             for s, t, lo, hi, r_lo, r_hi in zip(name(timeline.codes.source, "source"), name(timeline.codes.target, "target"),
                                                  low[named], high[named], range_low[named], range_high[named])]
    if (count := int(unshared.sum())) > _NOTES_NAMED:
        notes.append(f"... and {count - _NOTES_NAMED} more OWNS links without a share")
    return notes


def _regime_notes(ws: Workspace, policy: Policy, projection: Projection) -> list[str]:
    """How many active listings the rule counted without knowing their regime."""
    if policy.regimes is None:
        return []
    penalties = ws.tables.penalties
    counted = (projection.penalties["weight"] > 0) & penalties["regime"].isna().to_numpy()
    if not counted.any():
        return []
    return [f"{int(counted.sum())} active listing(s) have no recorded regime: counted under this rule "
            f"(regimes {', '.join(policy.regimes)}), as under every rule"]


def _direct_holders(reading: _Reading, flagged: np.ndarray, asset: int, names) -> str:
    """"A 30% + B 20-25%": the flagged direct owners whose stakes the rule adds up."""
    # the asset's owners from D in compressed columns: a column of D in rows reads every stake
    low = dict(zip(*_owners_of(_by_asset(reading.projection), asset)))
    holders = sorted(((float(high), int(o)) for o, high in zip(*_owners_of(_by_asset(reading.high_projection), asset))
                      if flagged[o] and high > 0), reverse=True)
    return " + ".join(f"{names[o]} {_band(low.get(o, 0.0), high)}" for high, o in holders)


def _owners_of(D_by_asset, asset: int) -> tuple[np.ndarray, np.ndarray]:
    """The direct owners of ``asset`` and their stakes, from D in compressed columns."""
    at = slice(D_by_asset.indptr[asset], D_by_asset.indptr[asset + 1])
    return D_by_asset.indices[at], D_by_asset.data[at]


def _chain_text(chain: list[int], reading: _Reading, names) -> str:
    return " -> ".join([names[chain[0]]] + [f"[{_band(reading.D_low[a, b], reading.D_high[a, b])}] {names[b]}"
                                             for a, b in zip(chain, chain[1:])])


def _chains(reading: _Reading, owners, asset: int, names, top: int) -> str:
    """The chains from ``owners`` into ``asset`` carrying the largest stakes (at the high end of
    every band, so that a chain through an unknown stake is shown)."""
    chains = [(chain, product) for owner in owners if owner != asset
              for chain, product in ownership.ownership_chains(reading.D_high, int(owner), asset, top=top)]
    chains.sort(key=lambda item: -item[1])
    shown = []
    for chain, _ in chains[:top]:
        low = float(np.prod([reading.D_low[a, b] for a, b in zip(chain, chain[1:])]))
        high = float(np.prod([reading.D_high[a, b] for a, b in zip(chain, chain[1:])]))
        shown.append(f"{_chain_text(chain, reading, names)} ({_band(low, high)})")
    return "; ".join(shown)


def flagged_entities(source: Tables | Workspace, rule: str, *, as_of: dt.date | str | None = None,
                     policy: Policy | None = None, entity_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Entities a rule flags, may flag, or leaves to review, beyond the listed ones:
    ``id, name, rule, status, stake, stake_low, stake_high, via``.

    ``stake_low`` / ``stake_high`` are what the rule adds up at each end of the stake bands
    (OFAC and EU: direct stakes of blocked or frozen owners; UK: the largest holding of one
    designated person; integrated: the listed group's stake through any chains), ``stake`` the
    same where both ends agree, ``via`` the owners or chains that carry it (or the CONTROLS
    link). ``attrs`` gives ``as_of``, the rule's ``threshold`` in words and the ``notes`` on
    links without a share. ``source`` is validated tables or a
    :class:`~graphscore.workspace.Workspace`; ``entity_ids`` limits the table to those entities.
    """
    ws = as_workspace(source)
    policy = policy or rule_policy(rule)
    reading = _read(ws, policy, as_of)
    projection, listed = reading.projection, reading.listed
    names = _Names(ws)
    candidates = (reading.high.total > 0) | reading.column("review") | reading.column("review", high=True)
    chosen = candidates & ~listed
    if entity_ids is not None:
        only = np.zeros(projection.n, dtype=bool)
        only[[projection.index_of(entity_id) for entity_id in entity_ids]] = True
        chosen &= only
    rows = []
    # worked out once for the register, not once per row: each is a pass over every entity
    controlled, counted = reading.column("controlled", high=True), (reading.high.total > 0) | reading.column("review", high=True)
    for idx in np.flatnonzero(chosen):
        idx = int(idx)
        low, high = float(reading.low.columns["stake"][idx]), float(reading.high.columns["stake"][idx])
        if policy.model is ModelName.OWNERSHIP_INTEGRATED:
            above = ownership.chain_owners(_by_asset(reading.high_projection), [idx])
            via = _chains(reading, above[listed[above]], idx, names, top=2)
        elif controlled[idx]:
            controllers = reading.C[:, [idx]].tocoo().row
            via = "controlled by " + ", ".join(names[int(c)] for c in controllers if reading.high.total[c] > 0)
        else:
            via = _direct_holders(reading, counted, idx, names)
        rows.append({"id": projection.ids[idx], "name": names[idx], "rule": rule, "status": reading.status(idx),
                     "stake": _point(low, high), "stake_low": low, "stake_high": high, "via": via})
    frame = pd.DataFrame(rows, columns=["id", "name", "rule", "status", "stake", "stake_low", "stake_high", "via"])
    frame = frame.sort_values(["stake_high", "name"], ascending=[False, True], ignore_index=True)
    frame.attrs["as_of"] = projection.as_of.date().isoformat()
    frame.attrs["threshold"] = rule_threshold(policy, projection.as_of.date())
    frame.attrs["notes"] = _regime_notes(ws, policy, projection) + _unshared_notes(ws, projection)
    return frame


def _regime_words(policy: Policy) -> str:
    return f"regimes {', '.join(policy.regimes)}" if policy.regimes else "any regime"


def _eu_versus_ofac(idx: int, ofac: ModelRun, eu: ModelRun, listed: dict, eu_words: str, D_by_asset, names,
                    seen: set[int]) -> str:
    """Why OFAC and the EU disagree on ``idx`` when no control link decides it: the root of the
    disagreement, followed up through the owners the two readings treat differently."""
    seen = seen | {idx}
    differing = [(float(w), int(o)) for o, w in zip(*_owners_of(D_by_asset, idx))
                 if (ofac.total[o] > 0) != (eu.total[o] > 0)]
    if not differing:
        stake = float(ofac.columns["stake"][idx])
        return (f"{names[idx]}: exactly {_percent(stake)} held by blocked owners; OFAC blocks at 50% or more, "
                f"the EU reading in force ({eu_words}) {'does' if eu.total[idx] > 0 else 'does not'}")
    share, owner = max(differing)
    if listed["ofac"][owner] != listed["eu"][owner]:
        root = f"{names[owner]} is listed under {'OFAC' if listed['ofac'][owner] else 'the EU'}'s regime only"
    elif eu.columns["controlled"][owner] and eu.total[owner] > 0 and not ofac.total[owner] > 0:
        root = f"{names[owner]} is controlled by a listed or frozen party (CONTROLS): frozen under the EU reading, not blocked by OFAC"
    elif owner in seen:
        root = f"{names[owner]} is in an ownership cycle with {names[idx]}"
    else:
        root = _eu_versus_ofac(owner, ofac, eu, listed, eu_words, D_by_asset, names, seen)
    frozen, blocked = eu.total[owner] > 0, ofac.total[owner] > 0
    return (f"{names[owner]} ({_percent(share)} of {names[idx]}) is {'blocked' if blocked else 'not blocked'} by OFAC "
            f"and {'frozen' if frozen else 'not frozen'} under the EU reading, because {root}")


def _listing_differences(idx: int, rule: str, listed: dict, policies: dict, D_by_asset, names) -> str:
    """Owners up the chains into ``idx`` that one rule counts as listed and OFAC does not, or
    the reverse: each rule starts from its own regime's listings."""
    above = ownership.chain_owners(D_by_asset, [idx])  # a search up from idx, not over the register
    parts = []
    for first, second in ((rule, "ofac"), ("ofac", rule)):
        only = above[listed[first][above] & ~listed[second][above]]
        if only.size:
            shown = ", ".join(names[int(o)] for o in only[:3]) + (", ..." if only.size > 3 else "")
            parts.append(f"{shown} listed under {_LABEL[first]} ({_regime_words(policies[first])}), "
                         f"not under {_LABEL[second]} ({_regime_words(policies[second])})")
    return "; ".join(parts)


def compare_rules(source: Tables | Workspace, *, as_of: dt.date | str | None = None) -> pd.DataFrame:
    """Where the OFAC, EU, UK and integrated readings disagree, and why.

    One row per entity, listed under none of the rules, that one rule flags and another does
    not (at the low end of every stake band, i.e. on the recorded stakes): ``id, name, ofac,
    eu, uk, integrated`` (flags), ``ofac_stake, eu_stake, uk_stake, integrated_stake``,
    ``thresholds`` (the threshold each column applies, the same on every row) and ``why``.
    Each rule starts from its own regime's listings, so a disagreement can come from who is
    listed as well as from how stakes are counted; ``why`` says which. A disagreement that comes
    through an intermediate owner is explained through it: B, wholly owned by A, is blocked by
    OFAC and not frozen under the strict EU reading because A is, A being held exactly 50 % by
    a listed owner. The integrated reading is compared at OFAC's 50 %, not its own 25 %, so
    that only the way stakes are counted differs; ``thresholds`` says so. ``attrs["thresholds"]``
    maps each column to its threshold.
    """
    ws = as_workspace(source)
    policies = {"ofac": rule_policy("ofac"), "eu": rule_policy("eu"), "uk": rule_policy("uk"),
                "integrated": replace(rule_policy("integrated"), stake_threshold=0.5)}
    projections = {rule: ws.projection(policies[rule] if rule != "integrated" else rule_policy("integrated"), as_of)
                   for rule in policies}
    projection = projections["ofac"]
    # One register, so one D for every rule (the stakes at the low end); the listings differ.
    by_asset = _by_asset(projection)
    listed = {rule: p.s > 0 for rule, p in projections.items()}
    day = projection.as_of.date()
    runs = {rule: ws.baseline(policies[rule], as_of) for rule in ("ofac", "eu", "uk")}
    runs["integrated"] = run_model(projections["integrated"], policies["integrated"])
    thresholds = {rule: rule_threshold(p, day) for rule, p in policies.items()}
    thresholds_text = "; ".join(f"{_LABEL[rule]}: {text}" for rule, text in thresholds.items())
    eu_words = "50% or more" if policies["eu"].eu_inclusive_at(day) else "more than 50%"
    names = _Names(ws)
    flags = np.column_stack([run.total for run in runs.values()]) > 0
    listed_anywhere = np.logical_or.reduce(list(listed.values()))
    ofac_run, eu_run, uk_run, integrated_run = (runs[rule] for rule in ("ofac", "eu", "uk", "integrated"))
    rows = []
    for idx in np.flatnonzero(flags.any(axis=1) & ~flags.all(axis=1) & ~listed_anywhere):
        idx = int(idx)
        flag = dict(zip(runs, flags[idx]))
        stake = {rule: float(run.columns["stake"][idx]) for rule, run in runs.items()}
        reasons = []
        for rule in ("integrated", "eu", "uk"):
            if flag[rule] != flag["ofac"] and (differences := _listing_differences(idx, rule, listed, policies, by_asset, names)):
                reasons.append(f"{_LABEL[rule]} vs OFAC, listings: {differences}")
        if flag["integrated"] != flag["ofac"]:
            carriers = sorted(((float(w), int(o)) for o, w in zip(*_owners_of(by_asset, idx))
                               if not ofac_run.total[o] > 0 and integrated_run.columns["stake"][o] > 0), reverse=True)
            through = "; ".join(f"{names[o]} is not blocked, so its {_percent(w)} counts zero" for w, o in carriers)
            reasons.append(f"integrated: {_percent(stake['integrated'])} through any chains; OFAC: "
                           f"{_percent(stake['ofac'])} held directly by blocked owners"
                           + (f" ({through})" if through else ""))
        if flag["eu"] != flag["ofac"]:
            if eu_run.columns["controlled"][idx]:
                reasons.append("EU: controlled by a listed or frozen party (CONTROLS); OFAC does not block on control")
            else:
                reasons.append("EU vs OFAC: " + _eu_versus_ofac(idx, ofac_run, eu_run, listed, eu_words, by_asset, names, set()))
        if flag["uk"] != flag["ofac"]:
            if uk_run.columns["controlled"][idx] and flag["uk"]:
                reasons.append("UK: controlled by a designated person (CONTROLS); OFAC does not block on control")
            else:
                blocked_holders = sum(ofac_run.total[o] > 0 for o in _owners_of(by_asset, idx)[0])
                reasons.append("UK: no one designated person holds more than 50% (the largest holding of one, with "
                               f"what its own entities hold: {_percent(stake['uk'])})"
                               + (f"; OFAC adds up {blocked_holders} blocked owners' stakes ({_percent(stake['ofac'])})"
                                  if blocked_holders > 1 else ""))
        rows.append({"id": projection.ids[idx], "name": names[idx], **{rule: bool(f) for rule, f in flag.items()},
                     **{f"{rule}_stake": value for rule, value in stake.items()},
                     "thresholds": thresholds_text, "why": "; ".join(reasons)})
    frame = pd.DataFrame(rows, columns=["id", "name", *runs, *(f"{rule}_stake" for rule in runs), "thresholds", "why"])
    frame.attrs["as_of"] = day.isoformat()
    frame.attrs["thresholds"] = thresholds
    frame.attrs["notes"] = _unshared_notes(ws, projection)
    return frame


def ultimate_owners_table(source: Tables | Workspace, entity_id: str, *, as_of: dt.date | str | None = None,
                          threshold: float = 0.25, persons_only: bool = False) -> pd.DataFrame:
    """Owners of ``entity_id`` whose integrated stake reaches ``threshold`` at least at the high
    end of the stake bands: ``id, name, kind, status, stake, stake_low, stake_high, chains``
    (the chains carrying most of each stake), largest first. ``status`` is ``flagged`` where the
    low end reaches the threshold, ``possible`` where only the high end does; ``stake`` is empty
    for a band. ``attrs["notes"]`` names links without a share. ``source`` is validated tables
    or a :class:`~graphscore.workspace.Workspace`.
    """
    ws = as_workspace(source)
    reading = _read(ws, rule_policy("integrated"), as_of, runs=False)
    projection = reading.projection
    asset = projection.index_of(entity_id)
    # Every stake in the asset and every chain into it lies among its owners, theirs and so on
    # (at either end of the bands): the engine's answers on their block of D are those on all
    # of D, at the cost of the block, where all of D cost seconds a question on a register of
    # 10^6 links.
    block = np.union1d(ownership.chain_owners(_by_asset(reading.projection), [asset]), [asset])
    if reading.high_projection is not reading.projection:
        block = np.union1d(block, ownership.chain_owners(_by_asset(reading.high_projection), [asset]))
    at = int(np.searchsorted(block, asset))
    local = replace(reading, D_low=reading.D_low[block][:, block], D_high=reading.D_high[block][:, block], C=None)
    names = _Names(ws, block)
    entities = ws.entities
    if persons_only:
        kinds = entities["kind"].reindex(projection.ids[block]).to_numpy()
        mask = kinds == "person"
    else:
        mask = None
    low = ownership.owner_stakes(local.D_low, at)
    high = ownership.ultimate_owners(local.D_high, at, threshold=threshold, owners_mask=mask)
    rows = []
    for o, stake_high in high:
        stake_low = min(float(low[o]), stake_high)
        entity = projection.ids[block[o]]
        rows.append({"id": entity, "name": names[o], "kind": entities["kind"].get(entity),
                     "status": "flagged" if ownership.reaches(stake_low, threshold) else "possible",
                     "stake": _point(stake_low, stake_high), "stake_low": stake_low, "stake_high": stake_high,
                     "chains": _chains(local, [o], at, names, top=3)})
    frame = pd.DataFrame(rows, columns=["id", "name", "kind", "status", "stake", "stake_low", "stake_high", "chains"])
    frame = frame.sort_values(["stake_high", "stake_low"], ascending=False, kind="stable", ignore_index=True)
    frame.attrs["as_of"] = projection.as_of.date().isoformat()
    frame.attrs["notes"] = _unshared_notes(ws, projection)
    return frame


def prepare_owners(source: Tables | Workspace, *, as_of: dt.date | str | None = None) -> None:
    """Work out once what :func:`ultimate_owners_table` reads about the whole register at
    ``as_of``: the ownership projections at both ends of the stake bands, their matrices by
    asset, the table of their ids and the notes on links without a share (kept with the
    workspace), so that the first table costs what the next ones do. A server does this before it listens.

    Examples
    --------
    >>> from graphscore.toy import fined_company
    >>> ws = Workspace(fined_company())
    >>> prepare_owners(ws, as_of="2024-01-01")
    >>> "ownership matrix by asset" in ws.projection(rule_policy("integrated"), "2024-01-01").derived
    True
    """
    ws = as_workspace(source)
    reading = _read(ws, rule_policy("integrated"), as_of, runs=False)
    for projection in {id(p): p for p in (reading.projection, reading.high_projection)}.values():
        _by_asset(projection)
    if reading.projection.n:  # pandas makes an index's table of ids on its first lookup
        reading.projection.index_of(reading.projection.ids[0])
    _unshared_notes(ws, reading.projection)
