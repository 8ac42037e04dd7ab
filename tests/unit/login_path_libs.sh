#!/bin/sh
# The programs every login executes (jsandbox-root at each PAM step,
# jsandbox-session for each session) must not link libsystemd: it and the
# five libraries it needs cost about 1.4 ms of mapping and relocation at
# every exec (docs/benchmarks.md), and only a container's start on a
# systemd host uses it (lib/sdscope.c loads it then, with dlopen).
#
#   login_path_libs.sh BINARY...
set -eu
fail=0
for f in "$@"; do
	needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	case " $needed" in
	*" libsystemd.so"*)
		echo "not ok - $f links libsystemd (NEEDED: $needed)"
		fail=1
		;;
	*) echo "ok - $f does not link libsystemd (NEEDED: $needed)" ;;
	esac
done
exit "$fail"
