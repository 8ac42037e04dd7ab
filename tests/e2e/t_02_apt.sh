#!/bin/bash
# Behaviour 2: sudo apt-get works inside (real Debian mirror), changes only
# the user's layer, and persists across logins.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
B=jsbt_bob
host_status=$(md5sum /var/lib/dpkg/status | cut -d' ' -f1)
host_usr=$(find /usr/bin /usr/sbin -maxdepth 1 | sort | md5sum | cut -d' ' -f1)
img=$JSB_CACHE/images/jsbtest
img_sum=$(find "$img/usr/bin" "$img/var/lib/dpkg" -maxdepth 1 | sort | md5sum | cut -d' ' -f1)

out=$(timeout 600 jssh $A 'sudo -n apt-get update -qq && sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hello >/dev/null && hello' 2>&1)
check "apt-get install hello works inside and hello runs ($out)" [ "$(echo "$out" | tail -1)" = "Hello, world!" ]
check "the host's dpkg database is unchanged" [ "$(md5sum /var/lib/dpkg/status | cut -d' ' -f1)" = "$host_status" ]
check "the host's /usr is unchanged" [ "$(find /usr/bin /usr/sbin -maxdepth 1 | sort | md5sum | cut -d' ' -f1)" = "$host_usr" ]
check "the base image is unchanged" \
	[ "$(find "$img/usr/bin" "$img/var/lib/dpkg" -maxdepth 1 | sort | md5sum | cut -d' ' -f1)" = "$img_sum" ]
check "hello landed in alice's layer" test -e "$JSB_RUN/state/users/$A/upper/usr/bin/hello"
check "bob's container has no hello" jssh $B '! command -v hello'
# logout and login again (linger = no: the container is gone in between)
wait_for 50 sh -c "! container_pid $A >/dev/null" 2>/dev/null
check "alice's container ended at logout" sh -c "! [ -f '$JSB_RUN/run/$(id -u $A)/state' ]"
check "hello is still there at the next login" [ "$(jssh $A hello)" = "Hello, world!" ]
check "dpkg inside knows hello" jssh $A 'dpkg -s hello >/dev/null'

# jsandboxctl reset drops the layer (and only the layer: home stays).
jssh $A 'echo kept > ~/t02-home-file'
check "jsandboxctl reset succeeds" "$JSB_CTL" reset $A
check "alice's layer is gone" test ! -e "$JSB_RUN/state/users/$A"
check "after reset, hello is gone" jssh $A '! command -v hello && ! dpkg -s hello >/dev/null 2>&1'
check "after reset, home is untouched" [ "$(jssh $A 'cat ~/t02-home-file')" = kept ]
check "after reset, sudo still works" [ "$(jssh $A 'sudo -n id -u')" = 0 ]
jssh $A 'rm -f ~/t02-home-file'
finish
