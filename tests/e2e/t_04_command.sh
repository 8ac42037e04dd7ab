#!/bin/bash
# Behaviour 4: `ssh host 'cmd'` runs the command inside, once, as a login
# over ssh would: stdout and stderr stay separate, the exit status (or the
# signal) comes back, stdin streams byte for byte, and the quoting of the
# command line (SSH_ORIGINAL_COMMAND) is kept. The environment is the
# sanitized one.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
H=$(getent passwd $A | cut -d: -f6)
T=$(mktemp -d "$JSB_RUN/t04.XXXXXX")
trap 'rm -rf "$T"' EXIT
run() { tm 120 jssh $A "$@"; }
sha() { sha256sum | cut -d' ' -f1; }

# --- exit status -----------------------------------------------------------
for n in 0 1 42 254 255; do
	run "exit $n" </dev/null
	rc=$?
	check "exit $n gives the client status $n (got $rc)" [ "$rc" = "$n" ]
done
run false </dev/null
check "false gives 1" [ $? = 1 ]
run 'no-such-command-jsbt' </dev/null 2>"$T/nf.err"
rc=$?
check "an unknown command gives 127 ($rc)" [ "$rc" = 127 ]
check "and says so on stderr" grep -q 'no-such-command-jsbt' "$T/nf.err"

# A command killed by a signal: the client hears of a signal (exit-signal,
# status 255), as from any sshd; the shell inside sees 128+n.
for s in TERM KILL; do
	tm 60 jssh $A -v "kill -$s \$\$" </dev/null 2>"$T/sig.err"
	rc=$?
	check "a command killed by SIG$s gives the client 255 ($rc)" [ "$rc" = 255 ]
	check "and the client was told of a signal, not an exit status" grep -q 'rtype exit-signal' "$T/sig.err"
done
check "the shell inside sees a killed child as 128+9" [ "$(run 'sh -c "kill -9 \$\$"; echo $?' </dev/null)" = 137 ]
check "the container survives a killed session" [ "$(run 'echo alive' </dev/null)" = alive ]

# --- stdout and stderr -----------------------------------------------------
run 'echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 7' </dev/null >"$T/o" 2>"$T/e"
rc=$?
check "stdout carries only stdout" [ "$(cat "$T/o")" = "out1
out2" ]
check "stderr carries only stderr" [ "$(cat "$T/e")" = "err1
err2" ]
check "with the status kept ($rc)" [ "$rc" = 7 ]
# 4 MiB of binary on stdout, its checksum on stderr
run 'head -c 4194304 /dev/urandom >/tmp/t04r; sha256sum </tmp/t04r | cut -d" " -f1 >&2; cat /tmp/t04r; rm -f /tmp/t04r' \
	</dev/null >"$T/bin.out" 2>"$T/bin.err"
check "binary stdout arrives intact ($(stat -c %s "$T/bin.out") bytes)" [ "$(sha <"$T/bin.out")" = "$(cat "$T/bin.err")" ]
check "and is all of it" [ "$(stat -c %s "$T/bin.out")" = 4194304 ]

# --- stdin -----------------------------------------------------------------
head -c 5242880 /dev/urandom >"$T/blob"
sum=$(sha <"$T/blob")
check "5 MiB of binary stdin arrive intact" [ "$(run 'sha256sum | cut -d" " -f1' <"$T/blob")" = "$sum" ]
run 'cat > ~/t04-blob' <"$T/blob"
check "stdin written to a file in home is that file on the host" [ "$(sha <"$H/t04-blob")" = "$sum" ]
check "owned by the user" [ "$(stat -c %U "$H/t04-blob")" = $A ]
check "and comes back the same way" [ "$(run 'cat ~/t04-blob' </dev/null | sha)" = "$sum" ]
check "EOF on stdin reaches the command" [ "$(printf 'a\nb\n' | run 'cat; echo done')" = "a
b
done" ]
check "an empty stdin is an immediate EOF" [ "$(run 'wc -c' </dev/null)" = 0 ]
run 'rm -f ~/t04-blob' </dev/null

# tar c . | ssh 'tar x -C dir', and back
S=$T/src
mkdir -p "$S/sub/deeper" "$S/empty dir"
echo hello >"$S/plain"
printf 'tab\there\n' >"$S/sub/with space.txt"
head -c 1048576 /dev/urandom >"$S/sub/deeper/random.bin"
: >"$S/sub/empty"
printf '#!/bin/sh\necho run\n' >"$S/sub/script"
chmod 0755 "$S/sub/script"
chmod 0600 "$S/plain"
ln -s sub/deeper/random.bin "$S/link"
echo odd >"$S/quote'\"name"
manifest() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%P d %m\n' \) -o -printf '%P %y %m %s %l\n' | LC_ALL=C sort)
}
tar c -C "$S" . | run 'rm -rf ~/t04-tar && mkdir -p ~/t04-tar && tar x -C ~/t04-tar'
ps=("${PIPESTATUS[@]}")
check "tar c | ssh 'tar x' succeeds (${ps[*]})" [ "${ps[0]}:${ps[1]}" = 0:0 ]
check "the unpacked tree has the same contents" diff -r --no-dereference "$S" "$H/t04-tar"
check "the same names, types, modes, sizes and link targets" [ "$(manifest "$S")" = "$(manifest "$H/t04-tar")" ]
check "owned by the user on the host" [ "$(find "$H/t04-tar" ! -user $A | wc -l)" = 0 ]
mkdir "$T/back"
run 'tar c -C ~/t04-tar .' </dev/null | tar x -C "$T/back"
check "ssh 'tar c' | tar x brings the same tree back" diff -r --no-dereference "$S" "$T/back"
check "with the same modes and links" [ "$(manifest "$S")" = "$(manifest "$T/back")" ]
run 'rm -rf ~/t04-tar' </dev/null

# --- quoting: the command is interpreted once, by the shell inside ---------
cmd=$(
	cat <<'EOF'
printf '<%s>\n' 'a  b' "it's" 'say "hi"' "$HOME" '$HOME' \$HOME ";" 'x;y' x\;y "tab	tab" 'back\slash' "dq\"in" '' "*" 'a|b' '&&' '$(id -u)' "`echo tick`" "$((6*7))" '#not a comment' {a,b}
EOF
)
want=$(cd / && env -i HOME="$H" bash -c "$cmd")
got=$(run "$cmd" </dev/null)
check "quoting survives: spaces, quotes, \$, ;, tabs, backslashes, empty words" [ "$got" = "$want" ]
[ "$got" = "$want" ] || diff <(echo "$want") <(echo "$got") | sed 's/^/    /'
check "\$HOME expands inside to the user's home" [ "$(run 'echo $HOME' </dev/null)" = "$H" ]
# (run is ssh, which reads stdin; pwd and echo are the remote command)
# shellcheck disable=SC2217
check "the command starts in the user's home" [ "$(run pwd </dev/null)" = "$H" ]
# shellcheck disable=SC2217,SC2116
check "ssh's own joining of arguments is kept" [ "$(run echo 'a   b' c </dev/null)" = "a b c" ]
check "semicolons separate commands" [ "$(run 'echo one; echo two' </dev/null)" = "one
two" ]
check "newlines separate commands" [ "$(run $'echo one\necho two\n\necho three' </dev/null)" = "one
two
three" ]
check "a here-document in the command" [ "$(run $'cat <<X\nline 1\n  line 2\nX' </dev/null)" = "line 1
  line 2" ]
check "&& across ssh arguments" [ "$(run 'echo one' '&&' 'echo two' </dev/null)" = "one
two" ]
globs=$(run 'rm -rf ~/t04-glob && mkdir ~/t04-glob && cd ~/t04-glob && touch a1 a2 b1 "c d" && echo a*; echo "a*"; echo *\ *; ls ?1; cd && echo t04-glob/b*; rm -rf ~/t04-glob' </dev/null)
check "globs expand inside, quoted ones do not" [ "$globs" = "a1 a2
a*
c d
a1
b1
t04-glob/b1" ]

# a command line of about 100 KB
long=$(head -c 100000 /dev/zero | tr '\0' x)
check "a 100 KB word arrives whole" [ "$(run "printf %s $long | sha256sum | cut -d' ' -f1" </dev/null)" = "$(printf %s "$long" | sha)" ]
words=$(seq 1 20000 | tr '\n' ' ')
check "a ${#words}-byte command of 20000 words runs" [ "$(run "set -- $words; echo \$# \$1 \${20000}" </dev/null)" = "20000 1 20000" ]

# --- environment -------------------------------------------------------------
out=$(JSBT_SECRET=leak LANG=C.UTF-8 run -o SendEnv=JSBT_SECRET -o SendEnv=LANG \
	'echo "S=${JSBT_SECRET-unset}"; echo "L=${LANG-unset}"' </dev/null)
check "a SendEnv variable outside AcceptEnv does not arrive" sh -c "echo '$out' | grep -qx 'S=unset'"
check "LANG arrives with SendEnv=LANG ($(oneline "$out"))" sh -c "echo '$out' | grep -qx 'L=C.UTF-8'"
env_in=$(run env </dev/null)
has_env() { printf '%s\n' "$env_in" | grep -Eqx -- "$1"; }
lacks_env() { ! has_env "$1"; }
check "USER is the user" has_env "USER=$A"
check "LOGNAME is the user" has_env "LOGNAME=$A"
check "HOME is the user's home" has_env "HOME=$H"
check "SSH_CONNECTION comes through" has_env 'SSH_CONNECTION=127\.0\.0\.1 [0-9]+ 127\.0\.0\.1 [0-9]+'
check "SSH_ORIGINAL_COMMAND is the command" has_env 'SSH_ORIGINAL_COMMAND=env'
check "no agent socket without -A" lacks_env 'SSH_AUTH_SOCK=.*'
check "PATH is the sanitized default" has_env 'PATH=/usr/local/bin:/usr/bin:/bin(:.*)?'
finish
