"""Every service under services/ follows docs/service-template.md, as far as a file can say.

Read from the files (no import, no process): the console script and ``sen1.stack``
entry point, the modules of the template, a ``bootstrap()`` composition root, its
own ``<package>_`` Prometheus metrics, a readiness check, its chart.

Services that do not follow a rule yet are listed in ``NOT_YET`` with the reason;
the list is strict both ways: a listed service that now follows the rule fails the
test until it is taken off the list, so the list only shrinks.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import workspace  # noqa: E402 - scripts/workspace.py, the workspace's derived lists

SERVICES = {m.name: m for m in workspace.services(ROOT)}
METRIC = re.compile(
    r"\b(?:Counter|Gauge|Histogram|Summary|Info|Enum)\(\s*\"([a-z0-9_]+)\""
)
BOOTSTRAP = re.compile(r"^(?:async )?def bootstrap\(", re.MULTILINE)
READINESS = re.compile(r"\.add_check\(|\"/readyz\"")

# rule -> service -> why it does not follow the rule yet (strict: see module doc).
NOT_YET: dict[str, dict[str, str]] = {}


def _sources(member: workspace.Member) -> dict[str, str]:
    src = ROOT / member.folder / "src"
    return {
        str(p.relative_to(src)): p.read_text()
        for package in member.packages
        for p in (src / package).rglob("*.py")
    }


def _check(rule: str, service: str, follows: bool, detail: str = "") -> None:
    waived = NOT_YET.get(rule, {}).get(service)
    if waived is None:
        assert follows, f"{service} breaks the template rule {rule!r} {detail}"
    else:
        assert not follows, (
            f"{service} now follows {rule!r}: take it off NOT_YET ({waived})"
        )


def test_services_are_found() -> None:
    assert {"aggregator", "api", "ingest-enedis", "ingest-flukso", "registry"} <= set(
        SERVICES
    )


def test_waivers_name_real_services() -> None:
    for rule, services in NOT_YET.items():
        assert set(services) <= set(SERVICES), rule


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_packaging(service: str) -> None:
    """One import package, one ``sen1-`` console script, one ``sen1.stack`` entry."""
    member = SERVICES[service]
    project = tomllib.loads((ROOT / member.folder / "pyproject.toml").read_text())[
        "project"
    ]
    (package,) = member.packages
    (script,) = member.scripts
    assert script.startswith("sen1-"), script
    assert project["scripts"][script] == f"{package}.__main__:main"
    stack = project["entry-points"]["sen1.stack"]
    assert list(stack.values()) == [f"{package}.stack:processes"]
    assert (ROOT / member.folder / "README.md").is_file()


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_modules_of_the_template(service: str) -> None:
    member = SERVICES[service]
    (package,) = member.packages
    files = set(_sources(member))
    for module in ("__init__.py", "__main__.py", "settings.py", "stack.py"):
        assert f"{package}/{module}" in files, f"{service}: no {module}"
    loop = {f"{package}/{m}" for m in ("service.py", "app.py", "main.py")} & files
    _check("loop-module", service, bool(loop), "(service.py, app.py or main.py)")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_client_and_mapping_are_packages_or_modules(service: str) -> None:
    """If a service talks to an upstream, client and mapping come in pairs."""
    member = SERVICES[service]
    (package,) = member.packages
    files = set(_sources(member))

    def has(name: str) -> bool:
        return (
            f"{package}/{name}.py" in files or f"{package}/{name}/__init__.py" in files
        )

    assert has("client") == has("mapping"), f"{service}: client without mapping"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_bootstrap_composition_root(service: str) -> None:
    sources = _sources(SERVICES[service])
    _check("bootstrap", service, any(BOOTSTRAP.search(t) for t in sources.values()))


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_metrics_are_named_after_the_service(service: str) -> None:
    member = SERVICES[service]
    (package,) = member.packages
    names = [n for t in _sources(member).values() for n in METRIC.findall(t)]
    assert [n for n in names if not n.startswith(f"{package}_")] == [], service
    _check("own-metrics", service, bool(names))


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_readiness_checks_a_dependency(service: str) -> None:
    sources = _sources(SERVICES[service])
    _check("readiness", service, any(READINESS.search(t) for t in sources.values()))


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_settings_prefix_matches_the_chart(service: str) -> None:
    """The chart's envPrefix is the prefix of the service's settings class."""
    member = SERVICES[service]
    (package,) = member.packages
    prefix, _ = workspace.service_charts(ROOT)[service]
    settings = (ROOT / member.folder / "src" / package / "settings.py").read_text()
    assert f'env_prefix="{prefix}"' in settings, service
