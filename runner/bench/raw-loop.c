/*
 * The raw C baseline for the kernel-target benchmark (./run-suite.sh --target vm --bench):
 * the same syscalls the suite's kernel adapter issues for the benchmark's op mix, in a plain loop.
 * Usage: raw-loop HEAP_PATH VIDEO_PATH ROUNDS [PER_SEQUENCE]   (a path may be "-" to skip that workload)
 * Prints: "heap <ops> <seconds>" and "video <ops> <seconds>": the mix's rounds on one file, set up once.
 * With PER_SEQUENCE (rounds a sequence) also "heap-seq ..." and "video-seq ...": the same rounds, cut into
 * sequences as the lockstep harness runs them, each with the syscalls the harness issues around its ops so
 * that every sequence starts from a fresh device state (its own open, REQBUFS and close, and for a video
 * node the idle probe after it: open, G_FMT, CREATE_BUFS(0), REQBUFS(0), close). Only the mix's ops count.
 *
 * Or: raw-loop --serve HEAP_PATH|- VIDEO_PATH|- PER_SEQUENCE, which reads "heap N" and "video N" lines on stdin, runs N
 * such sequences and writes their seconds on a line of their own, until end of input: the benchmark runs them by turns
 * with the harness's passes, a few milliseconds each, so the host's drifting speed falls on both alike, while the loop
 * stays a single-threaded process of its own (in a multi-threaded one, as the harness's is, every call on an fd takes a
 * reference to its file: 18% slower on the video sequences in one lab run).
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

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		die(path);
	return fd;
}

/* one heap round: DMA_HEAP_IOCTL_ALLOC, SYNC start, SYNC end, lseek SEEK_END, fcntl F_GETFD, close = 6 ops */
static void heap_round(int h)
{
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

/* the heap rounds in sequences of per rounds, each on a heap fd of its own: their seconds */
static double heap_seq_time(const char *path, long rounds, long per)
{
	double t0 = now();
	long i, j;

	for (i = 0; i < rounds / per; i++) {
		int h = open_or_die(path, O_RDONLY | O_CLOEXEC);

		for (j = 0; j < per; j++)
			heap_round(h);
		close(h);
	}
	return now() - t0;
}

/* per round: DMA_HEAP_IOCTL_ALLOC, SYNC start, SYNC end, lseek SEEK_END, fcntl F_GETFD, close = 6 ops */
static void heap(const char *path, long rounds)
{
	int h = open_or_die(path, O_RDONLY | O_CLOEXEC);
	double t0;
	long i;

	t0 = now();
	for (i = 0; i < rounds; i++)
		heap_round(h);
	printf("heap %ld %.6f\n", rounds * 6, now() - t0);
	close(h);
}

/* the video node's buffer type: capture or output, as its capabilities say */
static unsigned int buf_type(int v)
{
	struct v4l2_capability cap;

	if (ioctl(v, VIDIOC_QUERYCAP, &cap))
		die("VIDIOC_QUERYCAP");
	return (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) ? V4L2_BUF_TYPE_VIDEO_CAPTURE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
}

/* one video round on buffer 0: QUERYBUF, EXPBUF, fcntl F_GETFD, close = 4 ops */
static void video_round(int v, unsigned int type)
{
	struct v4l2_buffer b = { .index = 0, .type = type };
	struct v4l2_exportbuffer e = { .type = type, .index = 0, .flags = O_RDWR | O_CLOEXEC };

	if (ioctl(v, VIDIOC_QUERYBUF, &b))
		die("VIDIOC_QUERYBUF");
	if (ioctl(v, VIDIOC_EXPBUF, &e))
		die("VIDIOC_EXPBUF");
	if (fcntl(e.fd, F_GETFD) < 0)
		die("fcntl");
	close(e.fd);
}

static void reqbufs(int v, unsigned int type, unsigned int count)
{
	struct v4l2_requestbuffers rb = { .count = count, .type = type, .memory = V4L2_MEMORY_MMAP };

	if (ioctl(v, VIDIOC_REQBUFS, &rb))
		die("VIDIOC_REQBUFS");
}

/* the video rounds in sequences of per rounds: each opens the node, REQBUFS(2), its rounds, closes it, and runs the idle
 * probe; their seconds */
static double video_seq_time(const char *path, long rounds, long per)
{
	int v = open_or_die(path, O_RDWR | O_NONBLOCK);
	unsigned int type = buf_type(v);
	double t0;
	long i, j;

	close(v);
	t0 = now();
	for (i = 0; i < rounds / per; i++) {
		struct v4l2_create_buffers cb = { .count = 0, .memory = V4L2_MEMORY_MMAP };

		v = open_or_die(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		reqbufs(v, type, 2);
		for (j = 0; j < per; j++)
			video_round(v, type);
		close(v);
		v = open_or_die(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		cb.format.type = type;
		if (ioctl(v, VIDIOC_G_FMT, &cb.format))
			die("VIDIOC_G_FMT");
		if (ioctl(v, VIDIOC_CREATE_BUFS, &cb))
			die("VIDIOC_CREATE_BUFS");
		reqbufs(v, type, 0);
		close(v);
	}
	return now() - t0;
}

/* per round: QUERYBUF, EXPBUF, fcntl F_GETFD, close = 4 ops */
static void video(const char *path, long rounds)
{
	int v = open_or_die(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	unsigned int type = buf_type(v);
	double t0;
	long i;

	reqbufs(v, type, 2);
	t0 = now();
	for (i = 0; i < rounds; i++)
		video_round(v, type);
	printf("video %ld %.6f\n", rounds * 4, now() - t0);
	reqbufs(v, type, 0);
	close(v);
}

/* --serve: sequences on request, their seconds back (see the top) */
static int serve(const char *heap_path, const char *video_path, long per)
{
	char line[64], what[16];
	long n;

	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%15s %ld", what, &n) != 2 || n <= 0) {
			fprintf(stderr, "raw-loop: --serve takes \"heap N\" or \"video N\" lines, not: %s", line);
			return 2;
		}
		if (!strcmp(what, "heap") && strcmp(heap_path, "-"))
			printf("%.9f\n", heap_seq_time(heap_path, n * per, per));
		else if (!strcmp(what, "video") && strcmp(video_path, "-"))
			printf("%.9f\n", video_seq_time(video_path, n * per, per));
		else {
			fprintf(stderr, "raw-loop: --serve has no %s path\n", what);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	long rounds, per;

	if (argc == 5 && !strcmp(argv[1], "--serve")) {
		per = atol(argv[4]);
		if (per <= 0) {
			fprintf(stderr, "raw-loop: PER_SEQUENCE is a positive count\n");
			return 2;
		}
		return serve(argv[2], argv[3], per);
	}
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: raw-loop HEAP_PATH|- VIDEO_PATH|- ROUNDS [PER_SEQUENCE] | --serve HEAP_PATH|- VIDEO_PATH|- PER_SEQUENCE\n");
		return 2;
	}
	rounds = atol(argv[3]);
	per = argc == 5 ? atol(argv[4]) : 0;
	if (rounds <= 0 || (argc == 5 && (per <= 0 || per > rounds))) {
		fprintf(stderr, "raw-loop: ROUNDS and PER_SEQUENCE are positive counts, PER_SEQUENCE at most ROUNDS\n");
		return 2;
	}
	if (strcmp(argv[1], "-")) {
		heap(argv[1], rounds);
		if (per)
			printf("heap-seq %ld %.6f\n", rounds / per * per * 6, heap_seq_time(argv[1], rounds, per));
	}
	if (strcmp(argv[2], "-")) {
		video(argv[2], rounds);
		if (per)
			printf("video-seq %ld %.6f\n", rounds / per * per * 4, video_seq_time(argv[2], rounds, per));
	}
	return 0;
}
