"""Adapters: known public formats → the canonical records → a dataset folder.

Each module reads one format and calls the same ingest path as `python -m tfvisrec.data
ingest` (`tfvisrec.data.ingest.ingest_records` or `write_items_dataset`), and each is a
subcommand of that CLI:

- `hm`: H&M Personalized Fashion Recommendations (transactions, articles, photo archive);
- `dvbpr_npy`: the partitioned `.npy` pickles of DVBPR (Amazon fashion, given split);
- `catalogue`: a labelled catalogue without users (Fashion Product Images).
"""
ADAPTERS = ("hm", "dvbpr_npy", "catalogue")
