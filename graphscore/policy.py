"""Spillover policies: a TOML file saying which links transmit a penalty, which way, how strongly,
and which model runs (DESIGN §5).

Strings in the file are parsed once, here, into enums and checked against the data model, so a
policy naming a link type that does not exist (``OWN``) fails when it is loaded, not mid-run.

Examples
--------
>>> policy = parse_policy('''
... name = "reps"
... model = "spread"
... damping = 0.5
... [[transmit]]
... link = "OFFICER_OF"
... role = "legal_representative"
... direction = "backward"
... weight = 1.0
... ''')
>>> policy.transmit[0].direction
<Direction.BACKWARD: 'backward'>
>>> parse_policy('name = "x"\\n[[transmit]]\\nlink = "OWN"\\ndirection = "forward"\\nweight = 1')
Traceback (most recent call last):
...
graphscore.errors.InvalidPolicy: <policy>: transmit[0].link='OWN' is not a link type (OWNS, OFFICER_OF, CONTROLS, FAMILY, ASSOCIATE, AGENT_OF)
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

from graphscore.errors import InvalidPolicy
from graphscore.model import load_model

__all__ = [
    "Direction",
    "ModelName",
    "Normalize",
    "MissingShare",
    "Combine",
    "Aggregate",
    "Variant",
    "EU_INCLUSIVE_FROM",
    "Parallel",
    "LinkTime",
    "Precision",
    "Transmit",
    "Policy",
    "load_policy",
    "parse_policy",
]


class Direction(Enum):
    """Which way a penalty travels along a link written ``source -> target``."""

    FORWARD = "forward"  # from source to target
    BACKWARD = "backward"  # from target to source
    BOTH = "both"


class ModelName(Enum):
    """The propagation model a policy runs (graphscore/engine/<model>.py)."""

    SPREAD = "spread"
    HOP = "hop"
    DEBTRANK = "debtrank"
    CASCADE = "cascade"
    OWNERSHIP_INTEGRATED = "ownership-integrated"
    OWNERSHIP_OFAC = "ownership-ofac"
    OWNERSHIP_EU = "ownership-eu"
    OWNERSHIP_UK = "ownership-uk"

    @property
    def is_ownership(self) -> bool:
        """Ownership rules read OWNS and CONTROLS links by definition, not [[transmit]] tables."""
        return self.value.startswith("ownership-")

    @property
    def is_linear(self) -> bool:
        """Scores are linear in the own-penalty vector s (so they split exactly by source)."""
        return self is ModelName.SPREAD


class Variant(Enum):
    """Which DebtRank dynamics runs (graphscore/engine/debtrank.py)."""

    ORIGINAL = "original"  # Battiston et al. 2012: each entity passes its distress on once
    DIFFERENTIAL = "differential"  # Bardoscia et al. 2015: every change of distress is passed on


# The Council's Best Practices read "more than 50 %" until their update of 3 July 2024 and
# "50 % or more" since (data/policies/eu-owned-controlled.toml cites both texts).
EU_INCLUSIVE_FROM = dt.date(2024, 7, 3)


class Aggregate(Enum):
    """How the hop model combines contributions arriving over several paths."""

    SUM = "sum"
    MAX = "max"


class Parallel(Enum):
    """How several links between one ordered pair of entities make one entry ``W[v, u]``.

    Two links join u to v when, for example, a person is both the legal representative and the
    owner of a company, or when a ``direction = "both"`` rule meets a cross-holding (A owns 30 %
    of B, B owns 60 % of A: A reaches B through both stakes).
    """

    SUM = "sum"  # weights add up: linear diffusion, where every link is a channel of its own
    MAX = "max"  # the strongest link alone: a restriction reaches a person once (strongest-link rules)
    NOISY_OR = "noisy_or"  # one independent coin per link: 1 - prod(1 - w) (Kempe, Kleinberg & Tardos 2003)


class LinkTime(Enum):
    """Which links carry a penalty: those in force at ``as_of``, or those in force when it started."""

    AS_OF = "as_of"
    AT_PENALTY = "at_penalty"  # a director who joined after the listing is not tainted by it


class Precision(Enum):
    """How W's values are stored: float64, or float32 with float64 sums, half the bytes of the
    values W and W by source hold (:mod:`graphscore.engine.precision` states what it costs in accuracy)."""

    FLOAT64 = "float64"
    FLOAT32 = "float32"


class Normalize(Enum):
    """Optional rescaling of the transmission matrix W (``W[v, u]``: u's penalty reaching v)."""

    NONE = "none"
    SOURCE = "source"  # each entity's penalty is split among those it reaches: columns sum to 1
    TARGET = "target"  # each entity receives a weighted mean of its neighbours: rows sum to 1


class Combine(Enum):
    """How an entity's several active penalties make its own weight ``s``."""

    SUM = "sum"  # every listing counts (a fine and a blacklisting add up)
    MAX = "max"  # the heaviest counts: ten regimes listing one company is one sanction, not ten


class MissingShare(Enum):
    """What a ``weight = "share"`` transmission uses when a stake is missing or a range."""

    SKIP = "skip"  # the link does not transmit (and a warning counts such links)
    LOW = "low"  # the low end of a range; a missing share counts 0
    HIGH = "high"  # the high end of a range; a missing share counts 1
    BOUNDS = "bounds"  # run both: results carry low and high columns


@dataclass(frozen=True)
class Transmit:
    """One transmission rule: links of type ``link`` (with ``role``, if given) carry a penalty
    in ``direction`` with ``weight``; ``weight is None`` means "the link's share"."""

    link: str
    direction: Direction
    weight: float | None
    role: str | None = None
    split: bool = False  # divide the weight evenly among the entities one source reaches by this rule

    @property
    def by_share(self) -> bool:
        return self.weight is None


@dataclass(frozen=True)
class Policy:
    name: str
    transmit: tuple[Transmit, ...]
    model: ModelName = ModelName.SPREAD
    damping: float = 0.6
    as_of: dt.date | None = None
    half_life_days: float | None = None
    repair: bool = False
    period_days: float | None = None  # a penalty with no recorded end lasts this long from its start
    normalize: Normalize = Normalize.NONE
    missing_share: MissingShare = MissingShare.SKIP
    combine: Combine = Combine.SUM
    threshold: float = 0.1
    description: str = ""
    # model-specific; parse_policy refuses them under another model
    max_hops: int = 2  # hop
    aggregate: Aggregate = Aggregate.SUM  # hop
    runs: int = 10_000  # cascade
    seed: int = 0  # cascade
    confidence: float = 0.95  # cascade
    # spread, hop, debtrank, cascade: None takes the model's customary rule (see Policy.__post_init__)
    parallel: Parallel | None = None
    link_time: LinkTime = LinkTime.AS_OF  # spread, hop
    precision: Precision = Precision.FLOAT64  # spread
    stake_threshold: float | None = None  # ownership-*: 0.25 integrated (UBO), 0.5 OFAC / EU
    seed_kinds: tuple[str, ...] = ("sanction",)  # ownership-*: penalty kinds that list an entity
    regimes: tuple[str, ...] | None = None  # ownership-*: penalty regimes that list (None: any)
    eu_inclusive: bool | None = None  # ownership-eu: count exactly 50 % as owned (None: by as_of)
    variant: Variant = Variant.ORIGINAL  # debtrank

    def __post_init__(self):
        if self.parallel is None and not self.model.is_ownership:
            object.__setattr__(self, "parallel", default_parallel(self.model, self.aggregate))

    @property
    def path_damping(self) -> float:
        """Attenuation per hop when weighing paths: the model's own for spread and hop; none
        where weights are already shares, probabilities or impacts."""
        return self.damping if self.model in (ModelName.SPREAD, ModelName.HOP) else 1.0

    @property
    def stake_limit(self) -> float:
        """The stake threshold in force: the policy's, else the rule's customary one."""
        if self.stake_threshold is not None:
            return self.stake_threshold
        return 0.25 if self.model is ModelName.OWNERSHIP_INTEGRATED else 0.5

    def eu_inclusive_at(self, as_of: dt.date) -> bool:
        """Whether exactly the EU threshold counts as owned at ``as_of``: the policy's
        ``eu_inclusive`` where it sets one, else the Best Practices in force that day."""
        if self.eu_inclusive is not None:
            return self.eu_inclusive
        return as_of >= EU_INCLUSIVE_FROM

    def lists(self, penalties) -> "pd.Series":
        """Which penalties list an entity under an ownership rule: one of ``seed_kinds``, and of
        ``regimes`` where the policy names some (a rule starts from its own regime's listings).
        A penalty with no recorded regime counts under every rule, as it did before penalties
        carried one: an unknown regime is not a reason to ignore a sanction."""
        chosen = penalties["kind"].isin(self.seed_kinds)
        if self.regimes is not None:
            chosen &= penalties["regime"].isin(self.regimes) | penalties["regime"].isna()
        return chosen

    def to_dict(self) -> dict:
        """Plain JSON-ready form, as recorded in report manifests."""
        def plain(value):
            if isinstance(value, Enum):
                return value.value
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value
        fields = asdict(self)
        if self.precision is Precision.FLOAT64:
            # the default is left out, so that every policy written before the key existed keeps
            # its hash (caches, stored score runs and report manifests are keyed by it)
            del fields["precision"]
        return plain(fields)

    @functools.cached_property
    def hash(self) -> str:
        """SHA-256 of the policy's meaning (not its comments or layout): 16 hex digits. Worked
        out once per policy (it is frozen): every lookup in a workspace's caches keys on it, and
        writing the policy out each time took a tenth of an entity view at 10^6 links."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def default_parallel(model: ModelName, aggregate: Aggregate) -> Parallel:
    """The customary rule for several links between one pair (issue 9.1): strongest link where
    the model keeps the strongest path, one independent coin per link in the independent
    cascade, a sum in the linear and distress models.

    Examples
    --------
    >>> default_parallel(ModelName.HOP, Aggregate.MAX).value, default_parallel(ModelName.CASCADE, Aggregate.SUM).value
    ('max', 'noisy_or')
    """
    if model is ModelName.CASCADE:
        return Parallel.NOISY_OR
    if model is ModelName.HOP and aggregate is Aggregate.MAX:
        return Parallel.MAX
    return Parallel.SUM


_TOP_KEYS = {"name", "description", "model", "damping", "as_of", "half_life_days", "repair", "period_days",
             "normalize", "missing_share", "combine", "threshold", "transmit"}
_OWNERSHIP = {ModelName.OWNERSHIP_INTEGRATED, ModelName.OWNERSHIP_OFAC, ModelName.OWNERSHIP_EU,
              ModelName.OWNERSHIP_UK}
# Keys that mean something under some models only: a key given under another is a mistake.
_MODEL_KEYS = {
    "max_hops": {ModelName.HOP},
    "aggregate": {ModelName.HOP},
    "runs": {ModelName.CASCADE},
    "seed": {ModelName.CASCADE},
    "confidence": {ModelName.CASCADE},
    "parallel": {ModelName.SPREAD, ModelName.HOP, ModelName.DEBTRANK, ModelName.CASCADE},
    # Only where a score is a sum or a maximum over penalties can each penalty travel its own links.
    "link_time": {ModelName.SPREAD, ModelName.HOP},
    # the spread's kernels sum in float64 over float32 values, and its accuracy is stated for them
    "precision": {ModelName.SPREAD},
    "stake_threshold": _OWNERSHIP,
    "seed_kinds": _OWNERSHIP,
    "regimes": _OWNERSHIP,
    "eu_inclusive": {ModelName.OWNERSHIP_EU},
    "variant": {ModelName.DEBTRANK},
}
_TRANSMIT_KEYS = {"link", "role", "direction", "weight", "split"}


def _enum(cls: type[Enum], value, where: str):
    try:
        return cls(value)
    except (ValueError, TypeError):  # TypeError: a list or table where a name belongs
        allowed = ", ".join(m.value for m in cls)
        raise InvalidPolicy(f"{where}={value!r} is not one of {allowed}") from None


def _number(value, where: str, *, low: float, high: float | None = None, high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidPolicy(f"{where}={value!r} is not a number")
    value = float(value)
    if not math.isfinite(value):  # nan would transmit nothing, or write NaN scores; inf has no meaning here
        raise InvalidPolicy(f"{where}={value!r} is not a finite number")
    too_high = high is not None and (value >= high if high_open else value > high)
    if value < low or too_high:
        bracket = ")" if high_open else "]"
        raise InvalidPolicy(f"{where}={value!r} is outside [{low:g}, {'inf' if high is None else f'{high:g}'}{bracket}")
    return value


def _whole(value, where: str, *, low: int, high: int | None = None, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidPolicy(f"{where}={value!r} is not a whole number >= {low}")
    if high is not None and value > high:
        raise InvalidPolicy(f"{where}={value:,} is more than {high:,}: {why}")
    return value


# Bounds on the work a policy asks for, so that a typo cannot run for hours.
MAX_HOPS = 1_000  # damping^1000 of a penalty is nothing (0.99^1000 < 5e-5); use model = "spread" for the limit
MAX_RUNS = 1_000_000  # the 95 % interval of a probability is then narrower than +-0.001


def _flag(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidPolicy(f"{where}={value!r} is not true or false")
    return value


def _text_list(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise InvalidPolicy(f"{where}={value!r} is not a list of penalty {where.removeprefix('seed_').rstrip('s')}s")
    return tuple(value)


def _transmit(raw: dict, where: str) -> Transmit:
    model = load_model()
    if not isinstance(raw, dict):
        raise InvalidPolicy(f"{where}={raw!r} is not a table: write each rule as [[transmit]] "
                            "followed by link = ..., direction = ..., weight = ...")
    if unknown := set(raw) - _TRANSMIT_KEYS:
        raise InvalidPolicy(f"{where}: unknown key {sorted(unknown)[0]!r} (expected {', '.join(sorted(_TRANSMIT_KEYS))})")
    link = raw.get("link")
    if not isinstance(link, str) or link not in model.links:
        raise InvalidPolicy(f"{where}.link={link!r} is not a link type ({', '.join(model.links)})")
    role = raw.get("role")
    role_enum = model.links[link].role_enum
    if role is not None and not isinstance(role, str):
        raise InvalidPolicy(f"{where}.role={role!r} is not a role name")
    if role is not None and role_enum and role not in model.enums[role_enum]:
        raise InvalidPolicy(f"{where}.role={role!r} is not one of {', '.join(model.enums[role_enum])}")
    if "direction" not in raw:
        raise InvalidPolicy(f"{where}: 'direction' is required (forward, backward or both)")
    direction = _enum(Direction, raw["direction"], f"{where}.direction")
    weight = raw.get("weight", 1.0)
    if weight == "share":
        if link != "OWNS":
            raise InvalidPolicy(f"{where}.weight='share' only applies to OWNS links, not {link}")
        weight = None
    else:
        weight = _number(weight, f"{where}.weight", low=0.0)
    split = _flag(raw.get("split", False), f"{where}.split")
    return Transmit(link=link, direction=direction, weight=weight, role=role, split=split)


def parse_policy(text: str, origin: str = "<policy>") -> Policy:
    """Parse policy TOML text; ``origin`` names it in error messages.

    Raises
    ------
    InvalidPolicy
        For invalid TOML, unknown keys, link types, roles or directions, or values out of range.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPolicy(f"{origin}: not valid TOML: {exc}") from None
    if unknown := set(raw) - _TOP_KEYS - set(_MODEL_KEYS):
        raise InvalidPolicy(f"{origin}: unknown key {sorted(unknown)[0]!r} (expected {', '.join(sorted(_TOP_KEYS))})")
    try:
        model = _enum(ModelName, raw.get("model", "spread"), "model")
        for key in sorted(set(raw) & set(_MODEL_KEYS)):
            if model not in _MODEL_KEYS[key]:
                models = " or ".join(sorted(f"'{m.value}'" for m in _MODEL_KEYS[key]))
                raise InvalidPolicy(f"{key} applies to model = {models} only, not '{model.value}'")
        if model.is_ownership and raw.get("transmit"):
            raise InvalidPolicy(f"model '{model.value}' reads OWNS and CONTROLS links by definition; "
                                "remove the [[transmit]] tables")
        if not model.is_ownership and not raw.get("transmit"):
            raise InvalidPolicy("needs at least one [[transmit]] table")
        rules = raw.get("transmit", [])
        if not isinstance(rules, list):
            raise InvalidPolicy(f"transmit={rules!r} is not a list of tables: write each rule as [[transmit]] "
                                "followed by link = ..., direction = ..., weight = ...")
        transmit = tuple(_transmit(t, f"transmit[{i}]") for i, t in enumerate(rules))
        as_of = raw.get("as_of")
        if isinstance(as_of, str):
            try:
                as_of = dt.date.fromisoformat(as_of)
            except ValueError:
                raise InvalidPolicy(f"as_of={as_of!r} is not a date (YYYY-MM-DD)") from None
        elif as_of is not None and (not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime)):
            raise InvalidPolicy(f"as_of={as_of!r} is not a date (YYYY-MM-DD)")
        half_life = raw.get("half_life_days")
        variant = _enum(Variant, raw.get("variant", "original"), "variant")
        missing_share = _enum(MissingShare, raw.get("missing_share", "skip"), "missing_share")
        if missing_share is MissingShare.BOUNDS and model is ModelName.DEBTRANK and variant is Variant.ORIGINAL:
            # A larger stake can make an entity distressed sooner, with less, and it passes
            # distress on only once: the "high" run can end below the "low" one.
            raise InvalidPolicy("missing_share = 'bounds' needs a model whose scores grow with the stakes; "
                                "DebtRank's variant 'original' does not (each entity passes distress on once), "
                                "so its low and high runs are no bounds: use variant = 'differential'")
        parallel = None if "parallel" not in raw else _enum(Parallel, raw["parallel"], "parallel")
        if parallel is Parallel.NOISY_OR:
            # noisy-or reads each link's weight as a probability of passing the penalty on
            for i, rule in enumerate(transmit):
                if rule.weight is not None and rule.weight > 1:
                    raise InvalidPolicy(f"transmit[{i}].weight={rule.weight!r} is above 1, but parallel = "
                                        "'noisy_or' reads weights as probabilities; use parallel = 'sum' or 'max'")
        return Policy(
            name=str(raw.get("name") or Path(origin).stem),
            description=str(raw.get("description", "")),
            transmit=transmit,
            model=model,
            # The hop series is finite: a categorical rule may carry a penalty undamped.
            damping=_number(raw.get("damping", 0.6), "damping", low=0.0, high=1.0, high_open=model is not ModelName.HOP),
            as_of=as_of,
            half_life_days=None if half_life is None else _number(half_life, "half_life_days", low=1.0),
            repair=_flag(raw.get("repair", False), "repair"),
            period_days=None if "period_days" not in raw else _number(raw["period_days"], "period_days", low=1.0),
            normalize=_enum(Normalize, raw.get("normalize", "none"), "normalize"),
            missing_share=missing_share,
            combine=_enum(Combine, raw.get("combine", "sum"), "combine"),
            threshold=_number(raw.get("threshold", 0.1), "threshold", low=0.0),
            max_hops=_whole(raw.get("max_hops", 2), "max_hops", low=0, high=MAX_HOPS,
                            why='paths that long carry nothing measurable; use model = "spread" for the whole series'),
            aggregate=_enum(Aggregate, raw.get("aggregate", "sum"), "aggregate"),
            runs=_whole(raw.get("runs", 10_000), "runs", low=1, high=MAX_RUNS,
                        why="more runs would take hours and narrow the 95 % interval below +-0.001"),
            seed=_whole(raw.get("seed", 0), "seed", low=0),
            confidence=_number(raw.get("confidence", 0.95), "confidence", low=0.5, high=1.0, high_open=True),
            parallel=parallel,
            link_time=_enum(LinkTime, raw.get("link_time", "as_of"), "link_time"),
            precision=_enum(Precision, raw.get("precision", "float64"), "precision"),
            stake_threshold=None if "stake_threshold" not in raw else _number(
                raw["stake_threshold"], "stake_threshold", low=0.0, high=1.0),
            seed_kinds=_text_list(raw.get("seed_kinds", ["sanction"]), "seed_kinds"),
            regimes=None if "regimes" not in raw else _text_list(raw["regimes"], "regimes"),
            eu_inclusive=None if "eu_inclusive" not in raw else _flag(raw["eu_inclusive"], "eu_inclusive"),
            variant=variant,
        )
    except InvalidPolicy as exc:
        message = str(exc)
        raise InvalidPolicy(message if message.startswith(origin) else f"{origin}: {message}") from None


def load_policy(path: str | Path) -> Policy:
    """Read a policy TOML file (see ``data/policies/`` for commented examples)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidPolicy(f"{path.name}: cannot read policy: {exc}") from None
    return parse_policy(text, origin=path.name)
