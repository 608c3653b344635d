"""Server-side sessions stored in our own, migrated table.

Flask-Session's SQLAlchemy backend declares its model and creates its table when the application is
built, which breaks both rules we hold (tables come from migrations; several applications may share one
metadata in the tests). This subclass keeps all of its reading and writing but points it at
``HttpSession``. With ``SILLAGE_REDIS_URL`` set, Flask-Session's Redis backend is used unchanged.
"""
from flask import Flask
from flask_session.base import ServerSideSessionInterface
from flask_session.sqlalchemy import SqlAlchemySessionInterface

from app.extensions import db, server_session
from app.models.session import HttpSession


class DatabaseSessionInterface(SqlAlchemySessionInterface):
    def __init__(self, app: Flask):  # noqa: D107 - deliberately skips the parent's table creation
        self.client = db
        self.sql_session_model = HttpSession
        ServerSideSessionInterface.__init__(
            self,
            app,
            key_prefix="",
            use_signer=False,
            permanent=app.config["SESSION_PERMANENT"],
            sid_length=32,
            serialization_format="msgpack",
            cleanup_n_requests=app.config.get("SESSION_CLEANUP_N_REQUESTS", 500),
        )


def init_app(app: Flask) -> None:
    if app.config["SESSION_TYPE"] == "sqlalchemy":
        app.session_interface = DatabaseSessionInterface(app)
    else:
        import redis

        app.config.setdefault("SESSION_REDIS", redis.from_url(app.config["REDIS_URL"]))
        server_session.init_app(app)


def regenerate(session) -> None:
    """Give the session a new id (at login), so that a planted id never becomes an authenticated one."""
    from flask import current_app

    current_app.session_interface.regenerate(session)
