"""Forms of the issuer pages (presence and size only; the rules live in the services)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms.fields.choices import SelectChoice
from wtforms import EmailField, IntegerField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.models import ACHIEVEMENT_KINDS, MEMBER_ROLES, ORGANISATION_KINDS
from app.services.tokens import NAME_MAX

REQUIRED = _l("This field is required.")

ORGANISATION_KIND_LABELS = {
    "university": _l("University or higher education"), "school": _l("School"),
    "training_body": _l("Training body"), "employer": _l("Employer"), "association": _l("Association"),
    "guidance_service": _l("Guidance service"), "other": _l("Other"),
}
ROLE_LABELS = {"admin": _l("Organisation admin"), "issuer": _l("Issuer"), "head": _l("Head of institution"),
               "teacher": _l("Teacher"), "counsellor": _l("Counsellor"),
               "partner": _l("Partner")}
ACHIEVEMENT_KIND_LABELS = {
    "Diploma": _l("Diploma"), "SecondarySchoolDiploma": _l("Secondary school diploma"),
    "Degree": _l("Degree"), "Certificate": _l("Certificate"), "Certification": _l("Certification"),
    "CertificateOfCompletion": _l("Certificate of completion or participation"),
    "Competency": _l("Competency"), "Course": _l("Course"), "LearningProgram": _l("Learning programme"),
    "ApprenticeshipCertificate": _l("Apprenticeship certificate"), "MicroCredential": _l("Micro-credential"),
    "Badge": _l("Badge"), "Award": _l("Award"), "CoCurricular": _l("Co-curricular activity"),
    "CommunityService": _l("Community service"), "Membership": _l("Membership"), "License": _l("Licence"),
    "Assessment": _l("Assessment"), "Achievement": _l("Other achievement"),
}
STATUS_LABELS = {"pending": _l("awaiting approval"), "approved": _l("approved"), "refused": _l("refused")}
# The label tables cover exactly the models' values.
assert set(ACHIEVEMENT_KIND_LABELS) == set(ACHIEVEMENT_KINDS)
assert set(ORGANISATION_KIND_LABELS) == set(ORGANISATION_KINDS) and set(ROLE_LABELS) == set(MEMBER_ROLES)


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(_l("Kind"), validators=[DataRequired(REQUIRED)],
                       choices=_choices(ORGANISATION_KIND_LABELS))
    website = URLField(_l("Web site"), validators=[Optional(), Length(max=500)],
                       description=_l("Starting with https://."))
    contact_email = EmailField(_l("Contact e-mail"), validators=[DataRequired(REQUIRED), Length(max=254)],
                               description=_l("Shown publicly on the organisation's profile and in the "
                                              "credentials it issues."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    logo = FileField(_l("Logo"), description=_l("PNG, JPEG or SVG, at most 4 MB (optional)."))


class AddMemberForm(FlaskForm):
    email = EmailField(_l("E-mail of their Sillage account"), validators=[DataRequired(REQUIRED),
                                                                       Length(max=254)])
    role = SelectField(_l("Role"), choices=_choices(ROLE_LABELS), default="issuer")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=_choices(ROLE_LABELS))


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=NAME_MAX)])


class RefuseForm(FlaskForm):
    reason = TextAreaField(_l("Reason given to the requester"), validators=[DataRequired(REQUIRED),
                                                                          Length(max=2000)])


class CloseForm(FlaskForm):
    confirm = StringField(_l("Type the organisation's name to confirm"),
                          validators=[DataRequired(REQUIRED), Length(max=200)])


class AchievementForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=_choices(ACHIEVEMENT_KIND_LABELS), default="Certificate")
    description = TextAreaField(_l("Description"), validators=[DataRequired(REQUIRED), Length(max=5000)])
    criteria_narrative = TextAreaField(_l("Criteria"), validators=[Optional(), Length(max=10000)],
                                       description=_l("What a person did to earn it. Give this text, a web "
                                                      "address below, or both."))
    criteria_url = URLField(_l("Criteria web page"), validators=[Optional(), Length(max=500)])
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=1500)],
                       description=_l("Separated by commas."))
    alignments = TextAreaField(_l("Alignments"), validators=[Optional(), Length(max=20000)],
                               description=_l("One a line: name | web address | framework (optional)."))
    validity_months = IntegerField(_l("Valid for (months)"), validators=[Optional(), NumberRange(1, 600)],
                                   description=_l("Leave empty for credentials that do not expire."))
    image = FileField(_l("Image"), description=_l("PNG, JPEG or SVG, at most 4 MB. Without one, a "
                                                  "default image is drawn."))
