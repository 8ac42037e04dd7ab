#!/bin/bash
# Every test, as CI runs them: a normal build and an ASan+UBSan build, each
# configured with a scratch install prefix and config path inside the build
# directory, built with warnings as errors, and run with ctest (which
# installs the build and runs the unit, jsandboxctl and end-to-end tests).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
# On a fresh machine the build and test dependencies come first.
"$src/.ci/install-deps" --if-missing
jobs=$(nproc)
run() { # NAME BUILD-DIR [cmake args...]
	local name=$1 b=$2
	shift 2
	echo "=== $name build ($b)"
	cmake -S "$src" -B "$b" -DCMAKE_INSTALL_PREFIX="$b/prefix" -DJSANDBOX_CONFIG="$b/etc/jsandbox.conf" "$@"
	cmake --build "$b" -j"$jobs"
	ctest --test-dir "$b" --output-on-failure
}
run normal "$src/build"
# Under the sanitizers the module would have to be loaded into an
# uninstrumented sshd; the end-to-end suite runs in the normal build.
run sanitize "$src/build-asan" -DJSANDBOX_SANITIZE=ON -DJSANDBOX_E2E=OFF
# A third build with clang for the libFuzzer targets (tests/fuzz): the
# committed corpus as a regression test, then each target fuzzed for
# FUZZ_SECONDS (default 60).
echo "=== fuzz build ($src/build-fuzz)"
CC=clang cmake -S "$src" -B "$src/build-fuzz" -DJSANDBOX_FUZZ=ON -DJSANDBOX_E2E=OFF \
	-DCMAKE_INSTALL_PREFIX="$src/build-fuzz/prefix" -DJSANDBOX_CONFIG="$src/build-fuzz/etc/jsandbox.conf"
cmake --build "$src/build-fuzz" -j"$jobs" --target fuzz_policy fuzz_subid
ctest --test-dir "$src/build-fuzz" -R '^fuzz_corpus_' --output-on-failure
"$src/tests/fuzz/run.sh" "$src/build-fuzz" "${FUZZ_SECONDS:-60}"
