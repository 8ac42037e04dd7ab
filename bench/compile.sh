#!/bin/sh
# The compile job of bench/run.sh: this repository's C sources (copied next
# to this script) compiled with gcc -O2, JOBS at a time (default: the number
# of CPUs), PASSES times:  compile.sh [PASSES [JOBS]]. The project's
# directories are -iquote: ctl/spawn.h must not hide <spawn.h>.
# Prints the elapsed wall time in nanoseconds. The same script runs on the
# host and inside a container, in the same directory (the home directory is
# the host's in both).
set -eu
cd "$(dirname "$0")"
passes=${1:-1}
jobs=${2:-$(nproc)}
rm -rf out && mkdir out
t0=$(date +%s%N)
i=0
while [ "$i" -lt "$passes" ]; do
	printf '%s\0' lib/*.c conf/*.c root/*.c helper/*.c ctl/*.c pam_module/*.c | xargs -0 -P "$jobs" -I{} sh -c \
		'f={}; exec gcc -O2 -g -pipe -std=gnu11 -D_GNU_SOURCE -DJSANDBOX_CONFIG="\"/etc/jsandbox.conf\"" \
		-DJSANDBOX_LIBEXECDIR="\"/usr/libexec/jsandbox\"" -DJSANDBOX_VERSION="\"0\"" \
		-iquote lib -iquote conf -iquote root -iquote helper -iquote ctl -I/usr/include/iniparser -c "$f" -o "out/$(echo "$f" | tr / _).o"'
	i=$((i + 1))
done
t1=$(date +%s%N)
rm -rf out
echo $((t1 - t0))
