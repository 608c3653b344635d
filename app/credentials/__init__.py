"""Issued credentials: the public credential page and its downloads, status lists, OB 2.0 hosted documents,
claim links, the issuer's award form and issued list, the owner's "Credentials" section, and the
commands ``sillage award / revoke / suspend / unsuspend``. The work is done by ``app.services.awarding``.
"""
from flask import Blueprint, Flask

bp = Blueprint("credentials", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import awards, bulk as bulk_api, received as received_api
    from app.credentials import bulk, cli, endorse, issuer, mine, public  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
    awards.register(app)
    bulk_api.register(app)
    cli.register(app)
    received_api.register(app)
    app.add_template_global(mine.item_credentials)
    app.add_template_global(mine.person_endorsements)
