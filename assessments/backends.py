"""How a session's user is read."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from .selectors import users_with_integration_flag


class SessionUserBackend(ModelBackend):
    """Django's model backend, whose ``get_user`` (the user of every request with a
    session) also reads whether the user is an EHR integration, in the same query:
    every page asks (``ApiClientsOffPagesMiddleware``), and the answer then costs no
    query of its own. A group or membership changed meanwhile counts from the next
    request, as before."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager
        try:
            user = users_with_integration_flag(users).get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
