"""`python -m tfvisrec.client`: the shop's client from the command line; prints JSON.

    python -m tfvisrec.client recommend --target localhost:8500 --model dvbpr --user customer-42 --k 10
    python -m tfvisrec.client score --model dvbpr --user customer-42 --items a b c
    python -m tfvisrec.client score-images --model dvbpr --user customer-42 --images new.jpg
    python -m tfvisrec.client explain --model saers --user customer-42 --item a
    python -m tfvisrec.client generate --model dvbpr --user customer-42 --category top --n 2 --out_dir designs
    python -m tfvisrec.client tailor --model dvbpr --user customer-42 --image shirt.jpg --category top
    python -m tfvisrec.client outfit-score --model pan --user customer-42 --images top.jpg bottom.jpg shoes.jpg
    python -m tfvisrec.client --model dvbpr status

The connection options (--target, --model, --version, --label, --timeout, --retries) go before
or after the command. explain is answered by SAERS exports, generate and tailor by design exports
(a DVBPR exported with the GAN: they write PNGs into --out_dir and print the scores), outfit-score
by PAN / FHN exports. Calling a signature the model does not export fails with
"model '...' does not export the '...' signature". recommend prints a row per user given, in
order (`[{"user_id": "u", "items": [{"item_id": "a", "score": 1.2}, …]}, …]`), and score,
score-images and embed a row per item or file given (`[{"item_id": "a", "score": 1.2}, …]`):
one named twice is answered twice, as the served signatures and `RecommenderClient` do.

Exit status: 0 on success, 1 when the call fails with a gRPC status (printed as
`error: CODE: message`): an error the server answered, or UNAVAILABLE / DEADLINE_EXCEEDED
when no server answered in --timeout, 2 on bad command-line use or an image file that cannot be read or is
not a JPEG, PNG, GIF, BMP or WebP file, or is one cut short or damaged (`error: FILE: ...`; checked
before anything is sent),
130 on Ctrl-C (one line saying what stopped, no traceback; a call waiting on the server is
abandoned).
"""
import argparse
import base64
import json
import os
import re
import sys
from typing import List, Optional

import numpy as np

from tfvisrec import atomic
from tfvisrec.client.image_files import read_image
from tfvisrec.client.recommender import RecommenderClient
from tfvisrec.client.status import NotAnImage, ServingError
from tfvisrec.interruption import INTERRUPTED_STATUS, interrupt_behind, print_interrupted

PROG = "python -m tfvisrec.client"


def _connection_options(parser: argparse.ArgumentParser, with_defaults: bool) -> None:
    """The options of every command; a command's own copy has no defaults, so a value given
    before the command is kept unless the same option follows the command."""
    def default(value):
        return value if with_defaults else argparse.SUPPRESS

    group = parser.add_argument_group("connection (before or after the command)")
    group.add_argument("--target", default=default("localhost:8500"),
                       help="server host:port (default localhost:8500)")
    group.add_argument("--model", default=default("demo"), help="served model name (default demo)")
    group.add_argument("--version", type=int, default=default(None),
                       help="pin a version (default: the latest)")
    group.add_argument("--label", default=default(None), help="pin a version label")
    group.add_argument("--timeout", type=float, default=default(10.0),
                       help="seconds per call, retries included (default 10)")
    group.add_argument("--retries", type=int, default=default(3),
                       help="retries on UNAVAILABLE and CANCELLED (default 3)")


def _absl_help_names(parser: argparse.ArgumentParser) -> None:
    """--helpshort and --helpfull print the help and exit 0, as in every other command line
    (absl's); argparse took them for a missing command (exit 2)."""
    parser.add_argument("--helpshort", "--helpfull", action="help", help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _absl_help_names(parser)
    _connection_options(parser, with_defaults=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    def command(name, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        _absl_help_names(p)
        _connection_options(p, with_defaults=False)
        return p

    p = command("recommend", "top-k items for users: a row per user given, in order")
    p.add_argument("--user", action="append", required=True, help="user id (repeatable)")
    p.add_argument("--k", type=int, default=10, help="items per user (default 10; at most the K fixed at export)")
    p = command("score", "scores of catalogue items for a user: a row per item given, in order")
    p.add_argument("--user", required=True)
    p.add_argument("--items", nargs="+", required=True)
    p = command("score-images", "scores of new items (image files) for a user: a row per file given, in order")
    p.add_argument("--user", required=True)
    p.add_argument("--images", nargs="+", required=True, help="JPEG/PNG files")
    p = command("embed", "item vectors of image files: a row per file given, in order")
    p.add_argument("--images", nargs="+", required=True)
    p = command("explain", "why an item suits a user (SAERS exports): attention weight, predicted value (with the "
                           "attribute classifier's probability of it) and box per attribute, ranked by weight")
    p.add_argument("--user", required=True)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--item", help="a catalogue item id")
    what.add_argument("--image", help="a JPEG/PNG file of an item outside the catalogue (explain_images)")
    p = command("generate", "design exports (the GAN): new designs of a category for a user; "
                            "writes PNGs, prints their scores")
    p.add_argument("--user", required=True)
    p.add_argument("--category", required=True)
    p.add_argument("--n", type=int, default=1, help="seeds --seed … --seed+n-1, k designs each")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out_dir", default="generated", help="where PNGs are written")
    p = command("tailor", "design exports (the GAN): an existing item's image moved towards a "
                          "user's taste; writes the strip as PNGs, prints their scores")
    p.add_argument("--user", required=True)
    p.add_argument("--image", required=True, help="JPEG/PNG file of the item")
    p.add_argument("--category", required=True, help="the item's category (the GAN's names)")
    p.add_argument("--out_dir", default="tailored", help="where PNGs are written")
    p = command("outfit-score", "PAN / FHN exports: score of an outfit (one catalogue id, or one "
                                "photo, per slot, e.g. top bottom shoes; \"\" = empty slot) for a user")
    p.add_argument("--user", required=True)
    outfit = p.add_mutually_exclusive_group(required=True)
    outfit.add_argument("--items", nargs="+", help="catalogue ids (outfit_score)")
    outfit.add_argument("--images", nargs="+", help="JPEG/PNG files, items maybe never seen (outfit_score_images; "
                                                    "exports holding the backbone of the model's feature maps)")
    p = command("outfit-item", "PAN / FHN exports: the items of --slot that best complete an "
                               "outfit (--items with \"\" in that slot; an item given there is left out) for a user")
    p.add_argument("--user", required=True)
    p.add_argument("--items", nargs="+", required=True)
    p.add_argument("--slot", required=True, help="the slot to fill, e.g. shoes")
    p.add_argument("--k", type=int, default=10, help="candidates (default 10)")
    command("status", "versions of the model and their state")
    command("metadata", "signatures with input and output dtypes")
    return parser


def _lacks_port(target: str) -> bool:
    """A plain host name or address without `:port` (gRPC's own schemes, `dns:///…`, `unix:…`,
    `ipv4:…`, are left to gRPC)."""
    if "://" in target or target.startswith(("unix:", "unix-abstract:", "ipv4:", "ipv6:", "vsock:")):
        return False
    if target.startswith("["):   # [IPv6]:port
        return not target.rsplit("]", 1)[-1].startswith(":")
    return target.count(":") != 1


def _url_host_port(target: str) -> Optional[str]:
    """The host:port of a URL given as target (http://, https://, grpc://: a REST address or a
    copied link, which gRPC takes for a host name); None for anything else."""
    match = re.match(r"(?i)(?:https?|grpcs?)://([^/?#]*)", target)
    return match.group(1) if match else None


def _read(paths):
    """The bytes of image files, each checked to be an image (`image_files.read_image`)."""
    return [read_image(path) for path in paths]


def _write_png(folder: str, name: str, png: bytes) -> str:
    """Write one PNG into `folder` (made if missing) as the package writes every file
    (`atomic.write_bytes`: a temp file beside it, renamed; a killed run's temp file is removed
    by the next write of that PNG)."""
    path = os.path.join(folder, name)
    atomic.write_bytes(path, png)
    return path


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
    # one row per user or item asked for, in order: one named twice is answered twice, as by
    # the signatures (user [B] → item_ids [B, K]; items [B, N] → scores [B, N]) and the client
    # library
    if args.command == "recommend":
        return [{"user_id": user, "items": [{"item_id": r.item_id, "score": r.score} for r in row]}
                for user, row in zip(args.user, client.recommend_many(args.user, args.k))]
    if args.command == "score":
        return [{"item_id": item, "score": score}
                for item, score in zip(args.items, client.score(args.user, args.items).tolist())]
    if args.command == "score-images":
        return [{"image": image, "score": score} for image, score in
                zip(args.images, client.score_images(args.user, _read(args.images)).tolist())]
    if args.command == "embed":
        return [{"image": image, "item_vector": vector} for image, vector in
                zip(args.images, client.embed_items(_read(args.images)).tolist())]
    if args.command == "explain":
        if args.item is not None:
            return client.explain(args.user, args.item).to_dict()
        return {**client.explain_image(args.user, _read([args.image])[0]).to_dict(), "image": args.image}
    if args.command == "generate":
        made = client.generate(args.user, args.category, args.n, args.seed)
        per_seed = len(made) // args.n
        names = [f"{args.user}-{args.category}-seed{d.seed}-{rank % per_seed}.png"
                 for rank, d in enumerate(made)]
        return {"designs": [{"file": _write_png(args.out_dir, name, d.png), "score": d.score,
                             "objective": d.objective, "seed": d.seed}
                            for name, d in zip(names, made)]}
    if args.command == "tailor":
        strip = client.tailor(args.user, _read([args.image])[0], args.category)
        stem = os.path.splitext(os.path.basename(args.image))[0]
        return {"query_score": strip.query_score, "steps": [
            {"file": _write_png(args.out_dir, f"{stem}-{args.user}-{n:02d}-"
                                              f"{'fit' if s.stage == 1 else 'pref'}{s.step}.png", s.png),
             "stage": "fit" if s.stage == 1 else "preference", "step": s.step, "score": s.score,
             "l1": s.l1} for n, s in enumerate(strip.steps)]}
    if args.command == "outfit-score" and args.images:
        return {"score": client.outfit_score_images(args.user, args.images), "images": args.images}
    if args.command == "outfit-score":
        return {"score": client.outfit_score(args.user, args.items)}
    if args.command == "outfit-item":
        return [{"item_id": r.item_id, "score": r.score}
                for r in client.recommend_outfit_item(args.user, args.items, args.slot, args.k)]
    if args.command == "status":
        return client.status()
    return client.metadata()


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version is not None and args.label:
        parser.error("pass --version or --label, not both")
    if args.command == "generate" and args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    if args.command in ("recommend", "outfit-item") and args.k < 1:
        parser.error(f"--k must be at least 1, got {args.k}")
    if not args.target.strip():
        parser.error("--target is empty: pass the server's host:port, e.g. localhost:8500")
    url_host = _url_host_port(args.target)
    if url_host is not None:
        rest = url_host.endswith(":8501")   # TF Serving's REST port, where its URLs point
        suggestion = (f"{url_host[:-4]}8500 (8501 is TF Serving's REST port)" if rest else
                      f"{url_host or 'localhost'}:8500" if _lacks_port(url_host or "x") else url_host)
        parser.error(f"--target {args.target!r} is a URL: pass the gRPC server's host:port, "
                     f"e.g. {suggestion}")
    if _lacks_port(args.target):   # gRPC would take port 443, TF Serving's is 8500
        host = args.target if args.target.count(":") < 2 or args.target.startswith("[") else f"[{args.target}]"
        parser.error(f"--target {args.target!r} has no port: pass host:port, e.g. {host}:8500")
    if not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds, got {args.timeout}")
    if args.retries < 0:
        parser.error(f"--retries must be 0 or more, got {args.retries}")
    try:
        with RecommenderClient(args.target, model=args.model, version=args.version,
                               version_label=args.label, timeout=args.timeout,
                               retries=args.retries) as client:
            try:
                result = run_command(client, args)
            except NotAnImage as e:
                print(f"error: {e.message}", file=sys.stderr)
                return 2
            except ServingError as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
            except OSError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
        print(json.dumps(_jsonable(result), indent=2))
    except BaseException as e:   # Ctrl-C in a call, its retries' waits, or writing the PNGs
        if interrupt_behind(e) is None:
            raise
        _say_interrupted(args)
        return INTERRUPTED_STATUS
    return 0


def _say_interrupted(args) -> None:
    """The one line a Ctrl-C leaves on stderr: what stopped and what is left."""
    line = f"interrupted: {args.command} stopped before its answer was printed"
    if args.command in ("generate", "tailor"):
        line += f"; any PNG already in {args.out_dir} is whole (each is written to a temp file, then renamed)"
    print_interrupted(line)


def run():
    """Console script `tfvisrec-client` (same as `python -m tfvisrec.client`)."""
    sys.exit(main())
