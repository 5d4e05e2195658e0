"""packaging/kubernetes: every field checked against Kubernetes' API models (Debian's
python3-kubernetes, generated from the API's OpenAPI schema: an unknown or misspelt field
fails), the ConfigMap's ini checked by the daemon itself (--check-config), and the fields
that must agree with each other and with the image: ports, probe paths, the discovery
name, the selector, the user and the read-only root."""
import configparser
import os
import re
import subprocess

import pytest

from conftest import BIN

yaml = pytest.importorskip("yaml")

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
K8S = os.path.join(ROOT, "packaging", "kubernetes")
CONTAINERFILE = os.path.join(ROOT, "packaging", "container", "Containerfile")


def load_objects():
    objects = {}
    for name in sorted(os.listdir(K8S)):
        if name.endswith(".yaml"):
            with open(os.path.join(K8S, name)) as f:
                for doc in yaml.safe_load_all(f):
                    if doc:
                        objects[doc["kind"]] = doc
    return objects


OBJECTS = load_objects()
DS = OBJECTS["DaemonSet"]
POD = DS["spec"]["template"]["spec"]
CONTAINER = POD["containers"][0]


def check_against_model(value, type_name, path, client):
    """Walks value along the API model type_name; returns the paths that do not fit."""
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [e for i, v in enumerate(value)
                for e in check_against_model(v, type_name[5:-1], f"{path}[{i}]", client)]
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{path}: not a map"]
        inner = type_name[5:-1].split(",", 1)[1].strip()
        return [e for k, v in value.items()
                for e in check_against_model(v, inner, f"{path}.{k}", client)]
    if type_name == "str":
        return [] if isinstance(value, str) else [f"{path}: not a string"]
    if type_name == "int":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [
            f"{path}: not an integer"]
    if type_name == "bool":
        return [] if isinstance(value, bool) else [f"{path}: not true or false"]
    if type_name in ("object", "datetime"):  # IntOrString, quantities, times
        return []
    model = getattr(client, type_name)
    if not isinstance(value, dict):
        return [f"{path}: not an object ({type_name})"]
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    errors = []
    for key, v in value.items():
        if key not in by_json:
            errors.append(f"{path}.{key}: no such field in {type_name}")
        else:
            errors += check_against_model(v, model.openapi_types[by_json[key]],
                                          f"{path}.{key}", client)
    return errors


@pytest.mark.parametrize("kind", sorted(OBJECTS))
def test_fields_exist_in_the_api(kind):
    client = pytest.importorskip("kubernetes.client")
    obj = OBJECTS[kind]
    version = obj["apiVersion"].split("/")[-1].capitalize()  # v1, apps/v1 -> V1
    assert check_against_model(obj, version + kind, kind, client) == []


def test_the_model_check_finds_a_misspelt_field():
    client = pytest.importorskip("kubernetes.client")
    bad = yaml.safe_load(yaml.safe_dump(DS))
    bad["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    errors = check_against_model(bad, "V1DaemonSet", "DaemonSet", client)
    assert errors == ["DaemonSet.spec.template.spec.containers[0].readinesProbe: "
                      "no such field in V1Container"]


@pytest.fixture(scope="module")
def effective_ini(tmp_path_factory):
    """The ConfigMap's ini as the daemon reads it: --check-config prints the effective
    configuration, or fails with file:line."""
    d = tmp_path_factory.mktemp("k8s")
    ini = d / "pingmesh.ini"
    ini.write_text(OBJECTS["ConfigMap"]["data"]["pingmesh.ini"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PINGMESH_", "REP_"))}
    r = subprocess.run([BIN, "--check-config", "-C", str(ini)], capture_output=True,
                       text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    parsed = configparser.ConfigParser(strict=False, interpolation=None,
                                       comment_prefixes=(";", "#"))
    parsed.read_string(r.stdout)
    return parsed


def named_port(port):
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in CONTAINER["ports"] if p["name"] == port)


def containerfile(instruction):
    text = open(CONTAINERFILE).read()
    return re.findall(rf"^{instruction} (.*)$", text, re.M)


def test_probes_ask_for_the_ping_page_on_the_configured_port(effective_ini):
    port = int(effective_ini["node"]["port"])
    for probe in ("readinessProbe", "livenessProbe"):
        get = CONTAINER[probe]["httpGet"]
        assert get["path"] == "/v1/ping", probe
        assert named_port(get["port"]) == port, probe
    assert effective_ini["node"]["listen"] in ("0.0.0.0", "0.0.0.0, ::")


def test_the_headless_service_selects_the_pods_and_feeds_discovery(effective_ini):
    svc = OBJECTS["Service"]
    assert svc["spec"]["clusterIP"] == "None"
    labels = DS["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert DS["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (port,) = svc["spec"]["ports"]
    assert named_port(port["targetPort"]) == int(effective_ini["node"]["port"])
    namespaces = {o["metadata"].get("namespace") for k, o in OBJECTS.items() if k != "Namespace"}
    assert namespaces == {OBJECTS["Namespace"]["metadata"]["name"]}
    name = f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local"
    assert effective_ini["discovery"]["name"] == name
    # Members are probed on the node's own port (0) or on the Service's.
    assert int(effective_ini["discovery"]["port"]) in (0, port["port"])


def test_the_configmap_is_mounted_where_the_daemon_reads_its_ini():
    (mount,) = [m for m in CONTAINER["volumeMounts"] if m["mountPath"] == "/etc/pingmesh"]
    (volume,) = [v for v in POD["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == OBJECTS["ConfigMap"]["metadata"]["name"]
    assert "pingmesh.ini" in OBJECTS["ConfigMap"]["data"]


def test_runs_as_the_images_user_without_privileges():
    (user,) = containerfile("USER")
    uid, gid = (int(x) for x in user.split(":"))
    pod, ctr = POD["securityContext"], CONTAINER["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert (pod["runAsUser"], pod["runAsGroup"]) == (uid, gid)
    assert ctr["readOnlyRootFilesystem"] is True
    assert ctr["allowPrivilegeEscalation"] is False
    assert ctr.get("privileged", False) is False
    assert ctr["capabilities"]["drop"] == ["ALL"]
    assert "add" not in ctr["capabilities"]
    assert POD.get("hostNetwork", False) is False
    # With the root read-only, the state directory is a volume.
    (env,) = [e for e in containerfile("ENV") if e.startswith("STATE_DIRECTORY=")]
    state = env.split("=", 1)[1]
    assert any(m["mountPath"] == state for m in CONTAINER["volumeMounts"])


def test_resources_bound_memory_but_not_cpu():
    res = CONTAINER["resources"]
    assert {"cpu", "memory"} <= res["requests"].keys()
    assert "memory" in res["limits"]
    # A CPU limit throttles the event loop, and a stalled loop is counted as network time.
    assert "cpu" not in res["limits"]


def test_the_image_is_this_version():
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True,
                             timeout=10).stdout.split()[-1]
    assert CONTAINER["image"].endswith(":" + version), CONTAINER["image"]
