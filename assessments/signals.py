"""Side effects of authentication: the audit trail of sign-ins, sign-outs, failed
sign-ins and lockouts, and API tokens revoked when their user leaves the integrations
group (the token authentication also checks the group, so nothing slips through while
this runs)."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from knox.models import get_token_model

from .audit import audit_record
from .choices import INTEGRATIONS_GROUP, AuditAction, AuditOutcome
from .middleware import channel_of

User = get_user_model()


def _through_a_view(request) -> bool:
    """A sign-in or -out by a person through a page (not the shell's or the test
    client's ``login()`` on a bare request)."""
    return request is not None and getattr(request, "resolver_match", None) is not None


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    if _through_a_view(request):
        audit_record(
            user=user,
            action=AuditAction.LOGIN,
            channel=channel_of(request),
            request=request,
        )


@receiver(user_logged_out)
def audit_logout(sender, request, user, **kwargs):
    if _through_a_view(request):
        audit_record(
            user=user,
            action=AuditAction.LOGOUT,
            channel=channel_of(request),
            request=request,
        )


@receiver(user_login_failed)
def audit_login_failed(sender, credentials, request=None, **kwargs):
    if request is None:
        return  # authenticate() outside a request (a command): nothing to attribute
    audit_record(
        user=None,
        action=AuditAction.LOGIN_FAILED,
        channel=channel_of(request),
        outcome=AuditOutcome.REFUSED,
        request=request,
        detail=f"username {credentials.get('username', '')!r}",
    )


@receiver(user_locked_out)
def audit_lockout(sender, request, username, ip_address, **kwargs):
    audit_record(
        user=None,
        action=AuditAction.LOCKOUT,
        channel=channel_of(request),
        outcome=AuditOutcome.REFUSED,
        request=request,
        detail=f"username {username!r} locked out after repeated failed sign-ins",
    )


@receiver(m2m_changed, sender=User.groups.through)
def revoke_tokens_on_leaving_integrations(
    sender, instance, action, reverse, pk_set, **kwargs
):
    """``user.groups.remove/clear`` or ``group.user_set.remove/clear`` (the admin's
    user form uses the first): the tokens of whoever leaves the integrations group go."""
    if action not in ("post_remove", "pre_clear"):
        return
    tokens = get_token_model().objects
    if not reverse:  # instance is a user, pk_set the groups it leaves
        groups = (
            instance.groups.all()
            if action == "pre_clear"
            else Group.objects.filter(pk__in=pk_set)
        )
        if groups.filter(name=INTEGRATIONS_GROUP).exists():
            tokens.filter(user=instance).delete()
    elif instance.name == INTEGRATIONS_GROUP:  # instance is the group, pk_set users
        users = instance.user_set.all() if action == "pre_clear" else pk_set
        tokens.filter(user__in=users).delete()
