"""The opt-in weekly digest: the new events of each person's feed, by e-mail, in their language, with
an unsubscribe link that works without signing in.

Every Monday morning (``weekly_digests``, a periodic job) one batch (``app.services.batches``) is
created for the people who opted in, keyed by the ISO week: the batch's rows record who was done,
so a consumer killed halfway resumes without mailing anyone twice. A row computes the person's
new events (published since their last digest, a week back at most) and moves their
``last_digest_at`` in the same transaction; its mail is sent after the commit by a job of its own
(``send_digests``; a mail cannot roll back). A lost mail job loses that week's mail, never sends two.

The unsubscribe link carries a signed token (``itsdangerous``, keyed by the instance's secret and this
purpose's salt) naming the person: the link needs no stored state, and the page asks for a click
(a POST) so that mail scanners that open links do not unsubscribe anyone.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime

from flask import abort, current_app, flash, render_template
from flask_babel import force_locale, gettext as _, ngettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from app import jobs
from app.database import utcnow
from app.extensions import db
from app.feed import bp
from app.feed.forms import EmptyForm
from app.feed.routes import base_url, event_url, personal_when
from app.mail import send_mail
from app.models import Batch, User
from app.models.feed import PUBLISHED, Event
from app.services import batches
from app.services import feed as service

log = logging.getLogger(__name__)

KIND = "feed_digest"
MAILS = "feed.digest_mails"  # session.info key: (user id, event ids) awaiting the commit


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="feed-digest-unsubscribe")


def unsubscribe_token(user_id) -> str:
    return _serializer().dumps(str(user_id))


def start(session: Session, now: datetime | None = None) -> Batch | None:
    """The week's digest batch (None when nobody opted in). Flushes; the caller commits, then runs it."""
    now = now or utcnow()
    recipients = service.digest_recipients(session)
    if not recipients:
        return None
    year, week, _day = now.isocalendar()
    fingerprint = hashlib.sha256(",".join(recipients).encode()).hexdigest()[:16]
    return batches.create_batch(session, KIND, [{"user": user_id} for user_id in recipients],
                                f"feed-digest:{year}-W{week:02d}:{fingerprint}",
                                item_key=lambda row, _position: row["user"])


@batches.handler(KIND, per_transaction=20)
def digest_row(session: Session, batch, item) -> dict:
    """One person's digest: their new events, and ``last_digest_at`` moved, in the row's transaction."""
    user = session.get(User, uuid.UUID(item.payload["user"]))
    settings = session.get(service.FeedSettings, user.id) if user is not None else None
    if settings is None or not settings.digest or user.email_verified_at is None:
        return {"sent": 0}
    now = utcnow()
    items = service.digest_items(session, user, now)
    settings.last_digest_at = now
    session.flush()
    if items:
        session.info.setdefault(MAILS, []).append((str(user.id), [str(found.event.id) for found in items]))
    return {"sent": len(items)}


@sa_event.listens_for(Session, "after_commit")
def _mail_after_commit(session) -> None:
    """Enqueue the mails of the rows just committed (one job per transaction); a SAVEPOINT's release
    (one row) waits for the real commit."""
    if session.in_nested_transaction() or MAILS not in session.info:
        return
    mails = session.info.pop(MAILS)
    if mails:
        send_digests([[user_id, event_ids] for user_id, event_ids in mails])


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_mails(session, transaction) -> None:
    """A transaction that ends without committing takes its rows' mails with it."""
    if transaction.parent is None:
        session.info.pop(MAILS, None)


@jobs.task()
def send_digests(mails: list) -> None:
    """The mails of one transaction's rows; one failing does not stop the others (logged)."""
    for user_id, event_ids in mails:
        try:
            send_digest(user_id, event_ids)
        except Exception:  # noqa: BLE001 - the others must still go
            log.exception("Could not send the feed digest of %s", user_id)


def send_digest(user_id: str, event_ids: list[str]) -> bool:
    """Render and send one digest, in the recipient's language and time zone. Events withdrawn since
    the row ran are left out; nothing left, no mail."""
    user = db.session.get(User, uuid.UUID(user_id))
    if user is None:
        return False
    events = {event.id: event for event in db.session.query(Event).filter(
        Event.id.in_([uuid.UUID(e) for e in event_ids]), Event.status == PUBLISHED)}
    if not events:
        return False
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")
    found = service.interests(db.session, user, locale)
    entries = [(event, service.reasons(event, found)) for event in
               sorted(events.values(), key=lambda e: e.starts_at or e.ends_at or service.LATEST)]
    with force_locale(locale):
        subject = ngettext("Your Sillage feed: %(num)d new event", "Your Sillage feed: %(num)d new events",
                           len(entries))
        body = render_template(
            "feed/email/digest.txt", entries=entries, event_url=event_url,
            when=personal_when(user),
            feed_url=f"{base_url()}/feed",
            unsubscribe_url=f"{base_url()}/feed/unsubscribe/{unsubscribe_token(user.id)}")
    send_mail(user.email, subject, body)
    return True


@jobs.periodic_task(jobs.crontab(day_of_week="1", hour="7", minute="0"))
def weekly_digests() -> None:
    """Mondays, 07:00 (the consumer's clock): the week's digests."""
    run()


def run(now: datetime | None = None) -> dict | None:
    """Create the week's batch and run it here; returns its progress (the CLI prints it)."""
    batch = start(db.session, now)
    db.session.commit()
    if batch is None:
        return None
    batches.run_batch(str(batch.id))
    db.session.expire_all()
    return batches.progress(db.session.get(Batch, batch.id))


@bp.route("/feed/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    try:
        user_id = uuid.UUID(_serializer().loads(token))
    except (BadSignature, ValueError, TypeError):
        abort(404)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    form = EmptyForm()
    done = False
    if form.validate_on_submit():
        service.set_preferences(db.session, user, digest=False)
        db.session.commit()
        flash(_("You will no longer receive the weekly digest."), "success")
        done = True
    return render_template("feed/unsubscribe.html", form=form, done=done)
