"""Acceptance 1: trained model -> export -> embedded server on loopback -> client == model."""
import io
import json

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     inference_pb2, model_management_pb2,
                                     model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

import serving_world as world_lib
from tfvisrec.client import (FailedPrecondition, InvalidArgument, MissingSignature, NotFound,
                             RecommenderClient)
from tfvisrec.client.cli import main as client_main
from tfvisrec.client.tensors import to_tensor_proto
from tfvisrec.serving import model_config

pytestmark = pytest.mark.xdist_group("serving")  # share the session world and server


@pytest.mark.parametrize("kind", ["mf", "visual", "mlp"])
def test_client_recommendations_and_scores_equal_the_model(world, target, kind):
    dataset, models = world
    scores = world_lib.reference_scores(models[kind], dataset)
    with RecommenderClient(target, model=kind) as client:
        for user in (0, 6, 11):
            got = client.recommend(dataset.user_ids[user], k=7)
            assert len(got) == 7
            world_lib.assert_top_k_matches([r.item_id for r in got], [r.score for r in got],
                                           world_lib.masked_scores(scores, dataset, [user])[0],
                                           dataset.item_ids)
        items = [0, 13, 29, 13]
        np.testing.assert_allclose(client.score("u08", [dataset.item_ids[i] for i in items]),
                                   scores[8, items], rtol=1e-5, atol=1e-5)
        rows = client.recommend_many(["u01", "u02", "u01"], k=3)
        assert [len(r) for r in rows] == [3, 3, 3]
        assert [r.item_id for r in rows[2]] == [r.item_id for r in rows[0]]


def test_cold_start_scores_from_jpeg_bytes_equal_the_model(world, target):
    _, models = world
    jpegs = [world_lib.jpeg(300 + i, width=25, height=40, seed=2) for i in range(4)]
    png = io.BytesIO()
    Image.new("RGB", (12, 12), (200, 10, 10)).save(png, format="PNG")
    jpegs.append(png.getvalue())
    with RecommenderClient(target, model="visual") as client:
        got = client.score_images("u03", jpegs)
        vectors = client.embed_items(jpegs[:2])
    np.testing.assert_allclose(got, world_lib.reference_image_scores(models["visual"], 3, jpegs),
                               rtol=1e-5, atol=1e-5)
    assert vectors.shape == (2, world_lib.DIM) and vectors.dtype == np.float32


def test_responses_use_typed_value_fields(target):
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "mf"
        request.inputs["user"].CopyFrom(to_tensor_proto(np.array([b"u00"], object)))
        request.inputs["k"].CopyFrom(to_tensor_proto(np.array([3], np.int32)))
        response = stub.Predict(request, timeout=10)
    assert response.model_spec.name == "mf" and response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"
    scores, ids = response.outputs["scores"], response.outputs["item_ids"]
    assert len(scores.float_val) == 3 and not scores.tensor_content
    assert len(ids.string_val) == 3 and [d.size for d in ids.tensor_shape.dim] == [1, 3]


def test_output_filter_version_and_label(target):
    with RecommenderClient(target, model="mf", version_label="stable") as client:
        out = client.predict("recommend", {"user": np.array([b"u00"], object),
                                           "k": np.array([2], np.int32)}, output_filter=["scores"])
        assert list(out) == ["scores"] and out["scores"].shape == (1, 2)
    with RecommenderClient(target, model="mf", version=1) as client:
        assert len(client.recommend("u00", 2)) == 2


def test_metadata_status_and_health(target):
    with RecommenderClient(target, model="visual") as client:
        meta = client.metadata()
        assert set(meta) == {"recommend", "score", "score_images", "embed_items", "serving_default"}
        assert meta["recommend"] == {"inputs": {"user": "DT_STRING", "k": "DT_INT32"},
                                     "outputs": {"item_ids": "DT_STRING", "scores": "DT_FLOAT"}}
        assert client.status() == [{"version": 1, "state": "AVAILABLE", "error": ""}]
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "tensorflow.serving.PredictionService"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["nope"])
        request.model_spec.name = "visual"
        with pytest.raises(grpc.RpcError) as e:
            stub.GetModelMetadata(request, timeout=5)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "Metadata field nope is not supported" in e.value.details()


@pytest.mark.parametrize("kind, signature, call", [
    ("mf", "explain", lambda c: c.explain("u00", "item-000")),
    ("visual", "generate", lambda c: c.generate("u00", "top", n=2)),
    ("visual", "tailor", lambda c: c.tailor("u00", world_lib.jpeg(1), "top")),
    ("mlp", "outfit_score", lambda c: c.outfit_score("u00", ["item-000", "item-001"])),
    ("mf", "no_such_signature", lambda c: c.predict("no_such_signature", {})),
])
def test_signatures_the_export_lacks_fail_clearly(world, target, kind, signature, call):
    """The coming signatures (SAERS, GAN, PAN) against real exports that lack them: the server
    answers FAILED_PRECONDITION as TF Serving does; the client names model and signature."""
    with RecommenderClient(target, model=kind) as client:
        exported = sorted(client.metadata())
        assert signature not in exported
        with pytest.raises(MissingSignature) as raised:
            call(client)
    assert raised.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert isinstance(raised.value, FailedPrecondition)
    assert str(raised.value) == (
        f"FAILED_PRECONDITION: model '{kind}' does not export the '{signature}' signature "
        f"(it exports: {', '.join(exported)}); server: "
        f'Serving signature key "{signature}" not found.')


def test_client_cli_names_the_missing_signature(target, capsys):
    assert client_main(["explain", "--target", target, "--model", "mf", "--user", "u00",
                        "--item", "item-000"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: FAILED_PRECONDITION: model 'mf' does not export the "
                          "'explain' signature (it exports: ")


@pytest.mark.parametrize("method, request_type", [
    ("Classify", classification_pb2.ClassificationRequest),
    ("Regress", regression_pb2.RegressionRequest),
    ("MultiInference", inference_pb2.MultiInferenceRequest)])
def test_classify_regress_multiinference_are_unimplemented(target, method, request_type):
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as e:
            getattr(stub, method)(request_type(), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED and method in e.value.details()


def test_messages_above_4mb_pass(world, target):
    noisy = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (400, 400, 3), np.uint8)).save(
        noisy, format="JPEG", quality=100)
    jpegs = [noisy.getvalue()] * (5 * 1024 * 1024 // len(noisy.getvalue()) + 1)
    assert sum(map(len, jpegs)) > 5 * 1024 * 1024
    with RecommenderClient(target, model="visual", timeout=60) as client:
        scores = client.score_images("u00", jpegs)
    # Identical images, scored in whatever batches the server forms: equal up to float32 rounding.
    assert scores.shape == (len(jpegs),)
    np.testing.assert_allclose(scores, np.full_like(scores, scores[0]), rtol=1e-5, atol=1e-6)


def test_reload_config_adds_and_removes_models(export_root, target):
    config = model_config.load(f"{export_root}/models.config")
    entries = {c.name: c for c in config.model_config_list.config}
    reduced = model_config.single_model("extra", f"{export_root}/mf")
    for name in ("mf", "visual", "mlp"):
        reduced.model_config_list.config.append(entries[name])
    reduced.model_config_list.config[1].version_labels["stable"] = 1
    with grpc.insecure_channel(target) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        stub.HandleReloadConfigRequest(model_management_pb2.ReloadConfigRequest(config=reduced),
                                       timeout=60)
        with RecommenderClient(target, model="extra") as client:
            assert len(client.recommend("u00", 3)) == 3
        reduced.model_config_list.config.pop(0)
        stub.HandleReloadConfigRequest(model_management_pb2.ReloadConfigRequest(config=reduced),
                                       timeout=60)
    with RecommenderClient(target, model="extra") as client, pytest.raises(NotFound):
        client.recommend("u00", 3)


def _assert_same_rows(got, expected):
    """The same users and items in order, the scores close (computed in batches of other shapes)."""
    assert [(r["user_id"], [i["item_id"] for i in r["items"]]) for r in got] == \
        [(r["user_id"], [i["item_id"] for i in r["items"]]) for r in expected]
    np.testing.assert_allclose([i["score"] for r in got for i in r["items"]],
                               [i["score"] for r in expected for i in r["items"]], rtol=1e-5)


def test_client_cli(target, capsys, tmp_path):
    assert client_main(["--target", target, "--model", "mf", "recommend", "--user", "u00",
                        "--user", "u01", "--user", "u00", "--k", "2"]) == 0
    out = json.loads(capsys.readouterr().out)   # a row per user given, in order
    assert [row["user_id"] for row in out] == ["u00", "u01", "u00"] and len(out[0]["items"]) == 2
    assert [i["item_id"] for i in out[2]["items"]] == [i["item_id"] for i in out[0]["items"]]
    # README's order: the options after the command; mixed: the later value wins
    assert client_main(["recommend", "--target", target, "--model", "mf", "--user", "u00",
                        "--k", "2"]) == 0
    _assert_same_rows(json.loads(capsys.readouterr().out), out[:1])
    assert client_main(["--target", target, "--model", "visual", "recommend", "--model", "mf",
                        "--user", "u00", "--k", "2"]) == 0
    _assert_same_rows(json.loads(capsys.readouterr().out), out[:1])
    image = tmp_path / "new.jpg"
    image.write_bytes(world_lib.jpeg(7))
    assert client_main(["--target", target, "--model", "visual", "score-images", "--user",
                        "u00", "--images", str(image)]) == 0
    assert [row["image"] for row in json.loads(capsys.readouterr().out)] == [str(image)]
    assert client_main(["--target", target, "--model", "mf", "recommend", "--user",
                        "nobody"]) == 1
    assert "INVALID_ARGUMENT" in capsys.readouterr().err
    with pytest.raises(InvalidArgument):
        RecommenderClient(target, model="mf").score("u00", ["no-such-item"])


def test_client_scores_a_repeated_item_once_per_request_in_order(target, capsys):
    items = ["item-001", "item-000", "item-001"]
    with RecommenderClient(target, model="mf") as client:
        scores = client.score("u00", items)
    assert scores.shape == (3,)
    np.testing.assert_allclose(scores[2], scores[0], rtol=1e-6)
    assert client_main(["--target", target, "--model", "mf", "score", "--user", "u00",
                        "--items", *items]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["item_id"] for row in rows] == items
    np.testing.assert_allclose([row["score"] for row in rows], scores, rtol=1e-6)
