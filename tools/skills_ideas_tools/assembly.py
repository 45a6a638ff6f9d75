"""Read a synthesized stack together with its nested stacks, as one template.

A stage's functions live in a nested stack (CloudFormation's 500-resource limit, see
infra/stack.py). ``cdk synth`` writes each nested stack's template beside its parent's
(``<id>.nested.template.json``, named in the parent's ``AWS::CloudFormation::Stack`` resource's
``aws:asset:path`` metadata); the two refer to each other through the nested stack's parameters
and outputs. ``merged`` undoes that split: one template whose resources are the parent's and
every nested stack's, with each parameter reference replaced by the value the parent passes
and each ``Outputs.<name>`` attribute by the output's value. It reads like the single stack a
stage was before, so the operator commands and the tests look functions up in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NESTED_STACK = "AWS::CloudFormation::Stack"
ASSET_PATH = "aws:asset:path"


@dataclass(frozen=True)
class StackTemplates:
    """One stack's template and its nested stacks' (by the parent's logical id), recursively."""

    template: dict[str, Any]
    nested: dict[str, StackTemplates]

    def all(self) -> list[dict[str, Any]]:
        """Every template of the tree: this one first, then each nested stack's."""
        return [self.template, *(t for child in self.nested.values() for t in child.all())]

    def merged(self) -> dict[str, Any]:
        return merged(self)


def nested_template_files(template: dict[str, Any]) -> dict[str, str]:
    """Logical id of each nested stack of ``template`` -> its template's file name in the assembly
    (the CLI writes asset metadata unless told not to: ``cdk synth --no-asset-metadata``)."""
    files = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != NESTED_STACK:
            continue
        file_name = (resource.get("Metadata") or {}).get(ASSET_PATH)
        if not file_name:
            raise ValueError(f"nested stack {logical_id} does not name its template ({ASSET_PATH} metadata)")
        files[logical_id] = file_name
    return files


def load(template_path: Path) -> StackTemplates:
    """``template_path`` and the nested stacks it names, read from the same assembly directory."""
    template = json.loads(template_path.read_text(encoding="utf-8"))
    nested = {
        logical_id: load(template_path.with_name(file_name))
        for logical_id, file_name in nested_template_files(template).items()
    }
    return StackTemplates(template, nested)


def _substitute(value: Any, parameters: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> Any:
    """``value`` with ``{"Ref": <parameter>}`` replaced by ``parameters[...]`` and
    ``{"Fn::GetAtt": [<nested stack>, "Outputs.<name>"]}`` by that output's value."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        if set(value) == {"Fn::GetAtt"}:
            target, attribute = value["Fn::GetAtt"]
            if target in outputs and isinstance(attribute, str) and attribute.startswith("Outputs."):
                return outputs[target][attribute.removeprefix("Outputs.")]
        return {key: _substitute(item, parameters, outputs) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, parameters, outputs) for item in value]
    return value


def merged(stack: StackTemplates) -> dict[str, Any]:
    """The stack and its nested stacks as one template (the parent's parameters, rules and
    outputs; every stack's resources). Raises ValueError if two stacks use one logical id."""
    template = stack.template
    resources = template.get("Resources") or {}
    children: dict[str, dict[str, Any]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    for logical_id, child in stack.nested.items():
        passed = (resources[logical_id].get("Properties") or {}).get("Parameters") or {}
        flat = merged(child)
        # The child's own view of the parent's values, in the parent's terms.
        children[logical_id] = _substitute(flat, passed, {})
        outputs[logical_id] = {name: out["Value"] for name, out in (children[logical_id].get("Outputs") or {}).items()}
    result = _substitute(template, {}, outputs)
    combined = {
        lid: _without_dependencies_on(resource, set(stack.nested))
        for lid, resource in (result.get("Resources") or {}).items()
        if lid not in stack.nested
    }
    for logical_id, child_template in children.items():
        for child_lid, resource in (child_template.get("Resources") or {}).items():
            if child_lid in combined:
                raise ValueError(f"logical id {child_lid} is used by the parent and nested stack {logical_id}")
            combined[child_lid] = resource
    result["Resources"] = combined
    return result


def _without_dependencies_on(resource: dict[str, Any], gone: set[str]) -> dict[str, Any]:
    """``resource`` without ``DependsOn`` entries naming the nested stacks (merged away)."""
    depends = resource.get("DependsOn")
    if depends is None:
        return resource
    kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in gone]
    trimmed = {key: value for key, value in resource.items() if key != "DependsOn"}
    return {**trimmed, "DependsOn": kept} if kept else trimmed
