"""Every write to the registry: validated, permission-checked, transactional, recorded in the
change history. Views, the API, the importer and the admin all call these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar, cast

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, router, transaction
from django.db.models import Q
from django.db.models.deletion import Collector
from django.utils import timezone
from django.utils.translation import gettext as _

from anfang.core.choices import REGISTRY_EDIT_ROLES, ChangeAction
from anfang.core.grants import can_edit_registry
from anfang.core.history import record_change, snapshot
from anfang.core.models import ChangeRecord

from .models import Compound
from .querysets import orgs_in_scope

M = TypeVar("M", bound=models.Model)


def compound_of(obj: models.Model) -> Compound | None:
    if isinstance(obj, Compound):
        return obj if obj.pk else None
    return getattr(obj, "compound", None)


def require_edit(actor: Any, compound: Compound | None) -> None:
    """Refuse unless the actor may edit the registry of this compound (None: a new compound)."""
    if actor is None:  # system jobs (seed, migrations) act without a user
        return
    qs = Compound.objects.editable_by(actor)
    if compound is None:
        if not can_edit_registry(actor):
            raise PermissionDenied(_("您没有登记小区的权限。"))
        return
    # Remembered on the actor (like its grants, per request) so a bulk import asks once per compound.
    allowed: set[int] = actor.__dict__.setdefault("_anfang_editable_ids", set())
    if compound.pk in allowed:
        return
    if not qs.filter(pk=compound.pk).exists():
        raise PermissionDenied(_("您没有修改该小区的权限。"))
    allowed.add(compound.pk)


def require_in_own_scope(actor: Any, compound: Compound) -> None:
    """The organisations a compound names must lie inside the actor's editing scope, so a
    manager can neither create a compound for another company nor move one out to it."""
    if actor is None:
        return
    org_ids = orgs_in_scope(actor, REGISTRY_EDIT_ROLES)
    if org_ids is None:
        return
    named = {compound.police_station_id, compound.community_id, compound.property_company_id} - {None}
    if not named & org_ids:
        raise PermissionDenied(_("只能在您负责的组织范围内登记小区。"))


@transaction.atomic
def save(actor: Any, obj: M, *, note: str = "", action: str | None = None) -> M:
    """Validate and save a compound, a compound part or a device, recording the change."""
    compound = compound_of(obj)
    creating = obj.pk is None
    if isinstance(obj, Compound):
        require_edit(actor, None if creating else obj)
        require_in_own_scope(actor, obj)
    else:
        require_edit(actor, compound)
    before = None if creating else snapshot(type(obj)._default_manager.get(pk=obj.pk))
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a race past full_clean's unique checks
        raise ValidationError(_("与已有记录重复：%(detail)s") % {"detail": exc}) from exc
    after = snapshot(obj)
    if before != after or creating:
        record_change(
            actor,
            obj,
            action or (ChangeAction.CREATE if creating else ChangeAction.UPDATE),
            before=before,
            after=after,
            compound_id=obj.pk if isinstance(obj, Compound) else getattr(compound, "pk", None),
            note=note,
        )
    return obj


@transaction.atomic
def delete(actor: Any, obj: models.Model) -> None:
    """Delete a compound part or a device. What the delete cascades to (a building's units and
    elevators) and what it unlinks (a camera's place) is recorded too, not only the object."""
    if isinstance(obj, Compound):
        delete_compound(actor, obj)
        return
    compound = compound_of(obj)
    require_edit(actor, compound)
    compound_id = compound.pk if compound else None
    collector = Collector(using=router.db_for_write(type(obj)))
    try:
        collector.collect([obj])
    except models.ProtectedError as exc:
        raise ValidationError(_("仍有记录引用该对象，无法删除。")) from exc
    doomed = [inst for instances in collector.data.values() for inst in instances]
    doomed += [inst for qs in collector.fast_deletes for inst in qs]
    for inst in doomed:
        record_change(actor, inst, ChangeAction.DELETE, before=snapshot(inst), compound_id=compound_id)
    for (field, value), batches in collector.field_updates.items():
        for batch in batches:
            for inst in cast(Iterable[models.Model], batch):
                before = snapshot(inst)
                record_change(
                    actor,
                    inst,
                    ChangeAction.UPDATE,
                    before=before,
                    after={**before, field.name: value},
                    compound_id=compound_id,
                    note=_("关联对象已删除：%(obj)s") % {"obj": obj},
                )
    obj.delete()


@transaction.atomic
def delete_compound(actor: Any, compound: Compound) -> None:
    """Deleting is only for a mistaken entry: a compound with devices or any history beyond its
    creation is refused — archive it instead, so its record survives."""
    require_edit(actor, compound)
    if compound.devices.exists():
        raise ValidationError(_("该小区已登记设备，不能删除，请改为归档。"))
    own_creation = Q(
        content_type=ContentType.objects.get_for_model(Compound), object_id=str(compound.pk), action=ChangeAction.CREATE
    )
    if ChangeRecord.objects.filter(compound=compound).exclude(own_creation).exists():
        raise ValidationError(_("该小区已有变更记录，不能删除，请改为归档。"))
    record_change(actor, compound, ChangeAction.DELETE, before=snapshot(compound))
    compound.delete()


@transaction.atomic
def archive_compound(actor: Any, compound: Compound, *, archived: bool = True) -> Compound:
    require_edit(actor, compound)
    before = snapshot(compound)
    compound.archived_at = timezone.now() if archived else None
    compound.save(update_fields=["archived_at", "updated_at"])
    record_change(
        actor,
        compound,
        ChangeAction.ARCHIVE if archived else ChangeAction.UPDATE,
        before=before,
        after=snapshot(compound),
        compound_id=compound.pk,
    )
    return compound
