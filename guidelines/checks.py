"""System checks for the rules setup (``manage.py check --database default``).

guidelines.W001: a shipped rule set has no published version (a warning, so that
``migrate`` on a fresh database is not blocked; ``load_guidelines`` fixes it).
guidelines.E002: a published version does not compile (a row is invalid).
guidelines.E003: a published version lacks the severe cut-off of a quantitative parameter.
"""

from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError


@register(Tags.database)
def rule_sets_check(app_configs=None, databases=None, **kwargs):
    if not databases:
        return []
    from .loaders import SHIPPED_RULE_SETS, RuleSetError, ruleset_from_version
    from .models import RuleSetVersion, VersionStatus

    errors = []
    try:
        published = list(
            RuleSetVersion.objects.filter(
                status=VersionStatus.PUBLISHED
            ).select_related("rule_set")
        )
    except DatabaseError:
        return []  # not migrated yet: nothing to check

    codes = {v.rule_set.code for v in published}
    for code in SHIPPED_RULE_SETS:
        if code not in codes:
            errors.append(
                Warning(
                    f"rule set {code!r} has no published version",
                    hint="run `python manage.py load_guidelines`",
                    id="guidelines.W001",
                )
            )
    for version in published:
        try:
            compiled = ruleset_from_version(version)
        except RuleSetError as exc:
            errors.append(Error(f"{version}: {exc}", id="guidelines.E002"))
            continue
        bands = {
            next(c.condition.leaves()).parameter
            for c in compiled.severity_criteria
            if c.role == "band" and c.band == "severe" and c.scope == "all"
        }
        for parameter in (
            "echo.eroa_cm2",
            "echo.regurgitant_volume_ml",
            "echo.regurgitant_fraction_pct",
        ):
            if parameter not in bands:
                errors.append(
                    Error(
                        f"{version}: no severe cut-off for {parameter}",
                        id="guidelines.E003",
                    )
                )
    return errors
