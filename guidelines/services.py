"""The door of ``guidelines``: the one module other apps import (with ``vocabulary``).

- **Parse and evaluate**: ``input_parse`` turns raw contract input into canonical input
  (``InputError`` lists every refused field); ``guideline_evaluate`` parses and
  evaluates; ``canonical_evaluate`` evaluates input already parsed.
- **Replay**: ``version_compiled`` and ``compiled_evaluate`` run a version (typically a
  draft) over stored inputs; ``register_version_tool`` adds a page to the version admin.
- **Catalogue**: the rule sets and their versions, the codes a version can give, the
  chart thresholds of the active version, the version history and provenance.

Compiled rule sets are cached per process by version id (published versions never
change); the active version id per rule set is cached in Django's cache (Redis when
REDIS_URL is set, so web and worker processes see a publication at their next
evaluation) and refreshed on publish. Drafting and publishing versions is
``guidelines.authoring``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch

from . import engine
from .loaders import (
    SHIPPED_RULE_SETS,
    RuleSetError,
    document_from_version,
    ruleset_from_version,
    ruleset_load,
)
from .models import RuleSet, RuleSetVersion, VersionStatus
from .parameters import parameter_label
from .provenance import NOT_READ, document_rows, verification_counts
from .specs import CompiledRuleSet
from .thresholds import Threshold, chart_thresholds
from .validation import FieldError, InputError, input_parse, parse_value
from .vocabulary import VALUE_LABELS

__all__ = [
    "CompiledRuleSet",
    "Evaluation",
    "FieldError",
    "GuidelineError",
    "InputError",
    "NOT_READ",
    "RuleSetError",
    "Threshold",
    "active_rule_set",
    "active_version_id",
    "active_versions_provenance",
    "canonical_evaluate",
    "chart_thresholds_for",
    "compiled_evaluate",
    "default_rule_set_code",
    "guideline_evaluate",
    "guideline_evaluate_from_files",
    "guideline_list",
    "input_parse",
    "parameter_label",
    "parse_value",
    "published_rule_sets",
    "register_version_tool",
    "recommendation_titles",
    "rule_set_codes_of_active",
    "rule_set_codes_of_version",
    "version_changelog",
    "version_compiled",
    "version_drift",
    "version_get",
    "active_version_of",
]

try:  # the errors of the Redis cache backend (absent: only the in-memory cache)
    from redis.exceptions import RedisError

    CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)
except ImportError:  # pragma: no cover
    CACHE_ERRORS = (OSError,)

logger = logging.getLogger(__name__)
_compiled: dict[int, CompiledRuleSet] = {}
ACTIVE_KEY = "guidelines:active:{code}"
ACTIVE_CACHE_SECONDS = 60  # a cached active-version id is re-read at least this often
CACHE_RETRY_SECONDS = 5  # after a cache error, this process skips the cache so long
_cache_down_until = 0.0


class GuidelineError(Exception):
    """A guideline operation was refused; ``problems`` lists why (text, or a
    ``RuleSetProblem`` naming the table, row key and field of an invalid draft)."""

    def __init__(self, message: str, problems: list | None = None):
        self.problems = problems or []
        super().__init__(message)


@dataclass(frozen=True)
class Evaluation:
    input: dict[str, Any]  # canonical input
    result: dict[str, Any]
    version_id: int


def default_rule_set_code() -> str:
    return settings.MR_CDS_DEFAULT_GUIDELINE


def active_version_id(code: str) -> int:
    """The id of the published version of ``code``: from the cache, else the database.

    The cache is an optimisation: when it fails (Redis down) the database answers, and
    a cached id lives ``ACTIVE_CACHE_SECONDS`` at most, so one that a publication could
    not clear (Redis down at that moment) is soon read again.
    """
    key = ACTIVE_KEY.format(code=code)
    version_id = _cache_call(cache.get, key)
    if version_id is None:
        version_id = (
            RuleSetVersion.objects.filter(
                rule_set__code=code, status=VersionStatus.PUBLISHED
            )
            .values_list("id", flat=True)
            .first()
        )
        if version_id is None:
            raise GuidelineError(f"no published version of rule set {code!r}")
        _cache_call(cache.set, key, version_id, timeout=ACTIVE_CACHE_SECONDS)
    return version_id


def _cache_call(method, *args, **kwargs):
    """``method(*args, **kwargs)`` on the cache, or None when the cache fails (logged;
    the cache is then skipped for ``CACHE_RETRY_SECONDS`` so an outage costs each
    request nothing)."""
    global _cache_down_until
    if time.monotonic() < _cache_down_until:
        return None
    try:
        return method(*args, **kwargs)
    except CACHE_ERRORS:
        logger.warning("cache unavailable; using the database", exc_info=True)
        _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
        return None


def compiled_version(version_id: int) -> CompiledRuleSet:
    """The compiled rule set of a version; published versions are cached forever."""
    compiled = _compiled.get(version_id)
    if compiled is None:
        version = RuleSetVersion.objects.select_related("rule_set").get(pk=version_id)
        compiled = ruleset_from_version(version)
        if version.status != VersionStatus.DRAFT:
            _compiled[version_id] = compiled
    return compiled


def guideline_evaluate(
    *,
    data: Any,
    guideline: str | None = None,
    version_id: int | None = None,
    require_patient: bool = True,
) -> Evaluation:
    """Validate ``data`` (CONTRACT section 1) and evaluate it.

    Raises ``validation.InputError`` (field-named errors) on bad input and
    ``GuidelineError`` when the rule set has no published version.
    """
    clean = input_parse(data, require_patient=require_patient)
    return canonical_evaluate(clean, guideline=guideline, version_id=version_id)


def canonical_evaluate(
    clean: dict[str, Any],
    *,
    guideline: str | None = None,
    version_id: int | None = None,
) -> Evaluation:
    """Evaluate canonical input (``input_parse``'s output, never parsed again) with the
    active version of its rule set (``guideline``, else the default), or ``version_id``.
    """
    if version_id is None:
        code = clean.get("guideline") or guideline or default_rule_set_code()
        rule_set = active_rule_set(code)
    else:
        rule_set = compiled_version(version_id)
    return Evaluation(clean, engine.evaluate(clean, rule_set), rule_set.version_id)


def active_rule_set(code: str) -> CompiledRuleSet:
    """The compiled active version of ``code``; a cached id that no longer names a
    version of this rule set (e.g. a re-created database) is re-read from the DB."""
    version_id = active_version_id(code)
    try:
        rule_set = compiled_version(version_id)
    except RuleSetVersion.DoesNotExist:
        rule_set = None
    if rule_set is None or rule_set.code != code:
        _cache_call(cache.delete, ACTIVE_KEY.format(code=code))
        rule_set = compiled_version(active_version_id(code))
    return rule_set


def guideline_evaluate_from_files(
    *, data: Any, guideline: str | None = None
) -> Evaluation:
    """Evaluate with the rule set shipped in the repository's data files.

    For ``manage.py evaluate`` on a machine whose database is not initialised yet: the
    result names the same version and content hash as the loaded shipped version.
    """
    clean = input_parse(data)
    code = clean.get("guideline") or guideline or default_rule_set_code()
    if code not in SHIPPED_RULE_SETS:
        raise GuidelineError(f"rule set {code!r} is not shipped with the repository")
    rule_set = _file_rule_sets.get(code)
    if rule_set is None:
        rule_set = _file_rule_sets[code] = ruleset_load(code)
    return Evaluation(clean, engine.evaluate(clean, rule_set), 0)


_file_rule_sets: dict[str, CompiledRuleSet] = {}


# --- replay --------------------------------------------------------------------------


def version_compiled(version: RuleSetVersion) -> CompiledRuleSet:
    """A version (a draft too) compiled for replay; raises ``RuleSetError`` listing
    every problem when the version is invalid."""
    return ruleset_from_version(version)


def compiled_evaluate(clean: dict[str, Any], compiled: CompiledRuleSet) -> dict:
    """The result of canonical input under a compiled version (``version_compiled``)."""
    return engine.evaluate(clean, compiled)


@dataclass(frozen=True)
class VersionTool:
    """A page about one version, e.g. ``replay``; ``view(request, version, admin)``.

    ``publish_impact(request, version)``, when given, returns what the publish page
    shows of the tool: a replay summary (``replayed``, ``changed``, ``unchanged``,
    ``skipped``, ``severity_changes``, ``stage_changes``, ``codes_gained_list``,
    ``codes_lost_list``; see ``replay_counts.html``)."""

    name: str
    label: str
    view: Callable[..., Any]
    drafts_only: bool = True
    publish_impact: Callable[..., Any] | None = None


VERSION_TOOLS: list[VersionTool] = []


def register_version_tool(
    *, name: str, label: str, view, drafts_only: bool = True, publish_impact=None
) -> None:
    """Add a page to the version admin at ``<id>/<name>/`` (URL name
    ``admin:guidelines_rulesetversion_<name>``), and optionally its summary on the
    publish page. Other apps (the replay over stored assessments lives in
    ``assessments``, which guidelines must not import) call this at import time of
    their admin module; the guidelines admin lists what is here."""
    if all(tool.name != name for tool in VERSION_TOOLS):
        VERSION_TOOLS.append(
            VersionTool(name, label, view, drafts_only, publish_impact)
        )


# --- catalogue --------------------------------------------------------------------------


def guideline_list() -> list[dict[str, Any]]:
    """The rule sets with their published and retired versions (drafts are not shown)."""
    versions = RuleSetVersion.objects.exclude(status=VersionStatus.DRAFT).order_by(
        "-created_at", "-id"
    )
    default = default_rule_set_code()
    catalogue = []
    for rule_set in RuleSet.objects.prefetch_related(
        Prefetch("versions", queryset=versions, to_attr="shown_versions")
    ).order_by("code"):
        shown = rule_set.shown_versions
        active = next((v for v in shown if v.status == VersionStatus.PUBLISHED), None)
        catalogue.append(
            {
                "code": rule_set.code,
                "title": rule_set.title,
                "default": rule_set.code == default,
                "active_version": active.pk if active else None,
                "versions": shown,
            }
        )
    return catalogue


def published_rule_sets() -> list[tuple[str, str]]:
    """(code, title) of every rule set with a published version, by code."""
    return list(
        RuleSet.objects.filter(versions__status=VersionStatus.PUBLISHED)
        .values_list("code", "title")
        .distinct()
        .order_by("code")
    )


def version_drift(version: RuleSetVersion | None) -> dict[str, Any] | None:
    """When ``version`` (of a stored result) is no longer the active version of its rule
    set: ``{"version": version, "current": the active one or None}``; ``None`` when it
    is still active (or unknown)."""
    if version is None or version.status == VersionStatus.PUBLISHED:
        return None
    current = (
        RuleSetVersion.objects.filter(
            rule_set_id=version.rule_set_id, status=VersionStatus.PUBLISHED
        )
        .only("version", "title")
        .first()
    )
    return {"version": version, "current": current}


def version_get(version_id: int) -> RuleSetVersion:
    """One version by id (``RuleSetVersion.DoesNotExist`` when there is none)."""
    return RuleSetVersion.objects.get(pk=version_id)


def active_version_of(code: str) -> RuleSetVersion:
    """The published version of rule set ``code`` (``GuidelineError`` when none)."""
    return RuleSetVersion.objects.get(pk=active_version_id(code))


def _codes(rule_set: CompiledRuleSet) -> set[str]:
    return {rule.code for rule in rule_set.rules}


def recommendation_titles(version) -> dict[str, str]:
    """Each recommendation code ``version`` can give, with its title as clinicians read
    it: the contract's codes in the vocabulary's words, the version's own codes with
    their titles."""
    return {
        **VALUE_LABELS["recommendation"],
        **dict(version.codes.values_list("code", "title")),
    }


def rule_set_codes_of_version(version_id: int | None) -> set[str] | None:
    """Every recommendation code a version can give (``None``: not known)."""
    if version_id is None:
        return None
    try:
        return _codes(compiled_version(version_id))
    except RuleSetVersion.DoesNotExist:
        return None


def rule_set_codes_of_active(code: str) -> set[str] | None:
    """Every recommendation code the active version of ``code`` can give."""
    try:
        return _codes(active_rule_set(code))
    except GuidelineError:
        return None


def chart_thresholds_for(code: str, mr_type: str | None) -> dict[str, Threshold] | None:
    """The chart thresholds for ``mr_type`` from the active version of ``code``
    (``None`` when the rule set has no published version)."""
    try:
        rule_set = active_rule_set(code)
    except GuidelineError:
        return None
    return chart_thresholds(rule_set, mr_type)


def versions_list() -> list[RuleSetVersion]:
    """Every version, by rule set then newest first (the About page)."""
    return list(
        RuleSetVersion.objects.select_related("rule_set", "published_by").order_by(
            "rule_set__code", "-created_at"
        )
    )


def _document(version: RuleSetVersion) -> dict[str, Any]:
    return document_from_version(version)


def active_version(rule_set: RuleSet) -> RuleSetVersion | None:
    return (
        RuleSetVersion.objects.filter(rule_set=rule_set, status=VersionStatus.PUBLISHED)
        .select_related("rule_set")
        .first()
    )


def version_changelog() -> list[RuleSetVersion]:
    """Every version ever published, newest first, with its publication record."""
    return list(
        RuleSetVersion.objects.filter(published_at__isnull=False)
        .select_related("rule_set", "published_by", "based_on")
        .prefetch_related("edited_by")
        .order_by("-published_at", "-pk")
    )


def active_versions_provenance() -> list[dict[str, Any]]:
    """Per active version: its rows by evidence tag, how many name what they were
    verified from, the rows still unverified, and who approved it when."""
    out = []
    for version in (
        RuleSetVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("rule_set", "published_by")
        .order_by("rule_set__code")
    ):
        rows = document_rows(_document(version))
        out.append({"version": version, **verification_counts(rows)})
    return out
