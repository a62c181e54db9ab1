#!/usr/bin/env bash
# Builds the fuzz targets with clang (libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer)
# in BUILD_DIR and runs each for SECONDS on a corpus seeded with the project's own inputs.
#   tests/fuzz/run.sh SOURCE_DIR BUILD_DIR [SECONDS]
set -euo pipefail
source_dir=$1
build=$2
seconds=${3:-60}
cmake -S "$source_dir" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DRATESIM_FUZZ=ON \
  -DBUILD_SHARED_LIBS=OFF -DRATESIM_BUILD_TESTS=OFF -DRATESIM_BUILD_EXAMPLES=OFF \
  -DRATESIM_BUILD_PYTHON=OFF -DRATESIM_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target config_fuzzer idx_fuzzer numpy_fuzzer hdf5_fuzzer \
  checkpoint_fuzzer
mkdir -p "$build"/corpus/config "$build"/corpus/idx "$build"/corpus/numpy "$build"/corpus/hdf5 \
  "$build"/corpus/checkpoint
cp "$source_dir"/examples/*.toml "$source_dir"/examples/plugin/*.toml "$build"/corpus/config/
# Seeds for the IDX reader: a tiny valid image file and a label file.
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05\x06\x07\x08' \
  >"$build"/corpus/idx/images.idx
printf '\x00\x00\x08\x01\x00\x00\x00\x03\x07\x00\x03' >"$build"/corpus/idx/labels.idx
# Seeds for the NumPy and CSV readers: a tiny .npy file (version 1.0, u1, [2, 2]), an .npz
# archive of it as np.savez writes one (stored, Python's zipfile) and a CSV file.
python3 - "$build"/corpus/numpy <<'SEEDS'
import struct, sys, zipfile
d = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }".ljust(117) + "\n"
npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d)) + d.encode() + bytes([1, 2, 3, 4])
open(sys.argv[1] + "/x.npy", "wb").write(npy)
with zipfile.ZipFile(sys.argv[1] + "/x.npz", "w") as z:
    z.writestr("x.npy", npy)
SEEDS
printf 'a,b\n1,2\n3,4\n' >"$build"/corpus/numpy/x.csv
# -rss_limit_mb and -timeout turn runaway memory or time into failures too; a failing
# input is written to BUILD_DIR (-artifact_prefix), not into the working directory.
for target in config idx numpy hdf5 checkpoint; do
  echo "== ${target}_fuzzer, ${seconds} s"
  "$build"/tests/fuzz/${target}_fuzzer "$build"/corpus/$target -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$build/" -print_final_stats=1 2>&1 | tail -6
done
