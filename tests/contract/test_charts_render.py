"""Every chart parses, lints and renders; the library contract holds for each service.

The helm-unittest role of style rule 12: env wiring, probes, the restricted security
context, secrets referenced by name, the migration hook, ServiceMonitor and Ingress.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import workspace  # noqa: E402 - scripts/workspace.py, the workspace's derived lists

CHARTS = ROOT / "charts"
EXAMPLE = yaml.safe_load((CHARTS / "examples/production-values.yaml").read_text())
ALL_CHARTS = sorted(p.parent.name for p in CHARTS.glob("*/Chart.yaml"))
# chart -> (env prefix, ops/http port), derived from the charts' own values.yaml:
# the reserved ports of the platform are the ones the service charts declare.
SERVICES = workspace.service_charts(ROOT)
PARAM = re.compile(r"^\s*## @param (\S+)", re.MULTILINE)
SECRET_LIKE = re.compile(r"PASSWORD|SECRET|DSN|TOKEN|_KEY$")
Render = Callable[..., list[dict[str, Any]]]


def _undocumented(values: Any, documented: set[str], prefix: str = "") -> list[str]:
    """Keys with no `## @param`; a documented key covers its children."""
    missing: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        if path in documented:
            continue
        if isinstance(value, dict) and value:
            missing += _undocumented(value, documented, f"{path}.")
        else:
            missing.append(path)
    return missing


def _has_path(values: Any, path: str) -> bool:
    node = values
    parts = path.split(".")
    while parts:
        if not isinstance(node, dict):
            return False
        for n in range(
            len(parts), 0, -1
        ):  # keys may contain dots (min.insync.replicas)
            key = ".".join(parts[:n])
            if key in node:
                node, parts = node[key], parts[n:]
                break
        else:
            return False
    return True


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


def test_service_charts_are_all_present() -> None:
    """Every service folder has its chart, and every service chart its folder."""
    assert set(SERVICES) == {m.name for m in workspace.services(ROOT)}
    assert set(SERVICES) | {"energy-common", "kafka-topics"} == set(ALL_CHARTS)


def test_reserved_ports_are_distinct() -> None:
    ports = [port for _, port in SERVICES.values()]
    assert len(ports) == len(set(ports)), SERVICES
    prefixes = [prefix for prefix, _ in SERVICES.values()]
    assert prefixes == [f"{c.upper().replace('-', '_')}_" for c in SERVICES]


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_chart_yaml(chart: str) -> None:
    meta = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == chart
    assert meta["type"] == ("library" if chart == "energy-common" else "application")
    if chart in SERVICES:
        assert meta["dependencies"] == [
            {
                "name": "energy-common",
                "version": "0.1.0",
                "repository": "file://../energy-common",
                "import-values": ["defaults"],
            }
        ]


def _own_values(chart: str, text: str) -> Any:
    """A chart's values; for the library, the defaults it exports to service charts."""
    values = yaml.safe_load(text)
    return values["exports"]["defaults"] if chart == "energy-common" else values


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_every_value_is_documented(chart: str) -> None:
    text = (CHARTS / chart / "values.yaml").read_text()
    values = _own_values(chart, text)
    documented = set(PARAM.findall(text))
    assert _undocumented(values, documented) == []
    assert [p for p in documented if not _has_path(values, p)] == []


LIBRARY_DEFAULTS = _own_values(
    "energy-common", (CHARTS / "energy-common/values.yaml").read_text()
)


def _restated(defaults: Any, values: Any, prefix: str = "") -> list[str]:
    """Keys a service chart sets to the library's default value (they say nothing)."""
    same: list[str] = []
    for key, value in values.items():
        if key not in defaults:
            continue
        if isinstance(value, dict) and isinstance(defaults[key], dict):
            same += _restated(defaults[key], value, f"{prefix}{key}.")
        elif value == defaults[key]:
            same.append(f"{prefix}{key}")
    return same


@pytest.mark.parametrize("chart", sorted(SERVICES))
def test_service_values_state_only_differences(chart: str) -> None:
    """A service chart's values.yaml says only what differs from the library defaults."""
    values = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())
    assert _restated(LIBRARY_DEFAULTS, values) == []
    assert len((CHARTS / chart / "values.yaml").read_text().splitlines()) < 60


@pytest.mark.parametrize("chart", sorted(SERVICES))
def test_service_templates_only_call_the_library(chart: str) -> None:
    for template in (CHARTS / chart / "templates").iterdir():
        lines = template.read_text().strip().splitlines()
        assert len(lines) <= 5
        assert all('include "energy-common.' in line for line in lines)


@pytest.mark.parametrize("chart", [c for c in ALL_CHARTS if c != "energy-common"])
def test_helm_lint(chart: str, built_charts: Path) -> None:
    cases: tuple[dict[str, Any], ...] = ({}, EXAMPLE)
    for values in cases:
        report = helm.lint(str(built_charts / chart), values=values, strict=True)
        assert report["errors"] == []
        # severity 1 is INFO ("icon is recommended"); warnings and errors fail.
        assert [m for m in report["messages"] if m["severity"] > 1] == []


@pytest.mark.parametrize("chart", sorted(SERVICES))
def test_deployment_contract(chart: str, render: Render) -> None:
    prefix, port = SERVICES[chart]
    docs = render(chart)
    deployment = _one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["ports"] == [
        {"name": "http", "containerPort": port, "protocol": "TCP"}
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    # Restricted Pod Security Standard.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    assert {"name": "writable-0", "mountPath": "/tmp"} in container["volumeMounts"]
    env = _env(container)
    assert env[f"{prefix}HTTP_HOST"]["value"] == "0.0.0.0"
    assert env[f"{prefix}HTTP_PORT"]["value"] == str(port)
    assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == "sen1-kafka-bootstrap:9092"
    assert env["KAFKA_ENABLE_IDEMPOTENCE"]["value"] == "true"
    # one secrecy rule for every door (the api, the federation gateway)
    assert env["SECRECY_MIN_POINTS"]["value"] == "10"
    assert env["SECRECY_MAX_SHARE"]["value"] == "0.85"
    assert env["POSTGRES_DSN"]["valueFrom"]["secretKeyRef"] == {
        "name": "sen1-postgres",
        "key": "dsn",
    }
    assert (
        env["SEN1_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "sen1-secret-key"
    )
    service = _one(docs, "Service")
    assert service["spec"]["ports"][0]["port"] == port
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert not [d for d in docs if d["kind"] in {"ServiceMonitor", "Ingress", "Secret"}]


def _console_scripts() -> dict[str, str]:
    """Every console script the workspace packages install (what images can run)."""
    scripts: dict[str, str] = {}
    for pyproject in ROOT.glob("*/*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        scripts |= project.get("scripts", {})
    return scripts


@pytest.mark.parametrize("chart", sorted(SERVICES))
def test_container_command_is_an_installed_script(chart: str, render: Render) -> None:
    """A chart that starts a command no package installs crash-loops on deploy."""
    (container,) = _one(render(chart), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["command"][0] in _console_scripts(), container["command"]
    if chart == "aggregator":  # Faust's command line: the worker sub-command
        assert container["args"][:1] == ["worker"]


@pytest.mark.parametrize("chart", sorted(SERVICES))
def test_production_example_wires_sasl_and_monitoring(
    chart: str, render: Render
) -> None:
    docs = render(chart, EXAMPLE)
    (container,) = _one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    env = _env(container)
    assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    assert env["KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
    assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "sen1-kafka-user",
        "key": "password",
    }
    assert container["image"] == f"registry.example.org/sen1/{chart}:0.1.0"
    monitor = _one(docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    if chart != "api":
        assert ingresses == []
        return
    (rule,) = ingresses[0]["spec"]["rules"]
    assert rule["host"] == "api.sen1.example.org"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "sen1-api", "port": {"name": "http"}}


@pytest.mark.parametrize("chart", sorted(SERVICES))
def test_no_secret_value_is_inlined(chart: str, render: Render) -> None:
    docs = render(chart, EXAMPLE)
    for doc in docs:
        if doc["kind"] not in {"Deployment", "Job"}:
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for entry in container["env"]:
                if SECRET_LIKE.search(entry["name"]):
                    assert "value" not in entry, entry["name"]


def test_service_specific_env_and_secrets_are_wired(render: Render) -> None:
    values = {
        "env": {
            "INGEST_ENEDIS_BASE_URL": "https://gw.example.org",
            "INGEST_ENEDIS_X": 3,
        },
        "secretEnv": {
            "INGEST_ENEDIS_CLIENT_SECRET": {"name": "enedis-oauth", "key": "secret"}
        },
        "envFromSecrets": ["enedis-extra"],
        "replicaCount": 3,
        "args": ["--once"],
    }
    docs = render("ingest-enedis", values)
    deployment = _one(docs, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = _env(container)
    assert env["INGEST_ENEDIS_BASE_URL"]["value"] == "https://gw.example.org"
    assert env["INGEST_ENEDIS_X"]["value"] == "3"
    assert env["INGEST_ENEDIS_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "enedis-oauth",
        "key": "secret",
    }
    assert container["envFrom"] == [{"secretRef": {"name": "enedis-extra"}}]
    assert container["args"] == ["--once"]
    assert deployment["spec"]["replicas"] == 3


def test_registry_migration_job_is_a_pre_install_hook(render: Render) -> None:
    job = _one(render("registry"), "Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert [*container["command"], *container["args"]] == ["sen1-registry", "migrate"]
    assert _env(container)["POSTGRES_DSN"]["valueFrom"]["secretKeyRef"]["name"] == (
        "sen1-postgres"
    )
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert not [
        d
        for d in render("registry", {"migration": {"enabled": False}})
        if d["kind"] == "Job"
    ]


def test_aggregator_runs_two_workers_with_a_disruption_budget(render: Render) -> None:
    docs = render("aggregator")
    assert _one(docs, "Deployment")["spec"]["replicas"] == 2
    assert _one(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_missing_postgres_secret_fails_the_render(render: Render) -> None:
    with pytest.raises(helm.HelmError, match=r"global\.postgres\.existingSecret"):
        render("api", {"global": {"postgres": {"existingSecret": ""}}})
