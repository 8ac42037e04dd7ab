#!/bin/bash
# Issue 10 item 7: a layer no reset could remove. 5000 nested directories
# made inside (and a wide directory of them) made jsandboxctl reset fail
# with "Too many open files" (two fds a level) or "too deep". Now the walk
# holds a bounded number of fds: reset works at ulimit -n 64, removes
# everything, follows no link, and the next login starts afresh.
. "$(dirname "$0")/lib_layer.sh"
USERS=$JSB_RUN/state/users
DECOY=$JSB_RUN/sec-deep-decoy
rm -rf "$DECOY"
install -d -m 0755 "$DECOY"
echo keep >"$DECOY/file"
EXTRA_CLEANUP="rm -rf '$DECOY'"
# as alice (no root needed) in /var/tmp of her layer: 5000 levels, a file
# and a link to the host's decoy on the way, 300 siblings at the top
works "alice makes 5000 nested directories in her layer" "$A" "cd /var/tmp && python3 -c '
import os
os.mkdir(\"jsbsec-deep\"); os.chdir(\"jsbsec-deep\")
for i in range(300):
    os.mkdir(\"w%d\" % i)
    open(\"f%d\" % i, \"w\").close()
for i in range(5000):
    os.mkdir(\"d\"); os.chdir(\"d\")
    if i % 500 == 0:
        open(\"f\", \"w\").close()
        os.symlink(\"$DECOY\", \"link\")
'"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
check "the tree is in the layer" test -d "$USERS/$A/upper/var/tmp/jsbsec-deep/d/d/d/d"
out=$(bash -c "ulimit -n 64 && exec '$JSB_CTL' reset $A" 2>&1)
rc=$?
check "jsandboxctl reset at ulimit -n 64 works (rc $rc: $out)" test "$rc" = 0
check "the layer is gone" test ! -e "$USERS/$A/upper"
check "the host files the links pointed at are untouched" test "$(cat "$DECOY/file")" = keep
works "alice logs in to a fresh layer, with sudo" "$A" "test ! -e /var/tmp/jsbsec-deep && sudo -n true"
# and an ordinary reset of a normal layer still does its job
works "alice installs a file" "$A" "sudo -n touch /jsbsec-normal"
check "reset of a normal layer" "$JSB_CTL" reset "$A"
works "the file is gone" "$A" "test ! -e /jsbsec-normal"
"$JSB_CTL" stop "$A" >/dev/null 2>&1
finish
