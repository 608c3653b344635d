"""Flask extensions, created unbound here and bound to an application in ``create_app``."""
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

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
talisman = Talisman()
mail = Mail()
