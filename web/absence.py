"""Out of office: an approver names a colleague of the same function to stand in for them for a
period, and ends it early. Only ever one's own periods; the service checks every rule again."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from approvals.models import OutOfOffice
from approvals.services import out_of_office_end, out_of_office_set
from approvals.services.absence import colleagues
from raci.models import Team
from readiness.i18n import shown_date
from readiness.people import person_name

from .forms import OutOfOfficeForm, add_service_errors


def _functions_by_person(people, user) -> dict[int, str]:
    """For each colleague, the functions of the teams they share with ``user``, in words (one query)."""
    shared: dict[int, list[str]] = {}
    for team in Team.objects.filter(members__user=user).prefetch_related("members"):
        for member in team.members.all():
            labels = shared.setdefault(member.user_id, [])
            if team.get_function_display() not in labels:
                labels.append(str(team.get_function_display()))
    return {person.pk: ", ".join(shared.get(person.pk, [])) for person in people}


@require_http_methods(["GET", "POST"])
@login_required
def out_of_office(request: HttpRequest) -> HttpResponse:
    people = colleagues(request.user)
    form = OutOfOfficeForm(
        request.POST if request.method == "POST" else None,
        people=people,
        functions=_functions_by_person(people, request.user),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            period = out_of_office_set(
                actor=request.user,
                delegate=data["delegate"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reason=data["reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("From %(start)s to %(end)s, new sign-off requests for you go to %(person)s.")
                % {
                    "start": shown_date(period.starts_on),
                    "end": shown_date(period.ends_on),
                    "person": person_name(period.delegate),
                },
            )
            return redirect("web:out-of-office")
    today = timezone.localdate()
    periods = list(
        OutOfOffice.objects.filter(person=request.user).select_related("delegate").order_by("-starts_on", "-pk")[:20]
    )
    for period in periods:
        period.running = period.runs_on(today)
        period.endable = period.ended_at is None and period.ends_on >= today
    return render(
        request,
        "web/out_of_office.html",
        {
            "form": form,
            "periods": periods,
            "has_colleagues": bool(people),
            "in_a_team": bool(people) or Team.objects.filter(members__user=request.user).exists(),
            "today": today,
        },
    )


@require_POST
@login_required
def out_of_office_stop(request: HttpRequest, pk: int) -> HttpResponse:
    """End one's own period early (someone else's: 404, it is not theirs to know of)."""
    period = OutOfOffice.objects.filter(pk=pk, person=request.user).first()
    if period is None:
        raise Http404
    try:
        out_of_office_end(actor=request.user, period=period)
    except PermissionDenied:
        raise
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your out-of-office period is ended; new requests come to you again."))
    return redirect("web:out-of-office")
