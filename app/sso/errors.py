"""One error type for every refusal of the sign-in flow, with a stable code (tests and logs use it)."""
from __future__ import annotations


class SsoError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
