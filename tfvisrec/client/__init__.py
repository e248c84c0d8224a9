"""The gRPC client a shop uses; works against TF Serving and the embedded server alike.

    from tfvisrec.client import RecommenderClient
    with RecommenderClient("localhost:8500", model="dvbpr") as client:
        for item_id, score in client.recommend("customer-42", k=10):
            ...
        client.score("customer-42", ["item-1", "item-2"])        # -> np.ndarray [2]
        client.score_images("customer-42", [open("new.jpg", "rb").read()])

Every call is one Predict over TF Serving's PredictionService with the signature and input
names of the serving contract (`tfvisrec.serving.signatures`). Calls have a deadline
(`timeout`, seconds, for the whole call including retries); UNAVAILABLE (server starting,
restarting, unreachable) and CANCELLED (a call that reached a server in the instant it stopped;
every call of this client only reads, so it is safe to send again) are retried with exponential
backoff; every other failure raises the exception of its status code: `NotFound`
(model/version), `InvalidArgument` (bad input, unknown id, bad k, undecodable image; its
`NotAnImage`: a file given by path that is not a JPEG, PNG, GIF, BMP or WebP, or one cut short
or damaged, refused unsent),
`MissingSignature` (a `FailedPrecondition`: the model does not export the signature called),
`DeadlineExceeded`, `ResourceExhausted` (message too big).
`explain` (an `Explanation` record; `explain_image` for a photo) is served by SAERS exports,
`generate` and `tailor` by design exports (a DVBPR exported with the GAN: their images come
back decoded, as `Design` / `Tailoring` records), `outfit_score` and `recommend_outfit_item` by
PAN / FHN exports, `outfit_score_images` (an outfit of photos) by those holding their backbone.

The client needs numpy, grpcio and the protos only: it never loads the TensorFlow runtime
(`protos`). Command line: `python -m tfvisrec.client --help` (`cli`; `run` is the console
script `tfvisrec-client`).
"""
from tfvisrec.client.cli import run
from tfvisrec.client.explanation import Explanation
from tfvisrec.client.designs import Design, Tailoring, TailoringStep
from tfvisrec.client.recommender import Recommendation, RecommenderClient
from tfvisrec.client.status import (Cancelled, DeadlineExceeded, FailedPrecondition, Internal,
                                    InvalidArgument, MissingSignature, NotAnImage, NotFound,
                                    ResourceExhausted, ServingError, Unavailable, Unimplemented)

__all__ = ["RecommenderClient", "Recommendation", "Explanation", "Design", "Tailoring", "TailoringStep",
           "ServingError", "InvalidArgument", "NotAnImage", "NotFound",
           "FailedPrecondition", "MissingSignature", "Unavailable", "DeadlineExceeded",
           "ResourceExhausted", "Unimplemented", "Internal", "Cancelled", "run"]
