"""Templates ask the access policy, never restate it.

    {% load policy %}
    {% can "cancel_escalation" user escalation as may_cancel %}
    {% if may_cancel %}<a href="...">Cancel</a>{% endif %}

`"cancel_escalation"` names `accounts.policy.can_cancel_escalation`; the rest are its
arguments. A name the policy does not have is an error, not a silent "no".
"""

from django import template

from accounts import policy

register = template.Library()


@register.simple_tag
def can(name: str, *args) -> bool:
    function = getattr(policy, f"can_{name}", None)
    if function is None:
        raise template.TemplateSyntaxError(f"accounts.policy has no can_{name}")
    return bool(function(*args))
