"""Small presentation helpers for the product's templates."""

import datetime

from django import template

register = template.Library()


@register.filter
def minutes(value: datetime.timedelta | None) -> int:
    """Whole minutes in a duration, rounded up (a lockout of 30 seconds reads "1 minute")."""
    if not isinstance(value, datetime.timedelta):
        return 0
    return max(1, -(-int(value.total_seconds()) // 60))
