#!/usr/bin/python3
"""Talk to jsandbox-root the way pam_jsandbox does, or almost (t_70).

    rootop_client.py HELPER CASE USER UID [PID]

Starts HELPER with one SOCK_SEQPACKET socket at fd 3, /dev/null on 0-2 and
an empty environment (as the module does), sends the request CASE makes
(a well-formed one, or a forgery), and prints one line:
    status=N msg=...      the helper's answer (N: root/rootop.h's status)
    none                  the helper answered nothing
then "exit=N" with the helper's exit status. Case "open-close" sends OPEN
and, after a second helper's start, CLOSE, both well formed, and prints
both answers; "env" and "argv" start the helper wrongly (an environment
variable, an argument)."""
import os
import socket
import struct
import sys

MAGIC = 0x6A737270
VERSION = 1
ACCT, OPEN, CLOSE = 1, 2, 3
REQ = struct.Struct("<IHHiI33s3x")  # struct js_rootop_req
REP_HEAD = struct.Struct("<IHHiII")  # struct js_rootop_rep up to msg
REP_SIZE = REP_HEAD.size + 512 + 16 * 192


class Helper:
    """The started helper: its pid, and its exit status once waited for."""

    def __init__(self, pid):
        self.pid = pid

    def wait(self):
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def start(helper, env=None, extra_args=()):
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(theirs.fileno(), 3)
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(4, 65536)
            os.execve(helper, [helper, *extra_args], env or {})
        finally:
            os._exit(127)
    theirs.close()
    return mine, Helper(pid)


def answer(sock, proc):
    sock.settimeout(150)
    try:
        data, _, _, _ = sock.recvmsg(REP_SIZE + 64, socket.CMSG_SPACE(4 * 20))
    except (ConnectionError, socket.timeout):
        data = b""
    if len(data) == REP_SIZE:
        magic, version, op, status, flags, ncg = REP_HEAD.unpack_from(data)
        msg = data[REP_HEAD.size:REP_HEAD.size + 512].split(b"\0")[0].decode(errors="replace")
        print(f"status={status} flags={flags} ncg={ncg} magic_ok={int(magic == MAGIC)} msg={msg}")
    elif data:
        print(f"short answer of {len(data)} bytes")
    else:
        print("none")
    print(f"exit={proc.wait()}")
    sock.close()


def req(op, user, uid, pid, magic=MAGIC, version=VERSION):
    return REQ.pack(magic, version, op, pid, uid, user)


def main():
    helper, case, user, uid = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
    other = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    me = os.getpid()
    if case == "env":
        sock, proc = start(helper, env={"JSB_CANARY": "1"})
        sock.send(req(ACCT, user, uid, me))
        return answer(sock, proc)
    if case == "argv":
        sock, proc = start(helper, extra_args=("--debug",))
        sock.send(req(ACCT, user, uid, me))
        return answer(sock, proc)
    if case == "open-close":
        for op in (OPEN, CLOSE):
            sock, proc = start(helper)
            sock.send(req(op, user, uid, me))
            answer(sock, proc)
        return None
    msgs = {
        "acct": req(ACCT, user, uid, me),
        "wrong-parent": req(ACCT, user, uid, other),
        "open-wrong-parent": req(OPEN, user, uid, other),
        "short": req(ACCT, user, uid, me)[:20],
        "long": req(ACCT, user, uid, me) + b"\0" * 8,
        "bad-magic": req(ACCT, user, uid, me, magic=0x6A736231),
        "bad-version": req(ACCT, user, uid, me, version=2),
        "unknown-op": req(9, user, uid, me),
        "unterminated": REQ.pack(MAGIC, VERSION, ACCT, me, uid, b"a" * 33),
        "empty": b"",
    }
    sock, proc = start(helper)
    if case == "silent":
        sock.shutdown(socket.SHUT_WR)
    else:
        sock.send(msgs[case])
    return answer(sock, proc)


if __name__ == "__main__":
    main()
