"""What the shape checks in C build, counted by type, not timed (issue 18).

msgspec.convert builds the object it checks against: a TypedDict per mapping meant a new dict per mapping of every
Deployment, Service and Istio object of a snapshot. The checks' types hold each mapping a schema names as a Struct
without GC tracking, and so does each object no rule looks into (an env var's valueFrom, a Service's ports: empty
Structs, their contents not copied); only the maps of strings (labels, selectors...) and of Structs stay dicts. That
they accept exactly what the walk accepts: tests/test_shapes_fast.py and tests/test_pod_structs.py.
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from auditor.sources import shapes


def built(info: mi.Type, seen: set[type] | None = None) -> list[str]:
    """What converting into `info` builds for each mapping: "struct" (gc=False), "struct with gc", "typeddict",
    "map" (dict[str, str]) or "dict" (any other dict: a copy of its contents); the fields of a Struct or TypedDict
    included, each Struct or TypedDict class listed once."""
    seen = set() if seen is None else seen
    if isinstance(info, mi.UnionType):
        return [what for member in info.types for what in built(member, seen)]
    if isinstance(info, mi.ListType):
        return built(info.item_type, seen)
    if isinstance(info, mi.DictType):
        if isinstance(info.key_type, mi.StrType) and isinstance(info.value_type, mi.StructType):
            return ["map", *built(info.value_type, seen)]  # a map of Structs (IstioGateway's overrides, hostile16)
        return ["map" if isinstance(info.key_type, mi.StrType) and isinstance(info.value_type, mi.StrType)
                else "dict"]
    if isinstance(info, mi.StructType | mi.TypedDictType):
        if info.cls in seen:
            return []
        seen.add(info.cls)
        if isinstance(info, mi.TypedDictType):
            what = "typeddict"
        else:
            what = "struct" if info.cls.__struct_config__.gc is False else "struct with gc"
        return [what, *(w for field in info.fields for w in built(field.type, seen))]
    return []


CHECKED_KINDS = [*shapes._BODIES, "Namespace", "VirtualService"]


@pytest.mark.parametrize("kind", CHECKED_KINDS)
def test_a_list_is_checked_into_structs_not_dicts(kind: str):
    found = built(mi.type_info(shapes._list_type(kind, "v1")))
    assert found[0] == "struct"  # the item itself
    assert set(found) <= {"struct", "map"}, found  # main: "typeddict" for every mapping, "dict" for the others


@pytest.mark.parametrize("kind", CHECKED_KINDS)
def test_one_object_is_checked_into_structs_not_dicts(kind: str):
    fast_type: Any = shapes._FAST_TYPES.get(kind, shapes._MetadataOnly)
    found = built(mi.type_info(fast_type))
    assert found[0] == "struct"
    assert set(found) <= {"struct", "map"}, found


def test_a_deployment_holds_its_template_in_structs():
    """The bulk of a Deployment, in 31 Struct classes: the item, its metadata and owner references, spec, template, the
    template's metadata and spec, then containers and init containers with their env, ports and lifecycle each, and
    one empty Struct for managedFields' items, env valueFrom and lifecycle preStop; its status and status conditions
    (hostile16); the template's volumes with their configMap and projected sources, and the containers' envFrom
    configMapRef and env valueFrom configMapKeyRef, for containers and init containers each (hostile17: what tells
    which ConfigMaps ASM's proxies read). Maps: the labels and annotations of the metadata and the template's."""
    found = built(mi.type_info(shapes._list_type("Deployment", "apps/v1")))
    assert found.count("struct") == 31
    assert found.count("map") == 4


def test_a_schema_key_need_not_be_a_python_name():
    """Struct attributes are renamed to the keys: a rule may name any key (as TypedDicts allowed)."""
    checked = shapes._struct("_Odd", {"x-key": (str, True), "continue": (int, False)})
    assert msgspec.convert({"x-key": "v", "continue": None}, checked) is not None
    for refused in ({"continue": 1}, {"x-key": "v", "continue": "1"}, {"x-key": None}):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(refused, checked)
