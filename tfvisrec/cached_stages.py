"""Stages built once into a cache folder: each in a temporary sibling folder, renamed into place
when complete, its `manifest.json` (every file and its size) written last.

A folder whose manifest is missing or does not match its files (a killed build of an older
version, a truncated file) reads as absent (`read_manifest` → None), so it is rebuilt, never
used. The caller holds a lock while it reads and builds (`default_world.py`: an `fcntl.flock`
per stage). The temporary folder is a held one (`tfvisrec.temp_folders`, as every writer's):
a build killed before its rename leaves it, marked as its own, and the next build of the stage
removes it, never one whose writer still runs.
"""
import json
import os
import shutil
import time
from typing import Callable, Dict, Optional

from tfvisrec import temp_folders
from tfvisrec.atomic import publish_folder

MANIFEST = "manifest.json"


# Where default_cache_dir looks, in order, as the command lines' help texts say it.
CACHE_LOCATIONS = "$TFVISREC_CACHE, else $XDG_CACHE_HOME/tfvisrec, else ~/.cache/tfvisrec"


def default_cache_dir() -> str:
    """$TFVISREC_CACHE, else $XDG_CACHE_HOME/tfvisrec, else ~/.cache/tfvisrec."""
    if os.environ.get("TFVISREC_CACHE"):
        return os.environ["TFVISREC_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfvisrec")


def stage_path(cache_dir: str, name: str) -> str:
    """The absolute path of stage `name` in `cache_dir` (default: `default_cache_dir()`, created if missing)."""
    cache_dir = os.path.abspath(cache_dir or default_cache_dir())
    os.makedirs(cache_dir, exist_ok=True)
    return os.path.join(cache_dir, name)


def read_manifest(root: str) -> Optional[Dict]:
    """The stage's recorded info if `root` holds a complete stage (its manifest lists exactly
    files that exist with their recorded sizes), else None."""
    try:
        with open(os.path.join(root, MANIFEST), encoding="utf-8") as f:
            manifest = json.load(f)
        files = manifest["files"]
        for relative, size in files.items():
            if os.path.getsize(os.path.join(root, relative)) != size:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return manifest.get("info", {})


def build_stage(root: str, build: Callable[[str], Dict], info: Dict) -> Dict:
    """Run `build(tmp)` in a temporary sibling of `root`, write the manifest, rename into place
    (replacing an incomplete `root`). Call with the lock held."""
    parent, name = os.path.split(root)
    prefix = f".{name}.tmp-"
    temp_folders.remove_abandoned(parent, prefix)   # of killed builds
    started = time.time()
    with temp_folders.held_temp_folder(parent, prefix) as tmp:
        try:
            info = {**info, **build(tmp), "seconds": round(time.time() - started, 1)}
            files = {}
            for folder, _, names in os.walk(tmp):
                for n in names:
                    path = os.path.join(folder, n)
                    files[os.path.relpath(path, tmp)] = os.path.getsize(path)
            with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
                json.dump({"files": files, "info": info}, f, indent=1, sort_keys=True)
            publish_folder(tmp, root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return info
