"""Synthetic corporate networks shaped like a company register, for tests, benchmarks and demos.

:func:`generate_network` builds companies, people and a few state bodies or funds, the
ownership, offices, family ties and associations between them, and penalties, in memory as
:class:`graphscore.model.Tables` that pass :func:`graphscore.model.validate` unchanged.

The shapes are those a scoring model has to cope with in real registers:

- heavy tails: ownership degrees and legal-representative counts are drawn from Pareto
  weights, so a few holding companies, state bodies and nominee directors own or represent
  dozens to hundreds of companies while most people hold one role;
- ownership chains of several layers (companies are owned by older companies), with rare
  cross-holdings that close two-company cycles;
- records a policy must decide about: OWNS links without a share, and superseded stakes whose
  older record ended before ``as_of``;
- penalties of several kinds, expired and open, some with a credit-repair date.

Everything is drawn with vectorised NumPy from one ``np.random.default_rng(seed)``: the same
arguments give the same tables.
"""

from __future__ import annotations

import datetime as dt
from numbers import Integral

import numpy as np
import pandas as pd

from graphscore.model import Tables

__all__ = ["generate_network"]

_NO_DATE = np.iinfo(np.int64).min  # NumPy's own NaT: int64 days with this value cast to NaT
_YEAR = 365

# Weighted towards a mainland-China register, with the Hong Kong, BVI and Cayman holding layers
# such groups typically use.
_JURISDICTIONS = np.array(["CN", "HK", "SG", "GB", "DE", "US", "VG", "KY"], dtype=object)
_JURISDICTION_WEIGHTS = np.array([0.55, 0.10, 0.04, 0.08, 0.06, 0.08, 0.06, 0.03])
_PINYIN_NAMES = {"CN", "HK", "SG"}
_COMPANY_SUFFIX = {"CN": "Co., Ltd.", "HK": "Limited", "SG": "Pte. Ltd.", "GB": "Ltd",
                   "DE": "GmbH", "US": "Inc.", "VG": "Holdings Ltd.", "KY": "Holdings Ltd."}

_CITIES = np.array(["Beijing", "Shanghai", "Shenzhen", "Guangzhou", "Hangzhou", "Chengdu",
                    "Wuhan", "Suzhou", "Tianjin", "Nanjing", "Chongqing", "Xiamen", "Qingdao",
                    "Dalian", "Ningbo", "Changsha"], dtype=object)
_SYLLABLES = np.array(["hua", "xin", "tai", "heng", "long", "sheng", "da", "feng", "jin",
                       "yuan", "kang", "rui", "tong", "fu", "cheng", "xing", "ming", "bao",
                       "hong", "yu", "zhong", "tian", "guo", "jia"], dtype=object)
_SYLLABLES_CAPITALIZED = np.array([syllable.capitalize() for syllable in _SYLLABLES], dtype=object)
_BRANDS = np.array(["Northbridge", "Silverline", "Redwood", "Bluewater", "Summit", "Ironbridge",
                    "Harbor", "Oakfield", "Crescent", "Pinnacle", "Westgate", "Evergreen",
                    "Stonehill", "Brightstar", "Kingsway", "Meridian", "Atlas", "Granite",
                    "Sterling", "Horizon", "Falcon", "Lakeside", "Beacon", "Highland"], dtype=object)
_SECTORS = np.array(["Trading", "Technology", "Logistics", "Investment", "Holdings",
                     "Construction", "Real Estate", "Mining", "Textile", "Pharmaceutical",
                     "Energy", "Food", "Shipping", "Financial Services", "Electronics",
                     "Chemical", "Consulting", "Agriculture", "Auto Parts", "Media"], dtype=object)
_STREETS = np.array(["Zhongshan", "Renmin", "Jiefang", "Nanjing", "Huaihai", "Queen's", "Harbour",
                     "Victoria", "Market", "Church", "Main", "Park", "Garden", "Station"], dtype=object)
# Companies registered at a shared address: the office of a registered agent or company
# secretary, which offshore (BVI, Cayman) and Hong Kong registers show for thousands of
# companies at once. A register writes such an address in several ways, so a shared address
# comes in case and punctuation variants: the comparison has to normalise it. (Not in spacing:
# FtM collapses runs of spaces, and the synthetic registry round-trips through FtM unchanged.)
_SHARED_ADDRESS_FRACTION = 0.3  # of companies
_SHARED_ADDRESSES_PER_COMPANY = 0.02
_AGENT_TAIL = 1.5
_FUNDS = np.array(["Pension Fund", "Sovereign Wealth Fund", "Investment Authority",
                   "Capital Fund"], dtype=object)
_PINYIN_FAMILY = np.array(["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu",
                           "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao",
                           "Luo"], dtype=object)
_PINYIN_GIVEN = np.array(["Wei", "Fang", "Xiuying", "Na", "Min", "Jing", "Lei", "Qiang", "Jun",
                          "Yang", "Yong", "Yan", "Jie", "Tao", "Ming", "Chao", "Xia", "Ping",
                          "Gang", "Hui", "Jianguo", "Lihua"], dtype=object)
_LATIN_GIVEN = np.array(["James", "Mary", "John", "Anna", "Michael", "Laura", "David", "Sarah",
                         "Thomas", "Emma", "Peter", "Julia", "Daniel", "Sophie", "Andrew",
                         "Maria", "Stefan", "Claire", "Mark", "Helen"], dtype=object)
_LATIN_FAMILY = np.array(["Smith", "Schulz", "Brown", "Schmidt", "Taylor", "Wilson", "Fischer",
                          "Johnson", "Walker", "Weber", "Clarke", "Wagner", "Evans", "Becker",
                          "Hughes", "Hoffmann", "Lewis", "Koch", "Wright", "Richter"], dtype=object)

# Pareto tail indices (P(weight > x) = x ** -tail). Degrees drawn in proportion to such weights
# follow a power law with exponent 1 + tail: 2 (state bodies) to 3.5 (directors), around the
# 2 to 3 most real networks show (Barabasi, Network Science, 2016, table 4.1). The largest of m
# weights grows like m ** (1 / tail): with 2, a few people represent or own dozens of companies
# in a register of 2,000 and hundreds in one of 100,000, as nominee representatives in Chinese
# registers do.
_REPRESENTATIVE_TAIL = 2.0
_OFFICER_TAIL = 2.5
_PERSON_OWNER_TAIL = 2.0
_HOLDING_TAIL = 1.2
_ORGANIZATION_TAIL = 1.0
_ORGANIZATION_OWNER_SHARE = 0.05  # of owner slots: state bodies and funds hold few but large stakes

_OFFICER_ROLES = np.array(["director", "supervisor", "executive"], dtype=object)
_OFFICER_ROLE_WEIGHTS = np.array([0.5, 0.25, 0.25])
_FAMILY_ROLES = np.array(["spouse", "sibling", "parent"], dtype=object)
_FAMILY_ROLE_WEIGHTS = np.array([0.45, 0.3, 0.25])

# One row per penalty kind: severity, weight among company penalties, weight among person
# penalties, chance the record has no end, publication period in days, whether credit repair
# applies, issuing authorities. Dishonest judgment debtors are listed for two years unless
# extended, and leave the list early once they pay (Supreme People's Court, Provisions on
# Publishing the List of Dishonest Judgment Debtors, 2017), hence the spread of ends;
# serious violations and fines stay published for up to three years and one year and can be
# repaired; sanctions mostly have no end.
_PENALTY_KINDS = pd.DataFrame.from_records([
    ("dishonest_debtor", 1.0, 0.40, 0.55, 0.2, 2 * _YEAR, False,
     ("Supreme People's Court", "Intermediate People's Court", "Basic People's Court")),
    ("serious_violation", 0.8, 0.20, 0.00, 0.0, 3 * _YEAR, True,
     ("State Administration for Market Regulation", "Market Regulation Bureau")),
    ("fine", 0.3, 0.35, 0.30, 0.0, 1 * _YEAR, True,
     ("State Taxation Administration", "Ecology and Environment Bureau",
      "Market Regulation Bureau", "Customs")),
    ("sanction", 1.0, 0.05, 0.15, 0.9, 5 * _YEAR, False,
     ("OFAC SDN List", "EU Consolidated Financial Sanctions List", "UK OFSI",
      "UN Security Council")),
], columns=["kind", "severity", "company_weight", "person_weight", "open_chance",
            "period_days", "repairable", "authorities"])
_PENALTY_HISTORY_DAYS = 6 * _YEAR
_REPAIR_MONTHS = 6


def generate_network(
    n_companies: int,
    *,
    seed: int = 0,
    as_of: str = "2024-06-30",
    persons_per_company: float = 0.6,
    organization_fraction: float = 0.01,
    max_owners: int = 4,
    company_owner_fraction: float = 0.3,
    missing_share_fraction: float = 0.03,
    history_fraction: float = 0.1,
    cross_holding_fraction: float = 0.001,
    family_fraction: float = 0.05,
    associate_fraction: float = 0.005,
    penalised_company_fraction: float = 0.035,
    penalised_person_fraction: float = 0.01,
    registered_agents: bool = False,
) -> Tables:
    """A random corporate network with the shapes of a company register, as raw tables.

    Companies are founded over the 50 years before ``as_of``, ids in order of founding. Each
    has 1 to ``max_owners`` owners (``P(j owners)`` proportional to ``1 / j``), each a person,
    an older company or an organisation, picked with Pareto weights so that a few owners hold
    many stakes; the recorded stakes of one company are Dirichlet-distributed and sum to at
    most 1 at every date. Each company has exactly one legal representative (half the time
    its largest person owner, otherwise a person drawn with heavy-tailed weights), 0 to 3
    directors, supervisors or executives, and, where one owner holds a majority, often an
    actual controller: that owner, or the parent company's legal representative.

    Parameters
    ----------
    n_companies : int
        Number of companies, at least 1.
    seed : int
        Seed of ``np.random.default_rng``; equal arguments give equal tables.
    as_of : str
        ISO date (YYYY-MM-DD) the network describes: every start is before it, every
        superseded record ends before it.
    persons_per_company : float
        People per company, > 0; at least one person is made.
    organization_fraction : float
        Organisations (state bodies, funds) per company, in [0, 1]; at least one is made.
    max_owners : int
        Most owners drawn for one company, in [1, 100]; a cross-holding can add one more.
    company_owner_fraction : float
        Chance that an owner is a company, in [0, 1]: the lever for chain depth.
    missing_share_fraction : float
        Fraction of OWNS records without a share, in [0, 1].
    history_fraction : float
        Fraction of stakes with an older, smaller record ending before ``as_of``, in [0, 1].
    cross_holding_fraction : float
        Two-company ownership cycles per company, in [0, 1].
    family_fraction : float
        FAMILY links per person, in [0, 1]; half tie a legal representative to an owner of
        the same company.
    associate_fraction : float
        ASSOCIATE links per company, in [0, 1].
    penalised_company_fraction : float
        Fraction of companies with at least one penalty, in [0, 1].
    penalised_person_fraction : float
        Fraction of persons with at least one penalty, in [0, 1].
    registered_agents : bool
        Add the agents at whose addresses some 30 % of companies are registered, as companies
        ``A000001``... with an ``AGENT_OF`` link (role ``registered_agent``) to each client.
        Off by default, which leaves the tables of a seed as they were before agents existed.

    Returns
    -------
    Tables
        ``entities`` (id, kind, name, jurisdiction, address), ``links`` (source, target, type, share,
        role, start, end) and ``penalties`` (id, entity, kind, severity, start, end,
        repair_from, authority), with dates as ISO strings or None, ready for
        :func:`graphscore.model.validate`. Ids are ``C000001`` (companies), ``P000001``
        (persons), ``O000001`` (organisations), ``A000001`` (registered agents) and ``X000001``
        (penalties).

    Raises
    ------
    ValueError
        If ``n_companies`` is not a positive integer, ``as_of`` is not a date, or a tuning
        parameter is out of its range.

    Notes
    -----
    Penalised entities are drawn uniformly, independently of the network: any clustering a
    score finds around them comes from the links, not from the generator. Each penalised
    entity has a geometric number of penalties (mean 5/3), starting within six years before
    ``as_of``.

    Examples
    --------
    >>> from graphscore.model import validate
    >>> tables = generate_network(100, seed=7)
    >>> tables.entities["kind"].value_counts().to_dict()
    {'company': 100, 'person': 60, 'organization': 1}
    >>> links = validate(tables).links
    >>> representatives = links[links["role"] == "legal_representative"]
    >>> len(representatives), representatives["target"].nunique()
    (100, 100)
    """
    _check_parameters(
        n_companies, as_of, max_owners, persons_per_company,
        organization_fraction=organization_fraction,
        company_owner_fraction=company_owner_fraction,
        missing_share_fraction=missing_share_fraction,
        history_fraction=history_fraction,
        cross_holding_fraction=cross_holding_fraction,
        family_fraction=family_fraction,
        associate_fraction=associate_fraction,
        penalised_company_fraction=penalised_company_fraction,
        penalised_person_fraction=penalised_person_fraction,
    )
    rng = np.random.default_rng(seed)
    n = int(n_companies)
    m = max(1, round(persons_per_company * n))
    k = max(1, round(organization_fraction * n))
    today = int(np.datetime64(as_of, "D").astype(np.int64))

    ids, entities = _entities(n, m, k, rng)
    # addresses and agents from a stream of their own (spawning leaves rng's stream as it was):
    # the network drawn for a seed did not change when they were added
    address, agent_addresses, agent = _addresses(n, rng.spawn(1)[0])
    entities["address"] = pd.Series(np.concatenate([address, np.full(m + k, None, dtype=object)]), dtype=object)
    # Ages follow an exponential (mean 10 years) truncated at 50 years, drawn by inverse CDF:
    # registers are dominated by young companies. Every company is at least 30 days old, so
    # later appointments, stake changes and penalties have room before as_of. Sorting makes
    # ids follow founding order, so "owned by an older company" is "by a lower index".
    scale, oldest = 10 * _YEAR, 50 * _YEAR
    age_days = 30 + (-scale * np.log1p(-rng.random(n) * -np.expm1(-oldest / scale))).astype(np.int64)
    founded = today - np.sort(age_days)[::-1]

    owns = _ownership(n, m, k, founded, today, rng, max_owners=max_owners,
                      company_owner_fraction=company_owner_fraction,
                      cross_holding_fraction=cross_holding_fraction)
    top_person, top_owner, top_share, top_start = _largest_owners(owns, n, m)
    representative, officers = _offices(n, m, founded, today, rng, top_person=top_person)
    controllers = _controllers(n, representative, top_owner, top_share, top_start, rng)
    owns = _with_history(owns, today, rng, history_fraction)
    owns["share"][rng.random(owns["share"].size) < missing_share_fraction] = np.nan
    family = _family(n, m, representative, top_person, rng, family_fraction)
    associates = _associates(n + m + k, rng, round(associate_fraction * n))
    frames = [_link_frame(ids, "OWNS", owns), _link_frame(ids, "OFFICER_OF", officers),
              _link_frame(ids, "OFFICER_OF", controllers), _link_frame(ids, "FAMILY", family),
              _link_frame(ids, "ASSOCIATE", associates)]
    if registered_agents:
        agents, agent_links = _agents(ids.size, agent_addresses, agent)
        entities = pd.concat([entities, agents], ignore_index=True)
        frames.append(_link_frame(entities["id"].to_numpy(dtype=object), "AGENT_OF", agent_links))
    links = pd.concat(frames, ignore_index=True)
    penalties = _penalties(n, m, ids, founded, today, rng,
                           company_fraction=penalised_company_fraction,
                           person_fraction=penalised_person_fraction)
    return Tables(entities, links, penalties)


def _check_parameters(n_companies, as_of, max_owners, persons_per_company, **fractions) -> None:
    if isinstance(n_companies, bool) or not isinstance(n_companies, Integral) or n_companies < 1:
        raise ValueError(f"n_companies must be a positive integer, got {n_companies!r}.")
    try:
        dt.datetime.strptime(as_of, "%Y-%m-%d")
    except (TypeError, ValueError):
        raise ValueError(f"as_of must be an ISO date (YYYY-MM-DD), got {as_of!r}.") from None
    if isinstance(max_owners, bool) or not isinstance(max_owners, Integral) or not 1 <= max_owners <= 100:
        raise ValueError(f"max_owners must be an integer in [1, 100], got {max_owners!r}.")
    if not persons_per_company > 0:
        raise ValueError(f"persons_per_company must be > 0, got {persons_per_company!r}.")
    for name, value in fractions.items():
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}.")


def _heavy_tailed_weights(size: int, tail: float, rng: np.random.Generator) -> np.ndarray:
    """Pareto weights with minimum 1: ``P(weight > x) = x ** -tail``."""
    return rng.pareto(tail, size) + 1.0


def _draw(weights: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` indices drawn with replacement, with probability proportional to ``weights``."""
    return rng.choice(weights.size, size=size, p=weights / weights.sum())


def _entities(n: int, m: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame]:
    """Ids (companies, then persons, then organisations: the index used everywhere) and rows."""
    ids = np.concatenate([[f"C{i:06d}" for i in range(1, n + 1)],
                          [f"P{i:06d}" for i in range(1, m + 1)],
                          [f"O{i:06d}" for i in range(1, k + 1)]]).astype(object)
    jurisdiction = _JURISDICTIONS[_draw(_JURISDICTION_WEIGHTS, n + m + k, rng)]
    pinyin = np.isin(jurisdiction, list(_PINYIN_NAMES))
    companies, persons, organizations = slice(0, n), slice(n, n + m), slice(n + m, None)

    def pick(words: np.ndarray, size: int) -> np.ndarray:
        return words[rng.integers(words.size, size=size)]

    size = n + m + k
    pinyin_brand = pick(_SYLLABLES_CAPITALIZED, size) + pick(_SYLLABLES, size)  # "Huaxin"
    brand = np.where(pinyin, pinyin_brand, pick(_BRANDS, size))
    city = pick(_CITIES, size)

    names = np.empty(size, dtype=object)
    suffix = np.vectorize(_COMPANY_SUFFIX.get, otypes=[object])(jurisdiction[companies])
    # Mainland names lead with the city of registration ("Shenzhen Huaxin Trading Co., Ltd.").
    prefix = np.where(jurisdiction[companies] == "CN", city[companies] + " ", "")
    names[companies] = prefix + brand[companies] + " " + pick(_SECTORS, n) + " " + suffix
    names[persons] = np.where(pinyin[persons],
                              pick(_PINYIN_FAMILY, m) + " " + pick(_PINYIN_GIVEN, m),
                              pick(_LATIN_GIVEN, m) + " " + pick(_LATIN_FAMILY, m))
    state_body = rng.random(k) < 0.3
    names[organizations] = np.where(
        pinyin[organizations],
        np.where(state_body,
                 city[organizations] + " State-owned Assets Supervision and Administration Commission",
                 city[organizations] + " " + brand[organizations] + " Industry Guidance Fund"),
        brand[organizations] + " " + pick(_FUNDS, k))

    kind = np.repeat(np.array(["company", "person", "organization"], dtype=object), [n, m, k])
    return ids, _frame({"id": ids, "kind": kind, "name": names, "jurisdiction": jurisdiction})


def _addresses(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Registered addresses of ``n`` companies: each its own, except for a fraction registered
    at one of a few shared agents' addresses (picked with Pareto weights, so one agent serves
    many), each written in one of four variants of case and punctuation. Returns the addresses
    as written, the agents' addresses and each company's agent (-1: none)."""
    def street(size: int) -> np.ndarray:
        number = rng.integers(1, 500, size=size).astype(str).astype(object)
        return (number + " " + _STREETS[rng.integers(_STREETS.size, size=size)] + " Road, "
                + _CITIES[rng.integers(_CITIES.size, size=size)])
    own = street(n)
    agents = street(max(1, round(_SHARED_ADDRESSES_PER_COMPANY * n)))
    at_agent = rng.random(n) < _SHARED_ADDRESS_FRACTION
    client_of = np.full(n, -1)
    client_of[at_agent] = _draw(_heavy_tailed_weights(agents.size, _AGENT_TAIL, rng), int(at_agent.sum()), rng)
    agent = agents[client_of[at_agent]]
    variant = rng.integers(4, size=agent.size)
    written = np.where(variant == 1, np.char.upper(agent.astype(str)).astype(object), agent)
    written = np.where(variant == 2, np.char.replace(agent.astype(str), ", ", " ").astype(object), written)
    written = np.where(variant == 3, np.char.replace(agent.astype(str), " Road", " Road.").astype(object), written)
    own[at_agent] = written
    return own, agents, client_of


def _agents(size: int, agent_addresses: np.ndarray,
            client_of: np.ndarray) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The agents that have clients, as companies ``A000001``... at their address (indexed
    after the ``size`` other entities), and an ``AGENT_OF`` record (role ``registered_agent``)
    to each client."""
    used = np.unique(client_of[client_of >= 0])
    numbers = np.arange(1, used.size + 1)
    entities = _frame({"id": np.array([f"A{i:06d}" for i in numbers], dtype=object),
                       "kind": np.full(used.size, "company", dtype=object),
                       "name": np.array([f"Registered Agent {i} Ltd" for i in numbers], dtype=object),
                       "address": agent_addresses[used]})
    clients = np.flatnonzero(client_of >= 0)
    return entities, {"source": size + np.searchsorted(used, client_of[clients]), "target": clients,
                      "role": np.full(clients.size, "registered_agent", dtype=object)}


def _ownership(n: int, m: int, k: int, founded: np.ndarray, today: int, rng: np.random.Generator,
               *, max_owners: int, company_owner_fraction: float,
               cross_holding_fraction: float) -> dict[str, np.ndarray]:
    """Current OWNS records: one per (owner, asset), shares summing to at most 1 per asset."""
    sizes = np.arange(1, max_owners + 1)
    n_owners = rng.choice(sizes, size=n, p=(1 / sizes) / (1 / sizes).sum())
    target = np.repeat(np.arange(n), n_owners)
    slot = rng.random(target.size)
    by_company = (slot < company_owner_fraction) & (target > 0)  # company 0 has no older company
    by_organization = ~by_company & (slot >= 1 - _ORGANIZATION_OWNER_SHARE)
    by_person = ~by_company & ~by_organization

    source = np.empty(target.size, dtype=np.int64)
    source[by_person] = n + _draw(_heavy_tailed_weights(m, _PERSON_OWNER_TAIL, rng), by_person.sum(), rng)
    source[by_organization] = n + m + _draw(_heavy_tailed_weights(k, _ORGANIZATION_TAIL, rng),
                                            by_organization.sum(), rng)
    # A parent is drawn among the companies founded before the asset, with heavy-tailed
    # weights: inverse-CDF sampling on the prefix sums of the weights.
    cumulative = np.cumsum(_heavy_tailed_weights(n, _HOLDING_TAIL, rng))
    assets = target[by_company]
    drawn = np.searchsorted(cumulative, rng.random(assets.size) * cumulative[assets - 1], side="right")
    source[by_company] = np.minimum(drawn, assets - 1)

    # A cross-holding reverses one parent link, closing a two-company cycle; being the only
    # links from younger to older companies, these are the only cycles.
    parent_rows = np.flatnonzero(by_company)
    reverse = rng.choice(parent_rows, size=min(round(cross_holding_fraction * n), parent_rows.size),
                         replace=False)
    source, target = (np.concatenate([source, target[reverse]]),
                      np.concatenate([target, source[reverse]]))

    # The same owner drawn twice for one asset holds one stake.
    _, first = np.unique(target * (n + m + k) + source, return_index=True)
    source, target = source[first], target[first]

    # Dirichlet(1, ..., 1) stakes, scaled to the recorded part of the capital (a quarter of the
    # companies have free float or owners the register does not list), each at least 0.01 %,
    # rounded down to 0.01 % so rounding cannot push a total past 1.
    gamma = rng.gamma(1.0, size=target.size)
    count = np.bincount(target, minlength=n)
    recorded = np.where(rng.random(n) < 0.75, 1.0, rng.uniform(0.3, 1.0, n))
    raw = gamma / np.bincount(target, weights=gamma, minlength=n)[target]
    share = _round_down(raw * (recorded[target] - 1e-4 * count[target]) + 1e-4)

    # A stake starts when both parties exist; 30 % were bought later.
    begins = founded[target]
    company_source = source < n
    begins[company_source] = np.maximum(begins[company_source], founded[source[company_source]])
    bought_later = rng.random(target.size) < 0.3
    start = begins + (bought_later * rng.random(target.size) * (today - begins)).astype(np.int64)
    return {"source": source, "target": target, "share": share, "start": start,
            "end": np.full(target.size, _NO_DATE)}


def _round_down(share: np.ndarray) -> np.ndarray:
    """Shares floored to 0.01 %, never below 0.01 %."""
    return np.maximum(np.floor(share * 1e4) / 1e4, 1e-4)


def _largest_owners(owns: dict[str, np.ndarray], n: int, m: int):
    """Per company: its largest person owner (or -1), and its largest owner of any kind with
    that stake's share and start (-1, 0, 0 without owners)."""
    order = np.lexsort((-owns["share"], owns["target"]))  # by asset, largest stake first
    target, source = owns["target"][order], owns["source"][order]
    top_owner, top_share, top_start = np.full(n, -1), np.zeros(n), np.zeros(n, dtype=np.int64)
    assets, first = np.unique(target, return_index=True)
    top_owner[assets] = source[first]
    top_share[assets] = owns["share"][order][first]
    top_start[assets] = owns["start"][order][first]

    person = (source >= n) & (source < n + m)
    top_person = np.full(n, -1)
    assets, first = np.unique(target[person], return_index=True)
    top_person[assets] = source[person][first]
    return top_person, top_owner, top_share, top_start


def _offices(n: int, m: int, founded: np.ndarray, today: int, rng: np.random.Generator,
             *, top_person: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Legal representative of each company, and its OFFICER_OF records with the other officers."""
    representative = n + _draw(_heavy_tailed_weights(m, _REPRESENTATIVE_TAIL, rng), n, rng)
    # Small firms are mostly run by their main shareholder.
    owner_runs = (top_person >= 0) & (rng.random(n) < 0.5)
    representative[owner_runs] = top_person[owner_runs]
    companies = np.arange(n)
    appointed_later = rng.random(n) < 0.3
    rep_start = founded + (appointed_later * rng.random(n) * (today - founded)).astype(np.int64)

    officer_target = np.repeat(companies, rng.integers(0, 4, size=n))
    officer_source = n + _draw(_heavy_tailed_weights(m, _OFFICER_TAIL, rng), officer_target.size, rng)
    role_index = _draw(_OFFICER_ROLE_WEIGHTS, officer_target.size, rng)
    _, first = np.unique((officer_target * (n + m) + officer_source) * _OFFICER_ROLES.size + role_index,
                         return_index=True)
    officer_target, officer_source, role_index = officer_target[first], officer_source[first], role_index[first]
    begins = founded[officer_target]
    start = begins + (rng.random(first.size) * (today - begins)).astype(np.int64)
    # One officer in ten has left, between appointment and the day before as_of.
    room = today - start
    left = (rng.random(first.size) < 0.1) & (room >= 2)
    end = np.full(first.size, _NO_DATE)
    end[left] = start[left] + 1 + (rng.random(left.sum()) * (room[left] - 1)).astype(np.int64)

    return representative, {
        "source": np.concatenate([representative, officer_source]),
        "target": np.concatenate([companies, officer_target]),
        "role": np.concatenate([np.full(n, "legal_representative", dtype=object), _OFFICER_ROLES[role_index]]),
        "start": np.concatenate([rep_start, start]),
        "end": np.concatenate([np.full(n, _NO_DATE), end]),
    }


def _controllers(n: int, representative: np.ndarray, top_owner: np.ndarray,
                 top_share: np.ndarray, top_start: np.ndarray,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``actual_controller`` records where one owner holds a majority: a person or state body
    controls directly, a parent company through the person who runs it."""
    majority = top_share > 0.5
    by_company = majority & (top_owner >= 0) & (top_owner < n)
    direct = majority & (top_owner >= n)  # a person or an organisation
    controller = np.where(by_company, representative[np.clip(top_owner, 0, n - 1)], top_owner)
    chosen = (direct & (rng.random(n) < 0.6)) | (by_company & (rng.random(n) < 0.3))
    companies = np.flatnonzero(chosen)
    return {"source": controller[companies], "target": companies,
            "role": np.full(companies.size, "actual_controller", dtype=object),
            "start": top_start[companies], "end": np.full(companies.size, _NO_DATE)}


def _with_history(owns: dict[str, np.ndarray], today: int, rng: np.random.Generator,
                  history_fraction: float) -> dict[str, np.ndarray]:
    """Split some stakes into an older record, closed on a change date before ``as_of``, and
    the current one from that date. The older stake is smaller, so no asset's total ever
    passes its current total."""
    room = today - owns["start"]
    changed = np.flatnonzero((rng.random(room.size) < history_fraction) & (room >= 2))
    change_day = owns["start"][changed] + 1 + (rng.random(changed.size) * (room[changed] - 1)).astype(np.int64)
    older = {"source": owns["source"][changed], "target": owns["target"][changed],
             "share": _round_down(owns["share"][changed] * rng.uniform(0.3, 1.0, changed.size)),
             "start": owns["start"][changed], "end": change_day}
    current = {**owns, "start": owns["start"].copy()}
    current["start"][changed] = change_day
    return {name: np.concatenate([current[name], older[name]]) for name in owns}


def _family(n: int, m: int, representative: np.ndarray, top_person: np.ndarray,
            rng: np.random.Generator, family_fraction: float) -> dict[str, np.ndarray]:
    """FAMILY ties, at most one per pair of persons; spouse and sibling ties list the lower id first."""
    wanted = round(family_fraction * m)
    # Relatives often run a firm together: tie its legal representative to its main owner.
    candidates = np.flatnonzero((top_person >= 0) & (top_person != representative))
    together = rng.choice(candidates, size=min(wanted // 2, candidates.size), replace=False)
    others = wanted - together.size
    a = np.concatenate([representative[together], n + rng.integers(m, size=others)])
    b = np.concatenate([top_person[together], n + rng.integers(m, size=others)])
    role = _FAMILY_ROLES[_draw(_FAMILY_ROLE_WEIGHTS, a.size, rng)]
    low, high = np.minimum(a, b), np.maximum(a, b)
    symmetric = role != "parent"
    a, b = np.where(symmetric, low, a), np.where(symmetric, high, b)
    _, first = np.unique(low * (n + m) + high, return_index=True)
    first = first[a[first] != b[first]]
    return {"source": a[first], "target": b[first], "role": role[first]}


def _associates(size: int, rng: np.random.Generator, wanted: int) -> dict[str, np.ndarray]:
    """ASSOCIATE links between any two distinct entities, at most one per pair."""
    a, b = rng.integers(size, size=wanted), rng.integers(size, size=wanted)
    _, first = np.unique(np.minimum(a, b) * size + np.maximum(a, b), return_index=True)
    first = first[a[first] != b[first]]
    return {"source": a[first], "target": b[first]}


def _link_frame(ids: np.ndarray, link_type: str, records: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows of the links table from index arrays; absent properties are empty."""
    size = records["source"].size
    return _frame({
        "source": ids[records["source"]],
        "target": ids[records["target"]],
        "type": np.full(size, link_type, dtype=object),
        "share": records.get("share", np.full(size, np.nan)),
        "role": records.get("role", np.full(size, None, dtype=object)),
        "start": _iso(records.get("start", np.full(size, _NO_DATE))),
        "end": _iso(records.get("end", np.full(size, _NO_DATE))),
    })


def _frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Text columns as ``object`` holding str or None, the dtype validation coerces text to
    (pandas 3 would otherwise infer its ``str`` dtype, with NaN for None)."""
    return pd.DataFrame({name: pd.Series(values, dtype=float if values.dtype.kind == "f" else object)
                         for name, values in columns.items()})


def _iso(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 as ISO strings, ``_NO_DATE`` as None."""
    # Dates repeat a lot: formatting each distinct day once halves the generator's run time.
    distinct, position = np.unique(days, return_inverse=True)
    as_dates = distinct.astype("datetime64[D]")
    text = np.datetime_as_string(as_dates, unit="D").astype(object)
    text[np.isnat(as_dates)] = None
    return text[position]


def _add_months(days: np.ndarray, months: int) -> np.ndarray:
    """Calendar month arithmetic on day numbers, clipping to the month's end as
    ``pd.DateOffset`` does (2024-08-31 + 6 months = 2025-02-28)."""
    as_dates = days.astype("datetime64[D]")
    month = as_dates.astype("datetime64[M]")
    day_of_month = as_dates - month.astype("datetime64[D]")
    shifted = month + months
    last_day = (shifted + 1).astype("datetime64[D]") - shifted.astype("datetime64[D]") - 1
    return (shifted.astype("datetime64[D]") + np.minimum(day_of_month, last_day)).astype(np.int64)


def _penalties(n: int, m: int, ids: np.ndarray, founded: np.ndarray, today: int,
               rng: np.random.Generator, *, company_fraction: float,
               person_fraction: float) -> pd.DataFrame:
    """The penalties table: a geometric number of penalties (mean 5/3) per penalised entity."""
    penalised = np.concatenate([rng.choice(n, size=round(company_fraction * n), replace=False),
                                n + rng.choice(m, size=round(person_fraction * m), replace=False)])
    entity = np.repeat(penalised, rng.geometric(0.6, size=penalised.size))
    is_company = entity < n
    kind = np.where(is_company,
                    _draw(_PENALTY_KINDS["company_weight"].to_numpy(), entity.size, rng),
                    _draw(_PENALTY_KINDS["person_weight"].to_numpy(), entity.size, rng))
    spec = _PENALTY_KINDS.iloc[kind]

    # Within six years before as_of, and not before a company existed.
    earliest = np.full(entity.size, today - _PENALTY_HISTORY_DAYS)
    earliest[is_company] = np.maximum(earliest[is_company], founded[entity[is_company]])
    start = earliest + (rng.random(entity.size) * (today - earliest)).astype(np.int64)
    # Published for the kind's period, or lifted earlier (debts paid, fine settled).
    duration = np.maximum(1, (spec["period_days"].to_numpy() * rng.uniform(0.25, 1.0, entity.size))
                          .astype(np.int64))
    is_open = rng.random(entity.size) < spec["open_chance"].to_numpy()
    end = np.where(is_open, _NO_DATE, start + duration)
    repair_from = _add_months(start, _REPAIR_MONTHS)
    repairable = (spec["repairable"].to_numpy(dtype=bool) & (rng.random(entity.size) < 0.5)
                  & (is_open | (repair_from < end)))
    repair_from[~repairable] = _NO_DATE

    authority = np.empty(entity.size, dtype=object)
    for row, options in enumerate(_PENALTY_KINDS["authorities"]):
        of_kind = kind == row
        authority[of_kind] = np.array(options, dtype=object)[rng.integers(len(options), size=of_kind.sum())]

    return _frame({
        "id": np.array([f"X{i:06d}" for i in range(1, entity.size + 1)], dtype=object),
        "entity": ids[entity],
        "kind": spec["kind"].to_numpy(dtype=object),
        "severity": spec["severity"].to_numpy(dtype=float),
        "start": _iso(start),
        "end": _iso(end),
        "repair_from": _iso(repair_from),
        "authority": authority,
    })
