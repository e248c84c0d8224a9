"""`python -m tfvisrec.client`: the shop's client from the command line; prints JSON.

    python -m tfvisrec.client --model dvbpr recommend --user customer-42 --k 10
    python -m tfvisrec.client --model dvbpr score --user customer-42 --items a b c
    python -m tfvisrec.client --model dvbpr score-images --user customer-42 --images new.jpg
    python -m tfvisrec.client --model dvbpr status

Exit status: 0 on success, 1 when the server answers with an error (printed as
`error: CODE: message`), 2 on bad command-line use.
"""
import argparse
import base64
import json
import os
import sys
from typing import List, Optional

import numpy as np

from tfvisrec.client import RecommenderClient
from tfvisrec.serving.status import ServingError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tfvisrec.client", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="localhost:8500", help="server host:port")
    parser.add_argument("--model", default="demo", help="served model name")
    parser.add_argument("--version", type=int, default=None, help="pin a version")
    parser.add_argument("--label", default=None, help="pin a version label")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call")
    parser.add_argument("--retries", type=int, default=3, help="retries on UNAVAILABLE")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("recommend", help="top-k items for users")
    p.add_argument("--user", action="append", required=True, help="user id (repeatable)")
    p.add_argument("--k", type=int, default=10)
    p = sub.add_parser("score", help="scores of catalogue items for a user")
    p.add_argument("--user", required=True)
    p.add_argument("--items", nargs="+", required=True)
    p = sub.add_parser("score-images", help="scores of new items (image files) for a user")
    p.add_argument("--user", required=True)
    p.add_argument("--images", nargs="+", required=True, help="JPEG/PNG files")
    p = sub.add_parser("embed", help="item vectors of image files")
    p.add_argument("--images", nargs="+", required=True)
    p = sub.add_parser("explain", help="why an item suits a user")
    p.add_argument("--user", required=True)
    p.add_argument("--item", required=True)
    p = sub.add_parser("generate", help="new designs for a user (PNG files)")
    p.add_argument("--user", required=True)
    p.add_argument("--category", required=True)
    p.add_argument("--n", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out_dir", default="generated", help="where PNGs are written")
    p = sub.add_parser("outfit-score", help="score of an outfit for a user")
    p.add_argument("--user", required=True)
    p.add_argument("--items", nargs="+", required=True)
    sub.add_parser("status", help="versions of the model and their state")
    sub.add_parser("metadata", help="signatures with input and output dtypes")
    return parser


def _read(paths):
    out = []
    for path in paths:
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def run_command(client: RecommenderClient, args) -> object:
    if args.command == "recommend":
        rows = client.recommend_many(args.user, args.k)
        return {u: [{"item_id": r.item_id, "score": r.score} for r in row]
                for u, row in zip(args.user, rows)}
    if args.command == "score":
        return dict(zip(args.items, client.score(args.user, args.items).tolist()))
    if args.command == "score-images":
        return dict(zip(args.images, client.score_images(args.user, _read(args.images)).tolist()))
    if args.command == "embed":
        return dict(zip(args.images, client.embed_items(_read(args.images)).tolist()))
    if args.command == "explain":
        return client.explain(args.user, args.item)
    if args.command == "generate":
        out = client.generate(args.user, args.category, args.n, args.seed)
        os.makedirs(args.out_dir, exist_ok=True)
        files = []
        for i, png in enumerate(out.get("images", [])):
            path = os.path.join(args.out_dir, f"{args.user}-{args.category}-{args.seed + i}.png")
            with open(path, "wb") as f:
                f.write(png)
            files.append(path)
        return {"files": files, **{k: v for k, v in out.items() if k != "images"}}
    if args.command == "outfit-score":
        return {"score": client.outfit_score(args.user, args.items)}
    if args.command == "status":
        return client.status()
    return client.metadata()


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    with RecommenderClient(args.target, model=args.model, version=args.version,
                           version_label=args.label, timeout=args.timeout,
                           retries=args.retries) as client:
        try:
            result = run_command(client, args)
        except ServingError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except OSError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    print(json.dumps(_jsonable(result), indent=2))
    return 0
