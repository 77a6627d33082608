/*
 * The raw C baseline for the kernel-target benchmark (./run-suite.sh --target vm --bench):
 * the same syscalls the suite's kernel adapter issues for the benchmark's op mix, in a plain loop.
 * Usage: raw-loop HEAP_PATH VIDEO_PATH ROUNDS   (a path may be "-" to skip that workload)
 * Prints: "heap <ops> <seconds>" and "video <ops> <seconds>".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/videodev2.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "raw-loop: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* per round: DMA_HEAP_IOCTL_ALLOC, SYNC start, SYNC end, lseek SEEK_END, fcntl F_GETFD, close = 6 ops */
static void heap(const char *path, long rounds)
{
	int h = open(path, O_RDONLY | O_CLOEXEC);
	double t0;
	long i;

	if (h < 0)
		die(path);
	t0 = now();
	for (i = 0; i < rounds; i++) {
		struct dma_heap_allocation_data d = { .len = 4096, .fd_flags = O_RDWR | O_CLOEXEC };
		struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };

		if (ioctl(h, DMA_HEAP_IOCTL_ALLOC, &d))
			die("DMA_HEAP_IOCTL_ALLOC");
		if (ioctl(d.fd, DMA_BUF_IOCTL_SYNC, &s))
			die("DMA_BUF_IOCTL_SYNC");
		s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
		if (ioctl(d.fd, DMA_BUF_IOCTL_SYNC, &s))
			die("DMA_BUF_IOCTL_SYNC");
		if (lseek(d.fd, 0, SEEK_END) != 4096)
			die("lseek");
		if (fcntl(d.fd, F_GETFD) < 0)
			die("fcntl");
		close(d.fd);
	}
	printf("heap %ld %.6f\n", rounds * 6, now() - t0);
	close(h);
}

/* per round: QUERYBUF, EXPBUF, fcntl F_GETFD, close = 4 ops */
static void video(const char *path, long rounds)
{
	int v = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	struct v4l2_capability cap;
	struct v4l2_requestbuffers rb = { .count = 2, .memory = V4L2_MEMORY_MMAP };
	double t0;
	long i;

	if (v < 0)
		die(path);
	if (ioctl(v, VIDIOC_QUERYCAP, &cap))
		die("VIDIOC_QUERYCAP");
	rb.type = (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) ? V4L2_BUF_TYPE_VIDEO_CAPTURE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
	if (ioctl(v, VIDIOC_REQBUFS, &rb))
		die("VIDIOC_REQBUFS");
	t0 = now();
	for (i = 0; i < rounds; i++) {
		struct v4l2_buffer b = { .index = 0, .type = rb.type };
		struct v4l2_exportbuffer e = { .type = rb.type, .index = 0, .flags = O_RDWR | O_CLOEXEC };

		if (ioctl(v, VIDIOC_QUERYBUF, &b))
			die("VIDIOC_QUERYBUF");
		if (ioctl(v, VIDIOC_EXPBUF, &e))
			die("VIDIOC_EXPBUF");
		if (fcntl(e.fd, F_GETFD) < 0)
			die("fcntl");
		close(e.fd);
	}
	printf("video %ld %.6f\n", rounds * 4, now() - t0);
	rb.count = 0;
	ioctl(v, VIDIOC_REQBUFS, &rb);
	close(v);
}

int main(int argc, char **argv)
{
	long rounds;

	if (argc != 4) {
		fprintf(stderr, "usage: raw-loop HEAP_PATH|- VIDEO_PATH|- ROUNDS\n");
		return 2;
	}
	rounds = atol(argv[3]);
	if (strcmp(argv[1], "-"))
		heap(argv[1], rounds);
	if (strcmp(argv[2], "-"))
		video(argv[2], rounds);
	return 0;
}
