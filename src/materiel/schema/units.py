"""Unit conversion for dataset figures.

Items count in their own unit (round, module, body...). Mass items may be entered in ``kg``
or ``t``. Rates are ``<quantity unit>/<time unit>`` with time in day, week, month or year and
are converted to per month (a month is 365.25 / 12 days).
"""

from __future__ import annotations

DAYS_PER_MONTH = 365.25 / 12
PER_MONTH = {"day": DAYS_PER_MONTH, "week": DAYS_PER_MONTH / 7, "month": 1.0, "year": 1 / 12}
MASS_IN_TONNES = {"t": 1.0, "kg": 1e-3}


class UnitError(ValueError):
    """A unit that does not fit the item it describes."""


def quantity_factor(given: str, item_unit: str) -> float:
    """Factor turning a quantity in ``given`` into the item's unit.

    >>> quantity_factor("kg", "t")
    0.001
    """
    if given == item_unit:
        return 1.0
    if given in MASS_IN_TONNES and item_unit in MASS_IN_TONNES:
        return MASS_IN_TONNES[given] / MASS_IN_TONNES[item_unit]
    raise UnitError(f"'{given}' does not convert to the item's unit '{item_unit}'")


def rate_factor(given: str, item_unit: str) -> float:
    """Factor turning a rate like ``round/year`` into item units per month."""
    quantity, _, period = given.partition("/")
    if period not in PER_MONTH:
        raise UnitError(f"period '{period}' is not one of {', '.join(PER_MONTH)}")
    return quantity_factor(quantity, item_unit) * PER_MONTH[period]


def ratio_factor(given: str, input_unit: str, output_unit: str) -> float:
    """Factor turning a recipe quantity like ``kg/round`` into input units per output unit."""
    numerator, _, denominator = given.partition("/")
    return quantity_factor(numerator, input_unit) / quantity_factor(denominator, output_unit)
