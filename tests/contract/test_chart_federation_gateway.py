"""The federation gateway's chart: the peers' Ingress and the Quoalise settings.

Its Ingress has its own values key (``federationIngress``) and routes only the
JWKS and ``/federation``: ``/operator`` and the ops routes never leave the cluster.
The XMPP password comes from a Secret, never from values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Render = Callable[..., list[dict[str, Any]]]


def _kinds(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def _env(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (deployment,) = _kinds(docs, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in container["env"]}


def test_defaults_render_no_ingress_and_no_quoalise(render: Render) -> None:
    docs = render("federation-gateway")
    assert _kinds(docs, "Ingress") == []
    assert not [n for n in _env(docs) if "QUOALISE" in n]


def test_the_peers_ingress_routes_only_jwks_and_federation(render: Render) -> None:
    docs = render(
        "federation-gateway",
        {
            "federationIngress": {
                "enabled": True,
                "className": "nginx",
                "hosts": [
                    {
                        "host": "federation.echirolles.example",
                        "paths": [
                            {"path": "/.well-known/jwks.json", "pathType": "Exact"},
                            {"path": "/federation", "pathType": "Prefix"},
                        ],
                    }
                ],
                "tls": [
                    {
                        "secretName": "fed-tls",
                        "hosts": ["federation.echirolles.example"],
                    }
                ],
            },
            # the api's ingress block (shared production values) is not the gateway's
            "ingress": {
                "enabled": True,
                "hosts": [{"host": "api.example", "paths": []}],
            },
        },
    )
    (ingress,) = _kinds(docs, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "federation.echirolles.example"
    paths = {(p["path"], p["pathType"]) for p in rule["http"]["paths"]}
    assert paths == {("/.well-known/jwks.json", "Exact"), ("/federation", "Prefix")}
    for p in rule["http"]["paths"]:
        assert p["backend"]["service"] == {
            "name": "sen1-federation-gateway",
            "port": {"name": "http"},
        }
    assert ingress["spec"]["tls"][0]["secretName"] == "fed-tls"


def test_the_default_peers_paths_are_jwks_and_federation_only(render: Render) -> None:
    (ingress,) = _kinds(
        render("federation-gateway", {"federationIngress": {"enabled": True}}),
        "Ingress",
    )
    (rule,) = ingress["spec"]["rules"]
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [
        ("/.well-known/jwks.json", "Exact"),
        ("/federation", "Prefix"),
    ]


def test_quoalise_settings_with_the_password_from_a_secret(render: Render) -> None:
    """As the values file says: env for the JID and server, secretEnv for the
    password (a Secret reference, never the password in values)."""
    env = _env(
        render(
            "federation-gateway",
            {
                "env": {
                    "FEDERATION_GATEWAY_QUOALISE_JID": "sen1@echirolles.example/proxy",
                    "FEDERATION_GATEWAY_QUOALISE_HOST": "xmpp.echirolles.example",
                    "FEDERATION_GATEWAY_QUOALISE_PORT": "5222",
                },
                "secretEnv": {
                    "FEDERATION_GATEWAY_QUOALISE_PASSWORD": {
                        "name": "sen1-xmpp",
                        "key": "password",
                    }
                },
            },
        )
    )
    assert env["FEDERATION_GATEWAY_QUOALISE_JID"]["value"] == (
        "sen1@echirolles.example/proxy"
    )
    assert env["FEDERATION_GATEWAY_QUOALISE_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "sen1-xmpp", "key": "password"}
    }
    assert "value" not in env["FEDERATION_GATEWAY_QUOALISE_PASSWORD"]
    assert env["FEDERATION_GATEWAY_QUOALISE_HOST"]["value"] == "xmpp.echirolles.example"
    # the chart's own domain settings are kept beside them
    assert env["FEDERATION_GATEWAY_DOMAIN"]["value"] == "collective.sen1.example"
