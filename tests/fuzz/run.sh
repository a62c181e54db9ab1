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
cmake --build "$build" -j "$(nproc)" --target config_fuzzer
corpus=$build/corpus/config
mkdir -p "$corpus"
cp "$source_dir"/examples/*.toml "$source_dir"/examples/plugin/*.toml "$corpus"/
# -rss_limit_mb and -timeout turn runaway memory or time into failures too.
"$build"/tests/fuzz/config_fuzzer "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 2>&1 | tail -20
