"""HandleReloadConfigRequest answers as TF Serving's (ServerCore::ReloadConfig): a config it
would refuse from a file (a model listed twice) is INVALID_ARGUMENT and changes nothing, and a
model the config adds that does not become available makes the reload fail (UNKNOWN, naming
the model and why) instead of answering OK to a deploy script that then finds nothing served;
a version label naming a version not served is FAILED_PRECONDITION and changes nothing."""
import grpc
import pytest
from tensorflow_serving.apis import model_management_pb2, model_pb2

from tfvisrec.client.status import NotFound
from tfvisrec.serving import model_config
from tfvisrec.serving.repository import ModelRepository
from tfvisrec.serving.service import ModelServicer


class _Loaded:
    repaired = False

    def __init__(self, name, version, path):
        if "broken" in path and not _Loaded.repaired:
            raise OSError("not a SavedModel")
        self.path = path

    def warmup(self):
        return 0


class _Aborted(Exception):
    pass


class _Context:
    """The part of grpc.ServicerContext the servicer uses."""

    def time_remaining(self):
        return None

    def abort(self, code, message):
        self.code, self.message = code, message
        raise _Aborted(message)


def _reload(service, request):
    context = _Context()
    try:
        return service.HandleReloadConfigRequest(request, context)
    except _Aborted:
        return context


@pytest.fixture
def servicer(tmp_path):
    for model in ("shop", "new", "broken"):
        (tmp_path / model / "1").mkdir(parents=True)
    repository = ModelRepository(model_config.single_model("shop", str(tmp_path / "shop")),
                                 poll_wait_seconds=0, loader=_Loaded)
    repository.start()
    return ModelServicer(repository), repository


def _request(tmp_path, *names):
    config = model_config.single_model(names[0], str(tmp_path / names[0]))
    for name in names[1:]:
        config.model_config_list.config.append(model_config.model_entry(name, str(tmp_path / name)))
    return model_management_pb2.ReloadConfigRequest(config=config)


def _serves(repository, name):
    try:
        repository.get(model_pb2.ModelSpec(name=name))
        return True
    except NotFound:
        return False


def test_a_model_listed_twice_is_refused_and_changes_nothing(servicer, tmp_path):
    service, repository = servicer
    answer = _reload(service, _request(tmp_path, "new", "new"))
    assert isinstance(answer, _Context), "the reload answered OK"
    assert (answer.code, answer.message) == (grpc.StatusCode.INVALID_ARGUMENT,
                                             "model name(s) configured twice: ['new']")
    assert repository.model_names() == ["shop"] and _serves(repository, "shop")


def test_a_model_that_fails_to_load_fails_the_reload_naming_it(servicer, tmp_path):
    service, repository = servicer
    answer = _reload(service, _request(tmp_path, "shop", "broken"))
    assert isinstance(answer, _Context), "the reload answered OK"
    assert answer.code == grpc.StatusCode.UNKNOWN
    assert answer.message.startswith("1 model(s) did not become available: {broken: version 1: loading")
    assert "not a SavedModel" in answer.message
    assert _serves(repository, "shop")


def test_a_reload_whose_models_serve_answers_ok(servicer, tmp_path):
    service, repository = servicer
    response = _reload(service, _request(tmp_path, "new"))
    assert response.status.error_code == 0
    assert repository.model_names() == ["new"] and _serves(repository, "new")
    assert not _serves(repository, "shop")


def test_a_model_removed_and_added_again_is_loaded_afresh(servicer, tmp_path):
    service, repository = servicer
    repository.max_load_retries = 0                      # one failed load: given up
    _reload(service, _request(tmp_path, "shop", "broken"))
    _Loaded.repaired = True                              # the operator repairs the model ...
    try:
        _reload(service, _request(tmp_path, "shop"))           # ... removes it from the config
        response = _reload(service, _request(tmp_path, "shop", "broken"))   # ... and adds it back
    finally:
        _Loaded.repaired = False
    assert not isinstance(response, _Context), response.message
    assert _serves(repository, "broken")


def test_a_label_on_a_version_not_served_is_refused_and_changes_nothing(servicer, tmp_path):
    service, repository = servicer
    request = _request(tmp_path, "shop", "new")
    request.config.model_config_list.config[0].version_labels["stable"] = 2
    answer = _reload(service, request)
    assert isinstance(answer, _Context), "the reload answered OK"
    assert answer.code == grpc.StatusCode.FAILED_PRECONDITION
    assert answer.message == ("Request to assign label to version 2 of model shop, which is not "
                              "currently available for inference (label 'stable')")
    assert repository.model_names() == ["shop"]
    request.config.model_config_list.config[0].version_labels["stable"] = 1
    assert not isinstance(_reload(service, request), _Context)
