"""Who counts as whom in the sign-off workflow, and fetching its objects for a user.

The ``get_*_for`` helpers mirror ``readiness.access.get_launch_for``: an object whose launch the
user may not see answers 404 exactly like an unknown one; an object the user may see but not act
on answers 403. The services check the same rules again, so no entry point can skip them."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from raci.selectors import is_executive
from readiness.access import can_view

from .models import Acknowledgement, SignoffRequest, Waiver

DECIDE_REQUEST = "approvals.decide_signoffrequest"
# The permission row's codename, for queries that read the grant tables themselves.
DECIDE_CODENAME = DECIDE_REQUEST.partition(".")[2]


__all__ = [
    "DECIDE_CODENAME",
    "DECIDE_REQUEST",
    "get_acknowledgement_for",
    "get_signoff_for",
    "get_waiver_for",
    "is_executive",
]


def _visible_or_404(queryset, pk, user):
    try:
        obj = queryset.select_related("launch").get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("No such record.") from None
    if not can_view(user, obj.launch):
        raise Http404("No such record.")
    return obj


def get_signoff_for(user, pk, *, to_decide: bool = False, to_delegate: bool = False) -> SignoffRequest:
    """A sign-off request on a launch ``user`` may view; ``to_decide`` also requires that it is
    addressed or delegated to them, ``to_delegate`` that it is addressed to them (a delegate does
    not hand it on): 403 otherwise."""
    signoff = _visible_or_404(SignoffRequest.objects.select_related("stage"), pk, user)
    if to_decide and not user.has_perm(DECIDE_REQUEST, signoff):
        raise PermissionDenied(_("This sign-off request is not addressed or delegated to you."))
    if to_delegate and not signoff.addressees.filter(pk=user.pk).exists():
        raise PermissionDenied(_("Only an addressee of this request may delegate it."))
    return signoff


def get_waiver_for(user, pk) -> Waiver:
    """A waiver on a launch ``user`` may view; whether they may decide it is the service's rule."""
    return _visible_or_404(Waiver.objects.select_related("stage"), pk, user)


def get_acknowledgement_for(user, pk, *, to_acknowledge: bool = False) -> Acknowledgement:
    """An acknowledgement on a launch ``user`` may view; ``to_acknowledge`` also requires that it
    asks them (403 otherwise)."""
    acknowledgement = _visible_or_404(Acknowledgement.objects.select_related("stage"), pk, user)
    if to_acknowledge and acknowledgement.user_id != user.pk:
        raise PermissionDenied(_("This acknowledgement asks someone else."))
    return acknowledgement
