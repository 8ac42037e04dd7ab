#!/bin/bash
# Fixture: users, config, cached base image, syslog collector, private sshd.
. "$(dirname "$0")/lib.sh"
need_root
for t in ssh sshd mmdebstrap python3; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || skip "$t is not installed"
done
install -d -m 0755 "$JSB_RUN"
write_config
ensure_image || { echo "FAIL: cannot build the test image"; exit 1; }
make_user jsbt_alice 1
make_user jsbt_bob 2
make_user jsbt_admin 3 host
start_syslog
start_sshd || { echo "FAIL: sshd did not start"; cat "$JSB_RUN/sshd.log"; exit 1; }
check "alice logs in" wait_for 20 jssh jsbt_alice true
finish
