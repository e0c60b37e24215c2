from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from readiness.history import save_with_history
from readiness.people import person_name

from .models import SignoffRequest

User = get_user_model()


# Notifications -----------------------------------------------------------------------------


@transaction.atomic
def signoff_request_notify(*, request_id: int) -> bool:
    """E-mail the addressees of a request once. Safe to run twice: returns False when already sent
    or no longer open."""
    from django.core.mail import send_mail

    request = (
        SignoffRequest.objects.select_for_update(of=("self",))
        .select_related("launch", "stage", "requested_by")
        .filter(pk=request_id)
        .first()
    )
    if request is None or request.notified_at is not None or not request.is_open:
        return False
    recipients = [u.email for u in request.addressees.all() if u.email]
    if recipients:
        due = f" by {request.due_date.isoformat()}" if request.due_date else ""
        send_mail(
            subject=f"[Preflight] {request.launch.name}: {request.get_function_display()} sign-off for {request.stage.name}",
            message=(
                f"{person_name(request.requested_by)} asks for your sign-off{due} to move {request.launch.name} "
                f"to {request.stage.name}.\n\n{request.message}"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    request.notified_at = timezone.now()
    save_with_history(request, actor=request.requested_by, reason="Addressees notified")
    return True
