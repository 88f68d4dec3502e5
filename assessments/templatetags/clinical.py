"""Template filters that put result values in clinical words (``guidelines.parameters``)."""

from django import template

from guidelines.services import parameter_label
from guidelines.vocabulary import value_label

register = template.Library()


@register.filter
def label(value, kind: str) -> str:
    """``{{ result.mr_type|label:"mr_type" }}`` -> ``Primary MR``."""
    return value_label(kind, value)


@register.filter
def parameter(path: str) -> str:
    """``{{ "echo.eroa_cm2"|parameter }}`` -> ``EROA (cm²)``."""
    return parameter_label(path or "")
