#!/usr/bin/python3
"""The measurements of bench/run.sh; run by it, after its set-up.

    measure.py ENV.json RESULTS_DIR

Writes RESULTS_DIR/results.json (every sample) and RESULTS_DIR/table.md.
Latencies are wall-clock times of a whole `ssh host true` (connect, key
exchange, authentication, PAM, the command, exit) measured around the ssh
client; the variants alternate within each repetition (A B C D, then
B C D A, ...) so that drift of the machine falls on all of them alike.
"""
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

env = json.load(open(sys.argv[1]))
outdir = sys.argv[2]
QUICK = bool(env["quick"])
W = env["work"]
RUN_DIR = env["run_dir"]
STATE_DIR = env["state_dir"]
JS_USERS = env["js_users"].split()
PLAIN_USERS = env["plain_users"].split()
COLD = env["cold_user"]
POD = env["pod_user"]
CTL = env["ctl"]

REPS_LOGIN = int(os.environ.get("JSBB_REPS", 3 if QUICK else 60))
CONC_LEVELS = [10, 50, 100]
CONC_ROUNDS = {10: 1, 50: 1, 100: 1} if QUICK else {10: 5, 50: 3, 100: 3}
REPS_WORK = 1 if QUICK else 8
COMPILE_PASSES = 1
# One compiler at a time: with two, on a machine whose other load competes
# for the two cores, cgroup v1 weights the user's group as one entity against
# each host task, which is fair-share policy, not container overhead.
COMPILE_JOBS = 1

SSH = [
    "ssh", "-F", "/dev/null", "-i", f"{W}/keys/client", "-T",
    "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=120",
    "-o", "ControlMaster=no", "-o", "ControlPath=none",
]
PORT = env["ports"]


def ssh_argv(port, user, cmd):
    return SSH + ["-p", str(port), "-l", user, "127.0.0.1", cmd]


VARIANTS = {
    "plain": (PORT["plain"], PLAIN_USERS[0]),
    "warm": (PORT["js"], JS_USERS[0]),
    "cold": (PORT["js"], COLD),
    "podman": (PORT["pod"], POD),
}
LABEL = {"plain": "plain sshd", "warm": "jsandbox warm", "cold": "jsandbox cold", "podman": "podman exec"}
COLD_USERS = {"cold": COLD}
if env.get("exempt_user"):
    # sandbox = no: through the jsandbox sshd (its PAM stack, outside the
    # ForceCommand's Match block), as an admin logs in.
    VARIANTS["exempt"] = (PORT["js"], env["exempt_user"])
    LABEL["exempt"] = "exempt user, jsandbox sshd"
AGAINST = env.get("against") or ""
if AGAINST:
    # bench/run.sh --against REV: that revision's warm and cold logins, in
    # the same interleaved repetitions.
    VARIANTS["warm_base"] = (PORT["old"], env["old_warm"])
    VARIANTS["cold_base"] = (PORT["old"], env["old_cold"])
    LABEL["warm_base"] = f"jsandbox warm, {AGAINST}"
    LABEL["cold_base"] = f"jsandbox cold, {AGAINST}"
    COLD_USERS["cold_base"] = env["old_cold"]
    if env.get("exempt_user"):
        # The same exempt user through that revision's sshd and module:
        # what its account phase costs.
        VARIANTS["exempt_base"] = (PORT["old"], env["exempt_user"])
        LABEL["exempt_base"] = f"exempt user, {AGAINST}"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def pct(xs, p):
    """Percentile by linear interpolation between closest ranks."""
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def summary(xs):
    return {"n": len(xs), "median": statistics.median(xs), "p99": pct(xs, 99), "min": min(xs), "max": max(xs),
            "mean": statistics.fmean(xs)}


def uid_of(user):
    return int(subprocess.check_output(["id", "-u", user]).strip())


def home_of(user):
    return subprocess.check_output(["getent", "passwd", user], text=True).split(":")[5]


def init_pid(user):
    try:
        with open(f"{RUN_DIR}/{uid_of(user)}/state") as f:
            for line in f:
                if line.startswith("pid="):
                    return int(line[4:])
    except OSError:
        return None
    return None


def login(variant, cmd="true"):
    port, user = VARIANTS[variant]
    t0 = time.perf_counter_ns()
    p = subprocess.run(ssh_argv(port, user, cmd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    t1 = time.perf_counter_ns()
    return (t1 - t0) / 1e6, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def wait_cold_gone(timeout=15.0, user=COLD):
    """Cold means no container: linger = no ends it when the session closes
    (after the client has exited); wait for its runtime directory to go."""
    d = f"{RUN_DIR}/{uid_of(user)}"
    t_end = time.monotonic() + timeout
    while os.path.exists(d):
        if time.monotonic() > t_end:
            subprocess.run([CTL, "stop", user], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            break
        time.sleep(0.01)
    return not os.path.exists(d)


def settle(sec=0.3):
    time.sleep(sec)


# ---- 1. login latency ----------------------------------------------------------

def bench_latency():
    log(f"latency: {REPS_LOGIN} interleaved repetitions of {' / '.join(VARIANTS)}")
    # Warm-up: page cache, sshd's first fork, the warm containers of every
    # sandboxed user (linger = yes keeps them).
    for u in JS_USERS:
        r = subprocess.run(ssh_argv(PORT["js"], u, "true"), stdin=subprocess.DEVNULL, capture_output=True)
        if r.returncode != 0:
            raise SystemExit(f"warm-up login of {u} failed: rc {r.returncode}: {r.stderr.decode()} {r.stdout.decode()}")
    for v in VARIANTS:
        for _ in range(2):
            if v in COLD_USERS:
                wait_cold_gone(user=COLD_USERS[v])
            ms, rc, _, err = login(v)
            if rc != 0:
                raise SystemExit(f"warm-up login ({v}) failed: rc {rc} {err}")
    # The logins must do what their names say: run inside (warm: the same
    # init every time) and, for podman, inside its container.
    _, rc, out, _ = login("warm", "cat /proc/1/comm")
    assert rc == 0 and out.strip() == "jsandbox-init", out
    _, rc, out, _ = login("podman", "cat /proc/1/comm")
    assert rc == 0 and out.strip() == "sleep", out
    if "exempt" in VARIANTS:
        _, rc, out, _ = login("exempt", "cat /proc/1/comm")
        assert rc == 0 and out.strip() not in ("jsandbox-init", ""), out
    names = list(VARIANTS)
    samples = {v: [] for v in names}
    failures = {v: 0 for v in names}
    warm_pid = init_pid(JS_USERS[0])
    not_warm = not_cold = 0
    for r in range(REPS_LOGIN):
        order = names[r % len(names):] + names[:r % len(names)]
        for v in order:
            if v in COLD_USERS:
                if not wait_cold_gone(user=COLD_USERS[v]):
                    not_cold += 1
            settle(0.05)
            ms, rc, _, err = login(v)
            if rc != 0:
                failures[v] += 1
                log(f"  {v} login failed: rc {rc}: {err.strip()}")
            else:
                samples[v].append(ms)
        if init_pid(JS_USERS[0]) != warm_pid:
            not_warm += 1
    res = {v: summary(samples[v]) | {"samples": samples[v], "failures": failures[v]} for v in names}
    # Paired ratios: each repetition's variant over that repetition's plain.
    for v in names:
        pairs = [a / b for a, b in zip(samples[v], samples["plain"])]
        res[v]["paired_ratio_median"] = statistics.median(pairs) if pairs else float("nan")
        res[v]["ratio"] = res[v]["median"] / res["plain"]["median"]
    res["checks"] = {"warm_init_changed": not_warm, "cold_container_still_there": not_cold}
    for v in names:
        log(f"  {v:7s} median {res[v]['median']:7.1f} ms  p99 {res[v]['p99']:7.1f}  x{res[v]['ratio']:.3f}")
    return res


# ---- 2. concurrency ------------------------------------------------------------

def cpu_busy_s():
    """Seconds of CPU time the whole machine has spent busy (all CPUs)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def burst(port, users, n):
    """n logins started at once, spread round-robin over users; returns the
    latency of each (its own start to its own exit), the failures, the ssh
    clients' CPU time and the machine's busy CPU time during the burst."""
    procs = {}
    busy0 = cpu_busy_s()
    t_start = time.perf_counter_ns()
    for i in range(n):
        u = users[i % len(users)]
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(ssh_argv(port, u, "true"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        procs[p.pid] = (p, t0)
    lat, fails, errs = [], 0, []
    client_cpu = 0.0
    left = set(procs)
    while left:
        pid, status, ru = os.wait4(-1, 0)
        t1 = time.perf_counter_ns()
        if pid not in procs:
            continue
        left.discard(pid)
        client_cpu += ru.ru_utime + ru.ru_stime
        p, t0 = procs[pid]
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode(errors="replace").strip()
        p.stderr.close()
        if p.returncode != 0:
            fails += 1
            errs.append(f"rc {p.returncode}: {err}")
        else:
            lat.append((t1 - t0) / 1e6)
    wall = (time.perf_counter_ns() - t_start) / 1e9
    return lat, fails, errs, {"client_cpu_s": client_cpu, "busy_cpu_s": cpu_busy_s() - busy0, "wall_s": wall}


def bench_concurrency():
    res = {}
    for n in CONC_LEVELS:
        rounds = CONC_ROUNDS[n]
        log(f"concurrency: {n} simultaneous logins over 10 users, {rounds} rounds each, plain / warm alternating")
        acc = {"plain": ([], 0, [], []), "warm": ([], 0, [], [])}
        for r in range(rounds):
            for v in (["plain", "warm"] if r % 2 == 0 else ["warm", "plain"]):
                settle(1.0)  # the previous burst's sessions close
                port, users = (PORT["plain"], PLAIN_USERS) if v == "plain" else (PORT["js"], JS_USERS)
                lat, fails, errs, cpu = burst(port, users, n)
                a = acc[v]
                acc[v] = (a[0] + lat, a[1] + fails, a[2] + errs, a[3] + [cpu])
                for e in errs[:3]:
                    log(f"  {v} failure: {e}")
        res[n] = {}
        for v, (lat, fails, errs, cpus) in acc.items():
            busy = statistics.median(c["busy_cpu_s"] for c in cpus)
            client = statistics.median(c["client_cpu_s"] for c in cpus)
            res[n][v] = summary(lat) | {
                "failures": fails, "attempts": rounds * n, "errors": errs[:5],
                # What n logins cost the machine: the whole burst's busy CPU
                # time, of which the ssh clients (the load generator, on the
                # same cores), and the least wall time that much work needs.
                "busy_cpu_s": busy, "client_cpu_s": client, "server_cpu_ms_per_login": (busy - client) / n * 1000,
                "cpu_bound_s": busy / os.cpu_count(), "wall_s": statistics.median(c["wall_s"] for c in cpus)}
            log(f"  {n:3d} {v:5s} median {res[n][v]['median']:7.1f} ms  p99 {res[n][v]['p99']:7.1f}  "
                f"failures {fails}/{rounds * n}  CPU {busy:.1f} s (clients {client:.1f} s)")
    return res


# ---- 2b. a noisy neighbour ---------------------------------------------------------

NB = env.get("nb_user")
REPS_NB = int(os.environ.get("JSBB_NB_REPS", 5 if QUICK else 25))
# What the neighbour runs inside their own container, each for one block of
# logins of the other users. The loops restart what the kernel kills, and
# leave a count in the neighbour's home (shared with the host) so that the
# benchmark can show the load really ran.
NB_LOADS = {
    "memory hog": ("memory hog at memory_max, OOM-killed and restarted in a loop",
                   "n=0; while :; do perl -e 'my @a; push @a, \"x\" x 1048576 while 1' 2>/dev/null; "
                   "n=$((n+1)); echo $n >~/nb-count; done"),
    "fork bomb": ("fork bomb at pids_max",
                  "echo 0 >~/nb-count; b() { b | b & }; b"),
    "tmp filler": ("/tmp (tmpfs) filled to tmp_size, emptied and refilled in a loop",
                   "n=0; while :; do dd if=/dev/zero of=/tmp/nb-fill bs=1M 2>/dev/null; rm -f /tmp/nb-fill; "
                   "n=$((n+1)); echo $n >~/nb-count; done"),
}
VICTIMS = ["plain", "warm", "cold"]


def nb_cgroup_counter(kind):
    """The neighbour's OOM kills or refused forks, from root's view of its
    cgroup (v2 or v1, whichever holds the controller)."""
    u = NB
    if kind == "oom":
        paths = [(f"/sys/fs/cgroup/jsandbox/{u}/memory.events", "oom_kill"),
                 (f"/sys/fs/cgroup/memory/jsandbox/{u}/memory.oom_control", "oom_kill")]
    else:
        paths = [(f"/sys/fs/cgroup/jsandbox/{u}/pids.events", "max"),
                 (f"/sys/fs/cgroup/pids/jsandbox/{u}/pids.events", "max")]
    for path, key in paths:
        try:
            with open(path) as f:
                for line in f:
                    k, _, v = line.partition(" ")
                    if k == key:
                        return int(v)
        except OSError:
            continue
    return None


def nb_count():
    try:
        with open(f"{home_of(NB)}/nb-count") as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def nb_block(reps):
    samples = {v: [] for v in VICTIMS}
    fails = 0
    for r in range(reps):
        order = VICTIMS[r % 3:] + VICTIMS[:r % 3]
        for v in order:
            if v == "cold" and not wait_cold_gone():
                log("  cold container still there")
            ms, rc, _, err = login(v)
            if rc != 0:
                fails += 1
                log(f"  {v} login failed under load: rc {rc}: {err.strip()}")
            else:
                samples[v].append(ms)
    return samples, fails


def bench_neighbour():
    """Logins of other users (plain sshd, jsandbox warm and cold) while one
    sandboxed user, with the benchmark's limits, runs each load in turn;
    compared with the same logins on the idle machine, measured before and
    after the loads."""
    log(f"neighbour: {REPS_NB} repetitions of plain / warm / cold, idle and under each load of {NB}")
    stop = [CTL, "stop", NB]
    res = {"idle": None, "loads": {}}
    idle1, f1 = nb_block(REPS_NB)
    for name, (desc, cmd) in NB_LOADS.items():
        subprocess.run(stop, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            os.unlink(f"{home_of(NB)}/nb-count")
        except OSError:
            pass
        oom0, max0 = nb_cgroup_counter("oom"), nb_cgroup_counter("pids")
        hog = subprocess.Popen(ssh_argv(PORT["js"], NB, cmd), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The load is on when it has shown itself once: a restart of the
        # hog or the filler, or the bomb's first refused fork.
        t_end = time.monotonic() + 120
        while time.monotonic() < t_end:
            if name == "fork bomb":
                m = nb_cgroup_counter("pids")
                if m is not None and m > (max0 or 0):
                    break
            elif nb_count() >= 1:
                break
            time.sleep(0.05)
        else:
            hog.kill()
            raise SystemExit(f"neighbour: the {name} did not start within 120 s")
        c0 = nb_count()
        oom1, max1 = nb_cgroup_counter("oom"), nb_cgroup_counter("pids")
        samples, fails = nb_block(REPS_NB)
        oom2, max2 = nb_cgroup_counter("oom"), nb_cgroup_counter("pids")
        c1 = nb_count()
        r = subprocess.run(stop, capture_output=True, text=True)
        hog.wait(timeout=60)
        res["loads"][name] = {
            "description": desc, "failures": fails, "stop_rc": r.returncode,
            "restarts_during": c1 - c0,
            "oom_kills_during": (oom2 - oom1) if oom1 is not None and oom2 is not None else None,
            "forks_refused_during": (max2 - max1) if max1 is not None and max2 is not None else None,
            "victims": {v: summary(samples[v]) | {"samples": samples[v]} for v in VICTIMS}}
        L_ = res["loads"][name]
        log(f"  {name}: restarts {L_['restarts_during']}, OOM kills {L_['oom_kills_during']}, "
            f"forks refused {L_['forks_refused_during']}, stop rc {r.returncode}")
    idle2, f2 = nb_block(REPS_NB)
    idle = {v: idle1[v] + idle2[v] for v in VICTIMS}
    res["idle"] = {"failures": f1 + f2, "victims": {v: summary(idle[v]) | {"samples": idle[v]} for v in VICTIMS}}
    for name, L_ in res["loads"].items():
        for v in VICTIMS:
            x, i = L_["victims"][v], res["idle"]["victims"][v]
            x["median_vs_idle"] = x["median"] / i["median"]
            x["p99_vs_idle"] = x["p99"] / i["p99"]
            log(f"  {name:10s} {v:5s} median {x['median']:7.1f} ms (x{x['median_vs_idle']:.2f} idle)  "
                f"p99 {x['p99']:7.1f} (x{x['p99_vs_idle']:.2f})")
    # The neighbour's next login must work: nothing of the loads is left.
    _, rc, out, err = login_as(NB, "cat ~/nb-count >/dev/null; echo ok")
    res["neighbour_login_after"] = rc == 0 and out.strip() == "ok"
    return res


def login_as(user, cmd):
    p = subprocess.run(ssh_argv(PORT["js"], user, cmd), stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return 0, p.returncode, p.stdout, p.stderr


# ---- 3. memory and disk ----------------------------------------------------------

def proc_mem(pid):
    rss = pss = uss = 0
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return None  # a zombie keeps no memory
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Private_"):
                    uss += int(line.split()[1])
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        return None
    return {"pid": pid, "comm": comm, "rss_kib": rss, "pss_kib": pss, "uss_kib": uss}


def cgroup_procs(user):
    for h in ("unified", "pids", "memory"):
        p = f"/sys/fs/cgroup/{h}/jsandbox/{user}/cgroup.procs"
        if os.path.exists(p):
            with open(p) as f:
                return [int(x) for x in f.read().split()]
    return []


def du_kib(path):
    out = subprocess.run(["du", "-sxk", path], capture_output=True, text=True).stdout
    return int(out.split()[0]) if out else 0


def subid_range(user):
    with open("/etc/subuid") as f:
        for line in f:
            n, start, count = line.strip().split(":")
            if n == user:
                return int(start), int(count)
    return 0, 0


def procs_of_uids(uid, start, count):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        ruid = int(line.split()[1])
                        break
        except OSError:
            continue
        if ruid == uid or start <= ruid < start + count:
            pids.append(int(d))
    return pids


def bench_memory_disk():
    log("memory and disk per idle user")
    settle(2.0)  # every session of the bursts has closed
    per_user = []
    for u in JS_USERS:
        pids = cgroup_procs(u)
        mems = [m for m in (proc_mem(p) for p in pids) if m]
        per_user.append({"user": u, "init": init_pid(u), "procs": mems,
                         "rss_kib": sum(m["rss_kib"] for m in mems), "pss_kib": sum(m["pss_kib"] for m in mems),
                         "uss_kib": sum(m["uss_kib"] for m in mems)})
    js = {"users": per_user,
          "procs_per_user": statistics.median(len(x["procs"]) for x in per_user),
          "rss_kib": statistics.median(x["rss_kib"] for x in per_user),
          "pss_kib": statistics.median(x["pss_kib"] for x in per_user),
          "uss_kib": statistics.median(x["uss_kib"] for x in per_user)}
    # Disk of a new user: the layer of a user who has only ever run `true`.
    layers = [du_kib(f"{STATE_DIR}/users/{u}") for u in JS_USERS[1:]]
    js["disk_kib"] = statistics.median(layers)
    js["disk_kib_all"] = layers
    js["layer_files"] = sorted(
        os.path.relpath(os.path.join(dp, f), f"{STATE_DIR}/users/{JS_USERS[1]}")
        for dp, dn, fn in os.walk(f"{STATE_DIR}/users/{JS_USERS[1]}") for f in fn)

    uid = uid_of(POD)
    start, count = subid_range(POD)
    mems = [m for m in (proc_mem(p) for p in procs_of_uids(uid, start, count)) if m]
    home = home_of(POD)
    storage = f"{home}/.local/share/containers/storage"
    ctr = subprocess.run(["runuser", "-u", POD, "--", "podman", "inspect", "jsbb", "--format",
                          "{{.GraphDriver.Data.UpperDir}}"], capture_output=True, text=True, cwd="/").stdout.strip()
    ctr_layer = os.path.dirname(ctr) if ctr else ""
    img_layers = du_kib(f"{storage}/overlay") - (du_kib(ctr_layer) if ctr_layer else 0)
    pod = {"procs": mems, "rss_kib": sum(m["rss_kib"] for m in mems), "pss_kib": sum(m["pss_kib"] for m in mems),
           "uss_kib": sum(m["uss_kib"] for m in mems),
           "storage_kib": du_kib(storage), "container_layer_kib": du_kib(ctr_layer) if ctr_layer else None,
           "image_layers_kib": img_layers,
           "runroot_kib": du_kib(f"/tmp/containers-user-{uid}") + du_kib(f"/tmp/podman-run-{uid}")}
    setup = dict(line.strip().split("=", 1) for line in open(env["podman_setup"]) if "=" in line)
    pod["import_ms"] = int(setup.get("podman_import_ms", 0))
    pod["run_ms"] = int(setup.get("podman_run_ms", 0))
    log(f"  jsandbox: {js['procs_per_user']} process/user, RSS {js['rss_kib']} KiB, PSS {js['pss_kib']} KiB, "
        f"disk {js['disk_kib']} KiB")
    log(f"  podman:   {len(mems)} processes, RSS {pod['rss_kib']} KiB, PSS {pod['pss_kib']} KiB, "
        f"storage {pod['storage_kib']} KiB")
    return {"jsandbox": js, "podman": pod}


# ---- 4. work inside vs on the host ---------------------------------------------

def run_inside(cmd):
    _, rc, out, err = login("warm", cmd)
    if rc != 0:
        raise SystemExit(f"inside: {cmd}: rc {rc}: {err}")
    return out


def host_sh(cmd, user=None):
    argv = ["sh", "-c", cmd]
    if user:
        argv = ["runuser", "-u", user, "--"] + argv
    p = subprocess.run(argv, capture_output=True, text=True, cwd="/")
    if p.returncode != 0:
        raise SystemExit(f"host: {cmd}: rc {p.returncode}: {p.stderr}")
    return p.stdout


def bench_work():
    res = {}
    cdir = env["compile_dir"]
    log(f"compile: {REPS_WORK} x ({COMPILE_PASSES} passes over this repository's C sources), host / inside alternating")
    host, inside = [], []
    run_inside(f"{cdir}/compile.sh 1 >/dev/null")  # warm the container's page cache of the headers
    host_sh(f"{cdir}/compile.sh 1 >/dev/null", env["compile_user"])
    for r in range(REPS_WORK):
        for where in (["host", "inside"] if r % 2 == 0 else ["inside", "host"]):
            cmd = f"{cdir}/compile.sh {COMPILE_PASSES} {COMPILE_JOBS}"
            ns = int((host_sh(cmd, env["compile_user"]) if where == "host" else run_inside(cmd)).strip())
            (host if where == "host" else inside).append(ns / 1e6)
    res["compile"] = {"host": summary(host) | {"samples": host}, "inside": summary(inside) | {"samples": inside}}
    res["compile"]["ratio"] = res["compile"]["inside"]["median"] / res["compile"]["host"]["median"]
    res["compile"]["files"] = sum(1 for d in ("lib", "conf", "helper", "ctl", "pam_module")
                                  for f in os.listdir(f"{cdir}/{d}") if f.endswith(".c"))
    res["compile"]["paired_ratio_median"] = statistics.median(a / b for a, b in zip(inside, host))
    log(f"  host {res['compile']['host']['median']:.0f} ms, inside {res['compile']['inside']['median']:.0f} ms, "
        f"x{res['compile']['ratio']:.3f}")

    pkg = env["apt_pkg"]
    debs = env["debs_dir"]
    if not env["apt_host"]:
        res["apt"] = None
        return res
    log(f"apt-get install {pkg} from a local .deb: {REPS_WORK} x, host / inside alternating")
    timed = (f"set -e; cd {debs}; export DEBIAN_FRONTEND=noninteractive; t0=$(date +%s%N); "
             "apt-get install -y -q ./*.deb >/dev/null; t1=$(date +%s%N); "
             f"apt-get purge -y -q {pkg} >/dev/null; echo $((t1 - t0))")
    host, inside = [], []
    for r in range(REPS_WORK):
        for where in (["host", "inside"] if r % 2 == 0 else ["inside", "host"]):
            if where == "host":
                out = host_sh(timed)
            else:
                out = run_inside("sudo -n sh -c '" + timed.replace("'", "'\\''") + "'")
            (host if where == "host" else inside).append(int(out.strip().splitlines()[-1]) / 1e6)
    res["apt"] = {"host": summary(host) | {"samples": host}, "inside": summary(inside) | {"samples": inside}}
    res["apt"]["ratio"] = res["apt"]["inside"]["median"] / res["apt"]["host"]["median"]
    res["apt"]["paired_ratio_median"] = statistics.median(a / b for a, b in zip(inside, host))
    log(f"  host {res['apt']['host']['median']:.0f} ms, inside {res['apt']['inside']['median']:.0f} ms, "
        f"x{res['apt']['ratio']:.3f}")
    return res


# ---- the machine and the table -------------------------------------------------

def first_line(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip().splitlines()[0]
    except (IndexError, OSError):
        return "?"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = int(open("/proc/meminfo").readline().split()[1]) // 1024
    osr = dict(line.rstrip().split("=", 1) for line in open("/etc/os-release") if "=" in line)
    cg = "cgroup v1 hybrid" if os.path.isdir("/sys/fs/cgroup/unified") else (
        "cgroup v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "cgroup v1")
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_mib": mem, "kernel": platform.release(),
        "os": osr.get("PRETTY_NAME", "?").strip('"'), "cgroups": cg,
        "openssh": first_line("ssh -V 2>&1"), "podman": first_line("podman --version"),
        "runc": first_line("runc --version"), "gcc": first_line("gcc --version"),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def verdict(ok):
    return "met" if ok else "**missed**"


def against_lines(L):
    out = []
    for v in ("warm", "cold", "exempt"):
        if f"{v}_base" not in L:
            continue
        a, b = L[v], L[f"{v}_base"]
        out.append(f"- {v}: this tree {a['paired_ratio_median']:.3f}× plain (paired), {AGAINST} "
                   f"{b['paired_ratio_median']:.3f}×: {a['paired_ratio_median'] - b['paired_ratio_median']:+.3f}; "
                   f"medians {a['median']:.1f} vs {b['median']:.1f} ms")
    return out


def neighbour_table(N):
    out = [f"### 2b. Other users' logins while one user misbehaves in their container "
           f"({N['idle']['victims']['plain']['n'] // 2} repetitions a block)", "",
           f"The neighbour `{NB}` has `memory_max = {env.get('nb_memory_max', '?')}`, `pids_max = "
           f"{env.get('nb_pids_max', '?')}`, `tmp_size = {env.get('nb_tmp_size', '?')}` and the other limits at "
           "their defaults; idle is measured before and after the loads. Each cell: median ms / p99 ms "
           "(× the idle figure).", "",
           "| load | evidence it ran during the block | plain sshd | jsandbox warm | jsandbox cold | failures |",
           "|---|---|---:|---:|---:|---:|"]
    iv = N["idle"]["victims"]
    out.append("| idle | | " + " | ".join(f"{iv[v]['median']:.0f} / {iv[v]['p99']:.0f}" for v in VICTIMS) +
               f" | {N['idle']['failures']} |")
    for name, L_ in N["loads"].items():
        ev = []
        if L_["oom_kills_during"] is not None and name == "memory hog":
            ev.append(f"{L_['oom_kills_during']} OOM kills")
        if L_["forks_refused_during"] is not None and name == "fork bomb":
            ev.append(f"{L_['forks_refused_during']} forks refused")
        if name != "fork bomb":
            ev.append(f"{L_['restarts_during']} restarts")
        cells = []
        for v in VICTIMS:
            x = L_["victims"][v]
            cells.append(f"{x['median']:.0f} / {x['p99']:.0f} (×{x['median_vs_idle']:.2f} / "
                         f"×{x['p99_vs_idle']:.2f})")
        out.append(f"| {L_['description']} | {', '.join(ev)} | " + " | ".join(cells) + f" | {L_['failures']} |")
    out.append("")
    out.append(f"The neighbour logs in again afterwards: {'yes' if N['neighbour_login_after'] else '**no**'}.")
    return out


def nb_worst(N, key):
    return max(N["loads"][n]["victims"][v][key] for n in N["loads"] for v in ("warm", "cold"))


def table(r):
    L, C, M, Wk = r["latency"], r["concurrency"], r["memory_disk"], r["work"]
    m = r["machine"]
    out = []
    out.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_mib']} MiB, {m['os']}, kernel {m['kernel']}, "
               f"{m['cgroups']}; {m['openssh']}; {m['podman']}, {m['runc']}; {m['gcc']}. Run {m['date']}, "
               f"`{env['command']}`{' (quick: few repetitions)' if QUICK else ''}.")
    out.append("")
    out.append(f"### 1. Login latency, `ssh host true` over loopback ({L['plain']['n']} interleaved repetitions)")
    out.append("")
    out.append("| | median ms | p99 ms | min ms | ratio of medians to plain | median of paired ratios | failures |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for v in VARIANTS:
        x = L[v]
        out.append(f"| {LABEL[v]} | {x['median']:.1f} | {x['p99']:.1f} | {x['min']:.1f} | {x['ratio']:.3f} | "
                   f"{x['paired_ratio_median']:.3f} | {x['failures']} |")
    out.append("")
    if AGAINST:
        out += against_lines(L)
        out.append("")
    out.append("### 2. Concurrent logins over 10 users (all started at once; latency of each login)")
    out.append("")
    out.append("| logins | | median ms | p99 ms | max ms | failures | p99 / single-login median | "
               "CPU busy s (ssh clients) | server CPU ms / login | least wall s for that CPU |")
    out.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in CONC_LEVELS:
        for v in ("plain", "warm"):
            x = C[n][v]
            base = L[v]["median"]
            out.append(f"| {n} | {LABEL[v]} | {x['median']:.0f} | {x['p99']:.0f} | {x['max']:.0f} | "
                       f"{x['failures']}/{x['attempts']} | {x['p99'] / base:.2f} | {x['busy_cpu_s']:.1f} "
                       f"({x['client_cpu_s']:.1f}) | {x['server_cpu_ms_per_login']:.0f} | {x['cpu_bound_s']:.1f} |")
    out.append("")
    out += neighbour_table(r["neighbour"])
    out.append("")
    js, pod = M["jsandbox"], M["podman"]
    out.append("### 3. Per idle user: memory kept and disk of a new user")
    out.append("")
    out.append("| | processes kept | RSS KiB | PSS KiB | private KiB | disk KiB |")
    out.append("|---|---:|---:|---:|---:|---:|")
    out.append(f"| jsandbox (init; median of {len(js['users'])} idle users) | {js['procs_per_user']:g} | "
               f"{js['rss_kib']:g} | {js['pss_kib']:g} | {js['uss_kib']:g} | {js['disk_kib']:g} (upper + work) |")
    names = ", ".join(sorted({p['comm'] for p in pod['procs']}))
    out.append(f"| rootless podman ({names}) | {len(pod['procs'])} | {pod['rss_kib']} | {pod['pss_kib']} | "
               f"{pod['uss_kib']} | "
               f"{pod['storage_kib']} (its storage: the image's layers {pod['image_layers_kib']} + container "
               f"{pod['container_layer_kib']}) |")
    out.append("")
    out.append(f"podman set-up for that user: import of the image {pod['import_ms']} ms, `podman run` "
               f"{pod['run_ms']} ms.")
    out.append("")
    out.append("### 4. Work inside a container vs on the host (same user, same home directory)")
    out.append("")
    out.append("| job | host median s | inside median s | ratio of medians inside / host | median of paired ratios |")
    out.append("|---|---:|---:|---:|---:|")
    c = Wk["compile"]
    out.append(f"| gcc -O2 -g of this repository's {c['files']} C files, {COMPILE_JOBS} job "
               f"({c['host']['n']} runs each, alternating) | {c['host']['median'] / 1000:.2f} | "
               f"{c['inside']['median'] / 1000:.2f} | {c['ratio']:.3f} | {c['paired_ratio_median']:.3f} |")
    a = Wk.get("apt")
    if a:
        out.append(f"| `apt-get install` {env['apt_pkg']} from a local .deb ({a['host']['n']} runs each, alternating) | "
                   f"{a['host']['median'] / 1000:.2f} | {a['inside']['median'] / 1000:.2f} | {a['ratio']:.3f} | "
                   f"{a['paired_ratio_median']:.3f} |")
    else:
        out.append(f"| `apt-get install` {env['apt_pkg']} | skipped: installed on the host | | | |")
    out.append("")
    out.append("### Targets")
    out.append("")
    out.append("| target | measured | |")
    out.append("|---|---|---|")
    for v, lim in (("warm", 1.01), ("cold", 1.03), ("exempt", 1.01)):
        if v in L:
            out.append(f"| {LABEL[v]} login ≤ {lim:.2f}× plain sshd | {L[v]['ratio']:.3f}× (paired: "
                       f"{L[v]['paired_ratio_median']:.3f}×) | {verdict(L[v]['paired_ratio_median'] <= lim)} |")
    N = r["neighbour"]
    worst_med, worst_p99 = nb_worst(N, "median_vs_idle"), nb_worst(N, "p99_vs_idle")
    out.append(f"| others' jsandbox logins while a neighbour hogs memory, fork-bombs or fills /tmp: median "
               f"≤ 1.2× idle | worst {worst_med:.2f}× | {verdict(worst_med <= 1.2)} |")
    out.append(f"| the same, p99 ≤ 1.2× idle p99 | worst {worst_p99:.2f}× | {verdict(worst_p99 <= 1.2)} |")
    c100 = C[100]["warm"]
    out.append(f"| 100 concurrent logins: zero failures | {c100['failures']} of {c100['attempts']} | "
               f"{verdict(c100['failures'] == 0)} |")
    ratio = c100["p99"] / L["warm"]["median"]
    out.append(f"| 100 concurrent logins: p99 ≤ 2× single-login median | {ratio:.1f}× (plain sshd: "
               f"{C[100]['plain']['p99'] / L['plain']['median']:.1f}×) | {verdict(ratio <= 2)} |")
    out.append(f"| idle memory per user ≤ 1 MiB | PSS {js['pss_kib']:g} KiB, RSS {js['rss_kib']:g} KiB | "
               f"{verdict(js['pss_kib'] <= 1024)} (PSS), {verdict(js['rss_kib'] <= 1024)} (RSS) |")
    out.append(f"| disk per new user ≤ 1 MiB | {js['disk_kib']:g} KiB | {verdict(js['disk_kib'] <= 1024)} |")
    spread = (f"samples {min(c['host']['samples']) / 1000:.2f}–{max(c['host']['samples']) / 1000:.2f} s host, "
              f"{min(c['inside']['samples']) / 1000:.2f}–{max(c['inside']['samples']) / 1000:.2f} s inside")
    out.append(f"| compile inside ≤ 1.03× host | paired: {c['paired_ratio_median']:.3f}× (ratio of medians "
               f"{c['ratio']:.3f}×; {spread}) | {verdict(c['paired_ratio_median'] <= 1.03)} |")
    out.append("")
    out.append("Ratio targets are judged on the median of paired ratios: each repetition runs the variants "
               "back to back, so the machine's drift over the run (see the spread of the samples) falls on "
               "both sides of a pair and cancels, where a ratio of two medians keeps it.")
    chk = L["checks"]
    out.append("")
    out.append(f"Checks: warm logins that found a different init: {chk['warm_init_changed']}; cold logins that "
               f"found a container still there: {chk['cold_container_still_there']}.")
    return "\n".join(out) + "\n"


def main():
    os.makedirs(outdir, exist_ok=True)
    t0 = time.monotonic()
    # JSBB_ONLY=latency,memory (development): measure only those parts; no table.
    only = os.environ.get("JSBB_ONLY", "").split(",") if os.environ.get("JSBB_ONLY") else None
    r = {"machine": machine()}
    parts = [("latency", bench_latency), ("concurrency", bench_concurrency), ("neighbour", bench_neighbour),
             ("memory_disk", bench_memory_disk), ("work", bench_work)]
    for name, fn in parts:
        if only is None or name in only:
            r[name] = fn()
    r["elapsed_s"] = time.monotonic() - t0
    with open(f"{outdir}/results.json", "w") as f:
        json.dump(r, f, indent=1, default=str)
    if only is None:
        with open(f"{outdir}/table.md", "w") as f:
            f.write(table(r))
    if only is not None and "latency" in r and AGAINST:
        log("\n".join(against_lines(r["latency"])))
    if only is not None and "neighbour" in r:
        with open(f"{outdir}/neighbour.md", "w") as f:
            f.write("\n".join(neighbour_table(r["neighbour"])) + "\n")
    log(f"measured in {r['elapsed_s']:.0f} s")


if __name__ == "__main__":
    main()
