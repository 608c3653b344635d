"""Flask extensions, created unbound here and bound to an application in ``create_app``."""
import weakref

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_talisman import Talisman
from flask_wtf import CSRFProtect

from app import ratelimits  # noqa: F401  (registers the sillage-db:// rate-limit storage)
from app.database import db  # noqa: F401  (re-exported)



class _CSRFProtect(CSRFProtect):
    """Flask-WTF's CSRFProtect, holding the exempted blueprints weakly.

    The extension is one module-level object shared by every application that ``create_app`` builds,
    while the API blueprints are built afresh for each application (``app.api.register``). Flask-WTF
    keeps exempted blueprints in a plain set, so every application's blueprints, with their views,
    schemas and OpenAPI documents, stayed alive for the life of the process: about 30,000 objects per
    application, 9.5 GiB over the test suite. An application holds its blueprints (``app.blueprints``),
    so they stay exempt exactly as long as the application that registered them lives.
    """

    def __init__(self, app=None):
        super().__init__(app)
        self._exempt_blueprints = weakref.WeakSet()


class _LoginManager(LoginManager):
    """Flask-Login's manager, except that a session whose account was suspended while signed in gets the
    suspended page (app/auth/utils.py) instead of the login form: the person learns why, once."""

    def unauthorized(self):
        from app.auth.utils import refuse_suspended_session  # noqa: PLC0415 - app.auth imports this module

        return refuse_suspended_session() or super().unauthorized()


migrate = Migrate()
login_manager = _LoginManager()
csrf = _CSRFProtect()
babel = Babel()


def _lazy_strings_are_escaped() -> None:
    """Flask-Babel's ``LazyString`` declares itself safe HTML (its ``__html__`` returns the text as it is), so
    a lazy message that interpolates data reached the pages unescaped: ``_l("Indicators: %(name)s",
    name=org.name)`` in the navigation printed an organisation named ``Lycée <Hugo>`` as markup (stored
    XSS). Sillage's lazy messages never carry markup (templates mark theirs up themselves): they are escaped
    like any other string."""
    from flask_babel.speaklater import LazyString  # noqa: PLC0415
    from markupsafe import escape  # noqa: PLC0415

    LazyString.__html__ = lambda self: escape(str(self))


_lazy_strings_are_escaped()


def _a_views_referrer_policy_stands() -> None:
    """Talisman's ``after_request`` writes its ``Referrer-Policy`` over whatever the view set: the
    ``no-referrer`` of the pages whose URL holds a secret (share links, private feeds, an old activation
    letter's ``?code=``) never reached the browser, which then sent the origin-only default. A view's own
    policy now stands; every other response keeps the application's default."""
    set_default = Talisman._set_referrer_policy_headers

    def set_unless_the_view_did(self, headers):
        if "Referrer-Policy" not in headers:
            set_default(self, headers)

    Talisman._set_referrer_policy_headers = set_unless_the_view_did


_a_views_referrer_policy_stands()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
talisman = Talisman()
mail = Mail()
