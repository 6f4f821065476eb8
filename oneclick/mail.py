"""Email for the embedded default: printed on the console and kept on disk."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.message import EmailMessage


class ConsoleAndFileBackend(FileBackend):
    """Write each message to ``EMAIL_FILE_PATH`` and echo it to stdout.

    So a developer sees the verification link in the terminal running
    ``make run`` and can still find it later under ``var/mail``.
    """

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        ConsoleBackend(fail_silently=self.fail_silently).send_messages(email_messages)
        return sent
