"""How people are named wherever Preflight shows them: pages, reasons, mails and reports."""


def person_name(user) -> str:
    """The user's full name, or their username when they have none."""
    return user.get_full_name() or user.get_username()
