/*
 * known_issues_facts: lab evidence for spec/notes/known-issues-research.md. Checks, on the running
 * kernel, the behaviours that the note lists as known issues or version differences:
 *
 *   MMAP-OFF   what a dma-buf mmap at page offset 1 maps, per exporter (DMABUF-MMAP-5)
 *   VB2-COUNT  REQBUFS/CREATE_BUFS counts, max_num_buffers, m.offset cookies, REMOVE_BUFS
 *   VB2-UPTR-RO USERPTR on read-only memory (capture vs output)
 *   UDMABUF    F_SEAL_FUTURE_WRITE and a size-0 list item (UDMABUF-SEAL-3, UDMABUF-LIST-3)
 *   GEM-CLOSE  errno for an unknown handle (PRIME-CLOSE-1, AMB-32)
 *   SYNCF-DEADLINE  SYNC_IOC_SET_DEADLINE on a sync_file
 *   SET-NAME   DMA_BUF_SET_NAME while another device is attached (DMABUF-NAME-3)
 *
 * Output: "FACT <id>: <observed>   [expect <expected for this kernel>: OK|DIFF]"; the expectation is
 * chosen from the kernel release (6.12 or 6.1 table, from the source reading in the note).
 * Devices that do not exist print "absent" without an expectation. Exit 0 when nothing differed.
 *
 * The vivid dma-contig exporter needs a second vivid instance: run it through the wrapper
 *   cat >/tmp/kif/run.sh <<'EOF'
 *   modprobe -r vivid && modprobe -d "$LAB_MODULES_DIR" vivid n_devs=2 allocators=0,1 && exec /tmp/kif/known_issues_facts
 *   EOF
 * Build and run from /work/main:
 *   bash lab/uapi-include.sh /tmp/kif/inc
 *   gcc -O2 -Wall -Wextra -Werror -I/tmp/kif/inc -o /tmp/kif/known_issues_facts spec/notes/known_issues_facts.c
 *   bash lab/vm.sh run --mem 2048 --out /tmp/kif/lab -- sh /tmp/kif/run.sh
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>
#include <linux/videodev2.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>

#define PG 4096u
#define PA(x) (((x) + PG - 1) & ~(PG - 1))

static int nfacts, ndiff, k61;	/* k61: running a 6.1 kernel */

static void fact(const char *id, const char *e612, const char *e61, const char *f, ...)
{
	char obs[512];
	const char *expect = k61 ? e61 : e612;
	va_list ap;
	int ok;

	va_start(ap, f);
	vsnprintf(obs, sizeof(obs), f, ap);
	va_end(ap);
	ok = !expect || !strcmp(obs, expect);
	printf("FACT %s: %s", id, obs);
	if (expect)
		printf("   [expect %s: %s]", expect, ok ? "OK" : "DIFF");
	printf("\n");
	fflush(stdout);
	nfacts++;
	ndiff += !ok;
}

static const char *E(long rc)
{
	const char *n;

	if (rc >= 0)
		return "OK";
	n = strerrorname_np(errno);
	return n ? n : "E?";
}

/* ------------------------------------------------------------------ dma-buf mmap offset */

/* Writes marker words at the start of page 0 and page 1 through map (2+ pages), then maps dfd at
 * page offset 1 and reports which page it shows. */
static const char *offset_probe(int dfd, unsigned char *map)
{
	static char res[64];
	volatile uint32_t *p0 = (uint32_t *)map, *p1 = (uint32_t *)(map + PG);
	struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	uint32_t *m, v;

	ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s);
	*p0 = 0xAAAA0000;
	*p1 = 0xBBBB0001;
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
	ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s);
	m = mmap(NULL, PG, PROT_READ, MAP_SHARED, dfd, PG);
	if (m == MAP_FAILED)
		return strcpy(res, E(-1));
	v = *m;
	munmap(m, PG);
	if (v == 0xBBBB0001)
		return "page 1 (offset honoured)";
	if (v == 0xAAAA0000)
		return "page 0 (offset ignored)";
	snprintf(res, sizeof(res), "other %#x", v);
	return res;
}

static void mmap_offset_heap(void)
{
	struct dma_heap_allocation_data d = { .len = 2 * PG, .fd_flags = O_RDWR | O_CLOEXEC };
	int h = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	unsigned char *map;

	if (h < 0 || ioctl(h, DMA_HEAP_IOCTL_ALLOC, &d)) {
		fact("MMAP-OFF[system heap]", NULL, NULL, "absent (%s)", E(-1));
		if (h >= 0)
			close(h);
		return;
	}
	map = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, d.fd, 0);
	fact("MMAP-OFF[system heap]", "page 1 (offset honoured)", NULL, "%s", offset_probe(d.fd, map));
	munmap(map, 2 * PG);
	close(d.fd);
	close(h);
}

static int sealed_memfd(size_t len, int seals)
{
	int m = memfd_create("kif", MFD_ALLOW_SEALING | MFD_CLOEXEC);

	if (m < 0 || ftruncate(m, len) || fcntl(m, F_ADD_SEALS, seals))
		return -1;
	return m;
}

static void udmabuf_facts(void)
{
	int u = open("/dev/udmabuf", O_RDWR | O_CLOEXEC), m, d;
	struct udmabuf_create c;
	unsigned char *map;
	struct {
		struct udmabuf_create_list h;
		struct udmabuf_create_item it[2];
	} l;

	if (u < 0) {
		fact("MMAP-OFF[udmabuf]", NULL, NULL, "absent (%s)", E(-1));
		fact("UDMABUF-SEAL-3[F_SEAL_SHRINK|F_SEAL_FUTURE_WRITE]", NULL, NULL, "absent");
		fact("UDMABUF-LIST-3[{0 bytes},{4096 bytes}]", NULL, NULL, "absent");
		return;
	}
	m = sealed_memfd(2 * PG, F_SEAL_SHRINK);
	c = (struct udmabuf_create){ .memfd = m, .flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0, .size = 2 * PG };
	d = ioctl(u, UDMABUF_CREATE, &c);
	map = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	fact("MMAP-OFF[udmabuf]", "page 1 (offset honoured)", "page 1 (offset honoured)", "%s",
	     d < 0 ? E(d) : offset_probe(d, map));
	munmap(map, 2 * PG);
	if (d >= 0)
		close(d);

	memset(&l, 0, sizeof(l));
	l.h.count = 2;
	l.h.flags = UDMABUF_FLAGS_CLOEXEC;
	l.it[0] = (struct udmabuf_create_item){ .memfd = m, .offset = 0, .size = 0 };
	l.it[1] = (struct udmabuf_create_item){ .memfd = m, .offset = 0, .size = PG };
	d = ioctl(u, UDMABUF_CREATE_LIST, &l);
	fact("UDMABUF-LIST-3[{0 bytes},{4096 bytes}]", "EINVAL", "OK", "%s", E(d));
	if (d >= 0)
		close(d);
	close(m);

	m = sealed_memfd(PG, F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE);
	c = (struct udmabuf_create){ .memfd = m, .flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0, .size = PG };
	d = ioctl(u, UDMABUF_CREATE, &c);
	fact("UDMABUF-SEAL-3[F_SEAL_SHRINK|F_SEAL_FUTURE_WRITE]", "EINVAL", "EINVAL", "%s", E(d));
	if (d >= 0)
		close(d);
	close(m);
	close(u);
}

/* ------------------------------------------------------------------ vivid */

struct vnode { int fd; unsigned int inst; int out; char path[32]; };

/* Finds vivid's video capture and output nodes of each instance (bus_info platform:vivid-00N). */
static int find_vivid(struct vnode *v, int max)
{
	int n = 0;

	for (int i = 0; i < 16 && n < max; i++) {
		struct v4l2_capability cap;
		char path[32];
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (ioctl(fd, VIDIOC_QUERYCAP, &cap) || strncmp((char *)cap.bus_info, "platform:vivid-", 15) ||
		    !(cap.device_caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_OUTPUT))) {
			close(fd);
			continue;
		}
		v[n].fd = fd;
		v[n].inst = atoi((char *)cap.bus_info + 15);
		v[n].out = !!(cap.device_caps & V4L2_CAP_VIDEO_OUTPUT);
		snprintf(v[n].path, sizeof(v[n].path), "%s", path);
		n++;
	}
	return n;
}

static __u32 vtype(struct vnode *v) { return v->out ? V4L2_BUF_TYPE_VIDEO_OUTPUT : V4L2_BUF_TYPE_VIDEO_CAPTURE; }

static int reqbufs(struct vnode *v, __u32 mem, unsigned int count, unsigned int *got)
{
	struct v4l2_requestbuffers rb = { .count = count, .type = vtype(v), .memory = mem };
	int rc = ioctl(v->fd, VIDIOC_REQBUFS, &rb);

	if (got)
		*got = rb.count;
	return rc;
}

static void mmap_offset_vivid(struct vnode *v, const char *label, const char *e612, const char *e61)
{
	struct v4l2_exportbuffer eb = { .type = vtype(v), .index = 0, .flags = O_RDWR | O_CLOEXEC };
	struct v4l2_buffer b = { .type = vtype(v), .memory = V4L2_MEMORY_MMAP, .index = 0 };
	unsigned char *map;
	char id[64];

	snprintf(id, sizeof(id), "MMAP-OFF[vivid %s EXPBUF]", label);
	if (reqbufs(v, V4L2_MEMORY_MMAP, 2, NULL) || ioctl(v->fd, VIDIOC_QUERYBUF, &b) ||
	    ioctl(v->fd, VIDIOC_EXPBUF, &eb)) {
		fact(id, NULL, NULL, "setup failed: %s", E(-1));
		reqbufs(v, V4L2_MEMORY_MMAP, 0, NULL);
		return;
	}
	map = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, b.m.offset);
	fact(id, e612, e61, "%s", map == MAP_FAILED ? E(-1) : offset_probe(eb.fd, map));
	if (map != MAP_FAILED)
		munmap(map, b.length);
	close(eb.fd);
	reqbufs(v, V4L2_MEMORY_MMAP, 0, NULL);
}

static void vb2_counts(struct vnode *v)
{
	const char *t = v->out ? "out" : "cap";
	struct v4l2_format f = { .type = vtype(v) };
	struct v4l2_create_buffers cb;
	struct v4l2_buffer b;
	unsigned int n;
	char id[96];
	int rc;

	ioctl(v->fd, VIDIOC_G_FMT, &f);
	snprintf(id, sizeof(id), "VB2-COUNT[%s REQBUFS(1)]", t);
	rc = reqbufs(v, V4L2_MEMORY_MMAP, 1, &n);
	fact(id, "OK count=2", "OK count=2", "%s count=%u", E(rc), n);
	reqbufs(v, V4L2_MEMORY_MMAP, 0, NULL);

	memset(&cb, 0, sizeof(cb));
	cb.count = 0;
	cb.memory = V4L2_MEMORY_MMAP;
	cb.format = f;
	rc = ioctl(v->fd, VIDIOC_CREATE_BUFS, &cb);
	snprintf(id, sizeof(id), "VB2-COUNT[%s CREATE_BUFS(0) caps&0x180, max_num_buffers]", t);
	/* struct field max_num_buffers is reserved[0] on 6.1 and zeroed by v4l_create_bufs */
	fact(id, v->out ? "OK caps=0x180 max=32" : "OK caps=0x180 max=64", "OK caps=0 max=0",
	     "%s caps=%#x max=%u", E(rc), cb.capabilities & 0x180, cb.max_num_buffers);

	memset(&cb, 0, sizeof(cb));
	cb.count = 1;
	cb.memory = V4L2_MEMORY_MMAP;
	cb.format = f;
	rc = ioctl(v->fd, VIDIOC_CREATE_BUFS, &cb);
	snprintf(id, sizeof(id), "VB2-COUNT[%s CREATE_BUFS(1) on empty queue]", t);
	fact(id, "OK index=0 count=1", "OK index=0 count=2", "%s index=%u count=%u", E(rc), cb.index, cb.count);
	if (!rc && cb.count == 1) {	/* make sure buffer 1 exists */
		cb.count = 1;
		ioctl(v->fd, VIDIOC_CREATE_BUFS, &cb);
	}
	memset(&b, 0, sizeof(b));
	b.type = vtype(v);
	b.memory = V4L2_MEMORY_MMAP;
	b.index = 1;
	rc = ioctl(v->fd, VIDIOC_QUERYBUF, &b);
	snprintf(id, sizeof(id), "VB2-COUNT[%s m.offset of buffer 1]", t);
	{
		char e61[32];

		snprintf(e61, sizeof(e61), "OK %#x", PA(f.fmt.pix.sizeimage));
		fact(id, "OK 0x8000", e61, "%s %#x", E(rc), rc ? 0 : b.m.offset);
	}
	reqbufs(v, V4L2_MEMORY_MMAP, 0, NULL);

	rc = reqbufs(v, V4L2_MEMORY_MMAP, 100, &n);
	snprintf(id, sizeof(id), "VB2-COUNT[%s REQBUFS(100)]", t);
	fact(id, v->out ? "OK count=32" : "OK count=64", "OK count=32", "%s count=%u", E(rc), n);
	reqbufs(v, V4L2_MEMORY_MMAP, 0, NULL);

	{
		struct v4l2_remove_buffers rm = { .index = 0, .count = 0, .type = vtype(v) };

		rc = ioctl(v->fd, VIDIOC_REMOVE_BUFS, &rm);
		snprintf(id, sizeof(id), "VB2-COUNT[%s REMOVE_BUFS count=0]", t);
		fact(id, "OK", "ENOTTY", "%s", E(rc));
	}
}

static void userptr_readonly(struct vnode *v)
{
	struct v4l2_format f = { .type = vtype(v) };
	struct v4l2_buffer b;
	size_t len;
	void *p;
	char id[64];
	int rc;

	ioctl(v->fd, VIDIOC_G_FMT, &f);
	len = PA(f.fmt.pix.sizeimage);
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (reqbufs(v, V4L2_MEMORY_USERPTR, 1, NULL))
		return;
	memset(&b, 0, sizeof(b));
	b.type = vtype(v);
	b.memory = V4L2_MEMORY_USERPTR;
	b.index = 0;
	b.m.userptr = (unsigned long)p;
	b.length = len;
	b.bytesused = v->out ? f.fmt.pix.sizeimage : 0;
	rc = ioctl(v->fd, VIDIOC_QBUF, &b);
	snprintf(id, sizeof(id), "VB2-UPTR-RO[%s QBUF PROT_READ anon]", v->out ? "out" : "cap");
	/* 6.12 pins with FOLL_WRITE only for capture; 6.1 always FOLL_FORCE|FOLL_WRITE */
	fact(id, v->out ? "OK" : "EFAULT", "OK", "%s", E(rc));
	reqbufs(v, V4L2_MEMORY_USERPTR, 0, NULL);
	munmap(p, len);
}

/* ------------------------------------------------------------------ vgem / DRM */

static void drm_facts(struct vnode *cap)
{
	int card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	struct drm_mode_create_dumb cd = { .width = 1024, .height = 2, .bpp = 32 };
	struct drm_mode_map_dumb md;
	struct drm_prime_handle ph;
	struct drm_gem_close gc = { .handle = 0x7777 };
	unsigned char *map;

	if (card < 0) {
		fact("MMAP-OFF[vgem PRIME]", NULL, NULL, "absent");
		return;
	}
	fact("GEM-CLOSE[unknown handle]", "EINVAL", "EINVAL", "%s", E(ioctl(card, DRM_IOCTL_GEM_CLOSE, &gc)));

	if (ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &cd)) {
		fact("MMAP-OFF[vgem PRIME]", NULL, NULL, "CREATE_DUMB %s", E(-1));
		close(card);
		return;
	}
	memset(&md, 0, sizeof(md));
	md.handle = cd.handle;
	ioctl(card, DRM_IOCTL_MODE_MAP_DUMB, &md);
	map = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, card, md.offset);
	memset(&ph, 0, sizeof(ph));
	ph.handle = cd.handle;
	ph.flags = DRM_CLOEXEC | DRM_RDWR;
	if (ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph)) {
		fact("MMAP-OFF[vgem PRIME]", NULL, NULL, "HANDLE_TO_FD %s", E(-1));
	} else {
		fact("MMAP-OFF[vgem PRIME]", "page 0 (offset ignored)", "page 0 (offset ignored)", "%s",
		     offset_probe(ph.fd, map));

		/* SYNC_IOC_SET_DEADLINE (new in 6.x) on an exported sync_file */
		struct dma_buf_export_sync_file es = { .flags = DMA_BUF_SYNC_READ, .fd = -1 };

		if (ioctl(ph.fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &es)) {
			fact("SYNCF-DEADLINE[stub sync_file]", NULL, NULL, "EXPORT_SYNC_FILE %s", E(-1));
		} else {
			struct timespec ts;
			struct sync_set_deadline sd = { 0 };

			clock_gettime(CLOCK_MONOTONIC, &ts);
			sd.deadline_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec + 1000000;
			fact("SYNCF-DEADLINE[stub sync_file]", "OK", "ENOTTY", "%s",
			     E(ioctl(es.fd, SYNC_IOC_SET_DEADLINE, &sd)));
			close(es.fd);
		}
		close(ph.fd);
	}
	munmap(map, cd.size);

	/* SET_NAME on a dma-buf that vgem has attached to (import of a vivid export) */
	if (cap) {
		struct v4l2_exportbuffer eb = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .index = 0, .flags = O_RDWR };

		if (!reqbufs(cap, V4L2_MEMORY_MMAP, 1, NULL) && !ioctl(cap->fd, VIDIOC_EXPBUF, &eb)) {
			struct drm_prime_handle imp = { .fd = eb.fd };

			if (!ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp)) {
				fact("SET-NAME[vivid export attached by vgem]", "OK", "OK", "%s",
				     E(ioctl(eb.fd, DMA_BUF_SET_NAME_B, "attached")));
				gc.handle = imp.handle;
				ioctl(card, DRM_IOCTL_GEM_CLOSE, &gc);
			}
			close(eb.fd);
		}
		reqbufs(cap, V4L2_MEMORY_MMAP, 0, NULL);
	}
	gc.handle = cd.handle;
	ioctl(card, DRM_IOCTL_GEM_CLOSE, &gc);
	close(card);
}

int main(void)
{
	struct vnode v[8];
	struct vnode *cap0 = NULL;
	struct utsname u;
	int n;

	alarm(120);
	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	k61 = !strncmp(u.release, "6.1.", 4);
	printf("INFO kernel %s (expectations: %s)\n", u.release, k61 ? "6.1" : "6.12");

	mmap_offset_heap();
	udmabuf_facts();
	n = find_vivid(v, 8);
	for (int i = 0; i < n; i++) {
		printf("INFO vivid instance %u %s node %s\n", v[i].inst, v[i].out ? "output" : "capture", v[i].path);
		if (v[i].inst == 0 && !v[i].out)
			cap0 = &v[i];
	}
	for (int i = 0; i < n; i++)
		if (!v[i].out)
			mmap_offset_vivid(&v[i], v[i].inst == 1 ? "dma-contig (allocators=1)" : "vmalloc",
					  v[i].inst == 1 ? "page 1 (offset honoured)" : "page 0 (offset ignored)",
					  v[i].inst == 1 ? "page 1 (offset honoured)" : "page 0 (offset ignored)");
	for (int i = 0; i < n; i++)
		if (v[i].inst == 0) {
			vb2_counts(&v[i]);
			userptr_readonly(&v[i]);
		}
	drm_facts(cap0);
	printf("SUMMARY facts=%d diff=%d\n", nfacts, ndiff);
	return ndiff ? 1 : 0;
}
