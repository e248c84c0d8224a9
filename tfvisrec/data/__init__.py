"""Data layer: canonical CSVs → dataset folders (TFRecords, arrays, split) → tf.data pipelines."""
