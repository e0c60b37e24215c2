"""``{% submission_field %}``: the one-time key every POST form carries (web.idempotency). A
builtin (config/settings.py TEMPLATES), so every template has it without ``{% load %}``."""

from django import template
from django.utils.html import format_html

from web.idempotency import FIELD, new_key

register = template.Library()


@register.simple_tag
def submission_field() -> str:
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_key())
