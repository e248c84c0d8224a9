"""serving/: what can be checked without a Docker engine (none here): every config parses with
TF Serving's protos, compose/k8s YAML is valid and passes the same flags as the Dockerfiles."""
import os
import re

import pytest
import yaml
from google.protobuf import text_format

from tfs_config_protos import BatchingParameters, MonitoringConfig
from tfvisrec.serving import model_config

SERVING = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "serving")
REQUIRED_FLAGS = {
    "--port=8500", "--rest_api_port=8501", "--model_config_file=/models/models.config",
    "--enable_batching=true", "--batching_parameters_file=/config/batching.config",
    "--monitoring_config_file=/config/monitoring.config",
}


def _read(name):
    with open(os.path.join(SERVING, name), encoding="utf-8") as f:
        return f.read()


def _dockerfile_cmd(name):
    text = _read(name).replace("\\\n", " ")
    return re.findall(r'"(--[^"]+)"', re.search(r"^CMD \[(.*)\]", text, re.M).group(1))


def test_models_config_parses():
    config = model_config.load(os.path.join(SERVING, "models.config"))
    (entry,) = config.model_config_list.config
    assert entry.base_path == f"/models/{entry.name}" and entry.model_platform == "tensorflow"


def test_batching_config_parses_and_is_consistent():
    params = text_format.Parse(_read("batching.config"), BatchingParameters())
    assert params.max_batch_size.value >= 1 and params.num_batch_threads.value >= 1
    assert params.pad_variable_length_inputs
    sizes = list(params.allowed_batch_sizes)
    if sizes:  # TF Serving: increasing, the last equal to max_batch_size
        assert sizes == sorted(sizes) and sizes[-1] == params.max_batch_size.value


def test_monitoring_config_parses():
    config = text_format.Parse(_read("monitoring.config"), MonitoringConfig())
    assert config.prometheus_config.enable
    assert config.prometheus_config.path == "/monitoring/prometheus/metrics"


def test_mirrored_protos_reject_unknown_fields():
    with pytest.raises(text_format.ParseError):
        text_format.Parse("max_batch_size: 3", BatchingParameters())  # a wrapper, not a scalar
    with pytest.raises(text_format.ParseError):
        text_format.Parse("prometheus { enable: true }", MonitoringConfig())


@pytest.mark.parametrize("name, base", [("Dockerfile", "tensorflow/serving:${TF_SERVING_VERSION}"),
                                        ("Dockerfile.gpu", "tensorflow/serving:${TF_SERVING_VERSION}-gpu")])
def test_dockerfiles(name, base):
    text = _read(name)
    assert re.search(rf"^FROM {re.escape(base)}$", text, re.M)
    assert "COPY export/ /models/" in text
    # tini as PID 1 passes SIGTERM on: the server installs no handler, and as PID 1 it would
    # ignore the signal until the grace period's SIGKILL
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "tensorflow_model_server"]' in text
    assert re.search(r"^RUN apt-get update && apt-get install -y --no-install-recommends tini ", text, re.M)
    assert REQUIRED_FLAGS <= set(_dockerfile_cmd(name))
    assert "!export/" in _read(f"{name}.dockerignore")


def test_compose_file():
    compose = yaml.safe_load(_read("docker-compose.yml"))
    cpu, gpu = compose["services"]["tfserving"], compose["services"]["tfserving-gpu"]
    assert cpu["image"].startswith("tensorflow/serving:")
    assert gpu["image"].endswith("-gpu") and gpu["profiles"] == ["gpu"]
    assert set(cpu["ports"]) == {"8500:8500", "8501:8501"}
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    for service in (cpu, gpu):
        assert service["entrypoint"] == ["tensorflow_model_server"] and service["init"] is True
        assert REQUIRED_FLAGS <= set(service["command"])
        assert "../export:/models:ro" in service["volumes"]
        for volume in service["volumes"]:
            assert os.path.exists(os.path.join(SERVING, volume.split(":")[0]))
    assert set(_dockerfile_cmd("Dockerfile")) == set(cpu["command"])


def test_kubernetes_manifests():
    docs = [d for name in ("deployment.yaml", "service.yaml")
            for d in yaml.safe_load_all(_read(os.path.join("k8s", name)))]
    kinds = {d["kind"]: d for d in docs}
    deployment, service = kinds["Deployment"], kinds["Service"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert REQUIRED_FLAGS <= set(container["args"])
    assert {p["containerPort"] for p in container["ports"]} == {8500, 8501}
    assert container["readinessProbe"]["tcpSocket"]["port"] == "grpc"
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep" and 0 < int(sleep[1]) < deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels == service["spec"]["selector"]
    assert {p["port"] for p in service["spec"]["ports"]} == {8500, 8501}
    kustomization = yaml.safe_load(_read(os.path.join("k8s", "kustomization.yaml")))
    assert kustomization["resources"] == ["deployment.yaml", "service.yaml"]
