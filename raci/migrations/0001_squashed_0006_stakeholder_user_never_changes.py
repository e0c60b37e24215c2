"""The raci migrations 0001_initial to 0006_stakeholder_user_never_changes in one, regenerated from the
models rather than replayed (scripts/squash_migrations.py), with 0006's PostgreSQL trigger carried by hand.
A fresh database runs this; one that ran the old chain has it marked applied; one part-way through
finishes the old chain, which is kept until every database has passed it."""

import django.db.models.deletion
import django.utils.timezone
import readiness.models
import simple_history.models
from django.conf import settings
from django.db import migrations, models


# From 0006_stakeholder_user_never_changes: on PostgreSQL, refuse an UPDATE that moves a stakeholder
# row to another user account (the row is one person's identity; the model refuses the same change).
# The guard fires ALWAYS, also for a session with ``session_replication_role = replica``.
CREATE_STAKEHOLDER_TRIGGER = """
CREATE OR REPLACE FUNCTION raci_stakeholder_user_never_changes() RETURNS trigger AS $$
BEGIN
    IF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        RAISE EXCEPTION 'raci_stakeholder %: the user account never changes (% to %) refused',
            OLD.id, OLD.user_id, NEW.user_id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER raci_stakeholder_user_never_changes BEFORE UPDATE ON raci_stakeholder
    FOR EACH ROW EXECUTE FUNCTION raci_stakeholder_user_never_changes();
ALTER TABLE raci_stakeholder ENABLE ALWAYS TRIGGER raci_stakeholder_user_never_changes;
"""

DROP_STAKEHOLDER_TRIGGER = """
DROP TRIGGER IF EXISTS raci_stakeholder_user_never_changes ON raci_stakeholder;
DROP FUNCTION IF EXISTS raci_stakeholder_user_never_changes();
"""


def create_stakeholder_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_STAKEHOLDER_TRIGGER, params=None)


def drop_stakeholder_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_STAKEHOLDER_TRIGGER, params=None)


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('raci', '0001_initial'),
        ('raci', '0002_team_leads_and_request_replaces'),
        ('raci', '0003_area_omissions'),
        ('raci', '0004_language_preference_and_translatable_labels'),
        ('raci', '0005_stakeholder_executive'),
        ('raci', '0006_stakeholder_user_never_changes'),
    ]

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('auth', '__first__'),
        ('readiness', '0001_squashed_0009_eval_run_acceptance'),
    ]

    operations = [
        migrations.CreateModel(
            name='LanguagePreference',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='language_preference', serialize=False, to=settings.AUTH_USER_MODEL, verbose_name='user')),
                ('language', models.CharField(choices=[('en', 'English'), ('ko', '한국어')], max_length=10, verbose_name='language')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
            ],
            options={
                'verbose_name': 'language preference',
                'verbose_name_plural': 'language preferences',
            },
        ),
        migrations.CreateModel(
            name='HistoricalAreaOmission',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('kind', models.CharField(choices=[('model_quality', 'Model/prompt quality'), ('infrastructure', 'Infrastructure and deployment'), ('data_retrieval', 'Data and retrieval quality'), ('user_experience', 'User experience and fallbacks'), ('policy', 'Policy and guardrails')], max_length=20, verbose_name='kind')),
                ('reason', models.TextField(help_text='Why this launch needs no such area, in words a reviewer can check.', verbose_name='reason')),
                ('recorded_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='recorded at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('launch', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='readiness.launch', verbose_name='launch')),
                ('recorded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
            ],
            options={
                'verbose_name': 'historical area omission',
                'verbose_name_plural': 'historical area omissions',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalResponsibilityArea',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('kind', models.CharField(choices=[('model_quality', 'Model/prompt quality'), ('infrastructure', 'Infrastructure and deployment'), ('data_retrieval', 'Data and retrieval quality'), ('user_experience', 'User experience and fallbacks'), ('policy', 'Policy and guardrails'), ('custom', 'Custom')], default='custom', max_length=20, verbose_name='kind')),
                ('name', models.CharField(max_length=120, verbose_name='name')),
                ('concerns', models.JSONField(blank=True, default=list, help_text='Concern keys this area owns, e.g. ["accuracy", "availability"].', verbose_name='concerns')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('launch', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='readiness.launch', verbose_name='launch')),
            ],
            options={
                'verbose_name': 'historical responsibility area',
                'verbose_name_plural': 'historical responsibility areas',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='ResponsibilityArea',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('model_quality', 'Model/prompt quality'), ('infrastructure', 'Infrastructure and deployment'), ('data_retrieval', 'Data and retrieval quality'), ('user_experience', 'User experience and fallbacks'), ('policy', 'Policy and guardrails'), ('custom', 'Custom')], default='custom', max_length=20, verbose_name='kind')),
                ('name', models.CharField(max_length=120, verbose_name='name')),
                ('concerns', models.JSONField(blank=True, default=list, help_text='Concern keys this area owns, e.g. ["accuracy", "availability"].', verbose_name='concerns')),
                ('launch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='areas', to='readiness.launch', verbose_name='launch')),
            ],
            options={
                'verbose_name': 'responsibility area',
                'verbose_name_plural': 'responsibility areas',
                'ordering': ['launch', 'pk'],
                'constraints': [models.UniqueConstraint(fields=('launch', 'name'), name='area_name_unique_per_launch'), models.UniqueConstraint(condition=models.Q(('kind', 'custom'), _negated=True), fields=('launch', 'kind'), name='area_standard_kind_once_per_launch', violation_error_message='This launch already has an area of this kind; add a custom area for anything else.')],
            },
            bases=(readiness.models.FrozenWithArchivedLaunch, models.Model),
        ),
        migrations.CreateModel(
            name='Stakeholder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(blank=True, max_length=120, verbose_name='title')),
                ('executive', models.ForeignKey(blank=True, help_text="The executive an overdue sign-off on this person's launches is escalated to; empty: the leads of the executive teams. Set by team administrators, never by the person themselves.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='direct_reports', to='raci.stakeholder', verbose_name='executive')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='stakeholder', to=settings.AUTH_USER_MODEL, verbose_name='user')),
            ],
            options={
                'verbose_name': 'stakeholder',
                'verbose_name_plural': 'stakeholders',
                'ordering': ['user__last_name', 'user__first_name', 'user__username'],
            },
        ),
        migrations.CreateModel(
            name='RaciAssignment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('R', 'Responsible'), ('A', 'Accountable'), ('C', 'Consulted'), ('I', 'Informed')], max_length=1, verbose_name='role')),
                ('area', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='raci.responsibilityarea', verbose_name='area')),
                ('stakeholder', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='assignments', to='raci.stakeholder', verbose_name='stakeholder')),
            ],
            options={
                'verbose_name': 'RACI assignment',
                'ordering': ['area', 'role'],
                'constraints': [models.UniqueConstraint(fields=('area', 'stakeholder', 'role'), name='raci_one_role_per_person_and_area')],
            },
            bases=(readiness.models.FrozenWithArchivedLaunch, models.Model),
        ),
        migrations.CreateModel(
            name='LaunchStakeholder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('function', models.CharField(choices=[('legal', 'Legal'), ('security', 'Security'), ('compliance', 'Compliance'), ('customer_support', 'Customer support'), ('business', 'Business'), ('product', 'Product'), ('ml', 'ML'), ('platform', 'Platform'), ('data', 'Data'), ('qa', 'QA'), ('executive', 'Executive')], max_length=20, verbose_name='function')),
                ('launch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stakeholder_slots', to='readiness.launch', verbose_name='launch')),
                ('stakeholder', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='launch_slots', to='raci.stakeholder', verbose_name='stakeholder')),
            ],
            options={
                'verbose_name': 'launch stakeholder',
                'verbose_name_plural': 'launch stakeholders',
                'ordering': ['launch', 'function'],
                'constraints': [models.UniqueConstraint(fields=('launch', 'function', 'stakeholder'), name='launch_stakeholder_unique_person_per_function'), models.UniqueConstraint(condition=models.Q(('stakeholder__isnull', True)), fields=('launch', 'function'), name='launch_stakeholder_one_open_slot_per_function', violation_error_message='This launch already has an open slot for this function; fill it instead.')],
            },
            bases=(readiness.models.FrozenWithArchivedLaunch, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalTeam',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('name', models.CharField(db_index=True, max_length=120, verbose_name='name')),
                ('function', models.CharField(choices=[('legal', 'Legal'), ('security', 'Security'), ('compliance', 'Compliance'), ('customer_support', 'Customer support'), ('business', 'Business'), ('product', 'Product'), ('ml', 'ML'), ('platform', 'Platform'), ('data', 'Data'), ('qa', 'QA'), ('executive', 'Executive')], max_length=20, verbose_name='function')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('lead', models.ForeignKey(blank=True, db_constraint=False, help_text="The function's lead may approve lowering the sign-off bar for their function.", null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='raci.stakeholder', verbose_name='lead')),
            ],
            options={
                'verbose_name': 'historical team',
                'verbose_name_plural': 'historical teams',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalStakeholder',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('title', models.CharField(blank=True, max_length=120, verbose_name='title')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='user')),
                ('executive', models.ForeignKey(blank=True, db_constraint=False, help_text="The executive an overdue sign-off on this person's launches is escalated to; empty: the leads of the executive teams. Set by team administrators, never by the person themselves.", null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='raci.stakeholder', verbose_name='executive')),
            ],
            options={
                'verbose_name': 'historical stakeholder',
                'verbose_name_plural': 'historical stakeholders',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalRaciAssignment',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('role', models.CharField(choices=[('R', 'Responsible'), ('A', 'Accountable'), ('C', 'Consulted'), ('I', 'Informed')], max_length=1, verbose_name='role')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('area', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='raci.responsibilityarea', verbose_name='area')),
                ('stakeholder', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='raci.stakeholder', verbose_name='stakeholder')),
            ],
            options={
                'verbose_name': 'historical RACI assignment',
                'verbose_name_plural': 'historical RACI assignments',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalLaunchStakeholder',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('function', models.CharField(choices=[('legal', 'Legal'), ('security', 'Security'), ('compliance', 'Compliance'), ('customer_support', 'Customer support'), ('business', 'Business'), ('product', 'Product'), ('ml', 'ML'), ('platform', 'Platform'), ('data', 'Data'), ('qa', 'QA'), ('executive', 'Executive')], max_length=20, verbose_name='function')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('launch', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='readiness.launch', verbose_name='launch')),
                ('stakeholder', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='raci.stakeholder', verbose_name='stakeholder')),
            ],
            options={
                'verbose_name': 'historical launch stakeholder',
                'verbose_name_plural': 'historical launch stakeholders',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='Team',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=120, unique=True, verbose_name='name')),
                ('function', models.CharField(choices=[('legal', 'Legal'), ('security', 'Security'), ('compliance', 'Compliance'), ('customer_support', 'Customer support'), ('business', 'Business'), ('product', 'Product'), ('ml', 'ML'), ('platform', 'Platform'), ('data', 'Data'), ('qa', 'QA'), ('executive', 'Executive')], max_length=20, verbose_name='function')),
                ('lead', models.ForeignKey(blank=True, help_text="The function's lead may approve lowering the sign-off bar for their function.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='led_teams', to='raci.stakeholder', verbose_name='lead')),
            ],
            options={
                'verbose_name': 'team',
                'verbose_name_plural': 'teams',
                'ordering': ['name'],
                'permissions': [('manage_teams', 'Can manage team members and leads')],
            },
        ),
        migrations.AddField(
            model_name='stakeholder',
            name='teams',
            field=models.ManyToManyField(blank=True, related_name='members', to='raci.team', verbose_name='teams'),
        ),
        migrations.CreateModel(
            name='HistoricalStakeholder_teams',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('m2m_history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, to='raci.historicalstakeholder')),
                ('stakeholder', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='raci.stakeholder')),
                ('team', models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='raci.team')),
            ],
            options={
                'verbose_name': 'HistoricalStakeholder_teams',
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='AreaOmission',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('model_quality', 'Model/prompt quality'), ('infrastructure', 'Infrastructure and deployment'), ('data_retrieval', 'Data and retrieval quality'), ('user_experience', 'User experience and fallbacks'), ('policy', 'Policy and guardrails')], max_length=20, verbose_name='kind')),
                ('reason', models.TextField(help_text='Why this launch needs no such area, in words a reviewer can check.', verbose_name='reason')),
                ('recorded_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='recorded at')),
                ('launch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='area_omissions', to='readiness.launch', verbose_name='launch')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
            ],
            options={
                'verbose_name': 'area omission',
                'verbose_name_plural': 'area omissions',
                'ordering': ['launch', 'kind'],
                'constraints': [models.UniqueConstraint(fields=('launch', 'kind'), name='area_omission_once_per_launch_and_kind', violation_error_message='This launch already records why this standard area is left out.'), models.CheckConstraint(condition=models.Q(('kind__in', ['model_quality', 'infrastructure', 'data_retrieval', 'user_experience', 'policy'])), name='area_omission_of_a_standard_kind'), models.CheckConstraint(condition=models.Q(('reason', ''), _negated=True), name='area_omission_has_a_reason')],
            },
            bases=(readiness.models.FrozenWithArchivedLaunch, models.Model),
        ),
        migrations.RunPython(create_stakeholder_trigger, drop_stakeholder_trigger),
    ]
