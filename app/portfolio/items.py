"""List / new / view / edit / delete for experiences, diplomas, skills and journal entries.

The four sections behave the same way, so one set of views serves them all, parameterised by a
``Section``; what differs (fields, links between skills and experiences, how an item is shown) lives
in the forms, the service rules and each section's templates. Endpoints: ``portfolio.<plural>``,
``portfolio.new_<singular>``, ``portfolio.<singular>``, ``portfolio.edit_<singular>`` and
``portfolio.delete_<singular>`` (GET asks for confirmation, POST deletes).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields import SelectChoice

from app import policy
from app.extensions import db
from app.models import Diploma, Experience, JournalEntry, Skill
from app.frameworks import picker as concept_picker
from app.portfolio import bp, forms
from app.portfolio.common import form_data, render_invalid, show_errors
from app.services import portfolio as service
from app.services.errors import ValidationFailed


@dataclass(frozen=True)
class Section:
    model: type
    singular: str
    plural: str
    path: str
    form: type[FlaskForm]
    heading: str
    add: str
    saved: str
    deleted: str
    name_attr: str = "title"

    def endpoint(self, action: str = "view") -> str:
        return {"list": f"portfolio.{self.plural}", "view": f"portfolio.{self.singular}"}.get(
            action, f"portfolio.{action}_{self.singular}")


SECTIONS = (
    Section(Experience, "experience", "experiences", "/experiences", forms.ExperienceForm,
            _l("Experiences"), _l("Add an experience"), _l("Experience saved."), _l("Experience deleted.")),
    Section(Diploma, "diploma", "diplomas", "/diplomas", forms.DiplomaForm,
            _l("Diplomas and certifications"), _l("Add a diploma"), _l("Diploma saved."),
            _l("Diploma deleted.")),
    Section(Skill, "skill", "skills", "/skills", forms.SkillForm,
            _l("Skills"), _l("Add a skill"), _l("Skill saved."), _l("Skill deleted."), name_attr="name"),
    Section(JournalEntry, "journal_entry", "journal", "/journal", forms.JournalEntryForm,
            _l("Reflection journal"), _l("Write an entry"), _l("Journal entry saved."),
            _l("Journal entry deleted.")),
)


def _link_choices(form: FlaskForm) -> None:
    """Offer the owner's own skills (on an experience) or experiences (on a skill) as checkboxes."""
    portfolio_id = service.portfolio_of(current_user).id
    if isinstance(form, forms.ExperienceForm):
        skills = db.session.scalars(select(Skill).where(Skill.portfolio_id == portfolio_id)
                                    .order_by(Skill.sort_name, Skill.id))
        form.skill_ids.choices = [SelectChoice(str(s.id), s.name) for s in skills]
    elif isinstance(form, forms.SkillForm):
        experiences = db.session.scalars(select(Experience).where(Experience.portfolio_id == portfolio_id)
                                         .order_by(Experience.start_date.desc()))
        form.experience_ids.choices = [SelectChoice(str(e.id), f"{e.title} ({e.start_date.year})")
                                       for e in experiences]
        concept_picker.prefill(form)  # ?concept=<id>: coming back from the framework browser


def _load_links(form: FlaskForm, item) -> None:
    if isinstance(item, Experience):
        form.skill_ids.data = [str(s.id) for s in item.skills]
    elif isinstance(item, Skill):
        form.experience_ids.data = [str(e.id) for e in item.experiences]


def _confirm_suggestions(item) -> None:
    """The writing aid's suggestions ticked on an experience's form become skills (app.skill_suggestions)."""
    if isinstance(item, Experience):
        from app.skill_suggestions.routes import confirm_ticked  # noqa: PLC0415
        confirm_ticked(item)


def _views(section: Section):
    """The five views of one section, as closures over it."""
    rules = service.RULES[section.model]

    def render_form(form, item=None, invalid=False):
        context = dict(form=form, section=section, item=item)
        if invalid:
            return render_invalid("portfolio/item_form.html", **context)
        return render_template("portfolio/item_form.html", **context)

    @login_required
    def list_view():
        items = service.list_items(db.session, current_user, section.model)
        return render_template(f"portfolio/{section.plural}.html", items=items, section=section)

    @login_required
    def new_view():
        form = section.form()
        _link_choices(form)
        if request.method == "POST":
            try:
                item = service.create_item(db.session, current_user, section.model, form_data(rules))
                _confirm_suggestions(item)
            except ValidationFailed as exc:
                show_errors(form, exc)
                return render_form(form, invalid=True)
            db.session.commit()
            flash(str(section.saved), "success")
            return redirect(url_for(section.endpoint(), item_id=item.id))
        return render_form(form)

    @login_required
    def item_view(item_id):
        item = policy.get_or_404(section.model, item_id, current_user, policy.OWN)
        return render_template(f"portfolio/{section.singular}.html", item=item, section=section)

    @login_required
    def edit_view(item_id):
        item = policy.get_or_404(section.model, item_id, current_user, policy.UPDATE)
        if request.method == "POST":
            form = section.form()
            _link_choices(form)
            try:
                service.update_item(db.session, current_user, item, form_data(rules), partial=False)
                _confirm_suggestions(item)
            except ValidationFailed as exc:
                show_errors(form, exc)
                return render_form(form, item, invalid=True)
            db.session.commit()
            flash(str(section.saved), "success")
            return redirect(url_for(section.endpoint(), item_id=item.id))
        form = section.form(obj=item)
        _link_choices(form)
        _load_links(form, item)
        return render_form(form, item)

    @login_required
    def delete_view(item_id):
        item = policy.get_or_404(section.model, item_id, current_user, policy.DELETE)
        if request.method == "POST":  # CSRFProtect has checked the token before we get here
            service.delete_item(db.session, current_user, item)
            db.session.commit()
            flash(str(section.deleted), "success")
            return redirect(url_for(section.endpoint("list")))
        return render_template("portfolio/confirm_delete.html", item=item, section=section,
                               form=forms.ConfirmForm(), name=getattr(item, section.name_attr))

    return list_view, new_view, item_view, edit_view, delete_view


def _register(section: Section) -> None:
    list_view, new_view, item_view, edit_view, delete_view = _views(section)
    path, one = section.path, section.singular
    bp.add_url_rule(path, section.plural, list_view)
    bp.add_url_rule(f"{path}/new", f"new_{one}", new_view, methods=["GET", "POST"])
    bp.add_url_rule(f"{path}/<item_id>", one, item_view)
    bp.add_url_rule(f"{path}/<item_id>/edit", f"edit_{one}", edit_view, methods=["GET", "POST"])
    bp.add_url_rule(f"{path}/<item_id>/delete", f"delete_{one}", delete_view, methods=["GET", "POST"])


for _section in SECTIONS:
    _register(_section)
SECTION_BY_MODEL = {s.model: s for s in SECTIONS}
