"""The ledger's two tables. They were created by ``approvals`` and moved here without a change to the
database (``approvals`` 0022, ``ledger`` 0001): they keep their names, so the PostgreSQL triggers of
``approvals`` 0002 and 0006 that refuse to edit, delete or truncate them still guard them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from readiness.models import Launch

from .events import LedgerEvent


class LedgerHead(models.Model):
    """The single row appends lock to serialise the chain; holds the newest entry's hash."""

    sequence = models.PositiveBigIntegerField(verbose_name=_("sequence"), default=0)
    entry_hash = models.CharField(verbose_name=_("entry hash"), max_length=64, default="0" * 64)

    class Meta:
        db_table = "approvals_ledgerhead"  # created by approvals 0001, whose triggers guard it
        verbose_name = _("ledger head")
        verbose_name_plural = _("ledger heads")

    def __str__(self) -> str:
        return f"Ledger head #{self.sequence} {self.entry_hash[:12]}"


class LedgerEntry(models.Model):
    """One append-only, chained record of a governance event.

    ``entry_hash`` is an HMAC-SHA256 (key ``LEDGER_KEY``) over the previous entry's hash and the
    canonical JSON of this entry (see ``ledger.chain``). Rows are never updated or deleted:
    the model refuses, and on PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE too."""

    sequence = models.PositiveBigIntegerField(verbose_name=_("sequence"), unique=True)
    event = models.CharField(verbose_name=_("event"), max_length=20, choices=LedgerEvent.choices)
    # PROTECT: a launch with anything in the ledger cannot be deleted, so its slug is never reused.
    launch = models.ForeignKey(
        Launch, on_delete=models.PROTECT, verbose_name=_("launch"), null=True, related_name="ledger_entries"
    )
    launch_slug = models.CharField(verbose_name=_("launch slug"), max_length=80, db_index=True)
    actor = models.CharField(
        verbose_name=_("actor"),
        max_length=150,
        help_text=_("Username of who acted, copied so deletes cannot erase it."),
    )
    payload = models.JSONField(verbose_name=_("payload"))
    snapshot_hash = models.CharField(verbose_name=_("snapshot hash"), max_length=64, blank=True)
    previous_hash = models.CharField(verbose_name=_("previous hash"), max_length=64)
    entry_hash = models.CharField(
        verbose_name=_("entry hash"), max_length=64, unique=True, help_text=_("HMAC-SHA256 with LEDGER_KEY.")
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))
    # ``created_at`` is when the entry was appended: it only moves forward with the sequence. An
    # event told after it happened (the demo's story of a launch in service for three months)
    # says when it happened here; it is MACed with the rest when set.
    occurred_at = models.DateTimeField(
        verbose_name=_("occurred at"),
        null=True,
        blank=True,
        help_text=_("When the event happened, if earlier than it was recorded."),
    )
    launch_state = models.JSONField(
        verbose_name=_("launch state"),
        default=dict,
        help_text=_("The launch's risk tier and current stage after the event."),
    )
    seals = models.JSONField(
        verbose_name=_("seals"), default=list, help_text=_("Digests of the history rows the event wrote.")
    )

    class Meta:
        db_table = "approvals_ledgerentry"  # created by approvals 0001, whose triggers guard it
        verbose_name = _("ledger entry")
        ordering = ["sequence"]
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"#{self.sequence} {self.get_event_display()} {self.launch_slug} ({self.entry_hash[:12]})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValidationError("Ledger entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are append-only.")

    @property
    def happened_at(self):
        """When the event happened: as recorded, unless it was recorded later."""
        return self.occurred_at or self.created_at


class AnchorStatus(models.Model):
    """How far the head has been copied outside the database (``ledger.anchors``): one row.

    ``sequence`` is the newest head some server wrote to every sink it has; the head's sequence
    minus it is the anchor lag (``ledger.anchors.anchor_status``), which the periodic
    ``anchor_ledger_head`` task brings back to 0. ``failing_since`` is set by a failed write and
    cleared by the next full success. Not part of the record: the ledger's triggers do not guard it."""

    sequence = models.PositiveBigIntegerField(verbose_name=_("anchored sequence"), default=0)
    entry_hash = models.CharField(verbose_name=_("anchored entry hash"), max_length=64, blank=True)
    anchored_at = models.DateTimeField(verbose_name=_("anchored at"), null=True, blank=True)
    failing_since = models.DateTimeField(verbose_name=_("failing since"), null=True, blank=True)
    last_error = models.TextField(verbose_name=_("last error"), blank=True)

    class Meta:
        verbose_name = _("ledger anchor status")
        verbose_name_plural = _("ledger anchor statuses")

    def __str__(self) -> str:
        return f"Ledger anchored to #{self.sequence}"
