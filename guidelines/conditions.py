"""Parse and validate structured rule conditions (the data form of ``specs.Condition``).

The data form, used in the TOML seed files and stored as JSON on rule rows:

- a leaf is a 3-item list ``[parameter, operator, value]``,
  e.g. ``["echo.lvef_pct", "<=", 60]``;
- a node is a table ``{all = [...]}``, ``{any = [...]}`` or ``{at_least = 3, of = [...]}``.

``condition_parse`` refuses anything else with a message naming the path inside the
condition, the parameter and the allowed values. It is the one validation shared by the
loader, the admin forms and the publish checks (STYLE 16).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .parameters import CONTRACT_CODES, EXTRA_CODES, PARAMETERS
from .specs import OPERATORS, ORDERING_OPERATORS, SET_OPERATORS, Condition, Leaf, Node
from .vocabulary import Kind


class ConditionError(ValueError):
    """A rule condition is malformed; ``path`` says where (e.g. ``all[2]``)."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path or 'condition'}: {message}")


def _number(value: Any, where: str, param) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ConditionError(where, f"{param.name} needs a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ConditionError(where, f"{param.name} needs a number") from None
    if param.minimum is not None and not (param.minimum <= number <= param.maximum):
        raise ConditionError(
            where,
            f"threshold {number} for {param.name} is outside its plausible range "
            f"{param.minimum}..{param.maximum} {param.unit}".rstrip(),
        )
    return number


def _scalar(value: Any, where: str, param, extra_codes: frozenset[str]) -> Any:
    if param.name == "recommendations":
        if value not in CONTRACT_CODES + EXTRA_CODES and value not in extra_codes:
            raise ConditionError(where, f"unknown recommendation code {value!r}")
        return value
    if param.kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise ConditionError(where, f"{param.name} is yes/no: use true or false")
        return value
    if param.kind is Kind.CHOICE:
        if value not in param.choices:
            raise ConditionError(
                where,
                f"{value!r} is not a value of {param.name}; allowed: "
                + ", ".join(param.choices),
            )
        return value
    number = _number(value, where, param)
    if param.kind is Kind.INTEGER and number != number.to_integral_value():
        raise ConditionError(where, f"{param.name} needs a whole number")
    return int(number) if param.kind is Kind.INTEGER else number


def condition_parse(
    data: Any, path: str = "", extra_codes: frozenset[str] = frozenset()
) -> Condition:
    """Return the condition tree for ``data`` or raise ``ConditionError``."""
    if isinstance(data, list | tuple):
        if (
            len(data) != 3
            or not isinstance(data[0], str)
            or not isinstance(data[1], str)
        ):
            raise ConditionError(path, "a condition is [parameter, operator, value]")
        name, operator, value = data
        param = PARAMETERS.get(name)
        if param is None:
            raise ConditionError(path, f"unknown parameter {name!r}")
        if operator not in OPERATORS:
            raise ConditionError(
                path, f"unknown operator {operator!r}; allowed: " + ", ".join(OPERATORS)
            )
        if operator in ("includes", "excludes") and name != "recommendations":
            raise ConditionError(
                path, f"{operator!r} applies to 'recommendations' only"
            )
        if name == "recommendations" and operator not in ("includes", "excludes"):
            raise ConditionError(path, "'recommendations' takes includes / excludes")
        if operator in ORDERING_OPERATORS and param.kind not in (
            Kind.DECIMAL,
            Kind.INTEGER,
        ):
            raise ConditionError(
                path, f"{operator!r} needs a numeric parameter; {name} is {param.kind}"
            )
        if operator in SET_OPERATORS:
            if not isinstance(value, list | tuple) or not value:
                raise ConditionError(path, f"{operator!r} needs a non-empty list")
            parsed = tuple(
                _scalar(v, f"{path}[{i}]", param, extra_codes)
                for i, v in enumerate(value)
            )
        else:
            parsed = _scalar(value, path, param, extra_codes)
        return Leaf(name, operator, parsed, param.display)
    if isinstance(data, dict):
        keys = set(data)
        if keys == {"all"} or keys == {"any"}:
            match = next(iter(keys))
            items, n = data[match], 0
        elif keys == {"at_least", "of"}:
            match, items, n = "at_least", data["of"], data["at_least"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ConditionError(path, "at_least needs a whole number ≥ 1")
            if isinstance(items, list) and n > len(items):
                raise ConditionError(
                    path, f"at_least {n} of only {len(items)} conditions"
                )
        else:
            raise ConditionError(
                path,
                "a group is {all = [...]}, {any = [...]} or {at_least = N, of = [...]}",
            )
        if not isinstance(items, list) or not items:
            raise ConditionError(path, f"{match} needs a non-empty list of conditions")
        children = tuple(
            condition_parse(item, f"{path}.{match}[{i}]".lstrip("."), extra_codes)
            for i, item in enumerate(items)
        )
        return Node(match, children, n)
    raise ConditionError(path, "a condition is [parameter, operator, value] or a group")


def condition_to_data(condition: Condition) -> Any:
    """The inverse of ``condition_parse``: JSON-ready data (numbers as strings)."""
    if isinstance(condition, Leaf):
        value = condition.value
        if isinstance(value, tuple):
            value = [str(v) if isinstance(v, Decimal) else v for v in value]
        elif isinstance(value, Decimal):
            value = str(value)
        return [condition.parameter, condition.operator, value]
    children = [condition_to_data(c) for c in condition.children]
    if condition.match == "at_least":
        return {"at_least": condition.n, "of": children}
    return {condition.match: children}
