"""The guideline authoring admin: draft, edit, check, compare, publish and roll back
rule-set versions.

Who: superusers and the "guideline editors" group (its model permissions come from the
data migration ``0002_guideline_editors_group``). Everyone else gets 403.

What is editable: only a draft. A published or retired version and its rows are shown
read-only (no change, no delete permission), and the write paths go through the services
(``version_rows_save``, ``version_delete``), which refuse non-drafts themselves. A rule
row is edited on its own page, which reads "if <condition> then <outcome>"; the version
page lists its rows as "if ... then ..." lines linking there (editing ~90 rows in one
form would exceed Django's 1,000-field POST limit). Every save validates the whole
draft with the edited row; errors name the row key and the field.

Other apps add pages to a version (the replay over stored assessments lives in
``assessments``, which guidelines must not import) with ``services.register_version_tool``;
this admin lists ``services.VERSION_TOOLS``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from . import authoring, forms, services
from .case_forms import (
    ANY_OF_GROUPS,
    PRIOR_ROWS_EXTRA,
    TestCaseForm,
    input_field_name,
    input_lookup,
    prior_field_name,
)
from .compare import condition_display, row_summary
from .expectations import case_problems
from .forms import (
    DraftForm,
    PublishForm,
    RecommendationCodeForm,
    RecommendationRowForm,
    SeverityRowForm,
    StageRowForm,
    VersionHeaderForm,
    vocabulary_html,
)
from .loaders import RuleSetError, ruleset_from_version
from .models import (
    RecommendationCode,
    RecommendationRuleRow,
    RuleSet,
    RuleSetTestCase,
    RuleSetVersion,
    SeverityCriterionRow,
    StageCriterionRow,
    VersionStatus,
)
from .vocabulary import PRIOR_ECHO_FIELDS, sections

PENDING = "pending clinical verification"


def evidence_text(evidence: str) -> str:
    if evidence in ("M", "S"):
        return f"[{evidence}] {PENDING}"
    return f"[{evidence}]"


def _table(row) -> str:
    return authoring.ROW_TABLES[type(row)]


def part_link(part, text: str) -> str:
    """A link to a version's part (rule row or code) on its own page, where it is
    changed (a draft's) or viewed (a published version's)."""
    url = reverse(f"admin:guidelines_{part._meta.model_name}_change", args=[part.pk])
    return format_html('<a href="{}">{}</a>', url, text)


# --- rule rows -------------------------------------------------------------------------


class RowSummaryInline(admin.TabularInline):
    """A version's rows as "if ... then ..." lines, each linking to its edit page."""

    extra = 0
    show_change_link = False  # the key links to the row's page, which says "Change"
    can_delete = False  # (a draft's row) or "View" (a published one's row) itself
    fields = ["row_link", "reads_as", "evidence_flag"]
    readonly_fields = fields
    ordering = ("position", "id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="key")
    def row_link(self, row):
        return part_link(row, row.key)

    @admin.display(description="reads as")
    def reads_as(self, row):
        return row_summary(_table(row), authoring.row_document_entry(row))

    @admin.display(description="evidence")
    def evidence_flag(self, row):
        return evidence_text(row.evidence)


class SeverityRowInline(RowSummaryInline):
    model = SeverityCriterionRow
    verbose_name_plural = "if … then … severity criteria (ASE 2017)"


class StageRowInline(RowSummaryInline):
    model = StageCriterionRow
    verbose_name_plural = "if … then … stage C2 criteria"


class RecommendationRowInline(RowSummaryInline):
    model = RecommendationRuleRow
    verbose_name_plural = "if … then … recommendation rules (first match per group)"


class CodeInline(admin.TabularInline):
    """The codes a version adds, each linking to its own page."""

    model = RecommendationCode
    extra = 0
    fields = ["code_link", "title"]
    readonly_fields = fields

    @admin.display(description="code")
    def code_link(self, code):
        return part_link(code, code.code)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DraftPartAdmin(SimpleHistoryAdmin):
    """Base of the admins of a draft's parts (rule rows, codes): a delete the whole-draft
    validation refuses is shown with its reasons, on the part's page, not as an error."""

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.GuidelineError as exc:
            self.message_user(
                request, " ".join([f"{exc}:", *map(str, exc.problems)]), messages.ERROR
            )
            opts = self.opts
            return HttpResponseRedirect(
                reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id]
                )
            )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, each validated and shown
        return actions

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.version.is_editable)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.version.is_editable)

    def revert_disabled(self, request, obj=None):
        return True  # history is read-only; edit the part's form instead


class RuleRowAdmin(DraftPartAdmin):
    """One rule row, read as "if <condition> then <outcome>". Editable in drafts only;
    saves go through ``authoring.version_rows_save`` (whole-draft validation)."""

    then_title = "Then"
    then_fields: list = []
    list_display = ["key", "version", "reads_as", "evidence_flag"]

    class Media:
        css = {"all": ["css/guideline_admin.css"]}

    list_filter = ["version__rule_set", "version__status", "evidence"]
    list_select_related = ["version__rule_set"]
    search_fields = ["key", "section"]
    history_list_display = ["condition", "evidence"]

    def get_fieldsets(self, request, obj=None):
        editable = self.has_change_permission(request, obj) if obj else True
        mode = self._condition_mode(request, obj)
        if not editable:
            condition, description = ["reads_as_condition"], ""
        elif mode == forms.LINE:
            condition = [
                "reads_as_condition",
                ("condition_parameter", "condition_operator", "condition_value"),
            ]
            description = format_html(
                '<p>One condition. <a href="?condition=json" id="condition-as-json">'
                "Write a group instead (all / any / at least N, as JSON)</a>.</p>{}",
                vocabulary_html(),
            )
        else:
            condition = ["reads_as_condition", "condition"]
            simple = obj is None or forms.condition_mode(obj.condition) == forms.LINE
            back = (
                format_html(
                    '<p><a href="?" id="condition-as-line">Write one condition '
                    "instead (parameter, operator, value)</a>.</p>"
                )
                if simple
                else ""
            )
            description = format_html("{}{}", back, vocabulary_html())
        provenance = ["guideline", "section", "citation", "url", "evidence"]
        # The evidence choice names its tag in words; read-only, the flag says so.
        provenance += (
            ["verified_from"] if editable else ["evidence_flag", "verified_from"]
        )
        return [
            (None, {"fields": ["version", "key", "position"]}),
            ("If — condition", {"fields": condition, "description": description}),
            (self.then_title, {"fields": self.then_fields}),
            ("Provenance", {"fields": provenance}),
        ]

    @staticmethod
    def _condition_mode(request, obj) -> str:
        return forms.condition_mode(obj and obj.condition, request.GET.get("condition"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        mode = self._condition_mode(request, obj)
        return type(form.__name__, (form,), {"condition_mode": mode})

    def get_readonly_fields(self, request, obj=None):
        fixed = ["reads_as_condition", "evidence_flag"]
        return fixed + ["version"] if obj else fixed

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("evidence", "J")
        return initial

    def save_model(self, request, obj, form, change):
        authoring.rule_row_save(row=obj, user=request.user)

    def delete_model(self, request, obj):
        authoring.rule_row_delete(row=obj, user=request.user)

    @admin.display(description="reads as")
    def reads_as(self, row):
        return row_summary(_table(row), authoring.row_document_entry(row))

    @admin.display(description="if (as saved)")
    def reads_as_condition(self, row):
        """The stored condition in words (read again: the form's row may hold an
        edit that was refused)."""
        if not (row and row.pk):
            return "—"
        stored = type(row).objects.filter(pk=row.pk).values_list("condition", flat=True)
        return condition_display(stored.first())

    @admin.display(description="evidence")
    def evidence_flag(self, row):
        return evidence_text(row.evidence) if row and row.pk else "—"


@admin.register(SeverityCriterionRow)
class SeverityRowAdmin(RuleRowAdmin):
    form = SeverityRowForm
    then_title = "Then — severity (counted criterion, shown criterion or band)"
    then_fields = ["role", "band", "scope"]


@admin.register(StageCriterionRow)
class StageRowAdmin(RuleRowAdmin):
    form = StageRowForm
    then_title = "Then — stage C2 (any one criterion met)"
    then_fields = []

    def get_fieldsets(self, request, obj=None):
        return [fs for fs in super().get_fieldsets(request, obj) if fs[1]["fields"]]


@admin.register(RecommendationRuleRow)
class RecommendationRowAdmin(RuleRowAdmin):
    form = RecommendationRowForm
    then_title = "Then — recommendation"
    then_fields = ["code", "title", "detail", ("cor", "loe"), ("group", "kind")]
    history_list_display = ["condition", "code", "cor", "loe"]


@admin.register(RecommendationCode)
class RecommendationCodeAdmin(DraftPartAdmin):
    """A recommendation code a version adds to the contract's. Editable in drafts only;
    saves go through ``authoring.version_codes_save`` (whole-draft validation)."""

    form = RecommendationCodeForm
    list_display = ["code", "title", "version"]
    list_filter = ["version__rule_set", "version__status"]
    list_select_related = ["version__rule_set"]
    search_fields = ["code", "title"]

    def get_readonly_fields(self, request, obj=None):
        return ["version"] if obj else []

    def save_model(self, request, obj, form, change):
        authoring.version_codes_save(
            version=obj.version, codes=[obj], user=request.user
        )

    def delete_model(self, request, obj):
        authoring.version_codes_save(
            version=obj.version, deleted=[obj], user=request.user
        )


def problem_links(version: RuleSetVersion, problems) -> list[str]:
    """For each ``RuleSetProblem`` of ``version``, the edit page of the row or code it
    names ("" when it names a whole table or the header)."""
    models = {table: model for model, table in authoring.ROW_TABLES.items()}
    links = []
    for problem in problems:
        if problem.table == "codes":
            part = version.codes.filter(code=problem.key).first()
        elif problem.table in models and problem.key:
            rows = models[problem.table].objects.filter(version=version)
            part = rows.filter(key=problem.key).first()
        else:
            part = None
        name = part and f"admin:guidelines_{part._meta.model_name}_change"
        links.append(reverse(name, args=[part.pk]) if part else "")
    return links


# --- versions --------------------------------------------------------------------------


@admin.register(RuleSetVersion)
class RuleSetVersionAdmin(admin.ModelAdmin):
    list_display = [
        "rule_set",
        "version",
        "status",
        "origin",
        "published_at",
        "published_by",
        "based_on",
    ]
    list_filter = ["rule_set", "status", "origin"]
    list_select_related = ["rule_set", "published_by", "based_on"]
    search_fields = ["version", "rule_set__code"]
    form = VersionHeaderForm
    inlines = [SeverityRowInline, StageRowInline, RecommendationRowInline, CodeInline]

    class Media:
        css = {"all": ["css/guideline_admin.css"]}

    actions = ["draft_from_selected"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "rule_set",
                    "version",
                    "status",
                    "origin",
                    "based_on",
                    "tools",
                    "pending_rules",
                ]
            },
        ),
        ("Guideline", {"fields": ["title", "guideline", "citation", "url", "notes"]}),
        (
            "Provenance",
            {
                "fields": [
                    "created_at",
                    "created_by",
                    "last_edited_by",
                    "last_edited_at",
                    "published_at",
                    "retired_at",
                    "pending_rules_acknowledged_by",
                    "pending_rules_acknowledged_at",
                    "content_hash",
                ]
            },
        ),
        (
            "Publication record (four eyes, SPEC 0.14 p)",
            {
                "fields": [
                    "is_rollback",
                    "editors",
                    "published_by",
                    "publication_reason",
                    "acknowledged_changes",
                ]
            },
        ),
    ]
    readonly_fields = [
        "rule_set",
        "status",
        "origin",
        "based_on",
        "tools",
        "pending_rules",
        "created_at",
        "created_by",
        "published_at",
        "published_by",
        "retired_at",
        "pending_rules_acknowledged_by",
        "pending_rules_acknowledged_at",
        "content_hash",
        "last_edited_by",
        "last_edited_at",
        "is_rollback",
        "editors",
        "publication_reason",
        "acknowledged_changes",
    ]

    # permissions: drafts only are changed or deleted; new versions come from a copy
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.is_editable)

    def get_actions(self, request):
        """No "Delete selected": published and retired versions are never deleted, so
        on this list it would be refused for nearly every selection; a draft is deleted
        from its own page."""
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _require_author(self, request) -> None:
        """Drafting, publishing and rolling back: the model's change permission."""
        if not super().has_change_permission(request):
            raise PermissionDenied

    def save_model(self, request, obj, form, change):
        authoring.version_header_save(version=obj, user=request.user)

    def delete_model(self, request, obj):
        authoring.version_delete(version=obj)

    def delete_queryset(self, request, queryset):
        for version in queryset:
            authoring.version_delete(version=version)

    # read-only fields
    @admin.display(description="actions")
    def tools(self, version):
        pages = [
            ("compare", "Compare with the active version"),
            ("check", "Run checks"),
        ]
        pages += [
            (t.name, t.label)
            for t in services.VERSION_TOOLS
            if version.is_editable or not t.drafts_only
        ]
        if version.is_editable:
            pages.append(("publish", "Publish…"))
        pages.append(("draft", "Create a draft from this version"))
        if version.status == VersionStatus.RETIRED:
            pages.append(("rollback", "Roll back to this version…"))
        links = [(self._url(name, version), label) for name, label in pages]
        if version.is_editable:
            add_code = reverse("admin:guidelines_recommendationcode_add")
            links.append(
                (f"{add_code}?version={version.pk}", "Add a recommendation code")
            )
        return format_html_join(" · ", '<a class="button" href="{}">{}</a>', links)

    @admin.display(description="edited by")
    def editors(self, version):
        if version.status == VersionStatus.DRAFT:
            people = authoring.version_editors(version)
        else:
            people = list(version.edited_by.order_by("username"))
        return ", ".join(u.get_username() for u in people) or "nobody (data file)"

    @admin.display(description="changed outcomes acknowledged")
    def acknowledged_changes(self, version):
        if not version.outcome_changes:
            return "none" if version.published_at else "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} (against the {}). Reason: {}</li>",
                (
                    (c["text"], c["reference"], c["reason"])
                    for c in version.outcome_changes
                ),
            ),
        )

    @admin.display(description="rules pending clinical verification")
    def pending_rules(self, version):
        pending = authoring.pending_verification_rules(version)
        if not pending:
            return "none"
        return format_html(
            "{} rule(s) tagged [M]/[S], {}: {}",
            len(pending),
            PENDING,
            ", ".join(pending),
        )

    @admin.action(description="Create a draft by copying the selected version")
    def draft_from_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.WARNING)
            return None
        return HttpResponseRedirect(self._url("draft", queryset.get()))

    # pages
    def _url(self, name: str, version: RuleSetVersion) -> str:
        return reverse(f"admin:guidelines_rulesetversion_{name}", args=[version.pk])

    def get_urls(self):
        def page(name, view):
            return path(
                "<int:pk>/" + name + "/",
                self.admin_site.admin_view(view),
                name=f"guidelines_rulesetversion_{name}",
            )

        tools = [
            page(tool.name, self._tool_view(tool)) for tool in services.VERSION_TOOLS
        ]
        return [
            page("draft", self.draft_view),
            page("check", self.check_view),
            page("compare", self.compare_view),
            page("publish", self.publish_view),
            page("rollback", self.rollback_view),
            *tools,
            *super().get_urls(),
        ]

    def _version(self, request, pk) -> RuleSetVersion:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(
            RuleSetVersion.objects.select_related("rule_set"), pk=pk
        )

    def render_tool_page(
        self, request, template, version, title, status=200, **context
    ):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "version": version,
            "original": version,
            "title": title,
            "change_url": reverse(
                "admin:guidelines_rulesetversion_change", args=[version.pk]
            ),
            **context,
        }
        return TemplateResponse(
            request,
            f"admin/guidelines/rulesetversion/{template}",
            context,
            status=status,
        )

    def _tool_view(self, tool: services.VersionTool):
        def view(request, pk):
            version = self._version(request, pk)
            self._require_author(request)
            return tool.view(request, version, self)

        return view

    def draft_view(self, request, pk):
        version = self._version(request, pk)
        self._require_author(request)
        initial = {"label": f"{version.version}-draft-{timezone.now():%Y%m%d%H%M}"}
        form = DraftForm(
            request.POST or None, initial=initial, rule_set=version.rule_set
        )
        if request.method == "POST" and form.is_valid():
            draft = authoring.version_copy_to_draft(
                version=version, user=request.user, label=form.cleaned_data["label"]
            )
            self.message_user(request, f"Draft {draft.version} created from {version}.")
            return HttpResponseRedirect(
                reverse("admin:guidelines_rulesetversion_change", args=[draft.pk])
            )
        return self.render_tool_page(
            request,
            "label_form.html",
            version,
            f"New draft from {version}",
            form=form,
            action="Create draft",
            explanation="The draft copies every row of this version. Edit its rows, "
            "run the checks, compare, then publish.",
        )

    def rollback_view(self, request, pk):
        version = self._version(request, pk)
        self._require_author(request)
        initial = {"label": f"{version.version}-rollback-{timezone.now():%Y%m%d%H%M}"}
        form = DraftForm(
            request.POST or None, initial=initial, rule_set=version.rule_set
        )
        if request.method == "POST" and form.is_valid():
            try:
                draft = authoring.version_rollback(
                    to=version, user=request.user, label=form.cleaned_data["label"]
                )
            except services.GuidelineError as exc:
                return self.render_tool_page(
                    request,
                    "label_form.html",
                    version,
                    f"Roll back to {version}",
                    form=form,
                    action="Roll back",
                    error=str(exc),
                    problems=exc.problems,
                )
            self.message_user(
                request,
                f"Rollback draft {draft.version} created from {version}. A second "
                "guideline editor must review its changed outcomes and publish it.",
            )
            return HttpResponseRedirect(self._url("publish", draft))
        return self.render_tool_page(
            request,
            "label_form.html",
            version,
            f"Roll back to {version}",
            form=form,
            action="Roll back",
            explanation="Creates a draft copying this version. Like any draft, it is "
            "published through the gate: a second guideline editor acknowledges every "
            "outcome that changes against the active version, with a reason.",
        )

    def check_view(self, request, pk):
        version = self._version(request, pk)
        try:
            ruleset_from_version(version)
            invalid: list = []
        except RuleSetError as exc:
            invalid = exc.errors
        failures = [] if invalid else authoring.version_check(version)
        links = problem_links(version, invalid)
        changes = (
            authoring.version_outcome_changes(version)
            if version.is_editable and not invalid
            else []
        )
        return self.render_tool_page(
            request,
            "check.html",
            version,
            f"Checks of {version}",
            invalid=list(zip(invalid, links, strict=True)),
            failures=failures,
            changes=changes,
            case_count=version.rule_set.test_cases.filter(active=True).count(),
            pending=authoring.pending_verification_rules(version),
        )

    def compare_view(self, request, pk):
        version = self._version(request, pk)
        against_id = request.GET.get("against")
        against = (
            get_object_or_404(RuleSetVersion, pk=against_id, rule_set=version.rule_set)
            if against_id
            else services.active_version(version.rule_set)
        )
        comparison = (
            authoring.version_compare(version=version, against=against)
            if against
            else None
        )
        others = version.rule_set.versions.exclude(pk=version.pk)
        return self.render_tool_page(
            request,
            "compare.html",
            version,
            f"Compare {version}",
            against=against,
            comparison=comparison,
            others=others,
        )

    @staticmethod
    def _publish_diff(version):
        """What the draft changes, row by row, against the active version (None when
        there is none, e.g. the first version of a rule set)."""
        against = services.active_version(version.rule_set)
        if against is None or against.pk == version.pk:
            return None
        return against, authoring.version_compare(version=version, against=against)

    def publish_view(self, request, pk):
        version = self._version(request, pk)
        self._require_author(request)
        pending = authoring.pending_verification_rules(version)
        error, problems, changes, refusal, invalid = "", [], [], "", False
        if not version.is_editable:
            error = f"{version} is not a draft; only drafts can be published."
        else:
            refusal = authoring.publication_refusal_for_user(version, request.user)
            try:
                changes = authoring.version_outcome_changes(version)
            except RuleSetError as exc:
                error, problems, invalid = "the draft is invalid", exc.errors, True
        form = PublishForm(
            request.POST if request.method == "POST" else None, changes=changes
        )
        if version.is_editable and request.method == "POST" and form.is_valid():
            try:
                authoring.version_publish(
                    version=version,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    acknowledgements=form.acknowledgements(),
                    acknowledge_pending=form.cleaned_data["acknowledge_pending"],
                )
            except services.GuidelineError as exc:
                error, problems = str(exc), exc.problems
            except RuleSetError as exc:
                error, problems = (
                    "publication refused: the draft is invalid",
                    exc.errors,
                )
            else:
                self.message_user(
                    request,
                    f"Published {version.version}; the previous version is retired.",
                )
                return HttpResponseRedirect(
                    reverse("admin:guidelines_rulesetversion_change", args=[version.pk])
                )
        # Failing cases refuse publication: shown up front, like the four-eyes rule,
        # and the button is offered only when the gate could let the draft through.
        failures = (
            authoring.version_check(version)
            if version.is_editable and not invalid
            else []
        )
        can_publish = version.is_editable and not (refusal or invalid or failures)
        diff = self._publish_diff(version) if version.is_editable else None
        impacts = (
            [
                (
                    tool,
                    self._url(tool.name, version),
                    tool.publish_impact(request, version),
                )
                for tool in services.VERSION_TOOLS
                if tool.publish_impact is not None
            ]
            if version.is_editable and not invalid
            else []
        )
        return self.render_tool_page(
            request,
            "publish.html",
            version,
            f"Publish {version}",
            form=form,
            pending=pending,
            error=error,
            problems=problems,
            changes=changes,
            refusal=refusal,
            editors=authoring.version_editors(version),
            can_publish=can_publish,
            diff=diff,
            impacts=impacts,
            failures=failures,
            status=409 if error and request.method == "POST" else 200,
        )


# --- rule sets and their test cases ----------------------------------------------------


class VersionSummaryInline(admin.TabularInline):
    model = RuleSetVersion
    extra = 0
    show_change_link = True
    fields = ["version", "status", "origin", "published_at", "published_by"]
    readonly_fields = fields
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TestCaseSummaryInline(admin.TabularInline):
    model = RuleSetTestCase
    extra = 0
    show_change_link = True
    fields = ["name", "origin", "active", "description"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "active_version", "test_case_count"]
    fields = ["code", "title", "active_version", "add_test_case"]
    readonly_fields = ["code", "active_version", "add_test_case"]
    inlines = [VersionSummaryInline, TestCaseSummaryInline]

    def has_add_permission(self, request):
        return False  # rule sets come from the data files (manage.py load_guidelines)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="active version")
    def active_version(self, rule_set):
        version = services.active_version(rule_set)
        if version is None:
            return "none"
        url = reverse("admin:guidelines_rulesetversion_change", args=[version.pk])
        return format_html('<a href="{}">{}</a>', url, version.version)

    @admin.display(description="test cases")
    def test_case_count(self, rule_set):
        return rule_set.test_cases.filter(active=True).count()

    @admin.display(description="new test case")
    def add_test_case(self, rule_set):
        url = reverse("admin:guidelines_rulesettestcase_add")
        return format_html(
            '<a class="button" href="{}?rule_set={}">Add a test case</a>',
            url,
            rule_set.pk,
        )


@admin.register(RuleSetTestCase)
class RuleSetTestCaseAdmin(admin.ModelAdmin):
    """A test case as a form: the input by the clinician form's sections (those with a
    value open), prior studies as rows, the expectation as choices."""

    form = TestCaseForm
    list_display = ["name", "rule_set", "origin", "active", "description"]
    list_filter = ["rule_set", "origin", "active"]
    search_fields = ["name", "description"]
    readonly_fields = ["origin", "against_active_version"]
    OPEN_SECTIONS = ("", "patient", "echo")  # open even when empty

    class Media:
        css = {"all": ["css/guideline_admin.css"]}

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The input and expectation fields are added per case by the form itself.
        kwargs["fields"] = TestCaseForm.Meta.fields
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        data = obj.input if obj else {}
        fieldsets = [
            (None, {"fields": ["rule_set", "name", "description", "active", "origin"]})
        ]
        for section in sections():
            names = [input_field_name(f.path) for f in section.fields]
            filled = any(input_lookup(data, f.path) is not None for f in section.fields)
            fieldsets.append(
                (
                    f"Given — {section.title}",
                    {
                        "fields": _rows_of(names, 3),
                        "classes": []
                        if filled or section.key in self.OPEN_SECTIONS
                        else ["collapse"],
                    },
                )
            )
        priors = len(data.get("prior_echos") or []) + PRIOR_ROWS_EXTRA
        fieldsets.append(
            (
                "Given — prior echocardiograms (serial LV studies)",
                {
                    "fields": [
                        tuple(prior_field_name(row, f.path) for f in PRIOR_ECHO_FIELDS)
                        for row in range(priors)
                    ],
                    "classes": [] if data.get("prior_echos") else ["collapse"],
                },
            )
        )
        any_of = max(
            ANY_OF_GROUPS,
            len((obj.expected if obj else {}).get("required_any_of") or []),
        )
        fieldsets.append(
            (
                "Expect",
                {
                    "fields": [
                        ("exp_severity", "exp_severity_subgrade"),
                        "exp_acceptable_severity",
                        "exp_stage",
                        "exp_acceptable_stages",
                        "exp_mr_type",
                        "exp_required",
                        "exp_must_not",
                        "against_active_version",
                    ]
                },
            )
        )
        any_of_used = bool((obj.expected if obj else {}).get("required_any_of"))
        fieldsets.append(
            (
                "Expect — at least one of these sets recommended whole",
                {
                    "fields": [f"exp_required_any_of_{g}" for g in range(any_of)],
                    "classes": [] if any_of_used else ["collapse"],
                },
            )
        )
        return fieldsets

    @admin.display(description="with the active version")
    def against_active_version(self, case):
        if not case or not case.pk:
            return "—"
        version = services.active_version(case.rule_set)
        if version is None:
            return "no active version"
        problems = case_problems(
            case.input, case.expected, services.compiled_version(version.pk)
        )
        return "passes" if not problems else "fails: " + "; ".join(problems)


def _rows_of(names: list[str], size: int) -> list[tuple[str, ...]]:
    """Fields laid out ``size`` to a line."""
    return [tuple(names[i : i + size]) for i in range(0, len(names), size)]
