"""The unit factors of codes.UNIT_FACTORS, derived here from UCUM's own definitions
(prefixes m = 10^-3, c = 10^-2, d = 10^-1; [in_i] = 2.54 cm; [lb_av] = 7000 [gr],
[gr] = 64.79891 mg; L = dm3; cm3 = mL by L = dm3), not copied from the table."""

from decimal import Decimal

import pytest

from assessments.interop.codes import CONTRACT_UCUM, UNIT_FACTORS
from guidelines.vocabulary import INPUT_FIELDS

METRE = {
    "m": Decimal(1),
    "cm": Decimal("1e-2"),
    "mm": Decimal("1e-3"),
    "[in_i]": Decimal("2.54") * Decimal("1e-2"),
}
GRAM = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "[lb_av]": 7000 * Decimal("64.79891") * Decimal("1e-3"),
}
LITRE_IN_M3 = Decimal("1e-1") ** 3  # L = dm3
VOLUME = {
    "L": LITRE_IN_M3,
    "mL": LITRE_IN_M3 * Decimal("1e-3"),
    "cm3": Decimal("1e-2") ** 3,
}
SPEED = {"m/s": Decimal(1), "cm/s": Decimal("1e-2"), "mm/s": Decimal("1e-3")}
AREA = {"cm2": Decimal("1e-2") ** 2, "mm2": Decimal("1e-3") ** 2}
DIMENSIONS = [METRE, GRAM, VOLUME, SPEED, AREA]


def _derived(target: str, given: str) -> Decimal:
    for table in DIMENSIONS:
        if target in table and given in table:
            return table[given] / table[target]
    if target == given:
        return Decimal(1)
    raise AssertionError(f"no UCUM definition for {given} -> {target}")


CASES = [(t, g, f) for t, given in UNIT_FACTORS.items() for g, f in given.items()]


@pytest.mark.parametrize(
    ("target", "given", "factor"), CASES, ids=[f"{g}->{t}" for t, g, _ in CASES]
)
def test_each_factor_is_the_ucum_definition(target, given, factor):
    assert factor == _derived(target, given)


def test_every_numeric_contract_unit_has_a_ucum_code_and_factors():
    units = {
        f.unit for f in INPUT_FIELDS if f.unit and f.kind in ("decimal", "integer")
    }
    mapped = {u for u in units if u in CONTRACT_UCUM}
    for unit in mapped:
        assert UNIT_FACTORS[CONTRACT_UCUM[unit]][CONTRACT_UCUM[unit]] == 1
    assert "mmHg" in mapped  # UCUM writes mm[Hg] (CODES.md)
    assert CONTRACT_UCUM["mmHg"] == "mm[Hg]"
