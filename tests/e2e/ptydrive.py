#!/usr/bin/env python3
"""Drive `ssh -tt` through a real pseudo-terminal for t_03_tty.sh.

    ptydrive.py session OUTDIR USER -- SSH-ARGV...
    ptydrive.py oneshot OUTDIR [--interrupt-after RX | --kill-after RX] -- SSH-ARGV...

The client runs on a pty of our own with TERM=xterm-256color and a 33x111
window set before ssh starts. Every observation is written to a file in
OUTDIR (missing file = the step did not get that far); the shell test
decides what passes. Everything has a time limit: nothing here can hang.
"""
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

ROWS, COLS = 33, 111
PROMPT = b"PR42> "  # PS1='PR$((6*7))> ': the typed text never matches


class Timeout(Exception):
    pass


class Pty:
    def __init__(self, argv, outdir):
        self.outdir = outdir
        self.log = open(os.path.join(outdir, "transcript"), "ab", buffering=0)
        self.buf = b""
        self.pos = 0
        self.eof = False
        master, slave = os.openpty()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(master)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                if slave > 2:
                    os.close(slave)
                env = dict(os.environ, TERM="xterm-256color")
                env.pop("SSH_AUTH_SOCK", None)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        os.close(slave)
        self.pid = pid
        self.fd = master
        self.status = None

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.log.write(b"\n>>> " + data + b"\n")
        os.write(self.fd, data)

    def _fill(self, until):
        left = until - time.monotonic()
        if left <= 0 or self.eof:
            return False
        r, _, _ = select.select([self.fd], [], [], min(left, 0.5))
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the client closed its side
            data = b""
        if not data:
            self.eof = True
            return False
        self.log.write(data)
        self.buf += data
        return True

    def expect(self, pattern, timeout):
        """Wait for PATTERN (bytes regex) after the read position."""
        rx = re.compile(pattern, re.S)
        until = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            if not self._fill(until) and (self.eof or time.monotonic() >= until):
                m = rx.search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                raise Timeout(pattern)

    def drain(self, seconds):
        until = time.monotonic() + seconds
        while self._fill(until):
            pass

    def wait_exit(self, timeout):
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            if not self._fill(min(until, time.monotonic() + 0.2)):
                time.sleep(0.05)
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = st
                self.drain(0.3)
                return os.waitstatus_to_exitcode(st)
        raise Timeout("exit")

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                _, self.status = os.waitpid(self.pid, 0)
            except OSError:
                pass


def put(outdir, name, value):
    with open(os.path.join(outdir, name), "w") as f:
        f.write(value if value.endswith("\n") or not value else value + "\n")


def host(*argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=20).stdout


def host_pid(user, cmdline, timeout=10):
    """pid of USER's process whose command line is CMDLINE, seen from the host."""
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        out = host("pgrep", "-u", user, "-fx", cmdline).split()
        if out:
            return int(out[0])
        time.sleep(0.1)
    return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def stat_fields(pid):
    """/proc/PID/stat after the command name: state, ppid, pgrp, session,
    tty_nr, tpgid, ... (empty when the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return []


def wait_until(cond, timeout=10):
    """Poll COND (bounded) until it holds; whether it did."""
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def in_foreground(pid):
    """PID's process group is its terminal's foreground group."""
    f = stat_fields(pid)
    return len(f) > 5 and f[2] == f[5]


def wait_gone(pid, timeout=5):
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


class Shell:
    def __init__(self, p):
        self.p = p
        self.k = 1000

    def prompt(self, timeout=15):
        self.p.expect(re.escape(PROMPT), timeout)

    def cmd(self, c, timeout=15):
        """Run C at the prompt; what it printed between two markers."""
        self.k += 1
        k = self.k
        sep = " " if c.rstrip().endswith("&") else "; "
        self.p.write(f"echo S$(({k}+0)); {c}{sep}echo E$(({k}+0))\r")
        m = self.p.expect(rb"S%d\r\n(.*?)E%d\r\n" % (k, k), timeout)
        self.prompt(timeout)
        return m.group(1).decode(errors="replace").replace("\r\n", "\n")


def session(outdir, user, argv):
    p = Pty(argv, outdir)
    sh = Shell(p)
    try:
        # A known prompt first; the login shell's own prompt is whatever.
        p.expect(rb"\S", 30)
        p.write("export PS1='PR$((6*7))> ' PROMPT_COMMAND=; unset HISTFILE\r")
        sh.prompt(30)
        put(outdir, "started", "yes")

        put(outdir, "tty", sh.cmd("tty"))
        put(outdir, "ssh_tty", sh.cmd('echo "$SSH_TTY"'))
        put(outdir, "term", sh.cmd('echo "$TERM"'))
        put(outdir, "size1", sh.cmd("stty size"))
        put(outdir, "pts_in", sh.cmd("command ls -1 /dev/pts"))
        put(outdir, "ptsdev_in", sh.cmd("stat -c %d /dev/pts"))
        # the host's view while the session is open
        put(outdir, "pts_host", host("ls", "-1", "/dev/pts"))
        put(outdir, "ptsdev_host", host("stat", "-c", "%d", "/dev/pts"))
        put(outdir, "jobctl", sh.cmd("case $- in *m*) echo monitor-on;; *) echo monitor-off;; esac"))

        # Ctrl-C interrupts a foreground command and the shell carries on.
        p.write("sleep 1001\r")
        pid = host_pid(user, "sleep 1001")
        put(outdir, "ctrlc_started", "yes" if pid else "no")
        if pid:
            t0 = time.monotonic()
            p.write(b"\x03")
            try:
                sh.prompt(20)
                put(outdir, "ctrlc_seconds", "%.2f" % (time.monotonic() - t0))
            except Timeout:
                put(outdir, "ctrlc_seconds", "timeout")
            put(outdir, "ctrlc_gone", "yes" if wait_gone(pid) else "no")
            p.write("echo Q$((1+1))=$?\r")
            put(outdir, "ctrlc_rc", p.expect(rb"Q2=(\d+)", 10).group(1).decode())
            sh.prompt()
        put(outdir, "alive_after_ctrlc", sh.cmd("echo still-here"))

        # Background job: &, jobs, kill %1.
        put(outdir, "bg_start", sh.cmd("sleep 1002 &"))
        pid = host_pid(user, "sleep 1002")
        put(outdir, "jobs1", sh.cmd("jobs"))
        sh.cmd("kill %1")
        put(outdir, "bg_gone", "yes" if pid and wait_gone(pid) else "no")
        put(outdir, "jobs2", sh.cmd("jobs"))

        # Ctrl-Z stops a foreground job, bg resumes it, fg brings it back.
        p.write("sleep 1003\r")
        pid = host_pid(user, "sleep 1003")
        put(outdir, "ctrlz_started", "yes" if pid else "no")
        if pid:
            start = p.pos
            p.write(b"\x1a")
            try:
                sh.prompt(20)
                put(outdir, "ctrlz_out", p.buf[start:p.pos].decode(errors="replace"))
            except Timeout:
                put(outdir, "ctrlz_out", "timeout")
            put(outdir, "ctrlz_state", proc_state(pid))
            put(outdir, "bg_out", sh.cmd("bg"))
            # SIGCONT makes it runnable; it sleeps again once it ran
            wait_until(lambda: proc_state(pid) == "S")
            put(outdir, "bg_state", proc_state(pid))
            put(outdir, "jobs3", sh.cmd("jobs"))
            p.write("fg\r")
            p.expect(rb"sleep 1003\r\n", 10)  # fg names the job
            # Ctrl-C once the job owns the terminal again
            put(outdir, "fg_foreground", "yes" if wait_until(lambda: in_foreground(pid)) else "no")
            p.write(b"\x03")
            try:
                sh.prompt(20)
                put(outdir, "fg_back", "yes")
            except Timeout:
                put(outdir, "fg_back", "no")
            put(outdir, "fg_gone", "yes" if wait_gone(pid) else "no")

        # A window-size change reaches the inner terminal.
        fcntl.ioctl(p.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.kill(p.pid, signal.SIGWINCH)
        size2 = ""
        until = time.monotonic() + 10
        while time.monotonic() < until:
            size2 = sh.cmd("stty size")
            if size2.strip() == "40 120":
                break
            time.sleep(0.3)
        put(outdir, "size2", size2)
        # and the shell heard about it (SIGWINCH inside): checkwinsize
        # (bash updates COLUMNS after an external command: env true is one)
        put(outdir, "columns", sh.cmd('env true; echo "$COLUMNS"'))

        # exit 3: the client's exit status.
        p.write("exit 3\r")
        put(outdir, "exit_rc", str(p.wait_exit(30)))
    except Timeout as e:
        put(outdir, "error", "timed out waiting for %r" % (e.args[0],))
    finally:
        p.kill()


def oneshot(outdir, argv, interrupt=None, kill=None, running=None):
    """RUNNING, USER:CMDLINE, is the process the marker announces: wait until
    the host sees it before interrupting or killing."""

    def wait_running():
        if running:
            user, cmdline = running.split(":", 1)
            put(outdir, "running", "yes" if host_pid(user, cmdline) else "no")

    p = Pty(argv, outdir)
    try:
        if kill:
            # the client vanishes (a dropped connection)
            p.expect(kill.encode(), 30)
            wait_running()
            p.kill()
            rc = "killed"
        elif interrupt:
            p.expect(interrupt.encode(), 30)
            wait_running()
            t0 = time.monotonic()
            p.write(b"\x03")
            rc = p.wait_exit(20)
            put(outdir, "seconds", "%.2f" % (time.monotonic() - t0))
        else:
            rc = p.wait_exit(60)
        put(outdir, "rc", str(rc))
    except Timeout as e:
        put(outdir, "error", "timed out waiting for %r" % (e.args[0],))
    finally:
        p.kill()
        put(outdir, "out", p.buf.decode(errors="replace").replace("\r\n", "\n"))


def main():
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(Timeout("overall time limit")))
    signal.alarm(240)
    args = sys.argv[1:]
    sep = args.index("--")
    opts, argv = args[:sep], args[sep + 1:]
    mode, outdir = opts[0], opts[1]
    os.makedirs(outdir, exist_ok=True)
    if mode == "session":
        session(outdir, opts[2], argv)
    elif mode == "oneshot":
        def opt(name):
            return opts[opts.index(name) + 1] if name in opts else None

        oneshot(outdir, argv, opt("--interrupt-after"), opt("--kill-after"), opt("--running"))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
