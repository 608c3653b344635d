"""Words shown for stored codes: experience kinds and skill levels, translated at render time."""
from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "job": _l("Job"),
    "internship": _l("Internship or work placement (PFMP)"),
    "education": _l("Education"),
    "volunteering": _l("Volunteering"),
    "family": _l("Family life"),
    "sport": _l("Sport"),
    "culture": _l("Culture, exchange abroad"),
    "project": _l("Project"),
    "other": _l("Other"),
}
# The four-step self-assessment scale used in French schools and vocational training.
LEVEL_LABELS = {
    1: _l("Not mastered"),
    2: _l("Partially mastered"),
    3: _l("Mastered"),
    4: _l("Well mastered"),
}
DIPLOMA_LABEL = _l("Diploma or certification")
