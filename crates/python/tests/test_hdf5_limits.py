"""fpe.datasets.load_h5 on a file that declares far more data than it holds: a few KB of HDF5
metadata describing chunked, never-written datasets of 10**12 rows × 8 float32 columns (32 TB
declared, beyond any machine). Loading it whole raises an ordinary Python exception (the Rust
loader sizes each read from the declared shape and refuses it beyond the memory available)
instead of aborting the interpreter on a failed allocation; with row caps only the capped rows
are read, and they hold the fill value 0.

The file is built with h5py where it is installed. The test venv (Debian's python3, see
tests/run.sh) has no h5py, so the same file is also embedded here (zlib + base64, 456 bytes),
as h5py 3.16 wrote it with ``huge_with_h5py`` below; either way the test runs, never skips.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import numpy as np
import pytest

import fpe

ROWS = 10**12

# huge_with_h5py's file as h5py 3.16 (HDF5 2.0) wrote it, zlib-compressed and base64-encoded.
HUGE_H5 = (
    "eNrtmDFLw0AUx+9yDcaSagpC1cWYqYMfwLFiqxnEFnUQRGyRgIK20HRQFx3r1i8h9CP0Izg6ODg6+hHcai5519xFbUtB"
    "VPp+GR5397hrXv55/9B7t7iVSS+nCccwSIpYRKYP2KvqWKxXIVKIbYhdTcyzcG0R5i3YvwfHnMH8wV6pxLP7CcQ5r3oU"
    "DYJMI25po8LjIYyFnh41Na/VrJ3XefT8lqzLwoTn0vCKz8uCfl0G+tXH0++6IfSPoH5jPbV1Ne8K4nWir06q3/3dcpES"
    "baC7TlrdtwfjF1PtrzZT85J6nzYo0aNaUDHOR1GDCevh+U32p8SYBU+cZ2btlcBjwwqTnEFyt7CuB5l8XWPRhgYohGls"
    "0EpS0XYpVSm/g9CVuL/8zPB8ob+7WewFw3UVPXdKVV2JyIJK8hXLENoqjNCPFlsRlT+fOn+0Hl/7bbJPjfLb6hz6Lfrt"
    "Z799N3/Wb9EnhvtEJTOeT3TnUcPoE98jfCH5f4NJXKiPSRaC2zi9qPn+Sb126fnh/FJQLwt0RqUvXvHec9nZ2bgXbG+W"
    "d6gkTDmPc+TceM2Gs2Y7jbrnHA9+3xPqF0EQBEEQBEEQBEH+DR/PjKu0"
)


def huge_with_h5py(path: Path) -> bool:
    """Writes the file with h5py; False where h5py is not installed."""
    try:
        import h5py
    except ImportError:
        return False
    with h5py.File(path, "w") as f:
        for split in ("train", "test"):
            f.create_dataset(f"{split}/x", shape=(ROWS, 8), dtype="f4", chunks=(1024, 8))
            f.create_dataset(f"{split}/y", shape=(ROWS,), dtype="i8", chunks=(65536,))
        f.attrs["class_names"] = json.dumps(["zero", "one"])
    return True


@pytest.fixture(params=["h5py", "embedded"])
def huge(request, tmp_path) -> Path:
    path = tmp_path / "huge.h5"
    if request.param == "h5py" and huge_with_h5py(path):
        return path
    path.write_bytes(zlib.decompress(base64.b64decode(HUGE_H5)))
    return path


def test_a_huge_declared_shape_raises_instead_of_aborting(huge):
    assert huge.stat().st_size < 100_000
    # A Rust panic would surface as pyo3's PanicException (a BaseException), and an abort would
    # end the interpreter; the refusal is a MemoryError naming the file and the sizes.
    with pytest.raises(MemoryError) as info:
        fpe.datasets.load_h5(huge)
    msg = str(info.value)
    for words in [str(huge), "train/x", f"[{ROWS}, 8]", f"{ROWS * 8 * 4} bytes", "available"]:
        assert words in msg, msg


def test_row_caps_read_only_the_capped_rows(huge):
    d = fpe.datasets.load_h5(huge, max_train=100, max_test=5)
    assert d["x_train"].shape == (100, 8) and d["x_test"].shape == (5, 8)
    assert not d["x_train"].any() and not d["x_test"].any()
    assert d["y_train"].shape == (100,) and not np.any(d["y_train"])
    assert d["class_names"] == ["zero", "one"]
