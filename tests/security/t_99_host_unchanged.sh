#!/bin/bash
# Last of the security suite: after every attack the host is what it was
# before (contents of /etc and of the base image, metadata of /usr).
. "$(dirname "$0")/lib_sec.sh"
[ -f "$SEC/before" ] || { echo "FAIL: no fingerprint from t_00_baseline"; exit 1; }
stop_all
host_fingerprint "$SEC/after"
if cmp -s "$SEC/before" "$SEC/after"; then
	ok "host unchanged: /etc, /usr and the base image as before the suite"
else
	not_ok "host changed during the suite:"
	diff "$SEC/before" "$SEC/after" | head -40
fi
rm -f "$(home_of "$A")/jsb-attack" "$(home_of "$B")/jsb-attack"
finish
