/* SPDX-License-Identifier: MIT */
#include "ebpf.h"

#include <linux/bpf.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>

/* Every cgroup holds at most BPF_CGROUP_MAX_PROGS (64) programs per
 * attach type (kernel/bpf/cgroup.c). */
#define MAX_ATTACHED 64

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

static uint64_t ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

void js_bpf_prog_free(struct js_bpf_prog *p)
{
	free(p->insn);
	memset(p, 0, sizeof *p);
}

/* ---- generation ---- */

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* dst = *(u32 *)(ctx + off); a 32-bit load zero-extends. */
static struct bpf_insn ldx_w(uint8_t dst, uint8_t src, int16_t off)
{
	return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
static struct bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm)
{
	return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
static struct bpf_insn mov32_reg(uint8_t dst, uint8_t src)
{
	return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
static struct bpf_insn mov64_imm(uint8_t dst, int32_t imm)
{
	return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
static struct bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off)
{
	return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}
static struct bpf_insn exit_insn(void)
{
	return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int emit(struct js_bpf_prog *p, const struct bpf_insn *in, size_t n, struct js_err *err)
{
	if (p->n + n > p->cap) {
		size_t nc = p->cap ? p->cap : 64;
		while (nc < p->n + n)
			nc *= 2;
		struct bpf_insn *ni = realloc(p->insn, nc * sizeof *ni);
		if (!ni)
			return js_fail(err, ENOMEM, "out of memory generating the device program");
		p->insn = ni;
		p->cap = nc;
	}
	memcpy(p->insn + p->n, in, n * sizeof *in);
	p->n += n;
	return 0;
}

/* Registers after the prologue (the context pointer arrives in r1):
 *   r2 access requested (BPF_DEVCG_ACC_* bits: the high 16 bits of
 *      access_type), r3 device type (BPF_DEVCG_DEV_*: the low 16 bits),
 *   r4 major, r5 minor; r0 is scratch until the return value. */
enum { R0, R1, R2, R3, R4, R5 };

static uint32_t bpf_access(unsigned a)
{
	return (a & JS_DEV_READ ? BPF_DEVCG_ACC_READ : 0) | (a & JS_DEV_WRITE ? BPF_DEVCG_ACC_WRITE : 0) |
	       (a & JS_DEV_MKNOD ? BPF_DEVCG_ACC_MKNOD : 0);
}

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

/* One rule: a run of "if (field != value) goto next" tests followed by
 * "return 1". Returns 1 when the rule has no test at all (allows
 * everything), so the caller stops. */
static int emit_rule(struct js_bpf_prog *p, const struct js_dev_rule *r, struct js_err *err)
{
	struct bpf_insn b[8];
	size_t k = 0;
	if (r->type == 'c' || r->type == 'b')
		b[k++] = jne_imm(R3, r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0);
	uint32_t acc = bpf_access(r->access);
	if (acc != ACC_ALL) {
		/* Every requested bit must be in the rule, as in v1's
		 * match_exception(): (request & ~rule) must be 0. An open()
		 * with O_RDWR asks for read and write at once. */
		b[k++] = mov32_reg(R0, R2);
		b[k++] = alu32_imm(BPF_AND, R0, (int32_t)(~acc & ACC_ALL));
		b[k++] = jne_imm(R0, 0, 0);
	}
	if (r->major >= 0)
		b[k++] = jne_imm(R4, (int32_t)r->major, 0);
	if (r->minor >= 0)
		b[k++] = jne_imm(R5, (int32_t)r->minor, 0);
	bool all = k == 0;
	b[k++] = mov64_imm(R0, 1);
	b[k++] = exit_insn();
	/* Each test jumps past the end of this block to the next rule. */
	for (size_t j = 0; j < k; j++)
		if (b[j].code == (BPF_JMP | BPF_JNE | BPF_K))
			b[j].off = (int16_t)(k - j - 1);
	int rc = emit(p, b, k, err);
	return rc < 0 ? rc : all;
}

int js_ebpf_build(const struct js_dev_list *l, struct js_bpf_prog *out, struct js_err *err)
{
	memset(out, 0, sizeof *out);
	const struct bpf_insn prologue[] = {
	    ldx_w(R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type)),
	    mov32_reg(R3, R2),
	    alu32_imm(BPF_AND, R3, 0xffff),
	    alu32_imm(BPF_RSH, R2, 16),
	    ldx_w(R4, R1, offsetof(struct bpf_cgroup_dev_ctx, major)),
	    ldx_w(R5, R1, offsetof(struct bpf_cgroup_dev_ctx, minor)),
	};
	const struct bpf_insn deny[] = {mov64_imm(R0, 0), exit_insn()};
	int r = emit(out, prologue, JS_ARRAY_SIZE(prologue), err);
	bool all = false;
	for (size_t i = 0; r >= 0 && !all && i < l->n; i++) {
		const struct js_dev_rule *rule = &l->r[i];
		if (!strchr("cba", rule->type) || rule->type == '\0')
			r = js_fail(err, EINVAL, "device rule %zu is not resolved", i);
		else if ((r = emit_rule(out, rule, err)) > 0)
			all = true;
	}
	/* Default deny — unless a rule allowed everything, which leaves
	 * nothing reachable after it. */
	if (r >= 0 && !all)
		r = emit(out, deny, JS_ARRAY_SIZE(deny), err);
	if (r < 0) {
		js_bpf_prog_free(out);
		return r;
	}
	return 0;
}

/* ---- loading ---- */

int js_ebpf_load(const struct js_bpf_prog *p, struct js_err *err)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = ptr(p->insn);
	attr.insn_cnt = (uint32_t)p->n;
	/* The license only gates GPL-only helpers; the program calls none. */
	attr.license = ptr("MIT");
	memcpy(attr.prog_name, JS_EBPF_PROG_NAME, sizeof JS_EBPF_PROG_NAME);
	int fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	int e = errno;
	/* Load again with the verifier's log to say why. Since Linux 6.4
	 * a log too small for the whole text keeps its end (ENOSPC), which
	 * is where the verifier states the reason. */
	size_t logsz = 1 << 18;
	_cleanup_free_ char *log = calloc(1, logsz);
	if (log) {
		attr.log_level = 1;
		attr.log_buf = ptr(log);
		attr.log_size = (uint32_t)logsz;
		fd = sys_bpf(BPF_PROG_LOAD, &attr);
		if (fd >= 0)
			return fd; /* it passed this time: nothing to report */
		if (errno != ENOSPC)
			e = errno;
	}
	if (e == EPERM)
		return js_fail(err, e, "cannot load the device eBPF program: %s (needs CAP_SYS_ADMIN or CAP_BPF)",
			       strerror(e));
	/* The end of the log, where the reason is, on one line (the error
	 * goes to syslog). */
	char *tail = log ? log : (char *)"";
	size_t len = strlen(tail);
	while (len > 0 && (tail[len - 1] == '\n' || tail[len - 1] == ' '))
		tail[--len] = '\0';
	for (char *c = tail; *c; c++)
		if (*c == '\n')
			*c = '|';
	size_t keep = 320;
	const char *from = len > keep ? tail + len - keep : tail;
	/* The verifier refuses a program with EACCES (or EINVAL). */
	return js_fail(err, e, "cannot load the device eBPF program (%s); verifier: %s%s",
		       e == EACCES ? "rejected by the verifier" : strerror(e), from == tail ? "" : "...", from);
}

/* ---- attaching ---- */

static int prog_fd_by_id(uint32_t id)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_id = id;
	int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
	return fd < 0 ? -errno : fd;
}

static int prog_info(int fd, struct bpf_prog_info *info)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	memset(info, 0, sizeof *info);
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof *info;
	attr.info.info = ptr(info);
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0 ? -errno : 0;
}

static bool is_ours(const struct bpf_prog_info *info)
{
	return info->type == BPF_PROG_TYPE_CGROUP_DEVICE &&
	       strncmp(info->name, JS_EBPF_PROG_NAME, sizeof info->name) == 0;
}

int js_ebpf_query(int cgfd, uint32_t *ids, size_t max, struct js_err *err)
{
	uint32_t all[MAX_ATTACHED] = {0}; /* the kernel fills prog_cnt of them */
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.query.target_fd = (uint32_t)cgfd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.query_flags = 0; /* this cgroup's own, not the effective set */
	attr.query.prog_ids = ptr(all);
	attr.query.prog_cnt = MAX_ATTACHED;
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
		return js_failm(err, errno, "cannot query the cgroup's device programs");
	size_t n = 0;
	for (uint32_t i = 0; i < attr.query.prog_cnt && i < MAX_ATTACHED; i++) {
		_cleanup_close_ int fd = prog_fd_by_id(all[i]);
		struct bpf_prog_info info;
		if (fd == -ENOENT)
			continue; /* detached and freed since the query */
		if (fd < 0)
			return js_failm(err, -fd, "cannot open device program %u", all[i]);
		int r = prog_info(fd, &info);
		if (r < 0)
			return js_failm(err, -r, "cannot inspect device program %u", all[i]);
		if (!is_ours(&info))
			continue;
		if (n < max)
			ids[n] = all[i];
		n++;
	}
	return (int)n;
}

static int attach(int cgfd, int prog_fd, int replace_fd)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgfd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (replace_fd >= 0) {
		attr.attach_flags |= BPF_F_REPLACE;
		attr.replace_bpf_fd = (uint32_t)replace_fd;
	}
	return sys_bpf(BPF_PROG_ATTACH, &attr) < 0 ? -errno : 0;
}

static int detach(int cgfd, int prog_fd)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgfd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	return sys_bpf(BPF_PROG_DETACH, &attr) < 0 ? -errno : 0;
}

int js_ebpf_attach(int cgfd, int prog_fd, struct js_err *err)
{
	uint32_t old[MAX_ATTACHED];
	int nold = js_ebpf_query(cgfd, old, MAX_ATTACHED, err);
	if (nold < 0)
		return nold;
	if (nold > MAX_ATTACHED)
		nold = MAX_ATTACHED;

	int replaced = -1, r = -ENOENT;
	for (int i = 0; i < nold && replaced < 0; i++) {
		_cleanup_close_ int ofd = prog_fd_by_id(old[i]);
		if (ofd < 0)
			continue;
		r = attach(cgfd, prog_fd, ofd);
		if (r == 0)
			replaced = i;
		else if (r == -EINVAL)
			break; /* no BPF_F_REPLACE (before 5.6): attach, then detach */
		else if (r != -ENOENT)
			return js_failm(err, -r, "cannot replace the device eBPF program");
		/* ENOENT: that program left the cgroup meanwhile; next. */
	}
	if (replaced < 0 && (r = attach(cgfd, prog_fd, -1)) < 0) {
		if (r == -EPERM)
			return js_fail(err, EPERM,
				       "cannot attach the device eBPF program: %s (another program is attached "
				       "without BPF_F_ALLOW_MULTI, or no CAP_SYS_ADMIN)",
				       strerror(EPERM));
		return js_failm(err, -r, "cannot attach the device eBPF program");
	}
	/* The new program is enforcing: every old one still attached can
	 * only narrow what it allows, and can go. */
	for (int i = 0; i < nold; i++) {
		if (i == replaced)
			continue;
		_cleanup_close_ int ofd = prog_fd_by_id(old[i]);
		if (ofd == -ENOENT)
			continue;
		if (ofd < 0)
			return js_failm(err, -ofd, "cannot open old device program %u", old[i]);
		r = detach(cgfd, ofd);
		if (r < 0 && r != -ENOENT)
			return js_failm(err, -r, "cannot detach old device program %u", old[i]);
	}

	/* Check the outcome as the kernel sees it: exactly our new one. */
	struct bpf_prog_info info;
	if ((r = prog_info(prog_fd, &info)) < 0)
		return js_failm(err, -r, "cannot inspect the device program");
	uint32_t now[2];
	int n = js_ebpf_query(cgfd, now, JS_ARRAY_SIZE(now), err);
	if (n < 0)
		return n;
	if (n != 1 || now[0] != info.id)
		return js_fail(err, EIO, "the cgroup has %d device programs of ours after attaching, expected 1", n);
	return 0;
}

int js_ebpf_apply(int cgfd, const struct js_dev_list *l, struct js_err *err)
{
	struct js_bpf_prog p;
	int r = js_ebpf_build(l, &p, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = js_ebpf_load(&p, err);
	js_bpf_prog_free(&p);
	if (fd < 0)
		return fd;
	/* The cgroup keeps its own reference to an attached program; our
	 * fd can be closed once it is attached. */
	return js_ebpf_attach(cgfd, fd, err);
}
