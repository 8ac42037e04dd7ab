/* SPDX-License-Identifier: MIT */
/* jsandbox-shell: the login shell and ForceCommand of sandboxed users, a
 * static front for jsandbox-session (session.c), which does the work.
 *
 * sshd hands the login shell whatever AcceptEnv (or PermitUserEnvironment)
 * lets through from the client, LD_PRELOAD and LD_AUDIT included, and
 * ld.so acts on them before main(): in a dynamically linked login shell
 * that is the user's code running on the host. This program is linked
 * statically (no ld.so, no NSS, no dlopen), unsets what glibc treats as
 * unsafe in a privileged program, and execs the real helper with the same
 * arguments. Nothing else: no library, no look-up, no file read. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#ifndef JSANDBOX_SESSION
#define JSANDBOX_SESSION JSANDBOX_LIBEXECDIR "/jsandbox-session"
#endif

extern char **environ;

/* glibc's list of variables ignored in secure-execution mode
 * (sysdeps/generic/unsecvars.h), plus the other LD_ switches. */
static const char *const unsafe[] = {
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LD_AUDIT",
    "LD_BIND_NOT",
    "LD_BIND_NOW",
    "LD_DEBUG",
    "LD_DEBUG_OUTPUT",
    "LD_DYNAMIC_WEAK",
    "LD_HWCAP_MASK",
    "LD_LIBRARY_PATH",
    "LD_ORIGIN_PATH",
    "LD_PRELOAD",
    "LD_PROFILE",
    "LD_SHOW_AUXV",
    "LD_USE_LOAD_BIAS",
    "LOCALDOMAIN",
    "LOCPATH",
    "MALLOC_ARENA_MAX",
    "MALLOC_ARENA_TEST",
    "MALLOC_CHECK_",
    "MALLOC_PERTURB_",
    "MALLOC_TRACE",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "NIS_PATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "TMPDIR",
    "TZDIR",
};

int main(int argc, char **argv)
{
	(void)argc;
	for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++)
		unsetenv(unsafe[i]);
	/* Any other LD_ variable a future ld.so might read. */
	for (size_t i = 0; environ && environ[i];) {
		if (!strncmp(environ[i], "LD_", 3)) {
			char name[256];
			size_t n = strcspn(environ[i], "=");
			if (n < sizeof name) {
				memcpy(name, environ[i], n);
				name[n] = '\0';
				unsetenv(name);
				continue;
			}
		}
		i++;
	}
	/* Only a root-owned helper that nobody else may write (the directory
	 * is checked with the login shell's, by the PAM module). */
	int fd = open(JSANDBOX_SESSION, O_PATH | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		syslog(LOG_AUTHPRIV | LOG_ERR,
		       "jsandbox-shell: uid %u refused: %s is missing, not a regular file, not "
		       "root-owned or writable by others",
		       (unsigned)getuid(), JSANDBOX_SESSION);
		/* No policy here (a static front without the parser): the
		 * default help_contact. */
		fprintf(stderr,
			"jsandbox: the sandbox is not installed correctly. For help, contact your administrator.\n");
		return 127;
	}
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	syslog(LOG_AUTHPRIV | LOG_ERR, "jsandbox-shell: uid %u: cannot exec %s: %m", (unsigned)getuid(),
	       JSANDBOX_SESSION);
	fprintf(stderr, "jsandbox: cannot start your session. For help, contact your administrator.\n");
	return 127;
}
