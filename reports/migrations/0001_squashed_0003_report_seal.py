"""The reports migrations 0001_initial to 0003_report_seal in one, regenerated from the
models rather than replayed (scripts/squash_migrations.py).
A fresh database runs this; one that ran the old chain has it marked applied; one part-way through
finishes the old chain, which is kept until every database has passed it."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('reports', '0001_initial'),
        ('reports', '0002_report_layout'),
        ('reports', '0003_report_seal'),
    ]

    dependencies = [
        ('auth', '__first__'),
        ('readiness', '0001_squashed_0009_eval_run_acceptance'),
    ]

    operations = [
        migrations.CreateModel(
            name='Report',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('kind', models.CharField(choices=[('launch', 'Launch readiness report'), ('checklist', 'Stage checklist'), ('portfolio', 'Portfolio report')], max_length=10, verbose_name='kind')),
                ('language', models.CharField(max_length=8, verbose_name='language')),
                ('requested_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='requested at')),
                ('facts_fingerprint', models.CharField(max_length=64, verbose_name='facts fingerprint')),
                ('layout', models.PositiveSmallIntegerField(default=1, help_text="The version of the report's layout it was rendered with; a new layout renders afresh.", verbose_name='layout')),
                ('ledger_head', models.CharField(blank=True, max_length=64, verbose_name='ledger head')),
                ('status', models.CharField(choices=[('pending', 'Being rendered'), ('ready', 'Ready'), ('failed', 'Failed')], default='pending', max_length=10, verbose_name='status')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='started at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('error', models.TextField(blank=True, verbose_name='error')),
                ('pdf', models.BinaryField(blank=True, null=True, verbose_name='PDF')),
                ('sha256', models.CharField(blank=True, db_index=True, max_length=64, verbose_name='SHA-256')),
                ('seal', models.CharField(blank=True, help_text='HMAC-SHA256 with LEDGER_KEY over what the report is: a row rewritten in the database no longer verifies.', max_length=64, verbose_name='seal')),
                ('launch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='reports', to='readiness.launch', verbose_name='launch')),
                ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='requested by')),
                ('stage', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='readiness.rolloutstage', verbose_name='stage')),
            ],
            options={
                'verbose_name': 'report',
                'verbose_name_plural': 'reports',
                'ordering': ['-requested_at'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('kind', 'portfolio'), ('launch__isnull', True), ('stage__isnull', True)), models.Q(('kind', 'launch'), ('launch__isnull', False), ('stage__isnull', True)), models.Q(('kind', 'checklist'), ('launch__isnull', False), ('stage__isnull', False)), _connector='OR'), name='report_names_what_its_kind_needs'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'ready'), _negated=True), models.Q(('pdf__isnull', False), models.Q(('sha256', ''), _negated=True)), _connector='OR'), name='ready_report_has_its_pdf_and_hash')],
            },
        ),
    ]
