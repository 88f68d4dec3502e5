"""The "replay" page of a rule-set version in the guidelines admin (registered here, as
guidelines must not import assessments). Shows counts only, no patient identity."""

from django.http import HttpResponseRedirect
from django.urls import reverse

from guidelines.services import RuleSetError, register_version_tool

from .audit import audit_record
from .choices import AuditAction, AuditChannel
from .models import ReplayRun
from .replay import DEFAULT_LIMIT, MAX_LIMIT, assessment_replay
from .replay_runs import (
    replay_run_cancel,
    replay_run_resume,
    replay_run_start,
    replay_run_summary,
)


def replay_audited(request, version, limit=DEFAULT_LIMIT):
    """The replay summary of the most recent ``limit`` assessments, the read audited
    (counts only); raises ``RuleSetError`` when the version is invalid."""
    summary = assessment_replay(version=version, limit=limit)
    audit_record(
        user=request.user,
        action=AuditAction.READ,
        channel=AuditChannel.ADMIN,
        detail=f"replay of {version} over {summary.replayed} assessments (counts only)",
    )
    return summary


def replay_view(request, version, model_admin):
    try:
        limit = max(1, min(int(request.GET.get("limit", DEFAULT_LIMIT)), MAX_LIMIT))
    except ValueError:
        limit = DEFAULT_LIMIT
    summary, error, problems = None, "", []
    try:
        summary = replay_audited(request, version, limit)
    except RuleSetError as exc:
        error, problems = "the version is invalid; fix its rows first", exc.errors
    return model_admin.render_tool_page(
        request,
        "replay.html",
        version,
        f"Replay {version} on stored assessments",
        summary=summary,
        limit=limit,
        max_limit=MAX_LIMIT,
        error=error,
        problems=problems,
    )


register_version_tool(
    name="replay",
    label="Replay on recent assessments",
    view=replay_view,
    drafts_only=False,
    publish_impact=replay_audited,
)


# --- replay over every stored assessment, as chunked background jobs -----------------


def replay_runs_view(request, version, model_admin):
    here = reverse("admin:guidelines_rulesetversion_replay_all", args=[version.pk])
    error, problems = "", []
    if request.method == "POST":
        action = request.POST.get("action")
        run = ReplayRun.objects.filter(
            version=version, pk=request.POST.get("run")
        ).first()
        if action == "start":
            try:
                run = replay_run_start(version=version, user=request.user)
            except RuleSetError as exc:
                error, problems = (
                    "the version is invalid; fix its rows first",
                    exc.errors,
                )
            else:
                audit_record(
                    user=request.user,
                    action=AuditAction.READ,
                    channel=AuditChannel.ADMIN,
                    detail=f"replay run #{run.pk} of {version} over {run.total} "
                    "assessments started (counts only)",
                )
                return HttpResponseRedirect(f"{here}?run={run.pk}")
        elif run is not None and action == "cancel":
            replay_run_cancel(run=run)
            return HttpResponseRedirect(f"{here}?run={run.pk}")
        elif run is not None and action == "resume":
            replay_run_resume(run=run)
            return HttpResponseRedirect(f"{here}?run={run.pk}")
    runs = list(ReplayRun.objects.filter(version=version)[:20])
    selected = next((r for r in runs if str(r.pk) == request.GET.get("run")), None)
    selected = selected or (runs[0] if runs else None)
    summary = done = chunks = None
    if selected is not None:
        summary, done, chunks = replay_run_summary(selected)
    return model_admin.render_tool_page(
        request,
        "replay_runs.html",
        version,
        f"Replay {version} on all stored assessments",
        runs=runs,
        run=selected,
        summary=summary,
        chunks_done=done,
        chunks=chunks,
        error=error,
        problems=problems,
    )


register_version_tool(
    name="replay_all",
    label="Replay on all stored assessments (background)",
    view=replay_runs_view,
    drafts_only=False,
)
