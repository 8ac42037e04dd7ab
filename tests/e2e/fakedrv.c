/* SPDX-License-Identifier: MIT */
/* A stand-in for the NVIDIA driver's user space, built by the end-to-end
 * tests (t_14): one source for libcuda.so.<V>, libnvidia-ml.so.<V> (both
 * export what is below) and nvidia-smi (-DSMI, linked against
 * libnvidia-ml.so.1); -DCUDAPROBE is a CUDA program's first steps. "A GPU it can open" is a /dev/nvidia<N> whose open
 * gets as far as the driver: ENXIO on a host whose major 195 has no
 * driver (the device cgroup refuses first, with EPERM, what is not
 * granted). FAKE_VERSION is the driver version it was built as. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(CUDAPROBE)
#include <dlfcn.h>

/* What a CUDA program does first: load the driver by its soname through
 * the ld cache, initialise, count the devices. */
int main(void)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return 1;
	}
	int (*init)(unsigned) = (int (*)(unsigned))dlsym(h, "cuInit");
	int (*count)(int *) = (int (*)(int *))dlsym(h, "cuDeviceGetCount");
	int n = -1;
	if (!init || !count || init(0) != 0 || count(&n) != 0)
		return 1;
	printf("cuda devices: %d\n", n);
	return 0;
}
#elif !defined(SMI)
const char *fake_driver_version(void)
{
	return FAKE_VERSION;
}

/* The minors of the GPUs this process can open, ascending; how many. */
int fake_gpus(int *minor, int max)
{
	int n = 0;
	for (int m = 0; m < 254 && n < max; m++) {
		char p[32];
		snprintf(p, sizeof p, "/dev/nvidia%d", m);
		int fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		if (fd >= 0 || errno == ENXIO)
			minor[n++] = m;
	}
	return n;
}

/* CUDA's driver API, as much as `python3 -c` with ctypes calls. */
int cuInit(unsigned flags)
{
	(void)flags;
	return 0;
}

int cuDeviceGetCount(int *count)
{
	int m[64];
	*count = fake_gpus(m, 64);
	return 0;
}
#else
const char *fake_driver_version(void);
int fake_gpus(int *minor, int max);

int main(int argc, char **argv)
{
	int m[64], n = fake_gpus(m, 64);
	if (argc > 1 && !strcmp(argv[1], "-L")) {
		for (int i = 0; i < n; i++)
			printf("GPU %d: Fake GPU (/dev/nvidia%d)\n", i, m[i]);
		return n ? 0 : 6;
	}
	printf("Driver Version: %s\nGPUs: %d\n", fake_driver_version(), n);
	return 0;
}
#endif
