#!/bin/bash
# Behaviour 10: payloads in ~/.bashrc, ~/.profile and ~/.ssh/rc written from
# inside never run on the host at the next login; a sandboxed user with a
# login shell that would read them is refused, and jsandboxctl check says so.
. "$(dirname "$0")/lib.sh"
need_root
A=jsbt_alice
marker=/tmp/jsbt-pwned-$$
rm -f "$marker"
jssh $A "mkdir -p ~/.ssh && for f in .bashrc .profile .bash_profile .ssh/rc; do echo 'touch $marker' >> ~/\$f; done"
jssh $A true
jssh $A 'echo interactive-ish' </dev/null
check "no payload ran on the host" test ! -e "$marker"
check "the payload does run inside (where it is harmless)" jssh $A "bash -ic true 2>/dev/null; test -e $marker"
rm -f "$marker"

# A login shell that reads user files is refused for a sandboxed user.
usermod -s /bin/bash $A
out=$(timeout 30 jssh $A 'echo got-a-shell' 2>&1)
check "a sandboxed user with bash as login shell gets no shell" sh -c "! echo '$out' | grep -q got-a-shell"
check "bash did not run on the host for it either (the account phase refused)" test ! -e "$marker"
check "the refusal is in syslog" grep -q "jsbt_alice refused: login shell" "$JSB_RUN/syslog"
check "jsandboxctl check reports the login shell" sh -c "'$JSB_CTL' check | grep -q 'jsbt_alice.*login shell'"
usermod -s "$JSB_SHELL" $A
rm -f "$marker"
check "the user logs in again after the fix" jssh $A true
finish
