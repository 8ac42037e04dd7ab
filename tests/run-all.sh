#!/bin/bash
# Every test, as CI runs them, each build with warnings as errors
# (-DJSANDBOX_WERROR=ON):
#   1. static checks: clang-format on every C source and header, mandoc -T lint
#      on every man page, shellcheck on every shell script;
#   2. three extra builds that run the unit tests only (ctest -L unit): a
#      Debug build, a clang build, and one with Debian's packaging flags
#      (dpkg-buildflags, as debhelper passes them);
#   3. the normal build, configured with a scratch install prefix and config
#      path inside the build directory, whose ctest installs it and runs the
#      unit, jsandboxctl, end-to-end and attack tests;
#   3b. the Debian package (tests/package.sh): dpkg-buildpackage, lintian,
#      dpkg -i, a few end-to-end tests against the installed package, purge;
#   3c. the package upgrade (tests/package_upgrade.sh): versions N, N+1 and
#      a protocol-bumped N+2 built from the tree, installed over each other
#      with a container running, logins through sshd after each;
#   4. an ASan+UBSan build (unit and jsandboxctl tests);
#   5. a clang/libFuzzer build: the committed corpus, then bounded fuzzing;
#   6. the VM lane (tests/vm/README.md), twice: Debian 12's own kernel 6.1
#      and bookworm-backports' 6.12, with systemd, installed as INSTALL.md
#      says, logins through its sshd and the lane's tests (tests/vm/t_*),
#      then a core subset of the end-to-end and security suites inside.
# Each step prints its wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
# On a fresh machine the build and test dependencies come first.
"$src/.ci/install-deps" --if-missing
jobs=$(nproc)
step_start=$SECONDS
took() { # NAME: the time since the previous step
	echo "=== $1 took $((SECONDS - step_start)) s"
	step_start=$SECONDS
}
configure() { # BUILD-DIR [cmake args...]
	local b=$1
	shift
	cmake -S "$src" -B "$b" -DJSANDBOX_WERROR=ON \
		-DCMAKE_INSTALL_PREFIX="$b/prefix" -DJSANDBOX_CONFIG="$b/etc/jsandbox.conf" "$@"
	cmake --build "$b" -j"$jobs"
}
run() { # NAME BUILD-DIR [cmake args...]: build, then every test
	local name=$1 b=$2
	shift 2
	echo "=== $name build ($b)"
	configure "$b" "$@"
	ctest --test-dir "$b" --output-on-failure
}
run_unit() { # NAME BUILD-DIR [cmake args...]: build, then the unit tests
	local name=$1 b=$2
	shift 2
	echo "=== $name build ($b), unit tests"
	configure "$b" -DJSANDBOX_E2E=OFF "$@"
	ctest --test-dir "$b" -L unit --output-on-failure
}

# 1. Static checks. The tracked files of this clone (a build directory
# holds nothing to check).
echo "=== clang-format"
mapfile -t c_files < <(git ls-files '*.c' '*.h')
clang-format --dry-run --Werror "${c_files[@]}"
echo "${#c_files[@]} C files formatted as .clang-format says"
echo "=== shellcheck"
sh_files=()
while IFS= read -r f; do
	case $f in
	*.sh) sh_files+=("$f") ;;
	*) if head -n1 "$f" | grep -Eq '^#!.*[/ ](ba)?sh( |$)'; then sh_files+=("$f"); fi ;;
	esac
done < <(git ls-files)
shellcheck -x "${sh_files[@]}"
echo "${#sh_files[@]} shell scripts pass shellcheck"
# The bash completion script has no #! line: by name.
shellcheck -x ctl/jsandboxctl.bash-completion
echo "=== mandoc -T lint"
# Every man page, at the warning level (dates, macros, references):
# mandoc exits non-zero on any warning.
mapfile -t man_files < <(git ls-files '*.[1-8]')
mandoc -T lint -W warning "${man_files[@]}"
echo "${#man_files[@]} man pages pass mandoc -T lint"
took "static checks"

# 2. Builds that packagers and developers run: unit tests only.
run_unit debug "$src/build-debug" -DCMAKE_BUILD_TYPE=Debug
took "debug build"
(
	export CC=clang
	run_unit clang "$src/build-clang"
)
took "clang build"
(
	# debhelper's cmake build: CMAKE_BUILD_TYPE=None, CPPFLAGS folded
	# into CFLAGS (CMake ignores CPPFLAGS).
	eval "$(dpkg-buildflags --export=sh)"
	export CFLAGS="$CFLAGS $CPPFLAGS"
	run_unit dpkg-buildflags "$src/build-dpkg" -DCMAKE_BUILD_TYPE=None
)
took "dpkg-buildflags build"

# 3. The normal build: everything, end-to-end and attacks included.
run normal "$src/build"
took "normal build"
# 3b. The package, installed system-wide for a moment: CI's machine is a
# throwaway one. The step purges it again and refuses to run where a
# jsandbox package is installed already.
"$src/tests/package.sh" "$src/build"
took "package"
# 3c. The package upgrade (tests/package_upgrade.sh): N installed with a
# lingering container, N+1 (same protocol) joins it, N+2 (another
# protocol) refuses with the documented message until jsandboxctl stop.
"$src/tests/package_upgrade.sh" "$src/build"
took "package upgrade"
# 4. Under the sanitizers the module would have to be loaded into an
# uninstrumented sshd; the end-to-end suite runs in the normal build.
run sanitize "$src/build-asan" -DJSANDBOX_SANITIZE=ON -DJSANDBOX_E2E=OFF
took "sanitize build"
# 5. A clang build for the libFuzzer targets (tests/fuzz): the committed
# corpus as a regression test, then each target fuzzed for FUZZ_SECONDS
# (default 30).
echo "=== fuzz build ($src/build-fuzz)"
CC=clang cmake -S "$src" -B "$src/build-fuzz" -DJSANDBOX_FUZZ=ON -DJSANDBOX_E2E=OFF -DJSANDBOX_WERROR=ON \
	-DCMAKE_INSTALL_PREFIX="$src/build-fuzz/prefix" -DJSANDBOX_CONFIG="$src/build-fuzz/etc/jsandbox.conf"
cmake --build "$src/build-fuzz" -j"$jobs" --target fuzz_policy fuzz_subid fuzz_layer_tar fuzz_cdi fuzz_dpkg
ctest --test-dir "$src/build-fuzz" -R '^fuzz_corpus_' --output-on-failure
"$src/tests/fuzz/run.sh" "$src/build-fuzz" "${FUZZ_SECONDS:-30}"
took "fuzz build"
# 6. The VM lane: a stock Debian 12 server (systemd, pure cgroup v2) booted
# with QEMU, jsandbox installed the way INSTALL.md says, sandboxed logins
# through the guest's own sshd and the lane's tests: once on Debian 12's own
# kernel 6.1, once on bookworm-backports' 6.12 (the same disk, the kernel
# picked at boot). Its disk and base image are cached under build/vm-cache.
# After the lane's tests, the end-to-end and security tests whose outcome
# depends on systemd, the cgroup layout or the kernel run inside the guest
# against step 3's build (tests/vm/suites.sh): logins, commands and
# terminals; the container's life cycle, limits and session cgroup in the
# systemd scope; other users' IPC and sockets (Landlock's ABI), the host's
# files and kernel interfaces (masks, perf, nested namespaces), the
# limits attacked from inside; the host unchanged after it all. Under TCG
# they run about 10 times slower than here, so the rest (layers, images,
# GPUs, the CLI, crash injection), which does not depend on either, runs
# here only (tests/vm/README.md). On 6.12 the guest's userland (systemd,
# sshd, PAM) is 6.1's, so the three whose outcome rests on it alone
# (terminals, commands, the life cycle) run on 6.1 only: about 4 minutes
# less under TCG's one vCPU.
vm_common='install|e2e_setup|e2e_cleanup|e2e_t_01_identity|e2e_t_13_limits|e2e_t_31_session_cgroup|sec_t_00_baseline|sec_t_02_other_users|sec_t_03_write_host|sec_t_05_kernel_interfaces|sec_t_06_cgroup_limits|sec_t_99_host_unchanged'
for kernel in 6.1 6.12; do
	echo "=== VM lane (Debian 12, kernel $kernel)"
	if [ "$kernel" = 6.1 ]; then
		vm_suites="^($vm_common|e2e_t_03_tty|e2e_t_04_command|e2e_t_09_lifecycle)\$"
	else
		vm_suites="^($vm_common)\$"
	fi
	JSB_VM_KERNEL=$kernel JSB_VM_SUITES=$vm_suites "$src/tests/vm/run-lane.sh" "$src/build"
	took "VM lane ($kernel)"
done
echo "=== all passed in $SECONDS s"
