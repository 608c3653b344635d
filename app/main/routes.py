"""Home page and liveness probe."""
from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from app import jobs
from app.extensions import csrf, db, limiter
from app.main import bp


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("portfolio.dashboard"))
    return render_template("main/index.html")


@bp.get("/healthz")
@limiter.exempt
@csrf.exempt
def healthz():
    """Liveness and database reachability, for load balancers and `make bench`'s trivial route; plus the
    job queue (``app.jobs.health``: pending jobs, consumer alive), reported but not judged: a stopped
    consumer delays bulk awards and mail, it does not make this web process unfit to serve, so only the
    database decides the 503."""
    queue = jobs.health()
    try:
        db.session.execute(text("SELECT 1"))
        return jsonify(status="ok", database="ok", jobs=queue)
    except Exception:  # noqa: BLE001 - any failure means "not reachable"; details go to the log
        db.session.rollback()
        return jsonify(status="error", database="unreachable", jobs=queue), 503
