#!/usr/bin/env python3
"""Regenerates the activation-file fixtures in tests/data/io/ with real NumPy.

Usage:
  scripts/make-test-fixtures.py                 # (re)write tests/data/io/*
  scripts/make-test-fixtures.py --verify BIN    # run BIN (the nladc_tests binary) to write
                                                # files with nladc, then load them with NumPy

The test suite itself never needs Python: it reads only the committed files.
Expected values are repeated by hand in tests/io/test_activations.cpp.
"""
import argparse
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "io")

# Exactly representable in float16, float32 and float64.
MATRIX = np.array([[0.5, -1.25, 3.0], [1024.0, -0.0078125, 6.5]])

F16_SPECIALS = np.array(
    [0.0, -0.0, 2.0**-24, 2.0**-14 - 2.0**-24, 2.0**-14, 65504.0, -65504.0,
     np.inf, -np.inf, np.nan, 1.0 / 3.0, -2.0**-20],
    dtype=np.float64)


def save(name, array, **kwargs):
    path = os.path.join(OUT, name)
    if kwargs:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, array, allow_pickle=False, **kwargs)
    else:
        np.save(path, array, allow_pickle=False)


def generate():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))

    # dtype x byte order x memory order, shape (2, 3).
    for code in ("f2", "f4", "f8"):
        for order_char, order_name in (("<", "le"), (">", "be")):
            a = MATRIX.astype(order_char + code)
            save(f"m_{code}_{order_name}_c.npy", np.ascontiguousarray(a))
            save(f"m_{code}_{order_name}_f.npy", np.asfortranarray(a))

    save("f16_specials_le.npy", F16_SPECIALS.astype("<f2"))
    save("f16_specials_be.npy", F16_SPECIALS.astype(">f2"))
    save("tenth_f4.npy", np.array([0.1, -0.1, 1e-40, 3.4e38], dtype="<f4"))  # 1e-40: float32 subnormal
    save("tenth_f8.npy", np.array([0.1, -0.1, 5e-324, 1.7976931348623157e308], dtype=">f8"))
    save("scalar_f4.npy", np.array(2.5, dtype="<f4"))  # 0-d
    save("empty_f4.npy", np.zeros((0, 3), dtype="<f4"))
    save("cube_f4_f.npy", np.asfortranarray(np.arange(24, dtype="<f4").reshape(2, 3, 4)))
    save("v2_f4.npy", np.array([1.0, 2.0, 3.0], dtype="<f4"), version=(2, 0))
    save("v3_f8.npy", np.array([4.0, 5.0], dtype="<f8"), version=(3, 0))
    save("bad_i8.npy", np.array([1, 2, 3], dtype="<i8"))
    save("bad_c8.npy", np.array([1 + 2j], dtype="<c8"))
    save("bad_u3.npy", np.array(["abc"], dtype="<U3"))
    save("bad_struct.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<f4")]))

    conv1 = np.arange(6, dtype="<f4").reshape(2, 3) / 4
    fc = np.array([-1.5, np.nan, 2.0, np.inf], dtype="<f4")
    np.savez(os.path.join(OUT, "stored.npz"), conv1=conv1, fc=fc)
    big = (np.arange(3000, dtype="<f4") % 17) - 8  # compresses well, still several KiB raw
    np.savez_compressed(os.path.join(OUT, "deflated.npz"), conv1=conv1, big=big,
                        half=np.array([0.5, -0.25], dtype=">f2"))
    np.savez(os.path.join(OUT, "single.npz"), only=np.array([7.0, 8.0], dtype="<f8"))

    # A non-.npy member is ignored by the reader.
    with zipfile.ZipFile(os.path.join(OUT, "mixed.npz"), "w", zipfile.ZIP_STORED) as z:
        buf = io.BytesIO()
        np.save(buf, np.array([1.0, 2.0], dtype="<f4"))
        z.writestr("layer.npy", buf.getvalue())
        z.writestr("meta.json", b'{"note": "not an array"}')

    # zip64 local headers (Python writes zip64 extras when forced).
    with zipfile.ZipFile(os.path.join(OUT, "zip64.npz"), "w", zipfile.ZIP_DEFLATED) as z:
        for name, arr in (("a", np.array([1.0, -1.0], dtype="<f4")), ("b", np.array([9.0], dtype="<f8"))):
            buf = io.BytesIO()
            np.save(buf, arr)
            with z.open(name + ".npy", "w", force_zip64=True) as member:
                member.write(buf.getvalue())

    # stored.npz with one data byte of 'fc' flipped: the CRC-32 must catch it.
    with open(os.path.join(OUT, "stored.npz"), "rb") as f:
        data = bytearray(f.read())
    with zipfile.ZipFile(os.path.join(OUT, "stored.npz")) as z:
        info = z.getinfo("fc.npy")
    local = info.header_offset
    name_len = int.from_bytes(data[local + 26:local + 28], "little")
    extra_len = int.from_bytes(data[local + 28:local + 30], "little")
    data_start = local + 30 + name_len + extra_len
    data[data_start + info.file_size - 1] ^= 0x40  # last byte of the float data
    with open(os.path.join(OUT, "corrupt_crc.npz"), "wb") as f:
        f.write(data)

    with open(os.path.join(OUT, "one_per_line.csv"), "w") as f:
        f.write("0.5\n-1.25\n\n3e2\n  7  \n")
    with open(os.path.join(OUT, "rows.csv"), "w") as f:
        f.write("# activations of layer 3\n1, 2, 3\n4,5,6   # trailing comment\n\n7 8\t9\n")
    with open(os.path.join(OUT, "nan_tokens.txt"), "w") as f:
        f.write("1.0 NaN inf\n-Inf 2.0 nan\n")

    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {OUT}")


def verify(test_binary):
    """Files written by nladc (write_npy / write_npz) must load in NumPy."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NLADC_WRITE_SAMPLES_DIR=tmp)
        subprocess.run([test_binary, "[io-write-samples]"], env=env, check=True)
        expected = {
            "written.npy": np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5,
            "written_1d.npy": np.array([1.5, -0.0, 3.25e-3, 1e30], dtype=np.float32),
            "written_0d.npy": np.array(42.0, dtype=np.float32),
        }
        for name, want in expected.items():
            got = np.load(os.path.join(tmp, name))
            assert got.dtype == np.float32 and got.shape == want.shape, (name, got.dtype, got.shape)
            assert np.array_equal(got, want), (name, got, want)
        layers = {"conv1": np.arange(12, dtype=np.float32).reshape(3, 4) / 8,
                  "fc": np.array([-1.0, 2.0], dtype=np.float32)}
        for name in ("written.npz", "written_zip64.npz"):
            with np.load(os.path.join(tmp, name)) as npz:
                assert sorted(npz.files) == sorted(layers), (name, npz.files)
                for layer, want in layers.items():
                    assert np.array_equal(npz[layer], want) and npz[layer].dtype == np.float32, (name, layer)
            with zipfile.ZipFile(os.path.join(tmp, name)) as z:
                assert z.testzip() is None, name
        print("numpy loads every file written by nladc: OK")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verify", metavar="NLADC_TESTS", help="verify files written by nladc with NumPy")
    args = parser.parse_args()
    if args.verify:
        verify(args.verify)
    else:
        generate()


if __name__ == "__main__":
    sys.exit(main())
