# shellcheck shell=bash
# Shared by t_40..t_44 (the user's layer, names, removal, subordinate
# ranges): a login that must fail closed, and host files a test edits and
# must put back byte for byte (t_99_host_unchanged compares /etc).
. "$(dirname "$0")/lib_sec.sh"

# login_refused DESCRIPTION USER SYSLOG-PATTERN [DETAIL-PATTERN]: the
# login gives no shell, tells the user in one line starting "jsandbox:" what
# failed and whom to contact (the precise reason names the admin's files,
# so it is syslog's: docs/config.md, help_contact), and syslog says why
# (matching SYSLOG-PATTERN and DETAIL-PATTERN).
login_refused() {
	local d=$1 u=$2 pat=$3 msg=${4:-} before out
	before=$(wc -l <"$JSB_RUN/syslog")
	# shellcheck disable=SC2016 # expanded inside the container
	out=$(tm 60 jssh "$u" 'echo "in:$(cat /proc/1/comm)"' 2>&1)
	check "$d: no shell ($out)" sh -c "! printf '%s\n' \"\$1\" | grep -q '^in:'" _ "$out"
	check "$d: the user is told what failed and whom to contact, in a line starting with jsandbox:" \
		sh -c "printf '%s\n' \"\$1\" | grep '^jsandbox: ' | grep -q 'For help, contact'" _ "$out"
	check "$d: syslog says why" sh -c "tail -n +$((before + 1)) '$JSB_RUN/syslog' | grep -- \"\$1\" | grep -q -- \"\$2\"" \
		_ "$pat" "$msg"
}

# in_container USER: a login reaches the user's container
in_container() {
	[ "$(tm 60 jssh "$1" 'cat /proc/1/comm' 2>/dev/null)" = jsandbox-init ]
}

# keep_file FILE...: saved now, written back (same inode, mode and owner)
# when the test exits, however it exits.
KEEP_DIR=$SEC/keep.$$
install -d -m 0700 "$KEEP_DIR"
KEPT=()
keep_file() {
	local f
	for f in "$@"; do
		cp -p "$f" "$KEEP_DIR/$(echo "$f" | tr / _)"
		KEPT+=("$f")
	done
}
restore_kept() {
	local f
	for f in "${KEPT[@]}"; do
		cat "$KEEP_DIR/$(echo "$f" | tr / _)" >"$f"
	done
	KEPT=()
}
on_exit() {
	restore_kept
	rm -rf "$KEEP_DIR"
	[ -z "${EXTRA_CLEANUP:-}" ] || eval "$EXTRA_CLEANUP"
}
trap on_exit EXIT

# add_line FILE LINE: append to a kept file in place.
add_line() { printf '%s\n' "$2" >>"$1"; }
