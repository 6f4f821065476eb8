"""``make audit``: the pinned dependencies against a vulnerability database.

Runs pip-audit on ``requirements.txt`` and ``requirements-dev.txt`` (pins only,
``--no-deps``) and says plainly which of three things happened:

- the database answered and lists known vulnerabilities: they are printed, exit 1;
- the database answered and lists none: exit 0;
- the database could not be reached (no network, as on the development
  machines): "could not reach the vulnerability database", exit 0 — nothing
  was checked, and the message says so rather than "no known vulnerabilities".

pip-audit's default service (PyPI's JSON API) reports an unreachable API as
"Dependency not found on PyPI" for each package and then "No known
vulnerabilities found"; every pin here is published on PyPI, so "not found"
for all of them means the database was not reached.

It also lists pins with a newer release of the same minor version in the
package index pip uses (``pip list --outdated``), so security patch releases
(Django's, say) are picked up within days.

``--osv-url URL`` queries an OSV-compatible service instead of PyPI's.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")
NOT_FOUND = "not found on PyPI"
UNREACHABLE_HINTS = (
    "ConnectionError",
    "Could not connect",
    "Max retries exceeded",
    "NameResolutionError",
    "Failed to resolve",
    "timed out",
    "Connection refused",
)
TIMEOUT_SECONDS = 300


@dataclass
class Verdict:
    status: str  # "vulnerable", "clean", "unreachable", "failed"
    lines: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {"vulnerable": 1, "failed": 2}.get(self.status, 0)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def pins(files: list[Path]) -> dict[str, str]:
    found = {}
    for path in files:
        for line in path.read_text().splitlines():
            match = PIN.match(line.strip())
            if match:
                found[canonical(match.group(1))] = match.group(2)
    return found


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def judge(returncode: int, stdout: str, stderr: str) -> Verdict:
    """What pip-audit's JSON output (or its failure) means for the pins."""
    try:
        report = json.loads(stdout)
    except ValueError:
        report = None
    if not isinstance(report, dict) or "dependencies" not in report:
        last = (stderr.strip().splitlines() or ["no output"])[-1][:300]
        if any(hint in stderr for hint in UNREACHABLE_HINTS):
            return Verdict("unreachable", [f"({last})"])
        return Verdict("failed", [f"pip-audit failed (exit {returncode}): {last}"])
    dependencies = report["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = [d for d in dependencies if "skip_reason" in d]
    if dependencies and not audited and all(NOT_FOUND in d["skip_reason"] for d in skipped):
        return Verdict("unreachable", ["(every pin came back 'not found on PyPI')"])
    lines = []
    for dep in audited:
        for vuln in dep.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release yet"
            lines.append(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    not_checked = [f"not checked: {d['name']} ({d['skip_reason']})" for d in skipped]
    if lines:
        return Verdict("vulnerable", lines + not_checked)
    return Verdict("clean", not_checked)


def run_pip_audit(osv_url: str | None) -> Verdict:
    command = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "-f", "json"]
    command += ["--progress-spinner", "off"]
    for path in REQUIREMENTS:
        command += ["-r", str(path)]
    if osv_url:
        command += ["-s", "osv", "--osv-url", osv_url]
    try:
        # Our own interpreter and fixed arguments (the URL is the caller's own option).
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return Verdict("unreachable", [f"(no answer within {TIMEOUT_SECONDS} s)"])
    return judge(done.returncode, done.stdout, done.stderr)


def patch_releases_behind(pinned: dict[str, str]) -> list[str]:
    """Pins with a newer release of the same major.minor in pip's package index."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "list", "--outdated", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    try:
        outdated = json.loads(done.stdout)
    except ValueError:
        return ["(could not ask the package index for newer releases)"]
    behind = []
    for package in outdated:
        name = canonical(package["name"])
        pinned_version = pinned.get(name)
        latest = package["latest_version"]
        if pinned_version and pinned_version.split(".")[:2] == latest.split(".")[:2]:
            behind.append(f"{package['name']} {pinned_version} -> {latest}")
    return behind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osv-url", help="an OSV-compatible vulnerability service")
    parser.add_argument("--skip-outdated", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    verdict = run_pip_audit(args.osv_url)
    if verdict.status == "unreachable":
        say(
            "Could not reach the vulnerability database: the pinned versions were NOT "
            "checked for known vulnerabilities. Run `make audit` where the network is "
            "reachable (CI with internet, a developer laptop)."
        )
    elif verdict.status == "vulnerable":
        say("Known vulnerabilities in pinned versions:")
    elif verdict.status == "clean":
        say("No known vulnerabilities in the pinned versions.")
    for line in verdict.lines:
        say(f"  {line}")

    if not args.skip_outdated:
        behind = patch_releases_behind(pins(REQUIREMENTS))
        if behind:
            say("Pins behind a newer patch release in the package index (update them):")
            for line in behind:
                say(f"  {line}")
        else:
            say("Every pin is the newest patch release in the package index.")
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
