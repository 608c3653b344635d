"""The one budget of invitation e-mails: each sends the sender's words to an address that did not ask for
them, so inviting (and revoking) in a loop would turn the instance into a spam relay.

The Sharing page (invite, resend), ``POST /api/v1/grants`` and the guardian invitations (page and API)
draw on the same 30 an hour, counted per sender (the signed-in person, or the API token's owner; the
address only when nobody is signed in): otherwise each door would add its own 30 (review 14, L11).
"""
from __future__ import annotations

from flask import g, has_request_context
from flask_limiter.util import get_remote_address
from flask_login import current_user

from app.extensions import limiter

MAIL_BUDGET = "30/hour"


def sender_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


mail_limit = limiter.shared_limit(MAIL_BUDGET, scope="invitation-mail", key_func=sender_key, methods=["POST"])


def mail_sent() -> None:
    """Say that this request sent an invitation e-mail (``mail_limit_when_sent`` spends the budget then)."""
    if has_request_context():
        g.invitation_mailed = True


# A route that mails only sometimes (a group place: accepted staff get it at once, a pending invitation is
# reused) checks the same budget on each request but spends it only when an e-mail left: a head placing
# their staff in forty classes is not a spam relay.
mail_limit_when_sent = limiter.shared_limit(MAIL_BUDGET, scope="invitation-mail", key_func=sender_key,
                                            methods=["POST"],
                                            deduct_when=lambda response: bool(g.get("invitation_mailed")))
