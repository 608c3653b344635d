"""Guessing activation codes (review 14, L1), for the activation page and the API's ``join``.

Three budgets, counted in the limiter's shared storage (the database or Redis: every worker sees them):

- per address (``RATE_LIMIT_CODES``, every attempt): an IPv6 client is keyed on its /64, the block one
  subscriber gets, since one attacker holding a /64 has 2**64 addresses; IPv4 on the address;
- per signed-in account (``RATE_LIMIT_CODES_ACCOUNT``, failed codes only), for ``join``: an account is
  cheaper to keep than addresses to rotate, and a bearer token has no address worth keying on;
- in total (``RATE_LIMIT_CODES_TOTAL``, failed codes only, for the whole platform): the bound that holds
  whatever the number of addresses and accounts. Beyond it every code is refused for the rest of the window
  (429, with a message that says so) and one warning plus one audit line are written per window. A
  legitimate pupil then waits at most an hour; the arithmetic of why 12-character codes and this budget
  make a hit negligible is in app/services/institutions.py (``CODE_LENGTH``).
"""
from __future__ import annotations

import ipaddress
import logging

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from limits import parse, parse_many

from app.extensions import limiter
from app.services.errors import ServiceError

log = logging.getLogger(__name__)
SCOPE = "activation-codes"


def address_key() -> str:
    """The client's address, or its /64 for IPv6 (an IPv4-mapped IPv6 address counts as the IPv4)."""
    raw = get_remote_address() or ""
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


# One budget per address shared by the page and the API (POSTs only: showing the form is free).
per_address = limiter.shared_limit(lambda: current_app.config["RATE_LIMIT_CODES"], scope=SCOPE,
                                   key_func=address_key, methods=["POST"])


def _head_key() -> str:
    """Roster previews are counted per head (the signed-in account or token), whatever their address."""
    from flask import request
    from flask_login import current_user
    return f"roster-preview:{current_user.get_id() or request.remote_addr}"


# Both roster preview routes (the page and the API, whose import runs a preview too) share one budget per
# head (review 14, L5 and L13): each reads a file of up to 5 MB, and each tells which of up to 20,000
# addresses already belong to the institution's people.
preview_limit = limiter.shared_limit(lambda: current_app.config["RATE_LIMIT_ROSTER_PREVIEW"],
                                     scope="roster-preview", key_func=_head_key)


def _too_many() -> ServiceError:
    message = _l("Too many wrong activation codes have been tried: codes are refused for a while. "
                 "Try again in an hour.")
    return ServiceError(str(message), code="too_many_codes", status=429)


def check(session, user=None) -> None:
    """Before a code is looked up: refuse when the platform's or this account's failures are spent."""
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    for item in parse_many(current_app.config["RATE_LIMIT_CODES_TOTAL"]):
        if not strategy.test(item, SCOPE, "failed"):
            _alert(session, item)
            raise _too_many()
    if user is not None:
        for item in parse_many(current_app.config["RATE_LIMIT_CODES_ACCOUNT"]):
            if not strategy.test(item, SCOPE, "account", str(user.id)):
                raise _too_many()


def failed(user=None) -> None:
    """Count one wrong code (unknown, used or expired) in total and for ``user``."""
    if not limiter.enabled:
        return
    strategy = limiter.limiter
    for item in parse_many(current_app.config["RATE_LIMIT_CODES_TOTAL"]):
        strategy.hit(item, SCOPE, "failed")
    if user is not None:
        for item in parse_many(current_app.config["RATE_LIMIT_CODES_ACCOUNT"]):
            strategy.hit(item, SCOPE, "account", str(user.id))


def _alert(session, item) -> None:
    """Once per window of the total budget: a warning in the log and a line in the audit log, committed
    on their own (the request's own work is refused anyway)."""
    window = parse(f"1/{item.multiples} {item.GRANULARITY.name}")
    if not limiter.limiter.hit(window, SCOPE, "alert"):
        return
    from app.services import audit
    log.warning("Activation codes: the platform's budget of failed codes (%s) is spent; codes are refused "
                "until the window ends (someone may be guessing).", item)
    audit.record(session, actor=None, action="activation.guessing", target_type="activation_code",
                 details={"budget": str(item)})
    session.commit()
