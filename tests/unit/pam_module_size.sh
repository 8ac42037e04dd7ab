#!/bin/bash
# The code sshd loads stays small: every source file compiled into
# pam_jsandbox.so (its own and those of the libraries it links, as the build
# lists them) and every project header they include, at most MAX lines in
# all; and the module needs none of the libraries the root helper uses
# (iniparser, libcap, libseccomp) at run time.
#
#   pam_module_size.sh MAX MODULE SRCDIR CC -- SOURCE... -- INCLUDE-DIR...
set -u
max=$1 module=$2 srcdir=$3 cc=$4
shift 4
[ "$1" = -- ] || { echo "usage: $0 MAX MODULE SRCDIR CC -- SOURCE... -- INCDIR..." >&2; exit 2; }
shift
srcs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	srcs+=("$1")
	shift
done
[ $# -gt 0 ] && shift
incs=()
for d in "$@"; do incs+=("-I$d"); done
[ ${#srcs[@]} -gt 0 ] || { echo "FAIL: no sources given" >&2; exit 1; }

fail=0
# Every file the preprocessor reads for each source, those of this
# repository only (-MM leaves out system headers).
files=$(for s in "${srcs[@]}"; do
	"$cc" -MM -D_GNU_SOURCE -DJSANDBOX_CONFIG='""' -DJSANDBOX_LIBEXECDIR='""' "${incs[@]}" "$s" ||
		echo "CPP-FAILED:$s"
done | sed 's/\\$//' | tr ' ' '\n' | grep -v ':$' | grep -v '^$' | sort -u)
if grep -q '^CPP-FAILED' <<<"$files"; then
	echo "FAIL: the preprocessor failed on a source" >&2
	exit 1
fi
total=0
while read -r f; do
	case $(realpath "$f") in
	"$srcdir"/*) ;;
	*) continue ;;
	esac
	n=$(wc -l <"$f")
	printf '%6d %s\n' "$n" "$(realpath --relative-to="$srcdir" "$f")"
	total=$((total + n))
done <<<"$files"
echo "total: $total lines loaded into sshd (limit $max)"
if [ "$total" -gt "$max" ]; then
	echo "FAIL: pam_jsandbox.so is built from $total lines, more than $max" >&2
	fail=1
fi
[ "$total" -gt 0 ] || { echo "FAIL: counted nothing" >&2; fail=1; }

needed=$(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "FAIL: readelf shows no DT_NEEDED in $module" >&2; fail=1; }
echo "DT_NEEDED: $(echo "$needed" | tr '\n' ' ')"
if grep -Eq '^lib(iniparser|cap|seccomp)\.' <<<"$needed"; then
	echo "FAIL: the module needs a library of the root helper: $(echo "$needed" | tr '\n' ' ')" >&2
	fail=1
fi
exit $fail
