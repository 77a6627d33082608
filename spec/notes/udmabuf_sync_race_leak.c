/*
 * Evidence for spec/notes/udmabuf-sync-start-leak.md: two threads' first DMA_BUF_IOCTL_SYNC START on one udmabuf
 * both build the buffer's cached sg table, and the one stored second orphans the first (begin_cpu_udmabuf in
 * drivers/dma-buf/udmabuf.c checks and sets ubuf->sg with no lock; dma_buf_begin_cpu_access takes none either).
 * release_udmabuf frees only the table it finds, so each race lost leaks one sg_table (kmalloc-16) and its
 * scatterlist and DMA mapping, after every fd of the buffer is closed.
 *
 * The count comes from the kernel's own allocation tracking: booted with slub_debug=U (here "slub_debug=U,kmalloc-*"),
 * /sys/kernel/debug/slab/CACHE/alloc_traces lists the live objects of each cache by the call chain that allocated
 * them. The program reads the live objects allocated by get_sg_table before and after ITERATIONS races (each: a
 * fresh 4-page udmabuf, two threads released by one barrier each issue SYNC START, then the buffer and its memfd are
 * closed) and with one thread (the control: the same calls in one order).
 *
 * usage: udmabuf_sync_race_leak [ITERATIONS]   (default 3000)
 * exit: 0 no sg table outlived its buffer; 1 some did (the counts are printed); 2 the set-up failed or the kernel
 * tracks no allocations (not booted with slub_debug=U, or no debugfs).
 * build: gcc -O2 -Wall -o udmabuf_sync_race_leak udmabuf_sync_race_leak.c -lpthread
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/udmabuf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 4

static pthread_barrier_t barrier;
static int buf;

static void *sync_start(void *arg)
{
	struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };

	(void)arg;
	pthread_barrier_wait(&barrier);
	ioctl(buf, DMA_BUF_IOCTL_SYNC, &s);
	return NULL;
}

/* Live objects, over every tracked kmalloc cache, whose allocating call chain's first frame is get_sg_table;
 * -1 when no cache has tracking on. */
static long live_sg_tables(void)
{
	DIR *d = opendir("/sys/kernel/debug/slab");
	struct dirent *e;
	long live = 0;
	int tracked = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[512], line[512];
		FILE *f;

		if (strncmp(e->d_name, "kmalloc-", 8))
			continue;
		snprintf(path, sizeof path, "/sys/kernel/debug/slab/%s/alloc_traces", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		tracked = 1;
		/* an entry's first line: "<count> <function>+<offset>/<size> age=... pid=..." */
		while (fgets(line, sizeof line, f)) {
			long n;
			char fn[256];

			if (sscanf(line, " %ld %255[^+ ]", &n, fn) == 2 && !strncmp(fn, "get_sg_table", 12))
				live += n;
		}
		fclose(f);
	}
	closedir(d);
	return tracked ? live : -1;
}

/* ITERATIONS fresh udmabufs, each given its first SYNC START by THREADS threads at once; 0, or -1 on a set-up error */
static int race(int dev, int iterations, int threads)
{
	for (int i = 0; i < iterations; i++) {
		int m = memfd_create("udmabuf-race", MFD_ALLOW_SEALING);
		pthread_t t[2];

		if (m < 0 || ftruncate(m, PAGES * 4096) < 0 || fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
			perror("memfd");
			return -1;
		}
		struct udmabuf_create c = { .memfd = m, .flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0, .size = PAGES * 4096 };

		buf = ioctl(dev, UDMABUF_CREATE, &c);
		if (buf < 0) {
			perror("UDMABUF_CREATE");
			close(m);
			return -1;
		}
		pthread_barrier_init(&barrier, NULL, threads);
		for (int k = 0; k < threads; k++)
			pthread_create(&t[k], NULL, sync_start, NULL);
		for (int k = 0; k < threads; k++)
			pthread_join(t[k], NULL);
		pthread_barrier_destroy(&barrier);
		close(buf);
		close(m);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int iterations = argc > 1 ? atoi(argv[1]) : 3000;
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	long before, control, after;

	if (dev < 0) {
		perror("/dev/udmabuf");
		return 2;
	}
	before = live_sg_tables();
	if (before < 0) {
		fprintf(stderr, "no allocation tracking: boot with slub_debug=U,kmalloc-* and mount debugfs\n");
		return 2;
	}
	if (race(dev, iterations, 1) < 0)
		return 2;
	usleep(200000);
	control = live_sg_tables();
	if (race(dev, iterations, 2) < 0)
		return 2;
	usleep(200000);   /* nothing of a released udmabuf is freed late, but let RCU settle all the same */
	after = live_sg_tables();
	printf("live sg tables allocated by get_sg_table: %ld before, %ld after %d buffers synced by one thread, "
	       "%ld after %d buffers synced by two threads at once\n", before, control, iterations, after, iterations);
	if (control != before)
		printf("LEAK with one thread: %ld sg tables outlived their buffers\n", control - before);
	if (after != control)
		printf("LEAK with two threads: %ld sg tables outlived their buffers (one per race the second store won)\n",
		       after - control);
	close(dev);
	return control != before || after != control ? 1 : 0;
}
