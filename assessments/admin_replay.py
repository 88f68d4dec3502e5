"""The "replay" page of a rule-set version in the guidelines admin (registered here, as
guidelines must not import assessments). Shows counts only, no patient identity."""

from guidelines.admin import register_version_tool
from guidelines.loaders import RuleSetError

from .audit import audit_record
from .choices import AuditAction, AuditChannel
from .replay import DEFAULT_LIMIT, MAX_LIMIT, assessment_replay


def replay_view(request, version, model_admin):
    try:
        limit = max(1, min(int(request.GET.get("limit", DEFAULT_LIMIT)), MAX_LIMIT))
    except ValueError:
        limit = DEFAULT_LIMIT
    summary, error, problems = None, "", []
    try:
        summary = assessment_replay(version=version, limit=limit)
    except RuleSetError as exc:
        error, problems = "the version is invalid; fix its rows first", exc.errors
    else:
        audit_record(
            user=request.user, action=AuditAction.READ, channel=AuditChannel.ADMIN,
            detail=f"replay of {version} over {summary.replayed} assessments (counts only)",
        )  # fmt: skip
    return model_admin.render_tool_page(
        request, "replay.html", version, f"Replay {version} on stored assessments",
        summary=summary, limit=limit, max_limit=MAX_LIMIT, error=error, problems=problems,
    )  # fmt: skip


register_version_tool(
    name="replay", label="Replay on recent assessments", view=replay_view,
    drafts_only=False,
)  # fmt: skip
