/*
 * vb2_failed_prepare: what a refused VIDIOC_QBUF / VIDIOC_PREPARE_BUF leaves behind in a videobuf2
 * buffer, checked on vivid (vb2-vmalloc) on a live Linux 6.12 kernel. Evidence for
 * spec/notes/vb2-failed-prepare.md.
 *
 * Nodes: /dev/video0 (vivid video capture) and /dev/video1 (vivid video output), both opened
 * O_RDWR|O_NONBLOCK; dma-bufs come from /dev/dma_heap/system, or on a kernel without dma-heaps
 * (Debian 6.1) from vgem dumb buffers exported with PRIME; debugfs must be mounted (bufinfo).
 * On a 6.1 kernel the D9 facts take the 6.1 expectation (no dma-buf leak on the EFAULT path).
 *
 * Prints one line per fact:
 *     FACT <id>: <observed>   [expect <expected>: OK|DIFF]
 * where <expected> is what the 6.12.117 source says (see the note). Lines without a bracket are
 * informational. Ends with "SUMMARY facts=N diff=M"; exit 0 when no fact differed, 1 otherwise,
 * 2 on a set-up failure. A 120 s watchdog exits with status 9.
 *
 * Buffer state is printed as "len=<QUERYBUF length> m=<m.userptr|m.fd|m.offset> bu=<bytesused>
 * [Q][P]" (Q = V4L2_BUF_FLAG_QUEUED, P = V4L2_BUF_FLAG_PREPARED); user pointers are printed as the
 * names of this program's buffers (A, B, ...), dma-buf fds as the names of its dma-bufs. What the
 * buffer still holds is printed as "pins=+N" (pages pinned since the section began: /proc/vmstat
 * nr_foll_pin_acquired - nr_foll_pin_released) or "cnt=N att=M" for a dma-buf (fdinfo "count:",
 * i.e. open file references besides procfs' own, and the number of devices attached to it in
 * /sys/kernel/debug/dma_buf/bufinfo).
 *
 * Build and run from /work/main:
 *   bash lab/uapi-include.sh /tmp/vb2fp/inc
 *   gcc -O2 -Wall -Wextra -Werror -I/tmp/vb2fp/inc -o /tmp/vb2fp/vb2_failed_prepare \
 *       spec/notes/vb2_failed_prepare.c
 *   bash lab/vm.sh run --mem 2048 --out /tmp/vb2fp/lab -- /tmp/vb2fp/vb2_failed_prepare
 *   bash lab/vm.sh run --kernel 6.1 --mem 2048 --out /tmp/vb2fp/lab61 -- /tmp/vb2fp/vb2_failed_prepare
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/videodev2.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>

#define HEAP "/dev/dma_heap/system"
#define BUFINFO "/sys/kernel/debug/dma_buf/bufinfo"
#define PG 4096u
#define PA(x) (((x) + PG - 1) & ~(PG - 1))

/* vivid's private controls (drivers/media/test-drivers/vivid/vivid-ctrls.c) */
#define VIVID_CID_VIVID_BASE (0x00f00000 | 0xf000)
#define VIVID_CID_BUF_PREPARE_ERROR (VIVID_CID_VIVID_BASE + 68)
#define VIVID_CID_QUEUE_ERROR (VIVID_CID_VIVID_BASE + 70)

static int nfacts, ndiff, k61;	/* k61: a 6.1 kernel (facts that differ there take the 6.1 expectation) */

/* ------------------------------------------------------------------ output helpers */

static char *scratch(void)
{
	static char ring[32][512];
	static int next;

	next = (next + 1) % 32;
	ring[next][0] = '\0';
	return ring[next];
}

static char *fmt(const char *f, ...)
{
	char *s = scratch();
	va_list ap;

	va_start(ap, f);
	vsnprintf(s, 512, f, ap);
	va_end(ap);
	return s;
}

static void fact(const char *id, const char *expect, const char *f, ...)
{
	char obs[1024];
	va_list ap;
	int ok;

	va_start(ap, f);
	vsnprintf(obs, sizeof(obs), f, ap);
	va_end(ap);
	ok = !expect || strcmp(obs, expect) == 0;
	printf("FACT %s: %s", id, obs);
	if (expect)
		printf("   [expect %s: %s]", expect, ok ? "OK" : "DIFF");
	printf("\n");
	fflush(stdout);
	nfacts++;
	if (!ok)
		ndiff++;
}

static void info(const char *f, ...)
{
	va_list ap;

	printf("INFO ");
	va_start(ap, f);
	vprintf(f, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void die(const char *what)
{
	printf("SETUP-ERROR %s: %s\n", what, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	fflush(stdout);
	exit(2);
}

/* "OK" for rc >= 0, else the errno name; call right after the syscall. */
static const char *E(long rc)
{
	const char *n;

	if (rc >= 0)
		return "OK";
	n = strerrorname_np(errno);
	return n ? n : "E?";
}

/* ------------------------------------------------------------------ names for pointers and fds */

struct name { unsigned long v; const char *n; };
static struct name ptrnames[8], fdnames[16];
static int nptr, nfdn;

static void name_ptr(void *p, const char *n) { ptrnames[nptr].v = (unsigned long)p; ptrnames[nptr++].n = n; }
static void name_fd(int fd, const char *n)
{
	for (int i = 0; i < nfdn; i++)
		if (fdnames[i].v == (unsigned long)fd) {
			fdnames[i].n = n;
			return;
		}
	fdnames[nfdn].v = fd;
	fdnames[nfdn++].n = n;
}

static const char *pname(unsigned long v)
{
	if (!v)
		return "0";
	for (int i = 0; i < nptr; i++)
		if (ptrnames[i].v == v)
			return ptrnames[i].n;
	return fmt("%#lx", v);
}

static const char *fname(int fd)
{
	for (int i = 0; i < nfdn; i++)
		if (fdnames[i].v == (unsigned long)fd)
			return fdnames[i].n;
	return fmt("%d", fd);
}

/* ------------------------------------------------------------------ observation helpers */

static long vmstat(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			v = atol(line + kl + 1);
	fclose(f);
	return v;
}

/* Fold the per-cpu vmstat deltas first (root only), or the counters lag by up to a threshold. */
static long pins_now(void)
{
	int f = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (f >= 0) {
		if (write(f, "1\n", 2) < 0)
			info("stat_refresh: %s", E(-1));
		close(f);
	}
	return vmstat("nr_foll_pin_acquired") - vmstat("nr_foll_pin_released");
}
static long pin_base;
static void pins_reset(void) { pin_base = pins_now(); }
static const char *pins(void) { return fmt("pins=+%ld", pins_now() - pin_base); }

/* fdinfo "count:" of a dma-buf fd (file references, procfs' own excluded) */
static long dcount(int fd)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "count:", 6))
			v = atol(line + 6);
	fclose(f);
	return v;
}

/* Number of devices attached to the dma-buf with inode ino, from debugfs bufinfo; -1 if absent. */
static int attached_ino(unsigned long ino)
{
	char line[512], want[32];
	int in = 0, n = -1;
	FILE *f = fopen(BUFINFO, "r");

	if (!f)
		return -2;
	snprintf(want, sizeof(want), "\t%08lu\t", ino);
	while (fgets(line, sizeof(line), f)) {
		if (!in) {
			if (strstr(line, want) && line[0] != '\t')
				in = 1;
			continue;
		}
		if (!strncmp(line, "Total ", 6)) {
			n = atoi(line + 6);
			break;
		}
	}
	fclose(f);
	return n;
}

static unsigned long ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static const char *held(int dfd) { return fmt("cnt=%ld att=%d", dcount(dfd), attached_ino(ino_of(dfd))); }

/* ------------------------------------------------------------------ V4L2 helpers */

struct node {
	const char *tag;	/* "cap" or "out" */
	const char *path;
	int fd;
	__u32 type;
	int out;
	unsigned int S;		/* sizeimage of the current format = the setup size of every buffer */
};

static int reqbufs(struct node *n, __u32 mem, unsigned int count, unsigned int *got)
{
	struct v4l2_requestbuffers rb = { .count = count, .type = n->type, .memory = mem };
	int rc = ioctl(n->fd, VIDIOC_REQBUFS, &rb);

	if (got)
		*got = rb.count;
	return rc;
}

struct qarg {
	__u32 mem;
	__u32 index;
	unsigned long userptr;
	int dfd;
	__u32 length;
	__u32 bytesused;
	__u32 flags;
	__u32 field;
	__u32 type;		/* 0: the node's type */
};

static int qbuf_req(struct node *n, unsigned long req, const struct qarg *a, struct v4l2_buffer *back)
{
	struct v4l2_buffer b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.type = a->type ? a->type : n->type;
	b.memory = a->mem;
	b.index = a->index;
	b.length = a->length;
	b.bytesused = a->bytesused;
	b.flags = a->flags;
	b.field = a->field;
	if (a->mem == V4L2_MEMORY_USERPTR)
		b.m.userptr = a->userptr;
	else if (a->mem == V4L2_MEMORY_DMABUF)
		b.m.fd = a->dfd;
	rc = ioctl(n->fd, req, &b);
	if (back)
		*back = b;
	return rc;
}

static const char *Q(struct node *n, const struct qarg *a) { return E(qbuf_req(n, VIDIOC_QBUF, a, NULL)); }
static const char *P(struct node *n, const struct qarg *a) { return E(qbuf_req(n, VIDIOC_PREPARE_BUF, a, NULL)); }

static int querybuf(struct node *n, __u32 mem, __u32 idx, struct v4l2_buffer *b)
{
	memset(b, 0, sizeof(*b));
	b->type = n->type;
	b->memory = mem;
	b->index = idx;
	return ioctl(n->fd, VIDIOC_QUERYBUF, b);
}

static const char *bstate(struct node *n, __u32 mem, __u32 idx)
{
	struct v4l2_buffer b;
	const char *m;

	if (querybuf(n, mem, idx, &b))
		return fmt("QUERYBUF %s", E(-1));
	if (mem == V4L2_MEMORY_USERPTR)
		m = pname(b.m.userptr);
	else if (mem == V4L2_MEMORY_DMABUF)
		m = b.m.fd ? fname(b.m.fd) : "0";
	else
		m = fmt("%#x", b.m.offset);
	return fmt("len=%u m=%s bu=%u%s%s", b.length, m, b.bytesused,
		   (b.flags & V4L2_BUF_FLAG_QUEUED) ? " Q" : "",
		   (b.flags & V4L2_BUF_FLAG_PREPARED) ? " P" : "");
}

/* Observers that run strictly after the ioctl whose result r they are given (C leaves the order in
 * which a call's arguments are evaluated unspecified, so the ioctl is always an argument here). */
static const char *U_(struct node *n, __u32 mem, const char *r)
{
	const char *b = bstate(n, mem, 0);

	return fmt("%s %s %s", r, b, pins());
}

static const char *D_(struct node *n, const char *r, int dfd)
{
	const char *b = bstate(n, V4L2_MEMORY_DMABUF, 0);

	return fmt("%s %s %s", r, b, held(dfd));
}

static const char *D2_(struct node *n, const char *r, int d1, const char *n1, int d2, const char *n2)
{
	const char *b = bstate(n, V4L2_MEMORY_DMABUF, 0);
	const char *h1 = held(d1), *h2 = held(d2);

	return fmt("%s %s %s:%s %s:%s", r, b, n1, h1, n2, h2);
}

static const char *M_(struct node *n, __u32 mem, const char *r)
{
	const char *b = bstate(n, mem, 0);

	return fmt("%s %s", r, b);
}

static int streamoff(struct node *n) { int t = n->type; return ioctl(n->fd, VIDIOC_STREAMOFF, &t); }
static int streamon(struct node *n) { int t = n->type; return ioctl(n->fd, VIDIOC_STREAMON, &t); }

static int button(struct node *n, __u32 id)
{
	struct v4l2_control c = { .id = id, .value = 0 };

	return ioctl(n->fd, VIDIOC_S_CTRL, &c);
}

/* A dma-buf of len bytes (page-aligned) whose only reference is the returned fd: from the system
 * heap, or (6.1 has no heap) a vgem dumb buffer exported with PRIME whose GEM handle is closed
 * right away, so that the GEM object's export cache holds no extra reference. */
static const char *exporter;

static int heap_alloc(size_t len)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = O_RDWR | O_CLOEXEC };
	int h = open(HEAP, O_RDONLY | O_CLOEXEC);

	if (h >= 0) {
		if (ioctl(h, DMA_HEAP_IOCTL_ALLOC, &d))
			die("DMA_HEAP_IOCTL_ALLOC");
		close(h);
		exporter = "system heap";
		return d.fd;
	}
	{
		int card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
		struct drm_mode_create_dumb cd = { .width = len / 4, .height = 1, .bpp = 32 };
		struct drm_prime_handle ph = { 0 };
		struct drm_gem_close gc = { 0 };

		if (card < 0 || ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &cd))
			die("no dma-heap and no vgem dumb buffer");
		ph.handle = cd.handle;
		ph.flags = DRM_CLOEXEC | DRM_RDWR;
		if (ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph))
			die("PRIME_HANDLE_TO_FD");
		gc.handle = cd.handle;
		ioctl(card, DRM_IOCTL_GEM_CLOSE, &gc);
		close(card);
		exporter = "vgem PRIME";
		return ph.fd;
	}
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap anon");
	memset(p, 0x5a, len);
	return p;
}

static void open_node(struct node *n)
{
	struct v4l2_format f = { .type = n->type };

	n->fd = open(n->path, O_RDWR | O_NONBLOCK);
	if (n->fd < 0)
		die(n->path);
	if (ioctl(n->fd, VIDIOC_G_FMT, &f))
		die("G_FMT");
	n->S = f.fmt.pix.sizeimage;
	info("%s %s type=%u sizeimage=%u (%ux%u) field=%u", n->tag, n->path, n->type, n->S,
	     f.fmt.pix.width, f.fmt.pix.height, f.fmt.pix.field);
}

static char id_buf[128];
static const char *ID(struct node *n, const char *f, ...)
{
	va_list ap;
	int k = snprintf(id_buf, sizeof(id_buf), "%s-", n->tag);

	va_start(ap, f);
	vsnprintf(id_buf + k, sizeof(id_buf) - k, f, ap);
	va_end(ap);
	return id_buf;
}

/* ------------------------------------------------------------------ USERPTR */

static void userptr_facts(struct node *n)
{
	const __u32 U = V4L2_MEMORY_USERPTR;
	unsigned int S = n->S, cnt, np = PA(S) / PG;	/* pages pinned for a page-aligned S-byte buffer */
	size_t big = PA(S) + 2 * PG;
	char *A = anon(big), *B = anon(big);
	struct qarg a;
	struct v4l2_buffer b;

	name_ptr(A, "A");
	name_ptr(B, "B");
	pins_reset();
	if (reqbufs(n, U, 1, &cnt))
		die("REQBUFS USERPTR");
	fact(ID(n, "U0 REQBUFS(1) USERPTR: count"), "2", "%u", cnt);
	fact(ID(n, "U0 fresh buffer"), fmt("len=%u m=0 bu=0", S), "%s", bstate(n, U, 0));

	/* Output queue, bytesused > length: refused by __verify_length before __prepare_userptr. */
	if (n->out) {
		a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S - PG, .bytesused = S };
		fact(ID(n, "U1 QBUF len=S-4096 bytesused=S (fresh)"), fmt("EINVAL len=%u m=0 bu=0 pins=+0", S),
		     "%s", U_(n, U, Q(n, &a)));
		fact(ID(n, "U1p PREPARE_BUF len=S-4096 bytesused=S (fresh)"), fmt("EINVAL len=%u m=0 bu=0 pins=+0", S),
		     "%s", U_(n, U, P(n, &a)));
		a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S, .bytesused = S,
				   .field = V4L2_FIELD_ALTERNATE };
		fact(ID(n, "U1f QBUF field=ALTERNATE (fresh)"), fmt("EINVAL len=%u m=0 bu=0 pins=+0", S),
		     "%s", U_(n, U, Q(n, &a)));
	}
	/* length below the setup size, bytesused 0: reaches __prepare_userptr's min_length check. */
	a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S - PG, .bytesused = 0 };
	fact(ID(n, "U2 QBUF len=S-4096 bytesused=0 (fresh)"), "EINVAL len=0 m=0 bu=0 pins=+0",
	     "%s", U_(n, U, Q(n, &a)));
	if (n->out) {
		if (reqbufs(n, U, 0, NULL) || reqbufs(n, U, 1, &cnt))
			die("REQBUFS");
		a.bytesused = 100;
		fact(ID(n, "U2b QBUF len=S-4096 bytesused=100 (fresh)"), "EINVAL len=0 m=0 bu=0 pins=+0",
		     "%s", U_(n, U, Q(n, &a)));
	}

	/* A successful QBUF pins the memory; STREAMOFF (never streamed) returns the buffer, still pinned. */
	a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S, .bytesused = 0 };
	fact(ID(n, "U3 QBUF A len=S"), fmt("OK len=%u m=A bu=%u Q pins=+%u", S, S, np),
	     "%s", U_(n, U, Q(n, &a)));
	fact(ID(n, "U3 QBUF again while queued"), fmt("EINVAL len=%u m=A bu=%u Q pins=+%u", S, S, np),
	     "%s", U_(n, U, Q(n, &a)));
	streamoff(n);
	fact(ID(n, "U3 after STREAMOFF"), fmt("len=%u m=A bu=%u pins=+%u", S, S, np),
	     "%s %s", bstate(n, U, 0), pins());

	if (n->out) {
		a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)B, .length = S - PG, .bytesused = S };
		fact(ID(n, "U4 QBUF B len=S-4096 bytesused=S (A held)"), fmt("EINVAL len=%u m=A bu=%u pins=+%u", S, S, np),
		     "%s", U_(n, U, Q(n, &a)));
		a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)B, .length = S, .bytesused = S,
				   .field = V4L2_FIELD_ALTERNATE };
		fact(ID(n, "U4f QBUF B field=ALTERNATE (A held)"), fmt("EINVAL len=%u m=A bu=%u pins=+%u", S, S, np),
		     "%s", U_(n, U, Q(n, &a)));
	}
	/* min_length failure with memory held: the err: path unpins A and zeroes length and userptr. */
	a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)B, .length = S - PG, .bytesused = 0 };
	fact(ID(n, "U5 QBUF B len=S-4096 (A held)"), fmt("EINVAL len=0 m=0 bu=%u pins=+0", S),
	     "%s", U_(n, U, Q(n, &a)));

	/* EFAULT (get_userptr fails on an unmapped range) with memory held. */
	a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S, .bytesused = 0 };
	if (strcmp(Q(n, &a), "OK"))
		die("QBUF A");
	streamoff(n);
	{
		char *hole = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		munmap(hole, big);
		name_ptr(hole, "HOLE");
		a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)hole, .length = S, .bytesused = 0 };
		fact(ID(n, "U6 QBUF unmapped len=S (A held)"), "EFAULT len=0 m=0 bu=0 pins=+0",
		     "%s", U_(n, U, Q(n, &a)));
	}

	/* Driver buf_prepare refuses (vivid error injection) after the pages were pinned. */
	a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S, .bytesused = 0 };
	if (strcmp(Q(n, &a), "OK"))
		die("QBUF A");
	streamoff(n);
	if (button(n, VIVID_CID_BUF_PREPARE_ERROR))
		info("S_CTRL BUF_PREPARE_ERROR: %s", E(-1));
	a.userptr = (unsigned long)B;
	fact(ID(n, "U7 QBUF B len=S, buf_prepare error (A held)"), fmt("EINVAL len=0 m=0 bu=%u pins=+0", n->out ? S : 0),
	     "%s", U_(n, U, Q(n, &a)));
	a.userptr = (unsigned long)A;
	if (strcmp(Q(n, &a), "OK"))
		die("QBUF A");
	streamoff(n);
	button(n, VIVID_CID_BUF_PREPARE_ERROR);
	fact(ID(n, "U7b QBUF A (same ptr+len as held), buf_prepare error"), fmt("EINVAL len=0 m=0 bu=%u pins=+0", n->out ? S : 0),
	     "%s", U_(n, U, Q(n, &a)));

	if (n->out) {
		/* bytesused below the frame size: vivid's vid_out_buf_prepare refuses after pinning. */
		a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S, .bytesused = 100 };
		fact(ID(n, "U8 QBUF A len=S bytesused=100"), "EINVAL len=0 m=0 bu=100 pins=+0",
		     "%s", U_(n, U, Q(n, &a)));
		/* A flag set by a refused QBUF stays in the buffer (vbuf->flags is written before prepare). */
		a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S - PG, .bytesused = 0,
				   .flags = V4L2_BUF_FLAG_KEYFRAME };
		Q(n, &a);
		querybuf(n, U, 0, &b);
		fact(ID(n, "U9 KEYFRAME flag after refused QBUF"), "KEYFRAME", "%s",
		     (b.flags & V4L2_BUF_FLAG_KEYFRAME) ? "KEYFRAME" : "none");
	}

	/* PREPARE_BUF: a prepared buffer ignores the m.userptr/length of later calls. */
	a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S, .bytesused = 0 };
	fact(ID(n, "U10 PREPARE_BUF A len=S"), fmt("OK len=%u m=A bu=%u P pins=+%u", S, S, np),
	     "%s", U_(n, U, P(n, &a)));
	a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)B, .length = S - PG, .bytesused = 0 };
	fact(ID(n, "U10 PREPARE_BUF again (B, short)"), fmt("EINVAL len=%u m=A bu=%u P pins=+%u", S, S, np),
	     "%s", U_(n, U, P(n, &a)));
	fact(ID(n, "U10 QBUF prepared buffer with B, short"), fmt("OK len=%u m=A bu=%u Q pins=+%u", S, S, np),
	     "%s", U_(n, U, Q(n, &a)));
	streamoff(n);
	fact(ID(n, "U10 PREPARE_BUF B short (A held)"), fmt("EINVAL len=0 m=0 bu=%u pins=+0", S),
	     "%s", U_(n, U, P(n, &a)));

	/* Capture: what a refused QBUF does to a captured buffer's bytesused/sequence/timestamp. */
	if (!n->out) {
		struct pollfd pf = { .fd = n->fd, .events = POLLIN };
		struct v4l2_buffer d;
		int r;

		a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)A, .length = S };
		if (strcmp(Q(n, &a), "OK"))
			die("QBUF A");
		if (streamon(n))
			die("STREAMON");
		r = poll(&pf, 1, 10000);
		memset(&d, 0, sizeof(d));
		d.type = n->type;
		d.memory = U;
		if (r != 1 || ioctl(n->fd, VIDIOC_DQBUF, &d)) {
			info("capture DQBUF failed (poll %d): %s", r, E(-1));
		} else {
			streamoff(n);
			querybuf(n, U, 0, &b);
			fact(ID(n, "U11 captured buffer"), fmt("len=%u bu=%u seq_set ts_set", S, S), "len=%u bu=%u %s %s",
			     b.length, b.bytesused, "seq_set", (b.timestamp.tv_sec || b.timestamp.tv_usec) ? "ts_set" : "ts=0");
			info("captured: sequence=%u timestamp=%ld.%06ld", b.sequence, (long)b.timestamp.tv_sec,
			     (long)b.timestamp.tv_usec);
			a = (struct qarg){ .mem = U, .index = 0, .userptr = (unsigned long)B, .length = S - PG };
			r = qbuf_req(n, VIDIOC_QBUF, &a, NULL);
			const char *rs = E(r);
			querybuf(n, U, 0, &b);
			fact(ID(n, "U11 refused QBUF (short) on captured buffer"),
			     fmt("EINVAL len=0 bu=%u seq=0 ts=0 pins=+0", S), "%s len=%u bu=%u seq=%u ts=%s %s",
			     rs, b.length, b.bytesused, b.sequence,
			     (b.timestamp.tv_sec || b.timestamp.tv_usec) ? "set" : "0", pins());
		}
	}

	reqbufs(n, U, 0, NULL);
	fact(ID(n, "U12 after REQBUFS(0)"), "pins=+0", "%s", pins());
	munmap(A, big);
	munmap(B, big);
}

/* ------------------------------------------------------------------ DMABUF */

static void dmabuf_facts(struct node *n)
{
	const __u32 D = V4L2_MEMORY_DMABUF;
	unsigned int S = n->S, cnt, BIGSZ = PA(S) + 2 * PG;
	int SMALL = heap_alloc(PA(S) - PG), BIG = heap_alloc(BIGSZ), EXACT = heap_alloc(PA(S));
	int memfd = memfd_create("notadmabuf", MFD_CLOEXEC);
	struct qarg a;

	name_fd(SMALL, "SMALL");
	name_fd(BIG, "BIG");
	name_fd(EXACT, "EXACT");
	info("%s: dma-bufs from %s", n->tag, exporter);
	if (reqbufs(n, D, 1, &cnt))
		die("REQBUFS DMABUF");
	fact(ID(n, "D0 fresh buffer"), fmt("len=%u m=0 bu=0", S), "%s", bstate(n, D, 0));

	/* Refusals while the buffer holds nothing: nothing to release, length keeps the setup size. */
	a = (struct qarg){ .mem = D, .index = 0, .dfd = -1 };
	fact(ID(n, "D1 QBUF fd=-1 (fresh)"), fmt("EINVAL len=%u m=0 bu=0", S), "%s", M_(n, D, Q(n, &a)));
	a.dfd = SMALL;
	fact(ID(n, "D2 QBUF SMALL len=0 (fresh)"), fmt("EINVAL len=%u m=0 bu=0 cnt=1 att=0", S),
	     "%s", D_(n, Q(n, &a), SMALL));

	/* Success: the dma-buf is referenced, attached and mapped; length becomes the dma-buf size. */
	a = (struct qarg){ .mem = D, .index = 0, .dfd = BIG, .bytesused = n->out ? S : 0 };
	fact(ID(n, "D3 QBUF BIG len=0"), fmt("OK len=%u m=BIG bu=%u Q cnt=2 att=0", BIGSZ, S),
	     "%s", D_(n, Q(n, &a), BIG));
	streamoff(n);
	fact(ID(n, "D3 after STREAMOFF"), fmt("len=%u m=BIG bu=%u cnt=2 att=0", BIGSZ, S),
	     "%s %s", bstate(n, D, 0), held(BIG));

	/* Too small, length 0: EINVAL, and the held BIG is released. */
	a = (struct qarg){ .mem = D, .index = 0, .dfd = SMALL };
	fact(ID(n, "D4 QBUF SMALL len=0 (BIG held)"), "EINVAL len=0 m=0 bu=0 BIG:cnt=1 att=0 SMALL:cnt=1 att=0",
	     "%s", D2_(n, Q(n, &a), BIG, "BIG", SMALL, "SMALL"));

	/* Output, single-planar DMABUF: __verify_length bounds bytesused by the *stored* length, now 0. */
	if (n->out) {
		a = (struct qarg){ .mem = D, .index = 0, .dfd = BIG, .bytesused = S };
		fact(ID(n, "D5a QBUF BIG len=0 bytesused=S after a refusal"), "EINVAL len=0 m=0 bu=0 cnt=1 att=0",
		     "%s", D_(n, Q(n, &a), BIG));
		a.length = BIGSZ;
		fact(ID(n, "D5b QBUF BIG len=BIGSZ bytesused=S after a refusal"), "EINVAL len=0 m=0 bu=0 cnt=1 att=0",
		     "%s", D_(n, Q(n, &a), BIG));
		a.length = 0;
		a.bytesused = 0;
		fact(ID(n, "D5c QBUF BIG len=0 bytesused=0 after a refusal (payload 0: vivid refuses)"),
		     "EINVAL len=0 m=0 bu=0 cnt=1 att=0", "%s", D_(n, Q(n, &a), BIG));
		a.length = BIGSZ;
		fact(ID(n, "D5d QBUF BIG len=BIGSZ bytesused=0 after a refusal"),
		     fmt("OK len=%u m=BIG bu=%u Q cnt=2 att=0", BIGSZ, BIGSZ), "%s", D_(n, Q(n, &a), BIG));
		streamoff(n);
		/* on a fresh buffer the bound is the setup size, whatever the dma-buf's size */
		reqbufs(n, D, 0, NULL);
		reqbufs(n, D, 1, &cnt);
		a = (struct qarg){ .mem = D, .index = 0, .dfd = BIG, .bytesused = S + PG };
		fact(ID(n, "D5e QBUF BIG bytesused=S+4096 (fresh)"), fmt("EINVAL len=%u m=0 bu=0 cnt=1 att=0", S),
		     "%s", D_(n, Q(n, &a), BIG));
		/* field ALTERNATE and bytesused > stored length leave a held dma-buf alone */
		a = (struct qarg){ .mem = D, .index = 0, .dfd = BIG, .bytesused = S };
		if (strcmp(Q(n, &a), "OK"))
			die("QBUF BIG");
		streamoff(n);
		a = (struct qarg){ .mem = D, .index = 0, .dfd = SMALL, .bytesused = S, .field = V4L2_FIELD_ALTERNATE };
		fact(ID(n, "D5f QBUF SMALL field=ALTERNATE (BIG held)"), fmt("EINVAL len=%u m=BIG bu=%u cnt=2 att=0", BIGSZ, S),
		     "%s", D_(n, Q(n, &a), BIG));
		a = (struct qarg){ .mem = D, .index = 0, .dfd = SMALL, .bytesused = BIGSZ + 1 };
		fact(ID(n, "D5g QBUF SMALL bytesused>stored length (BIG held)"), fmt("EINVAL len=%u m=BIG bu=%u cnt=2 att=0", BIGSZ, S),
		     "%s", D_(n, Q(n, &a), BIG));
		/* payload too small for vivid: refused by buf_prepare after attach+map, both released */
		a = (struct qarg){ .mem = D, .index = 0, .dfd = EXACT, .bytesused = 100 };
		fact(ID(n, "D5h QBUF EXACT bytesused=100 (BIG held)"), "EINVAL len=0 m=0 bu=0 BIG:cnt=1 att=0 EXACT:cnt=1 att=0",
		     "%s", D2_(n, Q(n, &a), BIG, "BIG", EXACT, "EXACT"));
		reqbufs(n, D, 0, NULL);
		reqbufs(n, D, 1, &cnt);
	}

	/* Not a dma-buf / closed fd while holding BIG. */
	a = (struct qarg){ .mem = D, .index = 0, .dfd = BIG, .bytesused = n->out ? S : 0 };
	if (strcmp(Q(n, &a), "OK"))
		die("QBUF BIG");
	streamoff(n);
	a = (struct qarg){ .mem = D, .index = 0, .dfd = memfd, .bytesused = n->out ? S : 0 };
	fact(ID(n, "D6 QBUF memfd (BIG held)"), "EINVAL len=0 m=0 bu=0 cnt=1 att=0",
	     "%s", D_(n, Q(n, &a), BIG));

	/* Driver buf_prepare refusal after attach+map (vivid injection); also with the held dma-buf. */
	if (n->out)
		reqbufs(n, D, 0, NULL), reqbufs(n, D, 1, &cnt);
	a = (struct qarg){ .mem = D, .index = 0, .dfd = BIG, .bytesused = n->out ? S : 0 };
	if (strcmp(Q(n, &a), "OK"))
		die("QBUF BIG");
	streamoff(n);
	button(n, VIVID_CID_BUF_PREPARE_ERROR);
	a.dfd = EXACT;
	fact(ID(n, "D7 QBUF EXACT, buf_prepare error (BIG held)"), "EINVAL len=0 m=0 bu=0 BIG:cnt=1 att=0 EXACT:cnt=1 att=0",
	     "%s", D2_(n, Q(n, &a), BIG, "BIG", EXACT, "EXACT"));
	if (n->out)
		reqbufs(n, D, 0, NULL), reqbufs(n, D, 1, &cnt);
	a.dfd = BIG;
	if (strcmp(Q(n, &a), "OK"))
		die("QBUF BIG");
	streamoff(n);
	button(n, VIVID_CID_BUF_PREPARE_ERROR);
	fact(ID(n, "D7b QBUF BIG (same as held), buf_prepare error"), "EINVAL len=0 m=0 bu=0 cnt=1 att=0",
	     "%s", D_(n, Q(n, &a), BIG));

	/* PREPARE_BUF then QBUF with another fd: the prepared dma-buf is queued, the new fd ignored. */
	if (n->out)
		reqbufs(n, D, 0, NULL), reqbufs(n, D, 1, &cnt);
	a = (struct qarg){ .mem = D, .index = 0, .dfd = BIG, .bytesused = n->out ? S : 0 };
	fact(ID(n, "D8 PREPARE_BUF BIG"), fmt("OK len=%u m=BIG bu=%u P cnt=2 att=0", BIGSZ, S),
	     "%s", D_(n, P(n, &a), BIG));
	a.dfd = SMALL;
	fact(ID(n, "D8 QBUF SMALL on prepared buffer"), fmt("OK len=%u m=BIG bu=%u Q cnt=2 att=0", BIGSZ, S),
	     "%s", D_(n, Q(n, &a), BIG));
	streamoff(n);

	/* length >= setup size but > dma-buf size: attach_dmabuf fails with EFAULT. */
	a = (struct qarg){ .mem = D, .index = 0, .dfd = EXACT, .length = PA(S) + PG, .bytesused = 0 };
	{
		long before = dcount(EXACT);
		unsigned long ino = ino_of(EXACT);
		const char *r = Q(n, &a);
		const char *st = bstate(n, D, 0);
		const char *hb = held(BIG), *he = held(EXACT);

		/* 6.12: attach_dmabuf's failure skips the dma_buf_put of the new dma-buf (leak); 6.1 puts it */
		fact(ID(n, "D9 QBUF EXACT len=PA(S)+4096 (BIG held)"),
		     k61 ? "EFAULT len=0 m=0 bu=0 BIG:cnt=1 att=0 EXACT:cnt=1 att=0"
			 : "EFAULT len=0 m=0 bu=0 BIG:cnt=1 att=0 EXACT:cnt=2 att=0",
		     "%s %s BIG:%s EXACT:%s", r, st, hb, he);
		info("%s D9 EXACT fdinfo count before %ld", n->tag, before);
		reqbufs(n, D, 0, NULL);
		close(EXACT);
		fact(ID(n, "D9 EXACT after REQBUFS(0) and close: still in bufinfo (leaked reference)"),
		     k61 ? "released" : "present", "%s", attached_ino(ino) >= 0 ? "present" : "released");
	}

	reqbufs(n, D, 0, NULL);
	fact(ID(n, "D10 after REQBUFS(0)"), "BIG:cnt=1 att=0 SMALL:cnt=1 att=0",
	     "BIG:%s SMALL:%s", held(BIG), held(SMALL));
	close(SMALL);
	close(BIG);
	close(memfd);
}

/* ------------------------------------------------------------------ MMAP and generic checks */

static void mmap_facts(struct node *n, struct node *other)
{
	const __u32 M = V4L2_MEMORY_MMAP;
	unsigned int S = n->S, cnt;
	struct v4l2_buffer b;
	struct qarg a;
	char off[32];

	if (reqbufs(n, M, 1, &cnt))
		die("REQBUFS MMAP");
	querybuf(n, M, 0, &b);
	snprintf(off, sizeof(off), "%#x", b.m.offset);
	fact(ID(n, "M0 fresh buffer"), fmt("len=%u m=%s bu=0", S, off), "%s", bstate(n, M, 0));

	/* Generic refusals, in the order vb2_qbuf and its callers check them. */
	a = (struct qarg){ .mem = M, .index = 0, .type = n->out ? V4L2_BUF_TYPE_VIDEO_CAPTURE : V4L2_BUF_TYPE_VIDEO_OUTPUT };
	fact(ID(n, "G1 QBUF other buffer type"), "EINVAL", "%s", Q(n, &a));
	a = (struct qarg){ .mem = M, .index = 64 };
	fact(ID(n, "G2 QBUF index without buffer"), "EINVAL", "%s", Q(n, &a));
	a = (struct qarg){ .mem = V4L2_MEMORY_USERPTR, .index = 0 };
	fact(ID(n, "G3 QBUF other memory type"), "EINVAL", "%s", Q(n, &a));
	a = (struct qarg){ .mem = M, .index = 0, .flags = V4L2_BUF_FLAG_REQUEST_FD };
	{
		struct v4l2_buffer r;

		memset(&r, 0, sizeof(r));
		r.type = n->type;
		r.memory = M;
		r.flags = V4L2_BUF_FLAG_REQUEST_FD;
		r.request_fd = -1;
		fact(ID(n, "G5 QBUF REQUEST_FD request_fd=-1"), "EINVAL", "%s", E(ioctl(n->fd, VIDIOC_QBUF, &r)));
		fact(ID(n, "G6 PREPARE_BUF with REQUEST_FD"), "EINVAL", "%s", E(ioctl(n->fd, VIDIOC_PREPARE_BUF, &r)));
	}
	{
		struct node o = *n;

		o.fd = open(n->path, O_RDWR | O_NONBLOCK);
		a = (struct qarg){ .mem = M, .index = 0 };
		fact(ID(n, "G4 QBUF from a non-owner file"), "EBUSY", "%s", Q(&o, &a));
		fact(ID(n, "G4 PREPARE_BUF from a non-owner file"), "EBUSY", "%s", P(&o, &a));
		close(o.fd);
	}
	(void)other;
	fact(ID(n, "G state after G1-G6"), fmt("len=%u m=%s bu=0", S, off), "%s", bstate(n, M, 0));

	if (n->out) {
		a = (struct qarg){ .mem = M, .index = 0, .bytesused = S + 1 };
		fact(ID(n, "M1 QBUF bytesused=S+1"), fmt("EINVAL len=%u m=%s bu=0", S, off), "%s", M_(n, M, Q(n, &a)));
		a = (struct qarg){ .mem = M, .index = 0, .bytesused = S, .field = V4L2_FIELD_ALTERNATE };
		fact(ID(n, "M2 QBUF field=ALTERNATE"), fmt("EINVAL len=%u m=%s bu=0", S, off), "%s", M_(n, M, Q(n, &a)));
		a = (struct qarg){ .mem = M, .index = 0, .bytesused = 100 };
		fact(ID(n, "M3 QBUF bytesused=100 (vivid buf_prepare refuses)"), fmt("EINVAL len=%u m=%s bu=100", S, off),
		     "%s", M_(n, M, Q(n, &a)));
	}
	button(n, VIVID_CID_BUF_PREPARE_ERROR);
	a = (struct qarg){ .mem = M, .index = 0, .bytesused = n->out ? S : 0 };
	fact(ID(n, "M4 QBUF, buf_prepare error"), fmt("EINVAL len=%u m=%s bu=%u", S, off, n->out ? S : 0),
	     "%s", M_(n, M, Q(n, &a)));
	fact(ID(n, "M4 QBUF after the injected error"), fmt("OK len=%u m=%s bu=%u Q", S, off, S),
	     "%s", M_(n, M, Q(n, &a)));
	streamoff(n);

	/* Fatal queue error: QBUF gives EIO until STREAMOFF. */
	if (!n->out) {
		if (streamon(n))
			info("STREAMON: %s", E(-1));
		if (button(n, VIVID_CID_QUEUE_ERROR))
			info("S_CTRL QUEUE_ERROR: %s", E(-1));
		a = (struct qarg){ .mem = M, .index = 0 };
		fact(ID(n, "M5 QBUF after a fatal queue error"), fmt("EIO len=%u m=%s bu=%u", S, off, S), "%s", M_(n, M, Q(n, &a)));
		streamoff(n);
		fact(ID(n, "M5 QBUF after STREAMOFF"), fmt("OK len=%u m=%s bu=%u Q", S, off, S), "%s", M_(n, M, Q(n, &a)));
		streamoff(n);
	}
	reqbufs(n, M, 0, NULL);
}

static void watchdog(int sig)
{
	(void)sig;
	static const char m[] = "WATCHDOG: 120 s elapsed\n";
	if (write(1, m, sizeof(m) - 1) < 0)
		_exit(9);
	_exit(9);
}

int main(void)
{
	struct node cap = { "cap", "/dev/video0", -1, V4L2_BUF_TYPE_VIDEO_CAPTURE, 0, 0 };
	struct node out = { "out", "/dev/video1", -1, V4L2_BUF_TYPE_VIDEO_OUTPUT, 1, 0 };
	FILE *f;
	char rel[128] = "?";

	signal(SIGALRM, watchdog);
	alarm(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((f = fopen("/proc/sys/kernel/osrelease", "r"))) {
		if (fgets(rel, sizeof(rel), f))
			rel[strcspn(rel, "\n")] = 0;
		fclose(f);
	}
	info("kernel %s", rel);
	k61 = !strncmp(rel, "6.1.", 4);
	if (access(BUFINFO, R_OK))
		info("no %s: att= columns will read -2", BUFINFO);
	open_node(&cap);
	open_node(&out);

	mmap_facts(&cap, &out);
	mmap_facts(&out, &cap);
	userptr_facts(&cap);
	userptr_facts(&out);
	dmabuf_facts(&cap);
	dmabuf_facts(&out);

	printf("SUMMARY facts=%d diff=%d\n", nfacts, ndiff);
	return ndiff ? 1 : 0;
}
