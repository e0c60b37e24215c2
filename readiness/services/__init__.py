"""State changes on launches and their facts. Every function takes the acting user, checks the
change permission, runs in one transaction and writes history naming the actor."""

from .facts import (
    EditConflict,
    FactKind,
    fact_add,
    fact_change,
    fact_confirm,
    fact_kinds,
    fact_remove,
    fact_version,
    fact_versions,
    facts_confirm,
    register_fact_kind,
    register_removal_guard,
)
from .launches import launch_archive, launch_change, launch_create, launch_create_from_template

__all__ = [
    "EditConflict",
    "FactKind",
    "fact_add",
    "fact_change",
    "fact_confirm",
    "fact_kinds",
    "fact_remove",
    "fact_version",
    "fact_versions",
    "facts_confirm",
    "launch_archive",
    "launch_change",
    "launch_create",
    "launch_create_from_template",
    "register_fact_kind",
    "register_removal_guard",
]
