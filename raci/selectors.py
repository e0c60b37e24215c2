"""Who serves which function: the single source of truth is active membership of a team."""

from __future__ import annotations

from .choices import TeamFunction
from .models import Team


def serves_function(user, function: str) -> bool:
    """``user`` is an active member of a team of ``function``."""
    return bool(
        user.is_authenticated and user.is_active and Team.objects.filter(function=function, members__user=user).exists()
    )


def is_executive(user) -> bool:
    """The one definition of an executive: an active member of an executive team. Executives
    see every launch and may decide any waiver or policy change request (never their own)."""
    return serves_function(user, TeamFunction.EXECUTIVE)


def is_function_lead(user, function: str) -> bool:
    """``user`` leads a team of ``function`` (and is still an active member of it)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and Team.objects.filter(function=function, lead__user=user, members__user=user).exists()
    )
