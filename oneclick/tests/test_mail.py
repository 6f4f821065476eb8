from __future__ import annotations

from django.core.mail import EmailMessage

from oneclick.mail import ConsoleAndFileBackend


def test_the_embedded_mail_backend_prints_and_keeps_a_copy(tmp_path, capsys) -> None:
    backend = ConsoleAndFileBackend(file_path=str(tmp_path))
    sent = backend.send_messages([EmailMessage("Hello", "Body text", to=["a@example.com"])])
    assert sent == 1
    assert "Body text" in capsys.readouterr().out
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and "Body text" in files[0].read_text()
