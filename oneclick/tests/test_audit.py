"""`make audit`: a clear verdict, and a plain "could not reach" when offline."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from oneclick.audit import REQUIREMENTS, judge, main, pins

DJANGO_VULN = {
    "id": "PYSEC-TEST-1",
    "summary": "A test advisory",
    "affected": [
        {
            "package": {"name": "django", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
        }
    ],
}


class FakeOSV(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = {"vulns": [DJANGO_VULN]} if query["package"]["name"] == "django" else {}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_osv() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOSV)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/query"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_known_vulnerability_in_a_pin_fails_the_audit(fake_osv: str, capsys) -> None:
    assert main(["--osv-url", fake_osv, "--skip-outdated"]) == 1
    out = capsys.readouterr().out
    assert "Known vulnerabilities in pinned versions:" in out
    assert f"django {pins(REQUIREMENTS)['django']}: PYSEC-TEST-1 (fixed in 99.0)" in out


def test_an_unreachable_database_is_said_plainly_and_does_not_fail(capsys) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1/query"
    assert main(["--osv-url", url, "--skip-outdated"]) == 0
    out = capsys.readouterr().out
    assert "Could not reach the vulnerability database" in out
    assert "NOT checked" in out
    assert "No known vulnerabilities" not in out


def test_pypi_answering_not_found_for_every_pin_means_unreachable() -> None:
    report = {
        "dependencies": [
            {
                "name": n,
                "skip_reason": f"Dependency not found on PyPI and could not be audited: {n}",
            }
            for n in ["django", "ccxt"]
        ],
        "fixes": [],
    }
    verdict = judge(0, json.dumps(report), "")
    assert (verdict.status, verdict.exit_code) == ("unreachable", 0)


def test_a_clean_answer_lists_what_was_not_checked() -> None:
    report = {
        "dependencies": [
            {"name": "django", "version": "5.2.19", "vulns": []},
            {"name": "local-pkg", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    verdict = judge(0, json.dumps(report), "")
    assert verdict.status == "clean" and verdict.exit_code == 0
    assert verdict.lines == ["not checked: local-pkg (Dependency not found on PyPI)"]


def test_a_crash_that_is_not_the_network_fails_the_audit() -> None:
    verdict = judge(1, "", "Traceback ...\nValueError: bad requirements file")
    assert verdict.status == "failed" and verdict.exit_code == 2


def test_every_runtime_requirement_is_pinned() -> None:
    pinned = pins(REQUIREMENTS)
    assert {"django", "django-allauth", "cryptography", "psycopg", "ccxt"} <= set(pinned)
    assert pinned["django"].startswith("5.2.")
