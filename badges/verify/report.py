"""The verifier's report: checks, errors and warnings in the reader's language, and the verdict.

The verdict is never "no check failed": :meth:`_Report.result` also requires every check that the kind
of document needs (``REQUIRED_CHECKS``) to be present, so a bug that skips one cannot turn into a false
"verified".
"""
from __future__ import annotations

from .. import messages

REQUIRED_CHECKS = {
    "vc": ("parse", "jsonld", "schema", "verification_method", "proof", "issuer", "validity", "status"),
    "ob2": ("parse", "hosted", "badge_class", "issuer", "validity", "status"),
    # a status list met while checking a credential's status: a credential itself, minus its own status
    "status_list": ("jsonld", "schema", "verification_method", "proof", "issuer", "validity"),
}

class Failure(Exception):
    """A check failed: ``code`` is stable, ``params`` fill the message."""

    def __init__(self, code: str, /, **params):
        super().__init__(code)
        self.code = code
        self.params = params


class _Report:
    """Collects checks, errors and warnings in the reader's language."""

    def __init__(self, locale: str):
        self.locale = "fr" if str(locale or "").lower().startswith("fr") else "en"
        self.checks: list[dict] = []
        self.errors: list[dict] = []
        self.warnings: list[dict] = []

    def passed(self, check_name: str, detail_key: str | None = None, /, **params) -> None:
        self.checks.append({"name": check_name, "ok": True, "code": None,
                            "detail": messages.passed(detail_key or check_name, self.locale, **params)})

    def failed(self, check_name: str, failure: Failure, /) -> None:
        text = messages.message(failure.code, self.locale, **failure.params)
        self.checks.append({"name": check_name, "ok": False, "code": failure.code, "detail": text})
        self.errors.append({"code": failure.code, "message": text})

    def warn(self, code: str, /, **params) -> None:
        entry = {"code": code, "message": messages.message(code, self.locale, **params)}
        if entry not in self.warnings:
            self.warnings.append(entry)

    def has_failed(self) -> bool:
        return any(not check["ok"] for check in self.checks)

    def result(self, kind: str | None) -> dict:
        names = {check["name"] for check in self.checks}
        complete = kind in REQUIRED_CHECKS and all(name in names for name in REQUIRED_CHECKS[kind])
        verified = complete and not self.errors and all(check["ok"] is True for check in self.checks)
        return {"verified": verified, "checks": self.checks, "errors": self.errors, "warnings": self.warnings}

