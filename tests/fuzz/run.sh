#!/bin/bash
# Fuzz each target for a bounded time: tests/fuzz/run.sh BUILD-DIR [SECONDS]
# (default 30 each). The build must be configured with CC=clang
# -DJSANDBOX_FUZZ=ON. New inputs go to a scratch corpus under the build
# directory, seeded from the committed one (tests/fuzz/corpus); a crash
# leaves its input in BUILD-DIR/fuzz-artifacts and fails the run.
set -euo pipefail
b=${1:?usage: run.sh BUILD-DIR [SECONDS]}
secs=${2:-${FUZZ_SECONDS:-30}}
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$b/fuzz-artifacts"
export TMPDIR=${TMPDIR:-/dev/shm}
for t in policy subid layer_tar cdi dpkg; do
	bin=$b/tests/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "no $bin: configure with CC=clang -DJSANDBOX_FUZZ=ON"; exit 1; }
	work=$b/fuzz-corpus/$t
	mkdir -p "$work"
	echo "=== fuzz_$t for ${secs}s"
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$b/fuzz-artifacts/$t-" "$work" "$src/corpus/$t" 2>&1 | tail -15
done
