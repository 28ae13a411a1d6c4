"""Ordering, from the Pulumi resource graph under mocks: every custom resource waits for
the chart or manifest that installs its CRD and, through it, for that operator's webhook
to be ready; every namespaced object waits for its namespace.

Pulumi awaits the children of a Chart/ConfigFile (Deployments rolled out, Services with
endpoints) unless told to skip it, so waiting for the install means waiting for the
webhook's Service and the pods behind it; within one install Pulumi applies CRDs and
Namespaces first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.components.k8s import WAIT_FOR_CA_BUNDLE, WEBHOOK_CONFIGURATION_KINDS
from infra.installs import Install
from infra.mocks import RegisteredResource
from infra.render import Placed, Render
from infra.workloads import pod_specs

Platform = Callable[[str], Render]
STACKS = ("dev", "staging", "prod")
SKIP_AWAIT = "pulumi.com/skipAwait"
CLUSTER_NAMESPACES = {"kube-system", "default"}


def closure(stack_render: Render) -> Callable[[RegisteredResource], set[str]]:
    """URN -> every URN it waits for, directly or through what it waits for."""
    by_urn = {r.urn: r for r in stack_render.run.resources}
    memo: dict[str, set[str]] = {}

    def waits_for(resource: RegisteredResource) -> set[str]:
        if resource.urn not in memo:
            memo[resource.urn] = set()
            found: set[str] = set()
            for urn in resource.dependencies:
                found.add(urn)
                if urn in by_urn:
                    found |= waits_for(by_urn[urn])
            memo[resource.urn] = found
        return memo[resource.urn]

    return waits_for


def crd_installs(stack_render: Render) -> dict[tuple[str, str], Install]:
    """(group, kind) -> the install that applies its CRD."""
    return {
        (o["spec"]["group"], o["spec"]["names"]["kind"]): install
        for install in stack_render.installs
        for o in install.objects
        if o["kind"] == "CustomResourceDefinition"
    }


def group_of(obj: dict[str, Any]) -> str:
    return str(obj["apiVersion"]).rpartition("/")[0]


@pytest.mark.parametrize("stack", STACKS)
def test_custom_resources_wait_for_their_crd(platform: Platform, stack: str) -> None:
    stack_render = platform(stack)
    installs, waits_for = crd_installs(stack_render), closure(stack_render)
    problems, checked = [], 0
    for placed in stack_render.placed:
        install = installs.get((group_of(placed.obj), placed.obj["kind"]))
        if install is None or install.resource.urn == placed.owner.urn:
            continue  # a built-in kind, or applied by the install itself (CRDs go first)
        checked += 1
        if install.resource.urn not in waits_for(placed.owner):
            problems.append(f"{label(placed)} does not wait for {install.resource.name}")
    assert checked > 10
    assert not problems, "\n".join(problems)


def label(placed: Placed) -> str:
    metadata = placed.obj["metadata"]
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{placed.obj['kind']} {where}{metadata['name']} ({placed.owner.name})"


def webhook_backends(install: Install, group: str) -> list[str]:
    """Problems with the webhooks of `install` that intercept `group`: each must call a
    Service of the same install, selecting the pods of one of its workloads, none of them
    excluded from Pulumi's await."""
    objects = install.objects
    problems = []
    if install.resource.inputs.get("skipAwait"):
        problems.append(f"{install.resource.name}: skipAwait set on the install")
    for config in objects:
        if config["kind"] not in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            continue
        for hook in config.get("webhooks") or []:
            groups = {g for rule in hook.get("rules") or [] for g in rule.get("apiGroups", [])}
            if not groups & {group, "*"}:
                continue
            service = (hook.get("clientConfig") or {}).get("service") or {}
            problems += backend_problems(objects, service, f"{config['metadata']['name']}")
    return problems


def backend_problems(
    objects: list[dict[str, Any]], service: dict[str, Any], hook: str
) -> list[str]:
    match = [
        o
        for o in objects
        if o["kind"] == "Service"
        and o["metadata"]["name"] == service.get("name")
        and o["metadata"].get("namespace") == service.get("namespace")
    ]
    if not match:
        return [f"{hook}: its Service {service} is not in the same install"]
    selector = match[0]["spec"].get("selector") or {}
    workloads = [
        o
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet")
        and selector.items() <= (o["spec"]["template"]["metadata"].get("labels") or {}).items()
    ]
    if not selector or not workloads:
        return [f"{hook}: no workload of the install backs Service {service.get('name')}"]
    skipped = [
        o for o in [match[0], *workloads] if SKIP_AWAIT in (o["metadata"].get("annotations") or {})
    ]
    return [f"{hook}: {o['kind']}/{o['metadata']['name']} skips Pulumi's await" for o in skipped]


@pytest.mark.parametrize("stack", STACKS)
def test_custom_resources_wait_for_their_operators_webhook(platform: Platform, stack: str) -> None:
    stack_render = platform(stack)
    installs = crd_installs(stack_render)
    groups = {
        (group_of(p.obj), installs[(group_of(p.obj), p.obj["kind"])].resource.name)
        for p in stack_render.placed
        if (group_of(p.obj), p.obj["kind"]) in installs
    }
    by_name = {i.resource.name: i for i in stack_render.installs}
    problems = [p for group, name in sorted(groups) for p in webhook_backends(by_name[name], group)]
    assert not problems, "\n".join(sorted(set(problems)))


@pytest.mark.parametrize("stack", STACKS)
def test_namespaced_objects_wait_for_their_namespace(platform: Platform, stack: str) -> None:
    stack_render = platform(stack)
    waits_for = closure(stack_render)
    creators = {
        p.obj["metadata"]["name"]: p.owner
        for p in stack_render.placed
        if p.obj["kind"] == "Namespace"
    }
    problems = []
    for placed in stack_render.placed:
        namespace = placed.obj["metadata"].get("namespace")
        if namespace is None or namespace in CLUSTER_NAMESPACES:
            continue
        creator = creators.get(namespace)
        if creator is None:
            problems.append(f"{label(placed)}: nothing creates namespace {namespace}")
        elif creator.urn != placed.owner.urn and creator.urn not in waits_for(placed.owner):
            problems.append(f"{label(placed)} does not wait for namespace {namespace}")
    assert not problems, "\n".join(sorted(set(problems)))


def secret_makers(stack_render: Render) -> dict[tuple[str, str], Placed]:
    """(namespace, Secret name) -> the rendered Secret or cert-manager Certificate making it."""
    makers = {}
    for placed in stack_render.placed:
        metadata, kind = placed.obj["metadata"], placed.obj["kind"]
        if kind == "Secret":
            makers[(metadata.get("namespace"), metadata["name"])] = placed
        elif kind == "Certificate":
            makers[(metadata.get("namespace"), placed.obj["spec"]["secretName"])] = placed
    return makers


def mount_problems(
    placed: Placed,
    makers: dict[tuple[str, str], Placed],
    waits_for: Callable[[RegisteredResource], set[str]],
) -> list[str]:
    """A workload mounting a Secret that another resource makes must wait for it, and for a
    Certificate until it is Ready (its Secret exists only then)."""
    problems = []
    for pod in pod_specs(placed.obj):
        for volume in pod.spec.get("volumes", []):
            maker = makers.get((pod.namespace, (volume.get("secret") or {}).get("secretName")))
            if maker is None or maker.owner.urn == placed.owner.urn:
                continue  # no Secret, made by the workload's own install, or by an operator
            if maker.owner.urn not in waits_for(placed.owner):
                problems.append(f"{label(placed)} does not wait for {label(maker)}")
            annotations = maker.obj["metadata"].get("annotations") or {}
            if maker.obj["kind"] == "Certificate" and not str(
                annotations.get("pulumi.com/waitFor", "")
            ).startswith("condition=Ready"):
                problems.append(f"{label(maker)} is not awaited until Ready")
    return problems


@pytest.mark.parametrize("stack", STACKS)
def test_workloads_wait_for_the_secrets_they_mount(platform: Platform, stack: str) -> None:
    """Envoy Gateway's controller mounts `envoy-gateway`, which edge.py's Certificate makes
    (in place of the chart's certgen hook): the chart is applied once it is Ready."""
    stack_render = platform(stack)
    makers, waits_for = secret_makers(stack_render), closure(stack_render)
    problems = [
        p for placed in stack_render.placed for p in mount_problems(placed, makers, waits_for)
    ]
    controller = next(
        p
        for p in stack_render.placed
        if p.obj["kind"] == "Deployment" and p.obj["metadata"]["name"] == "envoy-gateway"
    )
    assert makers[("edge", "envoy-gateway")].owner.urn in waits_for(controller.owner)
    assert not problems, "\n".join(sorted(set(problems)))


def injected_webhook_configs(stack_render: Render) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o
        for install in stack_render.installs
        for o in install.objects
        if o["kind"] in WEBHOOK_CONFIGURATION_KINDS
        and any(
            a.startswith("cert-manager.io/inject-ca-from")
            for a in o["metadata"].get("annotations") or {}
        )
    }


@pytest.mark.parametrize("stack", STACKS)
def test_webhooks_with_an_injected_ca_are_awaited(platform: Platform, stack: str) -> None:
    """The pods behind a webhook can be ready before cainjector has put their CA into the
    webhook configuration; until then the API server refuses every object the webhook
    intercepts with an x509 error, which Pulumi does not retry. Waiting for the caBundle
    makes the install complete only once its webhook can be called (for cert-manager's own
    webhook this replaces the chart's startupapicheck hook)."""
    configs = injected_webhook_configs(platform(stack))
    expected = {"edge-cert-manager-webhook", "monitoring-admission"}
    if any(o["kind"] == "RabbitmqCluster" for o in platform(stack).objects):  # in-cluster
        expected |= {
            f"{operator}-{kind}-webhook-configuration"
            for operator in ("cluster-operator", "messaging-topology")
            for kind in ("mutating", "validating")
        }
    assert expected <= set(configs)
    awaited = {
        name
        for name, config in configs.items()
        if WAIT_FOR_CA_BUNDLE.items() <= (config["metadata"].get("annotations") or {}).items()
    }
    assert set(configs) - awaited == set()


def test_a_missing_dependency_is_found(platform: Platform) -> None:
    """The check sees an edge removed from the graph: the Cluster without its operator."""
    stack_render = platform("dev")
    cluster = next(p for p in stack_render.placed if p.obj["kind"] == "Cluster")
    operator = crd_installs(stack_render)[("postgresql.cnpg.io", "Cluster")].resource
    assert operator.urn in closure(stack_render)(cluster.owner)
    cut = RegisteredResource(**{**cluster.owner.__dict__, "dependencies": frozenset()})
    assert operator.urn not in closure(stack_render)(cut)
