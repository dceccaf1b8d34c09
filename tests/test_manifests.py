"""Procfile, docker-compose.yml and deploy/k8s/ come from deploy/services.yaml and agree.

No cluster here: the manifests are checked against the Kubernetes API schemas (kubernetes-validate,
strict), by checkov's policies, and their NetworkPolicies are evaluated against the call graph
derived from the services' own settings and Envoy's clusters.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from devstack import manifests
from devstack.processes import read_procfile
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"  # the oldest release the manifests target (native gRPC probes: 1.24+)
WORKLOADS = ("Deployment", "StatefulSet")
OUTSIDE = "outside"  # any address beyond the cluster: where PostgreSQL and the broker live


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _all_docs() -> list[dict[str, Any]]:
    """Everything the demo overlay deploys (the base and the meter simulator), kustomization aside."""
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name in ("kustomization.yaml", "demo-config.yaml"):
            continue
        docs += _docs(path)
    return docs


def _workloads() -> list[dict[str, Any]]:
    return [d for d in _all_docs() if d["kind"] in WORKLOADS]


def _container(workload: Mapping[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _process_of(workload: Mapping[str, Any]) -> str:
    """The Procfile entry a workload runs (its name with underscores)."""
    name = str(workload["metadata"]["name"])
    procfile = read_procfile()
    for entry in procfile:
        if entry.replace("_", "-") == name:
            return entry
    raise AssertionError(f"{name} runs no Procfile entry")


def _container_env(workload: Mapping[str, Any]) -> dict[str, str | dict[str, Any]]:
    """The container's environment: the ConfigMaps it loads, then its own entries (which win)."""
    config_maps = {d["metadata"]["name"]: d["data"] for d in _all_docs() if d["kind"] == "ConfigMap"}
    container = _container(workload)
    env: dict[str, str | dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]])
    for entry in container.get("env", []):
        env[entry["name"]] = entry["value"] if "value" in entry else entry["valueFrom"]
    return env


# --- one source ---------------------------------------------------------------------------------


def test_checked_in_files_are_what_the_description_generates() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devstack.manifests", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_check_notices_a_hand_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    desc = manifests.load()
    outputs = manifests.outputs(desc)
    procfile = ROOT / "Procfile"
    # A copy of the generated tree with one hand edit: the check must name it.
    monkeypatch.setattr(manifests, "ROOT", tmp_path)
    monkeypatch.setattr(manifests, "K8S_DIR", tmp_path / "deploy" / "k8s")
    monkeypatch.setattr(
        manifests, "outputs", lambda d: {tmp_path / p.relative_to(ROOT): t for p, t in outputs.items()}
    )
    for path, text in manifests.outputs(desc).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    manifests.main(["--check"])  # in sync: returns
    edited = tmp_path / procfile.relative_to(ROOT)
    edited.write_text(edited.read_text().replace("python -m ledger_svc", "python -m ledger_svc --debug"))
    with pytest.raises(SystemExit):
        manifests.main(["--check"])


def test_procfile_compose_and_kubernetes_run_the_same_commands() -> None:
    procfile = read_procfile()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    workloads = {_process_of(w): w for w in _workloads()}
    desc = manifests.load()
    both = [n for n, p in desc["processes"].items() if {"compose", "kubernetes"} <= set(p["run_on"])]
    assert set(both) == set(workloads) and set(both) <= set(compose)
    for name in both:
        argv = shlex.split(procfile[name])
        container = _container(workloads[name])
        if "command" not in compose[name]:
            # The web's container runs its image's server over the same built files (nginx).
            assert "command" not in container, name
            continue
        env = compose[name].get("environment", {})
        compose_argv = compose[name]["command"]
        compose_argv = shlex.split(compose_argv) if isinstance(compose_argv, str) else compose_argv
        assert compose_argv == [env[t[1:]] if t.startswith("$") else t for t in argv], name
        assert container["command"] == [f"$({t[1:]})" if t.startswith("$") else t for t in argv], name


def test_compose_and_kubernetes_give_each_process_the_same_settings() -> None:
    """Same variables; the same values but for addresses (compose names vs Service names) and the
    few paths and switches services.yaml sets per platform."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    desc = manifests.load()
    per_platform = {k for k, v in desc["python_env"].items() if isinstance(v, dict)}
    for proc in desc["processes"].values():
        per_platform |= {k for k, v in (proc.get("env") or {}).items() if isinstance(v, dict)}
    # Declared for one platform only (e.g. the witness's pin: compose reads it from the pins file).
    one_platform = {
        (name, k)
        for name, proc in desc["processes"].items()
        for k, v in (proc.get("env") or {}).items()
        if isinstance(v, dict) and not {"compose", "kubernetes"} <= set(v)
    }
    for workload in _workloads():
        name = _process_of(workload)
        k8s_env = _container_env(workload)
        compose_env = compose[name].get("environment", {})
        only_here = {k for (n, k) in one_platform if n == name}
        assert set(k8s_env) - only_here == set(compose_env) - only_here, name
        for var, value in compose_env.items():
            if var in per_platform:
                continue
            for process in desc["processes"]:
                value = value.replace(
                    f"//{process}:", f"//{process.replace('_', '-')}:"
                )  # dns:/// and http://
            assert k8s_env[var] == value, (name, var)


# --- schemas and policies -----------------------------------------------------------------------


def test_every_manifest_validates_against_the_kubernetes_schemas() -> None:
    docs = _all_docs()
    kinds = set()
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        kinds.add(doc["kind"])
    assert {"Deployment", "StatefulSet", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds
    assert {"NetworkPolicy", "ConfigMap", "Namespace"} <= kinds


def test_the_schema_check_rejects_a_misspelt_field() -> None:
    deployment = copy.deepcopy(next(d for d in _workloads() if d["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"grpc": {"port": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def _checkov() -> str | None:
    candidates = [os.environ.get("EP_CHECKOV", ""), str(ROOT / "var/tools/checkov/bin/checkov")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("checkov")


def test_checkov_finds_nothing_but_the_justified_skips() -> None:
    binary = _checkov()
    require(binary, "checkov is not installed (scripts/bootstrap --dev installs it in var/tools/checkov)")
    assert binary is not None
    result = subprocess.run(
        [binary, "-d", str(K8S), "--framework", "kubernetes", "--skip-download", "-o", "json", "--compact"],
        capture_output=True,
        text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
    )
    report = json.loads(result.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 500 and report["summary"]["parsing_errors"] == 0
    skipped = report["results"]["skipped_checks"]
    assert {c["check_id"] for c in skipped} <= set(manifests.CHECKOV_SKIPS)
    assert all(c["check_result"].get("suppress_comment") for c in skipped)


def test_every_pod_runs_unprivileged_with_probes_and_limits() -> None:
    for workload in _workloads():
        pod = workload["spec"]["template"]["spec"]
        name = workload["metadata"]["name"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        container = _container(workload)
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False, name
        assert ctx["capabilities"] == {"drop": ["ALL"]} and ctx["runAsUser"] == 10001, name
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
        assert "livenessProbe" in container and "readinessProbe" in container, name
        if "ports" in container:
            port = container["ports"][0]["containerPort"]
            probe = container["readinessProbe"]
            # gRPC services: the standard health service; HTTP: Envoy's /healthz (backends healthy).
            assert probe.get("grpc", {}).get("port") == port or probe["httpGet"]["port"] == port, name


def test_every_service_has_a_disruption_budget_and_the_stateless_ones_autoscale() -> None:
    docs = _all_docs()
    budgets = {
        d["spec"]["selector"]["matchLabels"][manifests.LABEL]
        for d in docs
        if d["kind"] == "PodDisruptionBudget"
    }
    scaled = {d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    names = {w["metadata"]["name"] for w in _workloads()}
    assert budgets == names
    # The witness (one key, one volume) and the demo's meter simulator are single by design
    # (alert_svc scales: its deliveries and evaluation shards are claimed, docs/alerts.md).
    assert scaled == names - {"witness-svc", "meter-sim"}
    public = [
        d for d in docs if d["kind"] == "Service" and d["spec"].get("type") in ("LoadBalancer", "NodePort")
    ]
    assert [d["metadata"]["name"] for d in public] == ["envoy"]


def test_no_secret_is_committed_and_the_generated_one_holds_the_installation_files(tmp_path: Path) -> None:
    assert not [d for d in _all_docs() if d["kind"] == "Secret"]
    state = tmp_path / "state"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devstack.secrets",
            "--state",
            str(state),
            "--key-dir",
            "/secrets",
            "--database-host",
            "pg.example",
            "--kubernetes-secret",
            manifests.SECRET_NAME,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    secret = yaml.safe_load(result.stdout)
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)
    files = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    assert files["secrets.env"] == (state / "secrets.env").read_bytes()
    assert files["ledger_signing_key.pem"] == (state / "ledger_signing_key.pem").read_bytes()
    env = files["secrets.env"].decode()
    assert "EP_LEDGER_SIGNING_KEY_FILE=/secrets/ledger_signing_key.pem" in env
    assert "@pg.example:5432/ingest" in env
    # What the pods mount is this Secret, at the path the key file setting names.
    for workload in _workloads():
        for volume in workload["spec"]["template"]["spec"]["volumes"]:
            if "secret" in volume:
                assert volume["secret"]["secretName"] == manifests.SECRET_NAME
    # Per installation: a second one shares nothing with the first.
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "devstack.secrets",
            "--state",
            str(tmp_path / "other"),
            "--kubernetes-secret",
            "x",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    other = base64.b64decode(yaml.safe_load(again.stdout)["data"]["secrets.env"]).decode()
    first = dict(line.split("=", 1) for line in env.splitlines() if "=" in line and not line.startswith("#"))
    assert first["EP_AUTH_KEY_ENCRYPTION_KEY"] not in other


# --- the call graph -----------------------------------------------------------------------------


def _derived_edges() -> set[tuple[str, str, int]]:
    """(source pod, target pod or OUTSIDE, port), from the settings the pods actually get."""
    services = {d["metadata"]["name"]: d for d in _all_docs() if d["kind"] == "Service"}
    desc = manifests.load()
    external = {e["host"]: e["port"] for e in desc["external"].values()}
    edges: set[tuple[str, str, int]] = set()

    def target(host: str, port: int) -> tuple[str, int]:
        if host in external:
            assert external[host] == port
            return OUTSIDE, port
        assert host in services, f"{host} is no Service"
        return services[host]["spec"]["selector"][manifests.LABEL], port

    for workload in _workloads():
        source = workload["metadata"]["name"]
        process = _process_of(workload)
        env = _container_env(workload)
        for var, default in manifests.dial_settings(process):
            if var.endswith("_DATABASE_URL"):
                # In the installation's Secret (devstack/secrets.py --database-host): PostgreSQL.
                assert "secrets" in {v["name"] for v in workload["spec"]["template"]["spec"]["volumes"]}
                edges.add((source, OUTSIDE, desc["external"]["postgres"]["port"]))
                continue
            value = env.get(var, default)
            assert isinstance(value, str), (source, var)
            if not value:
                continue  # off unless set
            assert not value.startswith(("127.", "localhost")) and "127.0.0.1" not in value, (
                f"{source}: {var} keeps its loopback default in Kubernetes"
            )
            host, port = manifests.endpoint(value)
            assert port is not None, (source, var, value)
            edges.add((source, *target(host, port)))
    for workload in _workloads():
        # Addresses a process's users give it at run time: declared, not a setting.
        for port in desc["processes"][_process_of(workload)].get("public_egress_ports", []):
            edges.add((workload["metadata"]["name"], OUTSIDE, port))
    table = yaml.safe_load((ROOT / "envoy" / "routes.yaml").read_text())
    for entry in [*table["upstreams"].values(), table["web"]]:
        edges.add(("envoy", *target(entry["kubernetes"]["host"], int(entry["kubernetes"]["port"]))))
    return edges


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "the evaluator reads matchLabels only"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _peer_matches(peer: Mapping[str, Any], labels: Mapping[str, str] | None) -> bool:
    """``labels``: a pod of this namespace; None: an address outside the cluster."""
    if "ipBlock" in peer:
        ipaddress.ip_network(peer["ipBlock"]["cidr"])  # a valid CIDR (its breadth: services.yaml)
        return labels is None
    if labels is None or "namespaceSelector" in peer:
        return False  # another namespace's pods (kube-dns) are no edge of the graph
    return _selects(peer["podSelector"], labels)


def _rule_allows(rule: Mapping[str, Any], key: str, labels: Mapping[str, str] | None, port: int) -> bool:
    peers = rule.get(key)
    if peers is not None and not any(_peer_matches(p, labels) for p in peers):
        return False
    ports = rule.get("ports")
    return ports is None or any(p.get("port") == port and p.get("protocol", "TCP") == "TCP" for p in ports)


def _allowed(
    policies: list[dict[str, Any]],
    kind: str,
    subject: Mapping[str, str],
    other: Mapping[str, str] | None,
    port: int,
) -> bool:
    """NetworkPolicy semantics: isolated once any policy of ``kind`` selects the pod, then the union."""
    selecting = [
        p
        for p in policies
        if kind in p["spec"]["policyTypes"] and _selects(p["spec"]["podSelector"], subject)
    ]
    if not selecting:
        return True
    key = "to" if kind == "Egress" else "from"
    return any(_rule_allows(r, key, other, port) for p in selecting for r in p["spec"].get(kind.lower(), []))


def _allowed_edges(policies: list[dict[str, Any]]) -> Iterator[tuple[str, str, int]]:
    pods = {w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"] for w in _workloads()}
    listening = {
        w["metadata"]["name"]: [p["containerPort"] for p in _container(w).get("ports", [])]
        for w in _workloads()
    }
    desc = manifests.load()
    outside_ports = {e["port"] for e in desc["external"].values()} | {80, 443, 5432, 8883, 1883}
    for source, labels in pods.items():
        for target, target_labels in pods.items():
            for port in listening[target]:
                if _allowed(policies, "Egress", labels, target_labels, port) and _allowed(
                    policies, "Ingress", target_labels, labels, port
                ):
                    yield source, target, port
        for port in sorted(outside_ports):
            if _allowed(policies, "Egress", labels, None, port):
                yield source, OUTSIDE, port


def _policies() -> list[dict[str, Any]]:
    return [d for d in _all_docs() if d["kind"] == "NetworkPolicy"]


def test_network_policies_allow_exactly_the_call_graph() -> None:
    derived = _derived_edges()
    # The graph the settings give, spelt out: a new dial in a config.py must show up here too.
    assert ("ingest-svc", "ledger-svc", 50053) in derived and ("witness-svc", "ledger-svc", 50053) in derived
    assert ("envoy", "web", 8080) in derived and ("meter-sim", "ingest-svc", 50054) in derived
    assert not any(s == "web" for s, _, _ in derived) and not any(t == "envoy" for _, t, _ in derived)
    assert set(_allowed_edges(_policies())) == derived


def test_the_evaluator_sees_an_extra_allow_and_a_missing_one() -> None:
    derived = _derived_edges()
    policies = _policies()
    wider = copy.deepcopy(policies)
    # web may now call auth_svc: both ends opened, so the extra edge is allowed.
    wider.append(
        {
            "spec": {
                "podSelector": {"matchLabels": {manifests.LABEL: "web"}},
                "policyTypes": ["Egress"],
                "egress": [{}],
            }
        }
    )
    wider.append(
        {
            "spec": {
                "podSelector": {"matchLabels": {manifests.LABEL: "auth-svc"}},
                "policyTypes": ["Ingress"],
                "ingress": [{}],
            }
        }
    )
    assert ("web", "auth-svc", 50051) in set(_allowed_edges(wider)) - derived
    narrower = [p for p in policies if p["metadata"]["name"] != "witness-svc-egress"]
    assert ("witness-svc", "ledger-svc", 50053) in derived - set(_allowed_edges(narrower))


def test_every_pod_may_resolve_names_and_nothing_else_in_kube_system() -> None:
    dns = [p for p in _policies() if p["metadata"]["name"] == "allow-dns"]
    (policy,) = dns
    assert policy["spec"]["podSelector"] == {}
    (rule,) = policy["spec"]["egress"]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]
    deny = next(p for p in _policies() if p["metadata"]["name"] == "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


# --- the pieces fit -----------------------------------------------------------------------------


def _reads(process: str) -> set[str]:
    """Variables process ``process`` reads: its config.py's fields, the secrets file, and the
    broker settings (common/mqtt.py) where it connects to the broker."""
    read = set(manifests.settings(process))
    read.add("EP_SECRETS_FILE")
    if "EP_MQTT_URL" in read:
        read |= {"EP_MQTT_CA_FILE", "EP_MQTT_CERT_FILE", "EP_MQTT_KEY_FILE"}
    return read


def test_every_path_a_pod_reads_is_mounted_or_in_its_image() -> None:
    envoy_image = (ROOT / "envoy" / "Dockerfile").read_text()
    checked = 0
    for workload in _workloads():
        process = _process_of(workload)
        mounts = {m["mountPath"]: m for m in _container(workload).get("volumeMounts", [])}
        reads = _reads(process) | {"EP_ENVOY_CONFIG"}
        for var, value in _container_env(workload).items():
            if var not in reads or not isinstance(value, str) or not value.startswith("/"):
                continue
            checked += 1
            if process == "envoy":
                assert Path(value).name in envoy_image, (var, value)
                continue
            under = [path for path in mounts if value == path or value.startswith(path.rstrip("/") + "/")]
            assert under, f"{workload['metadata']['name']}: {var}={value} is on the read-only root"
    assert checked >= 8


def test_the_kustomizations_name_what_exists() -> None:
    images = {_container(w)["image"].rsplit(":", 1)[0] for w in _workloads()}
    for path in K8S.rglob("kustomization.yaml"):
        (kustomization,) = _docs(path)
        for resource in kustomization["resources"]:
            target = path.parent / resource
            assert target.is_file() or (target / "kustomization.yaml").is_file(), (path, resource)
        base_objects = {(d["kind"], d["metadata"]["name"]) for d in _docs(K8S / "base" / "config.yaml")}
        for patch in kustomization.get("patches", []):
            for doc in _docs(path.parent / patch["path"]):
                assert (doc["kind"], doc["metadata"]["name"]) in base_objects, (path, patch)
        for image in kustomization.get("images", []):
            assert image["name"] in images, (path, image)
