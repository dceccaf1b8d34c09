"""The versioned rate configuration: taxes, support schemes, grid tariffs, supplier defaults.

One rule set is one directory (``energy/rates/no`` is Norway's) of TOML files; every value carries
its validity period (``valid_from`` inclusive, ``valid_until`` exclusive, local dates; no
``valid_until``: open-ended) and the source it was checked against, beside it in the file.
:func:`load_ratebook` reads and validates a rule set at start-up; anything wrong (overlapping
periods, a negative rate, an unknown key, a file missing) is a :class:`RateConfigError` naming the
file and the entry, never a silent zero. Asking for a date no entry covers is a
:class:`RateGapError`; asking for a grid company the rule set does not know,
:class:`UnknownGridCompany`.

Integer units (what :mod:`energy.bill` computes with):

* energy prices: micro-units of the currency per kWh (``µ/kWh``; 1 ore/kWh = 10,000 µNOK/kWh);
* monthly amounts: nano-units of the currency (1 NOK = 10^9 nNOK);
* percentages: basis points (25 % = 2,500).
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = [
    "DEFAULT_RULESET",
    "CapacityStepRate",
    "GridTariff",
    "Location",
    "NorgesprisRule",
    "RateBook",
    "RateConfigError",
    "RateGapError",
    "SupplierDefault",
    "SupportRule",
    "UnknownGridCompany",
    "Validity",
    "Versioned",
    "load_ratebook",
]

DEFAULT_RULESET = Path(__file__).with_name("rates") / "no"
PERIODS = ("hour", "quarter_hour")
T = TypeVar("T")


class RateConfigError(ValueError):
    """The rule set on disk is wrong (raised at load: start-up fails with this message)."""


class RateGapError(LookupError):
    """No entry of an item covers the date asked for."""


class UnknownGridCompany(LookupError):
    """A household names a grid company the rule set has no tariff for."""


@dataclass(frozen=True)
class Validity:
    """When an entry applies and where its value comes from."""

    valid_from: date
    valid_until: date | None
    source: str
    checked: date | None
    verified: bool

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day < self.valid_until)


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """The entries of one item, sorted, without overlaps (checked when built)."""

    name: str
    entries: tuple[tuple[Validity, T], ...]

    def __post_init__(self) -> None:
        ordered = sorted(self.entries, key=lambda e: e[0].valid_from)
        for (a, _), (b, _) in itertools.pairwise(ordered):
            if a.valid_until is None or a.valid_until > b.valid_from:
                raise RateConfigError(
                    f"{self.name}: validity periods overlap: {a.valid_from}..{a.valid_until or 'open'} "
                    f"and {b.valid_from}..{b.valid_until or 'open'}"
                )
        object.__setattr__(self, "entries", tuple(ordered))

    def at(self, day: date) -> T:
        for validity, value in self.entries:
            if validity.covers(day):
                return value
        raise RateGapError(f"{self.name}: no rate in force on {day.isoformat()}")

    def validity_at(self, day: date) -> Validity:
        for validity, _ in self.entries:
            if validity.covers(day):
                return validity
        raise RateGapError(f"{self.name}: no rate in force on {day.isoformat()}")

    def covers(self, day: date) -> bool:
        return any(v.covers(day) for v, _ in self.entries)

    def covered_until(self, day: date) -> date | None:
        """The first day from ``day`` on that no entry covers (``day`` itself if none covers it);
        ``None``: covered without end. Entries are followed while they join up, so a gap in the
        middle of the file counts as the end."""
        for validity, _ in self.entries:
            if validity.covers(day):
                if validity.valid_until is None:
                    return None
                day = validity.valid_until
        return day


@dataclass(frozen=True)
class SupportRule:
    """Stromstotte: ``percent_bp`` of the spot price above ``threshold`` for up to ``cap_wh``."""

    threshold_micro_per_kwh: int
    percent_bp: int
    cap_wh: int
    period: str


@dataclass(frozen=True)
class NorgesprisRule:
    """Norgespris: the grid company settles ``price - spot`` for volumes under the cap."""

    price_micro_per_kwh: int
    cap_wh_home: int
    cap_wh_cabin: int
    period: str


@dataclass(frozen=True)
class CapacityStepRate:
    """A capacity step: bases from the previous bound (inclusive) to ``up_to_wh`` (exclusive).

    Bases are hourly energy in Wh (Wh in one hour = mean W); ``None`` is the open last step.
    """

    up_to_wh: int | None
    nano_per_month: int


@dataclass(frozen=True)
class GridTariff:
    """One version of a grid company's household tariff (ex VAT, ex taxes)."""

    day_micro_per_kwh: int
    night_micro_per_kwh: int
    day_start_hour: int
    day_end_hour: int
    weekend_is_night: bool
    steps: tuple[CapacityStepRate, ...]

    def is_day(self, local_hour: int, weekday: int) -> bool:
        if self.weekend_is_night and weekday >= 5:
            return False
        return self.day_start_hour <= local_hour < self.day_end_hour

    def step_nano(self, top3_sum_wh: int, n_peaks: int) -> int:
        """The monthly amount for the mean of ``n_peaks`` peaks summing ``top3_sum_wh``."""
        n = max(n_peaks, 1)
        for step in self.steps:
            if step.up_to_wh is None or top3_sum_wh < step.up_to_wh * n:
                return step.nano_per_month
        return self.steps[-1].nano_per_month

    def next_step(self, basis_wh: int) -> tuple[int, int] | None:
        """Where the next dearer step starts for a capacity basis (mean of the top daily peaks):
        ``(lower bound in Wh, its amount in nano per month)``, or ``None`` when no dearer step
        follows (the open last step, or steps that repeat the same amount to the end)."""
        current = self.step_nano(basis_wh, 1)
        bound: int | None = None
        for step in self.steps:
            if bound is not None and bound > basis_wh and step.nano_per_month > current:
                return bound, step.nano_per_month
            if step.up_to_wh is None:
                return None
            bound = step.up_to_wh
        return None


@dataclass(frozen=True)
class SupplierDefault:
    """The supplier contract of a household that registered none."""

    markup_micro_per_kwh: int
    monthly_fee_nano: int


@dataclass(frozen=True)
class Location:
    """VAT and elavgift exemptions by municipality number (county = its first two digits)."""

    vat_exempt_counties: frozenset[str]
    elavgift_exempt_counties: frozenset[str]
    elavgift_exempt_municipalities: frozenset[str]
    north_default_zone: str

    def vat_exempt(self, municipality: str) -> bool:
        return municipality[:2] in self.vat_exempt_counties if len(municipality) == 4 else False

    def elavgift_exempt(self, municipality: str) -> bool:
        if len(municipality) != 4:
            return False
        return (
            municipality[:2] in self.elavgift_exempt_counties
            or municipality in self.elavgift_exempt_municipalities
        )

    def default_zone(self, municipality: str, zone: str) -> str:
        """The registered zone, else NO4 for the northern counties, else empty."""
        if zone:
            return zone
        return self.north_default_zone if self.vat_exempt(municipality) else ""


@dataclass(frozen=True)
class RateBook:
    """A loaded, validated rule set."""

    currency: str
    elavgift: Versioned[int]
    enova: Versioned[int]
    vat_bp: Versioned[int]
    support: Versioned[SupportRule]
    norgespris: Versioned[NorgesprisRule]
    supplier: Versioned[SupplierDefault]
    grids: Mapping[str, Versioned[GridTariff]]
    grid_names: Mapping[str, str]
    location: Location
    path: Path
    grid_zones: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def grid(self, company: str) -> Versioned[GridTariff]:
        try:
            return self.grids[company]
        except KeyError:
            known = ", ".join(sorted(self.grids))
            raise UnknownGridCompany(f"unknown grid company {company!r}; known: {known}") from None

    def grid_for_zone(self, zone: str) -> str | None:
        """The grid company (key) whose file lists ``zone`` (the first by key), else ``None``."""
        return next((k for k in sorted(self.grid_zones) if zone in self.grid_zones[k]), None)

    def items(self) -> list[tuple[str, Versioned[Any]]]:
        """Every versioned item of the rule set by name (grid companies as ``grid/<key>``)."""
        named: list[tuple[str, Versioned[Any]]] = [
            ("elavgift", self.elavgift),
            ("enova", self.enova),
            ("vat", self.vat_bp),
            ("stromstotte", self.support),
            ("norgespris", self.norgespris),
            ("supplier", self.supplier),
        ]
        return named + [(f"grid/{k}", v) for k, v in sorted(self.grids.items())]

    def coverage(self, day: date) -> dict[str, date | None]:
        """For each item, the first day from ``day`` on without a rate in force (``None``: covered
        without end). A bill for a day past an item's end stays unpriced (RateGapError) until the
        rule set gets an entry for it, so an operator needs to know this before the day comes."""
        return {name: item.covered_until(day) for name, item in self.items()}

    def unverified(self) -> list[str]:
        """Every entry marked ``verified = false`` (for the start-up log and the docs)."""
        return [
            f"{name} from {v.valid_from}"
            for name, item in self.items()
            for v, _ in item.entries
            if not v.verified
        ]


# --- parsing -----------------------------------------------------------------------------------


def _decimal(where: str, key: str, raw: object, *, allow_inf: bool = False) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise RateConfigError(f"{where}: {key} must be a number or a decimal string, got {raw!r}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise RateConfigError(f"{where}: {key} is not a number: {raw!r}") from None
    if value.is_nan() or (value.is_infinite() and not allow_inf):
        raise RateConfigError(f"{where}: {key} must be finite, got {raw!r}")
    if value < 0:
        raise RateConfigError(f"{where}: {key} is negative ({raw!r}); rates and amounts must be >= 0")
    return value


def _scaled(value: Decimal, scale: int) -> int:
    return int((value * scale).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _ore_kwh(where: str, entry: Mapping[str, Any], key: str) -> int:
    return _scaled(_decimal(where, key, _need(where, entry, key)), 10_000)  # ore -> µ/kWh


def _nok_nano(where: str, raw: object, key: str) -> int:
    return _scaled(_decimal(where, key, raw), 1_000_000_000)


def _percent_bp(where: str, entry: Mapping[str, Any]) -> int:
    value = _decimal(where, "percent", _need(where, entry, "percent"))
    if value > 100:
        raise RateConfigError(f"{where}: percent must be at most 100, got {value}")
    return _scaled(value, 100)


def _kwh_wh(where: str, entry: Mapping[str, Any], key: str) -> int:
    return _scaled(_decimal(where, key, _need(where, entry, key)), 1000)


def _need(where: str, entry: Mapping[str, Any], key: str) -> Any:
    if key not in entry:
        raise RateConfigError(f"{where}: missing {key}")
    return entry[key]


def _day(where: str, raw: object, key: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise RateConfigError(f"{where}: {key} is not a date (YYYY-MM-DD): {raw!r}") from None


def _period(where: str, entry: Mapping[str, Any]) -> str:
    period = str(entry.get("period", "hour"))
    if period not in PERIODS:
        raise RateConfigError(f"{where}: period must be one of {PERIODS}, got {period!r}")
    return period


_COMMON = {"valid_from", "valid_until", "source", "checked", "verified"}


def _versioned(
    file: Path,
    item: str,
    data: Mapping[str, Any],
    keys: set[str],
    parse: Callable[[str, Mapping[str, Any]], T],
) -> Versioned[T]:
    raw = data.get(item)
    if not isinstance(raw, list) or not raw:
        raise RateConfigError(f"{file}: needs at least one [[{item}]] entry")
    entries = []
    for i, entry in enumerate(raw):
        where = f"{file.name} [[{item}]] #{i + 1}"
        unknown = set(entry) - keys - _COMMON
        if unknown:
            raise RateConfigError(f"{where}: unknown keys {sorted(unknown)}")
        start = _day(where, _need(where, entry, "valid_from"), "valid_from")
        until = _day(where, entry["valid_until"], "valid_until") if "valid_until" in entry else None
        if until is not None and until <= start:
            raise RateConfigError(f"{where}: valid_until {until} is not after valid_from {start}")
        source = str(entry.get("source", "")).strip()
        if not source:
            raise RateConfigError(f"{where}: every value needs its source")
        checked = _day(where, entry["checked"], "checked") if "checked" in entry else None
        validity = Validity(start, until, source, checked, bool(entry.get("verified", False)))
        entries.append((validity, parse(where, entry)))
    try:
        return Versioned(f"{file.name} {item}", tuple(entries))
    except RateConfigError as exc:
        raise RateConfigError(str(exc)) from None


def _steps(where: str, raw: object) -> tuple[CapacityStepRate, ...]:
    if not isinstance(raw, list) or not raw:
        raise RateConfigError(f"{where}: capacity_steps needs at least one [up_to_kw, nok_per_month]")
    steps: list[CapacityStepRate] = []
    for pair in raw:
        if not isinstance(pair, list) or len(pair) != 2:
            raise RateConfigError(f"{where}: capacity step {pair!r} is not [up_to_kw, nok_per_month]")
        bound = _decimal(where, "capacity up_to_kw", pair[0], allow_inf=True)
        up_to = None if bound.is_infinite() else _scaled(bound, 1000)
        steps.append(CapacityStepRate(up_to, _nok_nano(where, pair[1], "capacity nok_per_month")))
    bounds = [s.up_to_wh for s in steps[:-1]]
    if (
        None in bounds
        or bounds != sorted(b for b in bounds if b is not None)
        or len(set(bounds)) != len(bounds)
    ):
        raise RateConfigError(f"{where}: capacity bounds must increase strictly, only the last may be inf")
    if steps[-1].up_to_wh is not None:
        raise RateConfigError(f"{where}: the last capacity step must be open (inf)")
    return tuple(steps)


def _grid_tariff(where: str, e: Mapping[str, Any]) -> GridTariff:
    start, end = int(e.get("day_start_hour", 6)), int(e.get("day_end_hour", 22))
    if not 0 <= start < end <= 24:
        raise RateConfigError(f"{where}: day hours must satisfy 0 <= start < end <= 24")
    return GridTariff(
        _ore_kwh(where, e, "energy_day_ore_per_kwh"),
        _ore_kwh(where, e, "energy_night_ore_per_kwh"),
        start,
        end,
        bool(e.get("weekend_is_night", False)),
        _steps(where, _need(where, e, "capacity_steps")),
    )


def _read(file: Path) -> dict[str, Any]:
    if not file.is_file():
        raise RateConfigError(f"rule set file missing: {file}")
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise RateConfigError(f"{file}: {exc}") from None


def load_ratebook(path: Path | str = DEFAULT_RULESET) -> RateBook:
    """Read and validate the rule set in directory ``path`` (raises :class:`RateConfigError`)."""
    root = Path(path)
    taxes_file, support_file = root / "taxes.toml", root / "support.toml"
    taxes, support = _read(taxes_file), _read(support_file)
    supplier_file, locations_file = root / "supplier.toml", root / "locations.toml"
    supplier, locations = _read(supplier_file), _read(locations_file)
    currency = str(taxes.get("currency", "NOK"))
    if currency not in ("NOK", "EUR"):
        raise RateConfigError(f"{taxes_file}: currency must be NOK or EUR, got {currency!r}")
    grids: dict[str, Versioned[GridTariff]] = {}
    names: dict[str, str] = {}
    zones: dict[str, tuple[str, ...]] = {}
    grid_files = sorted((root / "grid").glob("*.toml"))
    if not grid_files:
        raise RateConfigError(f"{root / 'grid'}: no grid company tariffs")
    grid_keys = {
        "energy_day_ore_per_kwh",
        "energy_night_ore_per_kwh",
        "day_start_hour",
        "day_end_hour",
        "weekend_is_night",
        "capacity_steps",
    }
    for file in grid_files:
        data = _read(file)
        grids[file.stem] = _versioned(file, "tariff", data, grid_keys, _grid_tariff)
        names[file.stem] = str(data.get("name", file.stem))
        listed = data.get("zones", [])
        if not isinstance(listed, list) or not all(isinstance(z, str) for z in listed):
            raise RateConfigError(f'{file}: zones must be a list of bidding zones, e.g. ["NO1"]')
        zones[file.stem] = tuple(listed)
    vat_ex = locations.get("vat_exempt", {})
    el_ex = locations.get("elavgift_exempt", {})
    return RateBook(
        currency=currency,
        elavgift=_versioned(
            taxes_file, "elavgift", taxes, {"ore_per_kwh"}, lambda w, e: _ore_kwh(w, e, "ore_per_kwh")
        ),
        enova=_versioned(
            taxes_file, "enova", taxes, {"ore_per_kwh"}, lambda w, e: _ore_kwh(w, e, "ore_per_kwh")
        ),
        vat_bp=_versioned(taxes_file, "vat", taxes, {"percent"}, _percent_bp),
        support=_versioned(
            support_file,
            "stromstotte",
            support,
            {"threshold_ore_per_kwh", "percent", "monthly_cap_kwh", "period"},
            lambda w, e: SupportRule(
                _ore_kwh(w, e, "threshold_ore_per_kwh"),
                _percent_bp(w, e),
                _kwh_wh(w, e, "monthly_cap_kwh"),
                _period(w, e),
            ),
        ),
        norgespris=_versioned(
            support_file,
            "norgespris",
            support,
            {"ore_per_kwh", "monthly_cap_kwh_home", "monthly_cap_kwh_cabin", "period"},
            lambda w, e: NorgesprisRule(
                _ore_kwh(w, e, "ore_per_kwh"),
                _kwh_wh(w, e, "monthly_cap_kwh_home"),
                _kwh_wh(w, e, "monthly_cap_kwh_cabin"),
                _period(w, e),
            ),
        ),
        supplier=_versioned(
            supplier_file,
            "default",
            supplier,
            {"markup_ore_per_kwh", "monthly_fee_nok"},
            lambda w, e: SupplierDefault(
                _ore_kwh(w, e, "markup_ore_per_kwh"),
                _nok_nano(w, _need(w, e, "monthly_fee_nok"), "monthly_fee_nok"),
            ),
        ),
        grids=grids,
        grid_names=names,
        location=Location(
            frozenset(str(c) for c in vat_ex.get("counties", [])),
            frozenset(str(c) for c in el_ex.get("counties", [])),
            frozenset(str(m) for m in el_ex.get("municipalities", [])),
            str(locations.get("zones", {}).get("north_default", "NO4")),
        ),
        path=root,
        grid_zones=zones,
    )
