"""Helm hooks of the pinned charts: Pulumi's Helm v4 Chart never applies them, so each one
our values render is reviewed here, with what it did and what takes its place
(docs/kubernetes.md, "Helm hooks"). A chart bump or a value that renders a new hook fails
until someone has said why leaving it out is safe."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.helm import is_hook
from infra.render import Render
from tests.infra.k8s_support import REPO_ROOT

Platform = Callable[[str], Render]
ALL_STACKS = sorted(p.name.split(".")[1] for p in REPO_ROOT.glob("Pulumi.*.yaml"))

STARTUP_API_CHECK = (
    "cert-manager's post-install check that its webhook answers before anything uses it;"
    " instead Pulumi waits for cainjector's CA in the webhook configurations"
    " (k8s.WAIT_FOR_CA_BUNDLE, tests/infra/test_ordering.py)"
)
CERTGEN = (
    "Envoy Gateway's pre-install Job making the control-plane TLS Secrets and the OIDC HMAC"
    " Secret; edge.py makes them with cert-manager and a generated key, and the controller"
    " waits for them (tests/infra/test_edge.py, test_ordering.py)"
)
# (chart, kind, name) -> why leaving the hook out is safe. Hooks of templates our values
# switch off (kube-prometheus-stack's admission Jobs: certManager; its CRD upgrade Job:
# Pulumi applies the CRDs itself; Envoy Gateway's topology injector) never render.
REVIEWED = {
    ("cert-manager", "ServiceAccount", "edge-cert-manager-startupapicheck"): STARTUP_API_CHECK,
    ("cert-manager", "Role", "edge-cert-manager-startupapicheck:create-cert"): STARTUP_API_CHECK,
    (
        "cert-manager",
        "RoleBinding",
        "edge-cert-manager-startupapicheck:create-cert",
    ): STARTUP_API_CHECK,
    ("cert-manager", "Job", "edge-cert-manager-startupapicheck"): STARTUP_API_CHECK,
    ("envoy-gateway", "ServiceAccount", "edge-envoy-gateway-gateway-helm-certgen"): CERTGEN,
    ("envoy-gateway", "Role", "edge-envoy-gateway-gateway-helm-certgen"): CERTGEN,
    ("envoy-gateway", "RoleBinding", "edge-envoy-gateway-gateway-helm-certgen"): CERTGEN,
    ("envoy-gateway", "Job", "edge-envoy-gateway-gateway-helm-certgen"): CERTGEN,
}


def hook_keys(stack_render: Render) -> set[tuple[str, str, str]]:
    return {
        (install.artefact.key, hook["kind"], hook["metadata"]["name"])
        for install in stack_render.installs
        for hook in install.hooks
    }


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_hook_left_out_is_reviewed(platform: Platform, stack: str) -> None:
    unreviewed = sorted(hook_keys(platform(stack)) - set(REVIEWED))
    assert not unreviewed, (
        "Helm hooks that Pulumi's Helm v4 Chart will never run; say in REVIEWED what each"
        " did and what replaces it:\n" + "\n".join(" ".join(key) for key in unreviewed)
    )


def test_every_reviewed_hook_is_still_rendered(platform: Platform) -> None:
    """The list says only what is true of today's charts and values."""
    rendered = set().union(*(hook_keys(platform(stack)) for stack in ALL_STACKS))
    assert set(REVIEWED) - rendered == set()


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_hooks_are_left_out_of_what_is_applied(platform: Platform, stack: str) -> None:
    """(The Orgo chart is a helm.v3.Chart, which applies its migrate hook as a plain Job.)"""
    stack_render = platform(stack)
    assert not [o for install in stack_render.installs for o in install.objects if is_hook(o)]
    assert hook_keys(stack_render), "no hook found: the render no longer keeps them aside"
