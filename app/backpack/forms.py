"""The "Add a badge earned elsewhere" form: presence and size only; what a badge is, is the service's."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, URLField
from wtforms.validators import Length, Optional

ACCEPT = ".png,.svg,.json,.jsonld,.jwt,image/png,image/svg+xml,application/json,application/ld+json"


class AddForm(FlaskForm):
    file = FileField(_l("Badge file"), description=_l("A baked badge image (PNG or SVG), an Open Badges JSON "
                                                      "file, a VC-JWT (.jwt) or a CLR 2.0 file; at most 5 MB."),
                     render_kw={"accept": ACCEPT})
    url = URLField(_l("Or the badge's address"), validators=[Optional(), Length(max=2048)],
                   description=_l("An Open Badges 2.0 assertion URL (https)."))
    keep_unverified = BooleanField(_l("Keep it even if it does not verify (it will be shown as not verified)"))

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        has_file = bool(self.file.data and getattr(self.file.data, "filename", ""))
        has_url = bool((self.url.data or "").strip())
        if has_file == has_url:
            self.file.errors.append(_l("Choose a badge file or give its address (one of the two)."))
            return False
        return True
