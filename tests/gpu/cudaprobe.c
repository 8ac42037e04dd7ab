/* SPDX-License-Identifier: MIT */
/* A CUDA program's first steps with the real driver, without the CUDA
 * toolkit: load libcuda.so.1 by its soname (through the ld cache), cuInit,
 * cuDeviceGetCount, and with "hold", a primary context on device 0 kept
 * until stdin closes (so that jsandboxctl gpus --usage can see it).
 * Prints "cuda devices: N" or "cuda error: ...". Used by tests/gpu/t_real.sh. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW);
	if (!h) {
		printf("cuda error: dlopen: %s\n", dlerror());
		return 1;
	}
	int (*init)(unsigned) = (int (*)(unsigned))dlsym(h, "cuInit");
	int (*count)(int *) = (int (*)(int *))dlsym(h, "cuDeviceGetCount");
	int (*get)(int *, int) = (int (*)(int *, int))dlsym(h, "cuDeviceGet");
	int (*retain)(void **, int) = (int (*)(void **, int))dlsym(h, "cuDevicePrimaryCtxRetain");
	if (!init || !count || !get || !retain) {
		printf("cuda error: missing symbols\n");
		return 1;
	}
	int r = init(0), n = 0;
	if (r != 0) {
		printf("cuda error: cuInit: %d\n", r);
		return 1;
	}
	if ((r = count(&n)) != 0) {
		printf("cuda error: cuDeviceGetCount: %d\n", r);
		return 1;
	}
	printf("cuda devices: %d\n", n);
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "hold")) {
		int dev;
		void *ctx;
		if ((r = get(&dev, 0)) != 0 || (r = retain(&ctx, dev)) != 0) {
			printf("cuda error: context: %d\n", r);
			return 1;
		}
		printf("holding\n");
		fflush(stdout);
		while (getchar() != EOF)
			;
	}
	return 0;
}
