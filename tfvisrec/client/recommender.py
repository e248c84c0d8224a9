"""`RecommenderClient`: one served model over TF Serving's gRPC API (see the package docstring)."""
import os
import random
import time
from typing import Dict, List, NamedTuple, Optional, Sequence, Union

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tfvisrec.client import designs, status
from tfvisrec.client.designs import Design, Tailoring
from tfvisrec.client.explanation import OUTPUTS as EXPLANATION_OUTPUTS
from tfvisrec.client.explanation import Explanation
from tfvisrec.client.image_files import read_image
from tfvisrec.client.protos import (get_model_metadata_pb2, get_model_status_pb2,
                                    model_service_pb2_grpc, predict_pb2,
                                    prediction_service_pb2_grpc)
from tfvisrec.client.status import (Cancelled, DeadlineExceeded, MissingSignature, ServingError,
                                    Unavailable)
from tfvisrec.client.tensors import dtype_name, to_ndarray, to_tensor_proto


class Recommendation(NamedTuple):
    item_id: str
    score: float


class RecommenderClient:
    """Client of one served model (see the `tfvisrec.client` docstring).

    target: "host:port". version / version_label: pin a version (default: latest).
    timeout: seconds per call, retries included. retries: extra attempts on UNAVAILABLE and
    CANCELLED (a server cancels a call that arrives as it stops; these calls only read).
    backoff: first retry delay in seconds, doubled each retry (with jitter), at most max_backoff.
    """

    def __init__(self, target: str = "localhost:8500", model: str = "demo",
                 version: Optional[int] = None, version_label: Optional[str] = None,
                 timeout: float = 10.0, retries: int = 3, backoff: float = 0.1,
                 max_backoff: float = 2.0, max_message_mb: int = 512,
                 channel: Optional[grpc.Channel] = None):
        if version is not None and version_label:
            raise ValueError("pass version or version_label, not both")
        self.model, self.version, self.version_label = model, version, version_label
        self.timeout, self.retries = timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff
        limit = max_message_mb * 1024 * 1024
        self._own_channel = channel is None
        self.channel = channel or grpc.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit)])
        self._predict = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self.channel)
        self._health = health_pb2_grpc.HealthStub(self.channel)

    # ---- the shop's calls ----------------------------------------------------------------
    def recommend(self, user: str, k: int = 10) -> List[Recommendation]:
        """Top-k items for one user, best first (k <= the K fixed at export)."""
        return self.recommend_many([user], k)[0]

    def recommend_many(self, users: Sequence[str], k: int = 10) -> List[List[Recommendation]]:
        """Top-k items of each user, best first: a list per user given, in order (a user given
        twice is answered twice)."""
        outputs = self.predict("recommend", {"user": _strings(users),
                                             "k": np.full(len(users), k, np.int32)})
        _require(outputs, "recommend", "item_ids", "scores")
        ids, scores = outputs["item_ids"][:, :k], outputs["scores"][:, :k]
        return [[Recommendation(i.decode("utf-8"), float(s))
                 for i, s in zip(row_ids, row_scores) if i]  # "" marks padding/excluded
                for row_ids, row_scores in zip(ids, scores)]

    def score(self, user: str, items: Sequence[str]) -> np.ndarray:
        """x̂(user, item) for catalogue items: float32 [len(items)], aligned with `items` (an
        item given twice is scored twice)."""
        out = self.predict("score", {"user": _strings([user]), "items": _strings([items])})
        return _require(out, "score", "scores")["scores"][0, :len(items)]

    def score_images(self, user: str, jpeg_bytes: Sequence[bytes]) -> np.ndarray:
        """x̂(user, new item) for items known only by their JPEG/PNG bytes: float32 [N], aligned
        with `jpeg_bytes`."""
        out = self.predict("score_images", {"user": _strings([user]),
                                            "images": _strings([list(jpeg_bytes)])})
        return _require(out, "score_images", "scores")["scores"][0, :len(jpeg_bytes)]

    def embed_items(self, jpeg_bytes: Sequence[bytes]) -> np.ndarray:
        """Item vectors of images: float32 [N, D]."""
        out = self.predict("embed_items", {"images": _strings(list(jpeg_bytes))})
        return _require(out, "embed_items", "item_vectors")["item_vectors"]

    # ---- signatures of some models only ------------------------------------------------
    # `explain` is exported by SAERS, `generate` and `tailor` by design exports (a DVBPR
    # exported with a GAN), `outfit_score` by PAN / FHN. Against a model that lacks one, the
    # call raises MissingSignature ("model 'dvbpr' does not export the 'explain' signature").

    def explain(self, user: str, item: str) -> Explanation:
        """Why catalogue `item` suits `user` (SAERS exports): each attribute's attention weight,
        predicted value (with the attribute classifier's probability of it) and region box, as
        an `Explanation`."""
        out = self.predict("explain", {"user": _strings([user]), "item": _strings([item])})
        return Explanation.from_outputs(_require(out, "explain", *EXPLANATION_OUTPUTS), 0, user, item)

    def explain_image(self, user: str, jpeg: bytes) -> Explanation:
        """The same for an item known only by its JPEG/PNG bytes (SAERS exports holding their
        attribute classifier: the regions are computed by the server); `item` is None."""
        out = self.predict("explain_images", {"user": _strings([user]), "images": _strings([jpeg])})
        return Explanation.from_outputs(_require(out, "explain_images", *EXPLANATION_OUTPUTS), 0, user)

    def generate(self, user: str, category: str, n: int = 1, seed: int = 0) -> List[Design]:
        """Design exports (DVBPR eq. 9-10): new items of `category` for `user`, from the random
        starts of seeds seed … seed+n-1 → n·k `Design`s (decoded image, PNG, score θ_uᵀΦ,
        objective of eq. 10, seed), each seed's k best first (k fixed at export)."""
        seeds = np.arange(seed, seed + n, dtype=np.int64)
        out = self.predict("generate", {"user": _strings([user] * n),
                                        "category": _strings([category] * n), "seed": seeds})
        return designs.designs(_require(out, "generate", "images", "scores", "objective"), seeds)

    def tailor(self, user: str, image: bytes, category: str) -> Tailoring:
        """Design exports (DVBPR eq. 12, then eq. 9-10): an existing item's JPEG/PNG moved
        towards `user`'s taste; `category` is the item's (the GAN is category-conditional) →
        `Tailoring` (the query's own score, and the strip: decoded image, PNG, score, L1 to the
        query, stage, step of each kept step; step counts fixed at export)."""
        out = self.predict("tailor", {"user": _strings([user]), "image": _strings([image]),
                                      "category": _strings([category])})
        return designs.tailoring(_require(out, "tailor", "images", "scores", "l1", "stage",
                                          "step", "query_scores"))

    def outfit_score(self, user: str, items: Sequence[str]) -> float:
        """PAN / FHN: compatibility and the user's preference, y = g + α p, of an outfit of
        catalogue items (one per slot in the model's slot order, "" = empty slot)."""
        out = self.predict("outfit_score", {"user": _strings([user]), "items": _strings([items])})
        return float(np.asarray(_require(out, "outfit_score", "scores")["scores"]).reshape(-1)[0])

    def outfit_score_images(self, user: str, photos: Sequence[Union[bytes, str, os.PathLike]]) -> float:
        """PAN / FHN exports holding their backbone: `outfit_score` of an outfit given by
        photos, one per slot (JPEG/PNG bytes, or the path of an image file; "" / b"" = empty
        slot), items the model may never have seen. A file that is not an image raises
        NotAnImage (an InvalidArgument) naming it, before anything is sent."""
        encoded = [p if isinstance(p, bytes) else read_image(p) if os.fspath(p) else b"" for p in photos]
        out = self.predict("outfit_score_images", {"user": _strings([user]), "images": _strings([encoded])})
        return float(np.asarray(_require(out, "outfit_score_images", "scores")["scores"]).reshape(-1)[0])

    def recommend_outfit_item(self, user: str, items: Sequence[str], slot: str,
                              k: int = 10) -> List[Recommendation]:
        """PAN / FHN: the catalogue items of `slot` that best complete the outfit `items` (one
        id per slot, "" for the slot asked for; an item given there is left out, as the answer
        replaces it) for `user`, best first."""
        out = self.predict("recommend_outfit_item", {
            "user": _strings([user]), "items": _strings([items]), "slot": _strings([slot]),
            "k": np.asarray([k], np.int32)})
        out = _require(out, "recommend_outfit_item", "item_ids", "scores")
        return [Recommendation(i.decode("utf-8"), float(v))
                for i, v in zip(out["item_ids"][0], out["scores"][0]) if i]

    # ---- generic calls -------------------------------------------------------------------
    def predict(self, signature: str, inputs: Dict[str, np.ndarray],
                output_filter: Sequence[str] = ()) -> Dict[str, np.ndarray]:
        """One Predict call: named numpy inputs -> named numpy outputs.

        Raises MissingSignature when the model does not export `signature`.
        """
        request = predict_pb2.PredictRequest()
        self._fill_spec(request.model_spec)
        request.model_spec.signature_name = signature
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(to_tensor_proto(value))
        request.output_filter.extend(output_filter)
        try:
            response = self._call(self._predict.Predict, request)
        except status.FailedPrecondition as error:
            if status.missing_signature_name(error) is None:
                raise
            raise self._missing_signature(signature or "serving_default", error) from None
        return {name: to_ndarray(proto) for name, proto in response.outputs.items()}

    def metadata(self) -> Dict[str, Dict[str, Dict[str, str]]]:
        """{signature: {"inputs": {name: dtype}, "outputs": {name: dtype}}}."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._fill_spec(request.model_spec)
        response = self._call(self._predict.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)
        return {name: {"inputs": {k: dtype_name(v.dtype) for k, v in sig.inputs.items()},
                       "outputs": {k: dtype_name(v.dtype) for k, v in sig.outputs.items()}}
                for name, sig in signature_map.signature_def.items() if not name.startswith("__")}

    def status(self) -> List[Dict[str, object]]:
        """[{"version", "state", "error"}] of the model's versions (GetModelStatus)."""
        request = get_model_status_pb2.GetModelStatusRequest()
        self._fill_spec(request.model_spec)
        response = self._call(self._models.GetModelStatus, request)
        states = get_model_status_pb2.ModelVersionStatus.State
        return [{"version": s.version, "state": states.Name(s.state),
                 "error": s.status.error_message} for s in response.model_version_status]

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Block until the server's health check says SERVING (raises DeadlineExceeded). A
        server without the health service (TF Serving without --enable_grpc_healthcheck_service
        answers UNIMPLEMENTED) is ready once it answers: TF Serving listens only once its models
        are loaded."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._health.Check(health_pb2.HealthCheckRequest(service=""),
                                           timeout=max(0.1, min(1.0, deadline - time.monotonic())))
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                    return
            if time.monotonic() >= deadline:
                raise DeadlineExceeded(f"server not SERVING after {timeout:.1f} s")
            time.sleep(0.05)

    def close(self) -> None:
        if self._own_channel:
            self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- plumbing ------------------------------------------------------------------------
    def _fill_spec(self, spec) -> None:
        spec.name = self.model
        if self.version is not None:
            spec.version.value = int(self.version)
        elif self.version_label:
            spec.version_label = self.version_label

    def _missing_signature(self, signature: str, error: ServingError) -> MissingSignature:
        """The server's "signature not found", naming model, signature and what it exports."""
        try:
            exported = ", ".join(sorted(self.metadata())) or "none"
        except ServingError:
            exported = "unknown (GetModelMetadata failed)"
        return MissingSignature(f"model '{self.model}' does not export the '{signature}' "
                                f"signature (it exports: {exported}); server: {error.message}")

    def _call(self, method, request):
        """Call with the deadline; retry UNAVAILABLE and CANCELLED with backoff while time
        remains. This blocking call cannot be cancelled by its caller: a CANCELLED comes from
        the server side, e.g. a server that stopped as the call arrived."""
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded(f"no answer within {self.timeout:.1f} s "
                                       f"({attempt} attempts)")
            try:
                return method(request, timeout=remaining)
            except grpc.RpcError as e:
                error = status.from_rpc_error(e)
            if not isinstance(error, (Unavailable, Cancelled)) or attempt >= self.retries:
                raise error
            delay = min(self.max_backoff, self.backoff * (2 ** attempt)) * random.uniform(0.5, 1.0)
            if deadline - time.monotonic() <= delay:
                raise error
            time.sleep(delay)
            attempt += 1


def _require(outputs: Dict[str, np.ndarray], signature: str, *names: str):
    missing = [n for n in names if n not in outputs]
    if missing:
        raise ServingError(f"the answer of '{signature}' lacks output(s) {missing} (it has "
                           f"{sorted(outputs)}); is the model a tfvisrec export?",
                           grpc.StatusCode.UNKNOWN)
    return outputs


def _strings(values) -> np.ndarray:
    """(Nested) sequences of str/bytes -> an object array of UTF-8 bytes, same shape."""
    array = np.array(values, dtype=object)
    flat = [v.encode("utf-8") if isinstance(v, str) else v for v in array.reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(array.shape)

