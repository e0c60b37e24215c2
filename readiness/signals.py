"""A launch's owner holds its grants however the launch was created or handed over (services or
the admin): every save re-derives them, so a new owner gets them and the old one loses them."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from .access import schedule_access_sync
from .models import Launch


@receiver(post_save, sender=Launch, dispatch_uid="launch_saved_syncs_access")
def launch_saved(sender, instance: Launch, **kwargs) -> None:
    schedule_access_sync(instance.pk)
