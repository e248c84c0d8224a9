"""Serving: the exported servable, its signatures, and the TF-Serving-protocol model server.

`servable.Servable` is the `tf.Module` written by `python -m tfvisrec.export`; its signatures
come from the registry in `signatures.py`. The embedded server (`python -m tfvisrec.server`)
serves any SavedModel over TF Serving's gRPC API, and `tfvisrec.client` talks to it or to TF
Serving itself. See ../shared/DESIGN.md, "Serving contract".
"""
