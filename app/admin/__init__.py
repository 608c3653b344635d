"""The platform administrator's pages: indicators (SVG charts + tables + CSV), the audit log, suspending
accounts; and each organisation's own indicators for its admins."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.admin.routes import bp
    from app.api import admin as admin_api

    app.register_blueprint(bp)
    admin_api.register(app)
