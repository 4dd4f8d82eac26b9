"""What a browser would post back from a page's form, read from the HTML.

`form_data(html)` returns the controls of the page's main form (the first
`<form method="post">` that is not the sign-out form) with the values the page gave
them: text inputs and hidden fields as written, textareas as their text, checked
radios and checkboxes, and the selected options of selects. Submitting that back is
what a person does who opens an edit form and presses Save without changing anything.
"""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._fields: list[tuple[str, str]] | None = None
        self._skip = False
        self._textarea: str | None = None
        self._text = ""
        self._select: str | None = None
        self._select_multiple = False
        self._select_chosen: list[str] = []
        self._select_first: str | None = None
        self._option: tuple[str | None, bool] | None = None
        self._option_text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if (a.get("method") or "get").lower() == "post":
                self._fields = []
                self._skip = "data-sign-out" in a  # the sign-out buttons
            return
        if self._fields is None:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = (a.get("type") or "text").lower()
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self._fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self._fields.append((name, a.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""
        elif tag == "select" and name:
            self._select = name
            self._select_multiple = "multiple" in a
            self._select_chosen, self._select_first = [], None
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)
            self._option_text = ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data
        if self._option is not None:
            self._option_text += data

    def handle_endtag(self, tag):
        if self._fields is None:
            return
        if tag == "textarea" and self._textarea is not None:
            # A newline straight after <textarea> is not part of the value (HTML spec).
            text = self._text[1:] if self._text.startswith("\n") else self._text
            self._fields.append((self._textarea, text))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            value, selected = self._option
            value = self._option_text.strip() if value is None else value
            if self._select_first is None:
                self._select_first = value
            if selected:
                self._select_chosen.append(value)
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = self._select_chosen
            if not chosen and not self._select_multiple and self._select_first is not None:
                chosen = [self._select_first]
            self._fields.extend((self._select, value) for value in chosen)
            self._select = None
        elif tag == "form":
            if not self._skip:
                self.forms.append(self._fields)
            self._fields = None


def form_data(html: str) -> dict[str, list[str]]:
    """The main post form's controls as the page filled them: {name: [values]}."""
    reader = _FormReader()
    reader.feed(html)
    assert reader.forms, "the page has no post form"
    data: dict[str, list[str]] = {}
    for name, value in reader.forms[0]:
        data.setdefault(name, []).append(value)
    return data
