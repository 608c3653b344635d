"""Forms of the sharing pages: presence and size only; the rules live in ``app.services.grants``.

The scope is read from the checkboxes named ``scope`` (``section:<name>`` or ``<type>:<id>``) by the
route, since the choices are the owner's own items."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, RadioField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.services.grants import MESSAGE_MAX

ROLE_CHOICES = [
    SelectChoice("viewer", _l("Viewer: reads what you share")),
    SelectChoice("contributor", _l("Contributor: reads, comments and proposes additions that you accept or decline")),
    SelectChoice("certifier", _l("Certifier: reads, and may be asked to attest an experience or a skill")),
    SelectChoice("guardian", _l("Guardian (a parent of a minor): reads the whole portfolio, changes nothing")),
    SelectChoice("counsellor", _l("Counsellor: reads what you share, comments, and works with you on your path "
                                  "hypotheses (proposes goals, writes appointment notes)")),
]
EXTENT_CHOICES = [SelectChoice("all", _l("The whole portfolio (not the journal)")),
                  SelectChoice("chosen", _l("Only what I choose below"))]


class GrantForm(FlaskForm):
    role = RadioField(_l("Role"), choices=[c for c in ROLE_CHOICES if c.value != "guardian"], default="viewer",
                      validators=[DataRequired()])  # guardians are invited from the guardians page
    extent = RadioField(_l("What they see"), choices=EXTENT_CHOICES, default="all", validators=[DataRequired()])
    expires_on = DateField(_l("End of access (optional)"), validators=[Optional()])


class InviteForm(GrantForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(_l("This field is required.")),
                                                         Length(max=254)])
    message = TextAreaField(_l("Message (optional)"), validators=[Optional(), Length(max=MESSAGE_MAX)])


class EmptyForm(FlaskForm):
    """A CSRF token alone, for the buttons that post (revoke, resend, accept, leave)."""
