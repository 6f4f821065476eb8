"""Refuse requests carrying a NUL character, or an overlong URL, before any code sees them.

No input of OneClick can contain NUL (U+0000): not a form field, a filter, a
cookie, a header, a path or a JSON string. PostgreSQL refuses it in text
("A string literal cannot contain NUL"), which surfaced as a 500 with a
traceback from admin filters, slugs, session cookies and logged user agents.
One guard in front of everything answers it with a plain 400 instead.

URLs longer than ``MAX_URL_LENGTH`` get 414, as a proxy in front would answer:
no page takes such a query, and a login redirect carrying one in ``next`` was
refused by Django with a logged traceback (DisallowedRedirect).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

NUL = "\x00"
MAX_URL_LENGTH = 8192
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _any_nul(values: Iterable[str]) -> bool:
    return any(NUL in value for value in values)


def _form_has_nul(request: HttpRequest) -> bool:
    # request.POST holds the decoded values (%00 becomes NUL); CsrfViewMiddleware
    # reads it the same way a moment later.
    for key, values in request.POST.lists():
        if NUL in key or _any_nul(values):
            return True
    return any(NUL in (upload.name or "") for _, files in request.FILES.lists() for upload in files)


def _body_has_nul(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    if content_type in FORM_TYPES:
        return _form_has_nul(request)
    # JSON and anything else: a raw NUL byte or its JSON escape.
    return b"\x00" in request.body or b"\\u0000" in request.body.lower()


def nul_in_request(request: HttpRequest) -> str | None:
    """Where a NUL was found, or None."""
    if NUL in request.path:
        return "path"
    for key, values in request.GET.lists():
        if NUL in key or _any_nul(values):
            return "query string"
    for key, value in request.COOKIES.items():
        if NUL in key or NUL in value:
            return "cookie"
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            return "header"
    if request.method in ("POST", "PUT", "PATCH") and _body_has_nul(request):
        return "body"
    return None


def bad_request_page(reason: str) -> HttpResponse:
    """The site's 400 page, rendered without the request: nothing of a refused
    request (its session cookie, its user) is looked up to draw it."""
    return HttpResponseBadRequest(render_to_string("400.html", {"reason": reason}))


class RejectBadInputMiddleware:
    """A request with a NUL anywhere gets 400 (a URL too long, 414); it reaches no view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if len(request.path) + len(request.META.get("QUERY_STRING", "")) > MAX_URL_LENGTH:
            logger.warning("Refused a request with a URL over %s characters", MAX_URL_LENGTH)
            return HttpResponse("The URL is too long.", status=414, content_type="text/plain")
        try:
            where = nul_in_request(request)
        except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent) as exc:
            logger.warning("Refused a request to %s: %s", request.path[:200], exc)
            return bad_request_page("The request is too large.")
        if where:
            logger.warning("Refused a request with a NUL character in its %s", where)
            return bad_request_page(f"The request's {where} contains a NUL character.")
        return self.get_response(request)
