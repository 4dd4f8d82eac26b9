"""GOV.UK form rendering: the date field and the govuk template tags."""

import datetime
import re

import pytest
from django import forms
from django.template import Context, Template

from common.forms import GovukDateField, GovukFormMixin


class PersonForm(forms.Form):
    first_name = forms.CharField(label="First name", help_text="As the family uses it")
    date_of_birth = GovukDateField(label="Date of birth", help_text="For example, 27 3 2019")
    notes = forms.CharField(widget=forms.Textarea, required=False)
    sex = forms.ChoiceField(
        choices=[("female", "Female"), ("male", "Male")], widget=forms.RadioSelect
    )
    needs = forms.MultipleChoiceField(
        choices=[("interpreter", "Interpreter"), ("wheelchair", "Wheelchair access")],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    team = forms.ChoiceField(choices=[("", "Choose a team"), ("north", "North")])
    restricted = forms.BooleanField(required=False, label="Restrict this case")
    secret = forms.CharField(widget=forms.PasswordInput, required=False)


def render(source, **context):
    return Template("{% load govuk %}" + source).render(Context(context))


def date_data(day, month, year, name="date_of_birth"):
    return {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}


class DateForm(forms.Form):
    date_of_birth = GovukDateField(label="Date of birth")


class OptionalDateForm(forms.Form):
    date_of_birth = GovukDateField(label="Date of birth", required=False)


def date_errors(day, month, year, form_class=DateForm):
    form = form_class(date_data(day, month, year))
    assert not form.is_valid()
    return form.errors["date_of_birth"]


# --- GovukDateField ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "month", "year", "expected"),
    [
        ("27", "3", "2019", datetime.date(2019, 3, 27)),
        ("07", "03", "2019", datetime.date(2019, 3, 7)),
        (" 1 ", " 12 ", " 2020 ", datetime.date(2020, 12, 1)),
        ("29", "2", "2024", datetime.date(2024, 2, 29)),
        ("5", "Mar", "2021", datetime.date(2021, 3, 5)),
        ("5", "september", "2021", datetime.date(2021, 9, 5)),
    ],
)
def test_date_field_parses_a_real_date(day, month, year, expected):
    form = DateForm(date_data(day, month, year))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["date_of_birth"] == expected


def test_date_field_required_message_uses_the_label():
    assert date_errors("", "", "") == ["Enter the date of birth"]


def test_date_field_says_which_part_is_missing():
    assert date_errors("27", "", "2019") == ["Date of birth must include a month"]
    assert date_errors("", "3", "") == ["Date of birth must include a day and year"]
    assert date_errors("27", "3", "") == ["Date of birth must include a year"]


@pytest.mark.parametrize(
    ("day", "month", "year"),
    [
        ("31", "2", "2019"),
        ("29", "2", "2023"),
        ("1", "13", "2019"),
        ("x", "3", "2019"),
        ("1", "Marchember", "2019"),
        ("0", "3", "2019"),
    ],
)
def test_date_field_rejects_dates_that_do_not_exist(day, month, year):
    assert date_errors(day, month, year) == ["Date of birth must be a real date"]


def test_date_field_wants_a_four_digit_year():
    assert date_errors("1", "3", "19") == ["Year must include 4 numbers"]


def test_optional_date_field_left_blank_is_none():
    form = OptionalDateForm(date_data("", "", ""))
    assert form.is_valid()
    assert form.cleaned_data["date_of_birth"] is None


def test_optional_date_field_still_checks_what_was_typed():
    assert date_errors("12", "", "", OptionalDateForm) == [
        "Date of birth must include a month and year"
    ]


def test_date_field_messages_fall_back_to_the_field_name_and_error_label():
    class Unlabelled(forms.Form):
        date_of_birth = GovukDateField()
        seen = GovukDateField(label="When did you last see the child?", error_label="Date seen")

    form = Unlabelled({})
    assert not form.is_valid()
    assert form.errors["date_of_birth"] == ["Enter the date of birth"]
    assert form.errors["seen"] == ["Enter the date seen"]


def test_date_field_has_changed_ignores_leading_zeros():
    field = GovukDateField()
    assert not field.has_changed(datetime.date(2019, 3, 7), ["07", "03", "2019"])
    assert field.has_changed(datetime.date(2019, 3, 7), ["8", "3", "2019"])


def test_date_widget_names_ids_and_numeric_keyboard():
    html = render("{% govuk_field form.date_of_birth %}", form=DateForm())
    for part in ("day", "month", "year"):
        assert f'name="date_of_birth-{part}"' in html
        assert f'id="id_date_of_birth-{part}"' in html
    assert html.count('inputmode="numeric"') == 3
    assert 'type="number"' not in html


def test_date_field_keeps_what_was_typed_even_when_invalid():
    form = DateForm(date_data("31", "Febtober", "2O19"))
    assert not form.is_valid()
    html = render("{% govuk_field form.date_of_birth %}", form=form)
    assert 'value="31"' in html
    assert 'value="Febtober"' in html
    assert 'value="2O19"' in html


def test_date_field_shows_an_initial_date_in_the_boxes():
    form = DateForm(initial={"date_of_birth": datetime.date(2019, 3, 7)})
    html = render("{% govuk_field form.date_of_birth %}", form=form)
    assert 'value="7"' in html and 'value="3"' in html and 'value="2019"' in html


def test_date_field_marks_only_the_missing_box():
    form = DateForm(date_data("27", "", "2019"))
    form.is_valid()
    html = render("{% govuk_field form.date_of_birth %}", form=form)
    month = re.search(r'<input[^>]*id="id_date_of_birth-month"[^>]*>', html).group(0)
    day = re.search(r'<input[^>]*id="id_date_of_birth-day"[^>]*>', html).group(0)
    assert "govuk-input--error" in month
    assert "govuk-input--error" not in day
    assert "govuk-form-group--error" in html
    assert 'role="group"' in html and "<legend" in html


# --- {% govuk_error_summary %} ------------------------------------------------------


def invalid_person_form(**extra):
    data = {"first_name": "", "sex": "", "team": "", **date_data("27", "", "2019"), **extra}
    form = PersonForm(data)
    assert not form.is_valid()
    return form


def test_error_summary_links_each_error_to_its_field():
    html = render("{% govuk_error_summary form %}", form=invalid_person_form())
    assert 'class="govuk-error-summary"' in html
    assert "There is a problem" in html
    assert 'href="#id_first_name"' in html
    assert 'href="#id_date_of_birth-day"' in html  # a date links to its Day box
    assert 'href="#id_sex_0"' in html  # radios link to the first radio
    assert 'href="#id_team"' in html
    # in the order of the fields on the page
    assert (
        html.index("#id_first_name") < html.index("#id_date_of_birth-day") < html.index("#id_sex_0")
    )


def test_error_summary_links_point_at_elements_that_exist():
    form = invalid_person_form()
    summary = render("{% govuk_error_summary form %}", form=form)
    fields = render("{% for f in form %}{% govuk_field f %}{% endfor %}", form=form)
    for target in re.findall(r'href="#([^"]+)"', summary):
        assert f'id="{target}"' in fields


def test_error_summary_lists_non_field_errors_first():
    form = invalid_person_form()
    form.add_error(None, "The case is closed")
    html = render("{% govuk_error_summary form %}", form=form)
    assert "<li>The case is closed</li>" in html
    assert html.index("The case is closed") < html.index("#id_first_name")


def test_error_summary_renders_nothing_without_errors():
    assert render("{% govuk_error_summary form %}", form=PersonForm()).strip() == ""
    valid = DateForm(date_data("1", "2", "2020"))
    assert valid.is_valid()
    assert render("{% govuk_error_summary form %}", form=valid).strip() == ""


def test_error_summary_takes_several_forms_and_skips_missing_ones():
    first = DateForm(date_data("", "", ""), prefix="child")
    second = invalid_person_form()
    html = render("{% govuk_error_summary a missing b %}", a=first, b=second, missing=None)
    assert 'href="#id_child-date_of_birth-day"' in html
    assert 'href="#id_first_name"' in html


def test_error_summary_escapes_user_input():
    form = invalid_person_form(team="<script>alert(1)</script>")
    html = render("{% govuk_error_summary form %}", form=form)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


# --- {% govuk_field %} ---------------------------------------------------------------


def test_field_picks_the_govuk_component_for_each_widget():
    form = PersonForm()
    html = {name: render("{% govuk_field f %}", f=form[name]) for name in form.fields}
    assert 'class="govuk-input"' in html["first_name"]
    assert "govuk-textarea" in html["notes"]
    assert "govuk-select" in html["team"]
    assert 'class="govuk-radios"' in html["sex"] and "<fieldset" in html["sex"]
    assert 'class="govuk-checkboxes"' in html["needs"] and "<fieldset" in html["needs"]
    assert "govuk-checkboxes__input" in html["restricted"]
    assert 'type="checkbox"' in html["restricted"]
    assert "govuk-date-input" in html["date_of_birth"]
    assert "govuk-password-input" in html["secret"]


def test_field_label_hint_and_optional_marker():
    form = PersonForm()
    first = render("{% govuk_field f %}", f=form["first_name"])
    assert '<label class="govuk-label" for="id_first_name">First name</label>' in first
    assert "*" not in first
    assert "(optional)" not in first
    assert '<div class="govuk-hint" id="id_first_name-hint">As the family uses it</div>' in first
    assert 'aria-describedby="id_first_name-hint"' in first
    notes = render("{% govuk_field f %}", f=form["notes"])
    assert "Notes (optional)" in notes


def test_field_error_message_and_described_by():
    form = invalid_person_form()
    html = render("{% govuk_field f %}", f=form["first_name"])
    assert "govuk-form-group--error" in html
    assert 'class="govuk-input govuk-input--error"' in html
    assert '<p class="govuk-error-message" id="id_first_name-error">' in html
    assert '<span class="govuk-visually-hidden">Error:</span> This field is required.' in html
    assert 'aria-describedby="id_first_name-hint id_first_name-error"' in html
    control = re.search(r"<input[^>]*>", html).group(0)
    assert "required" not in control  # no browser validation


def test_field_options():
    form = PersonForm()
    html = render(
        '{% govuk_field f classes="govuk-input--width-10" label_size="m" '
        'hint="Another hint" label="Given name" heading=True %}',
        f=form["first_name"],
    )
    assert 'class="govuk-input govuk-input--width-10"' in html
    assert '<h1 class="govuk-label-wrapper"><label class="govuk-label govuk-label--m"' in html
    assert ">Given name</label></h1>" in html
    assert "Another hint" in html and "As the family uses it" not in html
    radios = render(
        '{% govuk_field f classes="govuk-radios--inline" label_size="s" %}', f=form["sex"]
    )
    assert 'class="govuk-radios govuk-radios--inline"' in radios
    assert "govuk-fieldset__legend--s" in radios


def test_field_keeps_typed_values_and_choices_after_an_error():
    form = PersonForm(
        {
            "first_name": "Ava",
            "notes": "Seen at school",
            "sex": "female",
            "needs": ["wheelchair"],
            "team": "",
            "restricted": "on",
            **date_data("1", "", "2019"),
        }
    )
    assert not form.is_valid()
    html = render("{% for f in form %}{% govuk_field f %}{% endfor %}", form=form)
    assert 'value="Ava"' in html
    assert "Seen at school</textarea>" in html
    assert re.search(r'id="id_sex_0"[^>]*value="female" checked', html)
    assert re.search(r'id="id_needs_1"[^>]*value="wheelchair" checked', html)
    assert re.search(r'<input type="checkbox" name="restricted"[^>]*checked', html)


def test_field_never_shows_a_typed_password_again():
    form = PersonForm({"secret": "hunter2"})
    form.is_valid()
    assert "hunter2" not in render("{% govuk_field f %}", f=form["secret"])


def test_field_escapes_user_input_labels_and_choices():
    class Hostile(forms.Form):
        name = forms.CharField(label="<b>Name</b>")
        kind = forms.ChoiceField(choices=[("x", "<i>X</i>")], widget=forms.RadioSelect)

    form = Hostile({"name": '"><script>alert(1)</script>', "kind": "<script>"})
    form.is_valid()
    html = render(
        "{% govuk_error_summary form %}{% for f in form %}{% govuk_field f %}{% endfor %}",
        form=form,
    )
    assert "<script>" not in html
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;" in html


def test_hidden_field_renders_only_the_input():
    class WithHidden(forms.Form):
        version = forms.IntegerField(widget=forms.HiddenInput)

    html = render("{% govuk_field f %}", f=WithHidden(initial={"version": 3})["version"])
    assert html.strip() == '<input type="hidden" name="version" value="3" id="id_version">'


def test_model_choice_radios_skip_the_blank_dashes():
    class Choice(forms.Form):
        answer = forms.ChoiceField(
            choices=[("", "---------"), ("yes", "Yes")], widget=forms.RadioSelect, required=False
        )

    html = render("{% govuk_field f %}", f=Choice()["answer"])
    assert "---------" not in html
    assert 'id="id_answer_0"' in html  # the error summary's target exists


def test_mixin_gives_plain_widgets_govuk_classes_and_messages():
    class Plain(GovukFormMixin, forms.Form):
        name = forms.CharField(help_text="Full name")
        team = forms.ChoiceField(choices=[("a", "A")])

    form = Plain({})
    assert not form.is_valid()
    assert form.errors["name"] == ["Enter name"]
    assert form.errors["team"] == ["Select team"]
    html = str(form["name"])
    assert "govuk-input govuk-input--error" in html
    assert 'aria-describedby="id_name-hint id_name-error"' in html
    assert "required" not in html
