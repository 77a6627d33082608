// SPDX-License-Identifier: GPL-2.0
/*
 * smoke - quick userspace check of the conformance_vcap capture node.
 *
 *   smoke [DEVICE]
 *
 * DEVICE defaults to the first /dev/videoN whose VIDIOC_QUERYCAP card is
 * "conformance_vcap".  Needs only access to the node (and to
 * /dev/dma_heap/system for the DMABUF checks, skipped without it).
 * Prints one "ok"/"not ok" line per check and "N passed, N failed" last;
 * exits non-zero if any check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef VIDIOC_REMOVE_BUFS
/* New in 6.10 (uapi/linux/videodev2.h); older userspace headers lack it. */
struct v4l2_remove_buffers {
	__u32 index;
	__u32 count;
	__u32 type;
	__u32 reserved[13];
};
#define VIDIOC_REMOVE_BUFS	_IOWR('V', 104, struct v4l2_remove_buffers)
#endif
#ifndef V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS
#define V4L2_BUF_CAP_SUPPORTS_REMOVE_BUFS	(1 << 8)
#endif

#define NAME		"conformance_vcap"
#define WIDTH		640
#define HEIGHT		360
#define BPL		(WIDTH * 2)
#define SIZEIMAGE	(BPL * HEIGHT)
#define CAP		V4L2_BUF_TYPE_VIDEO_CAPTURE
#define NBUF		4

static int passed, failed;
static long pg;
static const char *dev = NULL;

static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (cond)
		passed++;
	else
		failed++;
}

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int open_dev(int nonblock)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));

	if (fd < 0) {
		printf("Bail out! cannot open %s: %s\n", dev, strerror(errno));
		exit(2);
	}
	return fd;
}

static int reqbufs(int fd, uint32_t memory, uint32_t count, uint32_t *got, uint32_t *caps)
{
	struct v4l2_requestbuffers rb = { .count = count, .type = CAP, .memory = memory };
	int ret = xioctl(fd, VIDIOC_REQBUFS, &rb);

	if (got)
		*got = rb.count;
	if (caps)
		*caps = rb.capabilities;
	return ret;
}

static int querybuf(int fd, uint32_t memory, uint32_t index, struct v4l2_buffer *b)
{
	memset(b, 0, sizeof(*b));
	b->type = CAP;
	b->memory = memory;
	b->index = index;
	return xioctl(fd, VIDIOC_QUERYBUF, b);
}

static int qbuf(int fd, uint32_t memory, uint32_t index, unsigned long ptr_or_fd, uint32_t length)
{
	struct v4l2_buffer b = { .type = CAP, .memory = memory, .index = index };

	if (memory == V4L2_MEMORY_USERPTR) {
		b.m.userptr = ptr_or_fd;
		b.length = length;
	} else if (memory == V4L2_MEMORY_DMABUF) {
		b.m.fd = (int)ptr_or_fd;
		b.length = length;
	}
	return xioctl(fd, VIDIOC_QBUF, &b);
}

/* Waits up to 2 s for a frame, then DQBUF. */
static int dqbuf(int fd, uint32_t memory, struct v4l2_buffer *b)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 2000) != 1)
		return -ETIMEDOUT;
	memset(b, 0, sizeof(*b));
	b->type = CAP;
	b->memory = memory;
	return xioctl(fd, VIDIOC_DQBUF, b);
}

static int stream(int fd, int on)
{
	int type = CAP;

	return xioctl(fd, on ? VIDIOC_STREAMON : VIDIOC_STREAMOFF, &type);
}

/* The driver's pattern: line y of frame s is grey level (y + s) & 0xff. */
static int pattern_ok(const uint8_t *p, uint32_t seq)
{
	static const int lines[] = { 0, 1, HEIGHT / 2, HEIGHT - 1 };
	unsigned int i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const uint8_t *l = p + lines[i] * BPL;
		uint8_t y = (lines[i] + seq) & 0xff;

		if (l[0] != y || l[1] != 0x80 || l[2] != y || l[3] != 0x80 ||
		    l[BPL - 4] != y || l[BPL - 1] != 0x80)
			return 0;
	}
	return 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *find_device(void)
{
	static char path[32];
	int i;

	for (i = 0; i < 64; i++) {
		struct v4l2_capability cap;
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) && !strcmp((char *)cap.card, NAME)) {
			close(fd);
			return path;
		}
		close(fd);
	}
	return NULL;
}

static void check_info(int fd)
{
	struct v4l2_capability cap = { 0 };
	struct v4l2_fmtdesc fd0 = { .index = 0, .type = CAP }, fd1 = { .index = 1, .type = CAP };
	struct v4l2_frmsizeenum fs = { .index = 0, .pixel_format = V4L2_PIX_FMT_YUYV };
	struct v4l2_format f = { .type = CAP };
	struct v4l2_input in = { .index = 0 };
	uint32_t want = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_READWRITE |
			V4L2_CAP_EXT_PIX_FORMAT;
	unsigned int input = 99;
	int ret;

	ret = xioctl(fd, VIDIOC_QUERYCAP, &cap);
	check(ret == 0, "QUERYCAP (%d)", ret);
	check(memchr(cap.driver, 0, sizeof(cap.driver)) && !strcmp((char *)cap.driver, "conformance_vca"),
	      "QUERYCAP driver \"%.16s\" (the module name cut to 15 characters + NUL)", cap.driver);
	check(!strcmp((char *)cap.card, NAME), "QUERYCAP card \"%.32s\"", cap.card);
	check(!strcmp((char *)cap.bus_info, "platform:" NAME), "QUERYCAP bus_info \"%.32s\"", cap.bus_info);
	check(cap.device_caps == want, "QUERYCAP device_caps 0x%08x (want 0x%08x)", cap.device_caps, want);
	check((cap.capabilities & (want | V4L2_CAP_DEVICE_CAPS)) == (want | V4L2_CAP_DEVICE_CAPS),
	      "QUERYCAP capabilities 0x%08x include device_caps and DEVICE_CAPS", cap.capabilities);

	ret = xioctl(fd, VIDIOC_ENUM_FMT, &fd0);
	check(ret == 0 && fd0.pixelformat == V4L2_PIX_FMT_YUYV && fd0.description[0],
	      "ENUM_FMT 0: YUYV \"%s\" (%d)", fd0.description, ret);
	ret = xioctl(fd, VIDIOC_ENUM_FMT, &fd1);
	check(ret == -EINVAL, "ENUM_FMT 1 -> EINVAL (%d)", ret);
	ret = xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs);
	check(ret == 0 && fs.type == V4L2_FRMSIZE_TYPE_DISCRETE && fs.discrete.width == WIDTH &&
	      fs.discrete.height == HEIGHT, "ENUM_FRAMESIZES 0: discrete %ux%u (%d)",
	      fs.discrete.width, fs.discrete.height, ret);
	fs.index = 1;
	ret = xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &fs);
	check(ret == -EINVAL, "ENUM_FRAMESIZES 1 -> EINVAL (%d)", ret);

	ret = xioctl(fd, VIDIOC_G_FMT, &f);
	check(ret == 0 && f.fmt.pix.width == WIDTH && f.fmt.pix.height == HEIGHT &&
	      f.fmt.pix.pixelformat == V4L2_PIX_FMT_YUYV && f.fmt.pix.field == V4L2_FIELD_NONE &&
	      f.fmt.pix.bytesperline == BPL && f.fmt.pix.sizeimage == SIZEIMAGE &&
	      f.fmt.pix.colorspace == V4L2_COLORSPACE_SRGB,
	      "G_FMT: %ux%u bytesperline %u sizeimage %u field %u colorspace %u (%d)",
	      f.fmt.pix.width, f.fmt.pix.height, f.fmt.pix.bytesperline, f.fmt.pix.sizeimage,
	      f.fmt.pix.field, f.fmt.pix.colorspace, ret);
	memset(&f, 0, sizeof(f));
	f.type = CAP;
	f.fmt.pix.width = 1920;
	f.fmt.pix.height = 1080;
	f.fmt.pix.pixelformat = V4L2_PIX_FMT_NV12;
	f.fmt.pix.field = V4L2_FIELD_INTERLACED;
	ret = xioctl(fd, VIDIOC_TRY_FMT, &f);
	check(ret == 0 && f.fmt.pix.width == WIDTH && f.fmt.pix.pixelformat == V4L2_PIX_FMT_YUYV &&
	      f.fmt.pix.field == V4L2_FIELD_NONE && f.fmt.pix.sizeimage == SIZEIMAGE,
	      "TRY_FMT NV12 1920x1080 is corrected to YUYV %ux%u sizeimage %u (%d)",
	      f.fmt.pix.width, f.fmt.pix.height, f.fmt.pix.sizeimage, ret);
	ret = xioctl(fd, VIDIOC_S_FMT, &f);
	check(ret == 0 && f.fmt.pix.sizeimage == SIZEIMAGE, "S_FMT without buffers (%d)", ret);

	ret = xioctl(fd, VIDIOC_ENUMINPUT, &in);
	check(ret == 0 && in.type == V4L2_INPUT_TYPE_CAMERA, "ENUM_INPUT 0: camera \"%s\" (%d)",
	      in.name, ret);
	in.index = 1;
	ret = xioctl(fd, VIDIOC_ENUMINPUT, &in);
	check(ret == -EINVAL, "ENUM_INPUT 1 -> EINVAL (%d)", ret);
	ret = xioctl(fd, VIDIOC_G_INPUT, &input);
	check(ret == 0 && input == 0, "G_INPUT: %u (%d)", input, ret);
	input = 0;
	ret = xioctl(fd, VIDIOC_S_INPUT, &input);
	check(ret == 0, "S_INPUT 0 (%d)", ret);
	input = 1;
	ret = xioctl(fd, VIDIOC_S_INPUT, &input);
	check(ret == -EINVAL, "S_INPUT 1 -> EINVAL (%d)", ret);
}

/* Dequeues n frames, checking each; requeues them if requeue. */
static void check_frames(int fd, uint32_t memory, int n, uint8_t **mem, unsigned long *ptr,
			 int *dmafd, const char *what)
{
	uint32_t last_seq = 0;
	uint64_t last_ts = 0;
	int i, bad_meta = 0, bad_pattern = 0, bad_order = 0, got = 0, ret = 0;
	double t0 = now_ms(), dt;

	for (i = 0; i < n; i++) {
		struct v4l2_buffer b;
		uint64_t ts;

		ret = dqbuf(fd, memory, &b);
		if (ret)
			break;
		got++;
		ts = b.timestamp.tv_sec * 1000000ull + b.timestamp.tv_usec;
		if (b.bytesused != SIZEIMAGE || b.field != V4L2_FIELD_NONE ||
		    (b.flags & (V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE | V4L2_BUF_FLAG_ERROR)) ||
		    (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) != V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
			bad_meta++;
		if (i > 0 && (b.sequence <= last_seq || ts <= last_ts))
			bad_order++;
		last_seq = b.sequence;
		last_ts = ts;
		if (mem && !pattern_ok(mem[b.index], b.sequence))
			bad_pattern++;
		ret = qbuf(fd, memory, b.index, ptr ? ptr[b.index] : dmafd ? (unsigned long)dmafd[b.index] : 0,
			   memory == V4L2_MEMORY_MMAP ? 0 : b.length);
		if (ret)
			break;
	}
	dt = now_ms() - t0;
	check(got == n, "%s: %d of %d frames dequeued and requeued (%d)", what, got, n, ret);
	check(got && !bad_meta, "%s: bytesused %u, field NONE, MONOTONIC timestamp, no QUEUED/DONE/ERROR flag after DQBUF (%d bad)",
	      what, SIZEIMAGE, bad_meta);
	check(got && !bad_order, "%s: sequence and timestamp increase (%d out of order, last sequence %u)",
	      what, bad_order, last_seq);
	if (mem)
		check(got && !bad_pattern, "%s: buffer holds the frame's pattern (%d wrong)", what, bad_pattern);
	check(got < 2 || dt >= (got - 1) * 15.0, "%s: %d frames in %.0f ms (one per 20 ms, never faster)",
	      what, got, dt);
}

static void check_mmap(void)
{
	int fd = open_dev(1), other = open_dev(1), efd, ret, i;
	uint8_t *mem[NBUF] = { 0 }, *emem;
	struct v4l2_exportbuffer eb = { .type = CAP, .index = 0, .flags = O_RDONLY | O_CLOEXEC };
	struct v4l2_format f = { .type = CAP };
	struct v4l2_buffer b;
	uint32_t got = 0, caps = 0;

	ret = reqbufs(fd, V4L2_MEMORY_MMAP, 0, NULL, &caps);
	check(ret == 0 && (caps & (V4L2_BUF_CAP_SUPPORTS_MMAP | V4L2_BUF_CAP_SUPPORTS_USERPTR |
				   V4L2_BUF_CAP_SUPPORTS_DMABUF | V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS)) ==
		  (V4L2_BUF_CAP_SUPPORTS_MMAP | V4L2_BUF_CAP_SUPPORTS_USERPTR |
		   V4L2_BUF_CAP_SUPPORTS_DMABUF | V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS),
	      "REQBUFS 0: capabilities 0x%08x: MMAP, USERPTR, DMABUF, ORPHANED_BUFS (%d)", caps, ret);
	ret = reqbufs(fd, V4L2_MEMORY_MMAP, 1, &got, NULL);
	check(ret == 0 && got >= 1, "REQBUFS 1 MMAP -> %u buffers (at least min_queued + 1 on 6.8+) (%d)",
	      got, ret);
	ret = reqbufs(fd, V4L2_MEMORY_MMAP, NBUF, &got, NULL);
	check(ret == 0 && got == NBUF, "REQBUFS %d MMAP -> %u (%d)", NBUF, got, ret);
	if (ret || got != NBUF)
		goto out;

	ret = xioctl(fd, VIDIOC_G_FMT, &f);
	ret = ret ? ret : xioctl(fd, VIDIOC_S_FMT, &f);
	check(ret == -EBUSY, "S_FMT with buffers allocated -> EBUSY (%d)", ret);
	ret = reqbufs(other, V4L2_MEMORY_MMAP, 2, NULL, NULL);
	check(ret == -EBUSY, "REQBUFS from a second file handle -> EBUSY (%d)", ret);
	ret = querybuf(other, V4L2_MEMORY_MMAP, 0, &b);
	check(ret == 0 && b.length == SIZEIMAGE, "QUERYBUF from a second file handle: length %u (%d)",
	      b.length, ret);

	for (i = 0; i < NBUF; i++) {
		ret = querybuf(fd, V4L2_MEMORY_MMAP, i, &b);
		mem[i] = ret ? MAP_FAILED : mmap(NULL, b.length, PROT_READ, MAP_SHARED, fd, b.m.offset);
		if (mem[i] == MAP_FAILED)
			break;
		ret = qbuf(fd, V4L2_MEMORY_MMAP, i, 0, 0);
		if (ret)
			break;
	}
	check(i == NBUF, "mmap and QBUF %d buffers (%d)", NBUF, ret);
	if (i != NBUF)
		goto out;
	ret = stream(other, 1);
	check(ret == -EBUSY, "STREAMON from a second file handle -> EBUSY (%d)", ret);
	ret = stream(fd, 1);
	check(ret == 0, "STREAMON (%d)", ret);
	check_frames(fd, V4L2_MEMORY_MMAP, 12, mem, NULL, NULL, "MMAP");

	/* With the queue full of active buffers: the driver must give them all back. */
	ret = stream(fd, 0);
	check(ret == 0, "STREAMOFF with %d buffers queued (%d)", NBUF, ret);
	for (i = 0; i < NBUF; i++) {
		ret = querybuf(fd, V4L2_MEMORY_MMAP, i, &b);
		if (ret || (b.flags & (V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE)))
			break;
	}
	check(i == NBUF, "after STREAMOFF no buffer is QUEUED or DONE (%s)",
	      i == NBUF ? "all dequeued" : "one still is");
	ret = dqbuf(fd, V4L2_MEMORY_MMAP, &b);
	check(ret == -EINVAL || ret == -ETIMEDOUT, "DQBUF after STREAMOFF -> EINVAL (%d)", ret);

	efd = -1;
	ret = xioctl(fd, VIDIOC_EXPBUF, &eb);
	if (!ret)
		efd = eb.fd;
	check(ret == 0 && efd >= 0, "EXPBUF buffer 0 (%d)", ret);
	if (efd >= 0) {
		emem = mmap(NULL, SIZEIMAGE, PROT_READ, MAP_SHARED, efd, 0);
		check(emem != MAP_FAILED && !memcmp(emem, mem[0], SIZEIMAGE),
		      "exported dma-buf maps the same memory as the buffer");
		if (emem != MAP_FAILED)
			munmap(emem, SIZEIMAGE);
		close(efd);
	}

	/* Streaming again after a stop, then close while streaming. */
	for (i = 0; i < NBUF; i++)
		ret = ret ? ret : qbuf(fd, V4L2_MEMORY_MMAP, i, 0, 0);
	ret = ret ? ret : stream(fd, 1);
	check(ret == 0, "QBUF all and STREAMON again (%d)", ret);
	check_frames(fd, V4L2_MEMORY_MMAP, 4, mem, NULL, NULL, "MMAP again");
out:
	for (i = 0; i < NBUF; i++)
		if (mem[i] && mem[i] != MAP_FAILED)
			munmap(mem[i], SIZEIMAGE);
	close(fd);

	/* The owner closed while streaming: the queue must be free again. */
	ret = querybuf(other, V4L2_MEMORY_MMAP, 0, &b);
	check(ret == -EINVAL, "after the owner's close (streaming) its buffers are gone: QUERYBUF -> EINVAL (%d, flags 0x%x)",
	      ret, ret ? 0 : b.flags);
	ret = reqbufs(other, V4L2_MEMORY_MMAP, 2, &got, NULL);
	check(ret == 0, "after the owner's close another file handle may REQBUFS (%d)", ret);
	ret = stream(other, 0);
	check(ret == 0, "... and STREAMOFF (%d)", ret);
	reqbufs(other, V4L2_MEMORY_MMAP, 0, NULL, NULL);
	close(other);
}

static void check_create_remove(void)
{
	int fd = open_dev(1), ret;
	struct v4l2_create_buffers cb = { .count = 2, .memory = V4L2_MEMORY_MMAP };
	struct v4l2_remove_buffers rm = { .index = 0, .count = 1, .type = CAP };
	struct v4l2_buffer b;

	cb.format.type = CAP;
	xioctl(fd, VIDIOC_G_FMT, &cb.format);
	cb.format.fmt.pix.sizeimage = SIZEIMAGE - 1;
	ret = xioctl(fd, VIDIOC_CREATE_BUFS, &cb);
	check(ret == -EINVAL, "CREATE_BUFS with sizeimage - 1 -> EINVAL (%d)", ret);
	cb.count = 2;
	cb.format.fmt.pix.sizeimage = SIZEIMAGE + 4096;
	ret = xioctl(fd, VIDIOC_CREATE_BUFS, &cb);
	check(ret == 0 && cb.index == 0 && cb.count == 2, "CREATE_BUFS 2 larger buffers: index %u count %u (%d)",
	      cb.index, cb.count, ret);
	ret = querybuf(fd, V4L2_MEMORY_MMAP, 1, &b);
	check(ret == 0 && b.length == SIZEIMAGE + 4096, "created buffer length %u (%d)", b.length, ret);
	ret = xioctl(fd, VIDIOC_REMOVE_BUFS, &rm);
	if (ret == -ENOTTY) {
		printf("# VIDIOC_REMOVE_BUFS not implemented (kernel before 6.10)\n");
	} else {
		check(ret == 0, "REMOVE_BUFS index 0 (%d)", ret);
		ret = querybuf(fd, V4L2_MEMORY_MMAP, 0, &b);
		check(ret == -EINVAL, "removed buffer 0: QUERYBUF -> EINVAL (%d)", ret);
	}
	ret = reqbufs(fd, V4L2_MEMORY_MMAP, 0, NULL, NULL);
	check(ret == 0, "REQBUFS 0 frees the rest (%d)", ret);
	close(fd);
}

static void check_userptr(void)
{
	int fd = open_dev(1), ret, i;
	unsigned long ptr[2];
	uint8_t *mem[2];
	uint32_t got = 0;
	size_t len = (SIZEIMAGE + pg - 1) / pg * pg;

	for (i = 0; i < 2; i++) {
		mem[i] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(mem[i], 0, len);
		ptr[i] = (unsigned long)mem[i];
	}
	ret = reqbufs(fd, V4L2_MEMORY_USERPTR, 2, &got, NULL);
	check(ret == 0 && got >= 2, "REQBUFS 2 USERPTR -> %u (%d)", got, ret);
	ret = qbuf(fd, V4L2_MEMORY_USERPTR, 0, ptr[0], SIZEIMAGE - 1);
	check(ret == -EINVAL, "QBUF USERPTR shorter than sizeimage -> EINVAL (%d)", ret);
	ret = 0;
	for (i = 0; i < 2; i++)
		ret = ret ? ret : qbuf(fd, V4L2_MEMORY_USERPTR, i, ptr[i], len);
	ret = ret ? ret : stream(fd, 1);
	check(ret == 0, "QBUF 2 USERPTR buffers and STREAMON (%d)", ret);
	if (!ret)
		check_frames(fd, V4L2_MEMORY_USERPTR, 4, mem, ptr, NULL, "USERPTR");
	ret = stream(fd, 0);
	check(ret == 0, "STREAMOFF (%d)", ret);
	reqbufs(fd, V4L2_MEMORY_USERPTR, 0, NULL, NULL);
	close(fd);
	for (i = 0; i < 2; i++)
		munmap(mem[i], len);
}

static void check_dmabuf(void)
{
	int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC), fd, ret, i;
	size_t len = (SIZEIMAGE + pg - 1) / pg * pg;
	struct dma_heap_allocation_data small = { .len = SIZEIMAGE - pg, .fd_flags = O_RDWR | O_CLOEXEC };
	int dfd[2] = { -1, -1 };
	uint8_t *mem[2] = { MAP_FAILED, MAP_FAILED };
	uint32_t got = 0;

	if (heap < 0) {
		printf("# no /dev/dma_heap/system: DMABUF checks skipped\n");
		return;
	}
	fd = open_dev(1);
	for (i = 0; i < 2; i++) {
		struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };

		if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) == 0) {
			dfd[i] = d.fd;
			mem[i] = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd[i], 0);
		}
	}
	check(mem[0] != MAP_FAILED && mem[1] != MAP_FAILED, "two dma-bufs from the system heap");
	ret = reqbufs(fd, V4L2_MEMORY_DMABUF, 2, &got, NULL);
	check(ret == 0 && got >= 2, "REQBUFS 2 DMABUF -> %u (%d)", got, ret);
	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &small) == 0) {
		ret = qbuf(fd, V4L2_MEMORY_DMABUF, 0, small.fd, 0);
		check(ret == -EINVAL, "QBUF a dma-buf smaller than sizeimage -> EINVAL (%d)", ret);
		close(small.fd);
	}
	ret = 0;
	for (i = 0; i < 2; i++)
		ret = ret ? ret : qbuf(fd, V4L2_MEMORY_DMABUF, i, dfd[i], 0);
	ret = ret ? ret : stream(fd, 1);
	check(ret == 0, "QBUF 2 DMABUF buffers and STREAMON (%d)", ret);
	if (!ret)
		check_frames(fd, V4L2_MEMORY_DMABUF, 4, mem, NULL, dfd, "DMABUF");
	ret = stream(fd, 0);
	check(ret == 0, "STREAMOFF (%d)", ret);
	reqbufs(fd, V4L2_MEMORY_DMABUF, 0, NULL, NULL);
	close(fd);
	for (i = 0; i < 2; i++) {
		if (mem[i] != MAP_FAILED)
			munmap(mem[i], len);
		if (dfd[i] >= 0)
			close(dfd[i]);
	}
	close(heap);
}

static void check_read(void)
{
	int fd = open_dev(0), other = open_dev(1), ret;
	uint8_t *frame = malloc(SIZEIMAGE);
	ssize_t n;

	n = read(fd, frame, SIZEIMAGE);
	check(n == SIZEIMAGE, "read() a frame: %zd bytes", n);
	if (n == SIZEIMAGE)
		check(frame[1] == 0x80 && frame[0] == frame[2], "read() frame holds the pattern");
	ret = reqbufs(other, V4L2_MEMORY_MMAP, 2, NULL, NULL);
	check(ret == -EBUSY, "REQBUFS while another file handle reads -> EBUSY (%d)", ret);
	close(fd);
	ret = reqbufs(other, V4L2_MEMORY_MMAP, 2, NULL, NULL);
	check(ret == 0, "REQBUFS after the reader closed (%d)", ret);
	reqbufs(other, V4L2_MEMORY_MMAP, 0, NULL, NULL);
	close(other);
	free(frame);
}

int main(int argc, char **argv)
{
	int fd;

	pg = sysconf(_SC_PAGESIZE);
	dev = argc > 1 ? argv[1] : find_device();
	if (!dev) {
		printf("Bail out! no /dev/video* with card \"%s\" (is the module loaded?)\n", NAME);
		return 2;
	}
	printf("# %s\n", dev);

	fd = open_dev(1);
	check_info(fd);
	close(fd);
	check_mmap();
	check_create_remove();
	check_userptr();
	check_dmabuf();
	check_read();

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
