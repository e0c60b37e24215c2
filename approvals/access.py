"""Who counts as whom in the sign-off workflow."""

from raci.choices import TeamFunction
from raci.models import Team

DECIDE_REQUEST = "approvals.decide_signoffrequest"


def is_executive(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and Team.objects.filter(function=TeamFunction.EXECUTIVE, members__user=user).exists()
    )
