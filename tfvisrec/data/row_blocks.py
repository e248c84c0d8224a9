"""A large array as consecutive blocks of its rows, from memory or from a `.npy` file, so that
whoever copies it somewhere else holds one block at a time beside the copy, never two wholes.

Numpy only (no TensorFlow).
"""
from typing import Iterator, Optional, Tuple

import numpy as np

BLOCK_BYTES = 16 << 20   # rows per block: about this many bytes (at least one row)

Block = Tuple[int, np.ndarray]   # (index of its first row, the rows)


def rows_per_block(shape, dtype, block_bytes: Optional[int] = None) -> int:
    """Rows of `shape` and `dtype` in about `block_bytes` (default `BLOCK_BYTES`), at least one."""
    block_bytes = BLOCK_BYTES if block_bytes is None else block_bytes
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize
    return max(1, block_bytes // max(1, row_bytes))


def array_blocks(array: np.ndarray, block_bytes: Optional[int] = None) -> Iterator[Block]:
    """Consecutive row blocks of `array` (views, no copy)."""
    step = rows_per_block(array.shape, array.dtype, block_bytes)
    for start in range(0, len(array), step):
        yield start, array[start:start + step]


def npy_blocks(path: str, block_bytes: Optional[int] = None) -> Tuple[Tuple[int, ...], np.dtype, Iterator[Block]]:
    """(shape, dtype, row blocks) of the `.npy` file at `path`. Its header is read (and its length
    checked) now, its data block by block as the blocks are taken, each read from the file into a
    fresh array: no mapping of the whole file is left resident meanwhile. Errors are numpy's own
    (ValueError for a damaged header, a pickled array or a file cut short; OSError)."""
    header = np.load(path, mmap_mode="r", allow_pickle=False)   # checks the length; reads no data
    shape, dtype, offset = header.shape, header.dtype, header.offset
    if not header.flags.c_contiguous:   # Fortran order: a row's numbers are not consecutive in the file
        return shape, dtype, ((start, np.array(rows)) for start, rows in array_blocks(header, block_bytes))
    del header
    return shape, dtype, _read_blocks(path, offset, shape, dtype, block_bytes)


def _read_blocks(path, offset, shape, dtype, block_bytes) -> Iterator[Block]:
    step = rows_per_block(shape, dtype, block_bytes)
    with open(path, "rb") as f:
        f.seek(offset)
        for start in range(0, shape[0], step):
            rows = np.empty((min(step, shape[0] - start), *shape[1:]), dtype)
            view = memoryview(rows.reshape(-1).view(np.uint8))
            done = 0
            while done < len(view):
                count = f.readinto(view[done:])
                if not count:
                    raise ValueError(f"the array data ends early, at row {start} of {shape[0]}")
                done += count
            yield start, rows
