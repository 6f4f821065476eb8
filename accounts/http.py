"""Request types for views that only signed-in users reach."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """What `login_required` / `require_fresh_otp` hand a view: `user` is a real User.

    Annotating such a view's request with this type (never constructed; a plain
    HttpRequest arrives at run time) lets the type checker see that
    `request.user` cannot be the AnonymousUser there.
    """

    user: User
