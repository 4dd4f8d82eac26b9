"""Plumbing every app's pages and API share, below every domain app.

The GOV.UK form kit (`common.forms`, `common.templatetags.govuk`), the mapping of a
service's ValidationError onto forms and API responses (`common.errors`), the one
form-page helper (`common.pages`), the API base classes (`common.api`) and the
pagination include (`common/pagination.html`). Nothing here imports a domain app.
"""
