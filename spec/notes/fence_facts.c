/*
 * fence_facts: checks implicit-fence, sync_file and DRM PRIME rules on a live Linux 6.12 kernel
 * (vgem, vivid, udmabuf and the system dma-heap present; run as root; debugfs mounted for bufinfo).
 *
 * Prints one line per fact:
 *     FACT <id>: <observed>   [expect <expected>: OK|DIFF]
 * ("expected" is what the 6.12 source says; lines without the bracket are informational).
 * Ends with "SUMMARY facts=N diff=M"; exit status 0 when no fact differed, 1 otherwise, 2 on a
 * set-up failure. A watchdog (CLOCK_MONOTONIC timer, 120 s) ends the program with status 9 if
 * anything ever blocks; every deliberately blocking call is bounded by a 700 ms ITIMER_REAL alarm.
 * The whole run takes about 12 s (one vgem fence is left to expire by itself: 10 s).
 *
 * Evidence for spec/notes/fences-6.12.md. Build on the host against the lab kernel's uapi headers
 * (sanitised like run-suite.sh does), then run in the lab VM; from /work/main:
 *
 *   eval "$(bash lab/fetch-kernel.sh | grep -E '^UAPI=')"
 *   inc=/tmp/fence/inc; mkdir -p $inc/linux $inc/drm
 *   for h in linux/dma-buf linux/dma-heap linux/sync_file linux/udmabuf linux/videodev2 \
 *            linux/v4l2-common linux/v4l2-controls drm/drm drm/drm_mode drm/vgem_drm; do
 *     sed -E -e 's/([[:space:](])(__user|__force|__iomem)[[:space:]]/\1/g' \
 *         -e 's@^#include <linux/compiler(|_types).h>@@' "$UAPI/$h.h" >"$inc/$h.h"
 *   done
 *   gcc -O2 -Wall -Wextra -Werror -pthread -I$inc -o /tmp/fence/fence_facts spec/notes/fence_facts.c
 *   bash lab/vm.sh run --out /tmp/fence-lab -- /tmp/fence/fence_facts
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/sync_file.h>
#include <linux/udmabuf.h>
#include <linux/videodev2.h>
#include <drm/drm.h>
#include <drm/vgem_drm.h>

#define CARD "/dev/dri/card0"
#define HEAP "/dev/dma_heap/system"
#define UDMABUF "/dev/udmabuf"
#define VIDEO "/dev/video0"
#define BUFINFO "/sys/kernel/debug/dma_buf/bufinfo"
#define SZ 4096
#define CLOSED_FD 1000 /* closed in main() and never allocated: far above anything this program opens */

static int nfacts, ndiff;

/* ---------------------------------------------------------------- output helpers */

/* A ring of scratch strings so several helpers can be used in one fact() call. */
static char *scratch(void)
{
	static char ring[16][512];
	static int next;

	next = (next + 1) % 16;
	ring[next][0] = '\0';
	return ring[next];
}

static void fact(const char *id, const char *expect, const char *fmt, ...)
{
	char obs[1024];
	va_list ap;
	int ok;

	va_start(ap, fmt);
	vsnprintf(obs, sizeof(obs), fmt, ap);
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

static void info(const char *fmt, ...)
{
	va_list ap;

	printf("INFO ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
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

/* "OK" for rc == 0 (or any rc >= 0), else the errno name. Call right after the syscall. */
static const char *E(long rc)
{
	const char *n;

	if (rc >= 0)
		return "OK";
	n = strerrorname_np(errno);
	return n ? n : "E?";
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---------------------------------------------------------------- watchdog and bounded waits */

static void on_watchdog(int sig)
{
	static const char msg[] = "WATCHDOG: fence_facts blocked for 120 s, giving up\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(9);
	_exit(9);
}

static void on_alarm(int sig)
{
	(void)sig; /* only there to interrupt a blocking syscall (no SA_RESTART) */
}

static void start_watchdog(void)
{
	struct sigaction sa = { 0 };
	struct sigevent sev = { 0 };
	struct itimerspec its = { .it_value = { .tv_sec = 120 } };
	timer_t t;

	sa.sa_handler = on_watchdog;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0; /* no SA_RESTART: an interrupted wait returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) || timer_settime(t, 0, &its, NULL))
		die("watchdog timer");
}

static void arm(int ms)
{
	struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm(void)
{
	struct itimerval it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* DMA_BUF_IOCTL_SYNC bounded by a 700 ms alarm: "at once", "blocked" or an errno name. */
static const char *sync_try(int buf, unsigned long long flags)
{
	struct dma_buf_sync s = { .flags = flags };
	double t0 = now_ms(), dt;
	int rc, e;

	arm(700);
	rc = ioctl(buf, DMA_BUF_IOCTL_SYNC, &s);
	e = errno;
	disarm();
	dt = now_ms() - t0;
	if (rc == 0 && dt < 300)
		return "at once";
	if (rc == 0) {
		char *o = scratch();

		snprintf(o, 512, "returned 0 after %.0f ms", dt);
		return o;
	}
	if (e == EINTR && dt >= 600)
		return "blocked";
	errno = e;
	return E(-1);
}

/* ---------------------------------------------------------------- buffers */

static int drm_fd = -1;

static int heap_alloc(unsigned fd_flags)
{
	static int heap = -1;
	struct dma_heap_allocation_data d = { .len = SZ, .fd_flags = fd_flags };

	if (heap < 0 && (heap = open(HEAP, O_RDONLY | O_CLOEXEC)) < 0)
		die(HEAP);
	if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d))
		die("DMA_HEAP_IOCTL_ALLOC");
	return d.fd;
}

static int udmabuf_alloc(void)
{
	static int dev = -1;
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0, .size = SZ };
	int mfd, fd;

	if (dev < 0 && (dev = open(UDMABUF, O_RDWR | O_CLOEXEC)) < 0)
		die(UDMABUF);
	mfd = memfd_create("fence-facts", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, SZ) || fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK))
		die("memfd");
	c.memfd = mfd;
	fd = ioctl(dev, UDMABUF_CREATE, &c);
	if (fd < 0)
		die("UDMABUF_CREATE");
	close(mfd);
	return fd;
}

/* vivid capture buffer 0 exported with EXPBUF (O_RDWR|O_CLOEXEC); -1 when vivid is missing. */
static int vivid_fd = -1;
static unsigned vivid_type;
static int vivid_expbuf(void)
{
	static const unsigned types[] = { V4L2_BUF_TYPE_VIDEO_CAPTURE, V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE };
	unsigned i;

	if (vivid_fd < 0 && (vivid_fd = open(VIDEO, O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		struct v4l2_requestbuffers rb = { .count = 1, .type = types[i], .memory = V4L2_MEMORY_MMAP };
		struct v4l2_exportbuffer eb = { .type = types[i], .index = 0, .plane = 0,
						.flags = O_RDWR | O_CLOEXEC };

		if (ioctl(vivid_fd, VIDIOC_REQBUFS, &rb) || rb.count < 1)
			continue;
		if (ioctl(vivid_fd, VIDIOC_EXPBUF, &eb) == 0) {
			vivid_type = types[i];
			return eb.fd;
		}
	}
	return -1;
}

static uint32_t vgem_bo(int drm)
{
	struct drm_mode_create_dumb c = { .width = SZ / 4, .height = 1, .bpp = 32 };

	if (ioctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &c))
		die("DRM_IOCTL_MODE_CREATE_DUMB");
	return c.handle;
}

static int prime_export(int drm, uint32_t handle, uint32_t flags)
{
	struct drm_prime_handle p = { .handle = handle, .flags = flags, .fd = -1 };

	if (ioctl(drm, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
		return -1;
	return p.fd;
}

static int prime_import(int drm, int fd, uint32_t *handle)
{
	struct drm_prime_handle p = { .fd = fd };
	int rc = ioctl(drm, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);

	*handle = p.handle;
	return rc;
}

static int gem_close(int drm, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	return ioctl(drm, DRM_IOCTL_GEM_CLOSE, &c);
}

static int map_dumb(int drm, uint32_t handle, uint64_t *off)
{
	struct drm_mode_map_dumb m = { .handle = handle };
	int rc = ioctl(drm, DRM_IOCTL_MODE_MAP_DUMB, &m);

	*off = m.offset;
	return rc;
}

static int vgem_attach(int drm, uint32_t handle, uint32_t flags, uint32_t pad, uint32_t *id)
{
	struct drm_vgem_fence_attach a = { .handle = handle, .flags = flags, .pad = pad };
	int rc = ioctl(drm, DRM_IOCTL_VGEM_FENCE_ATTACH, &a);

	if (id)
		*id = a.out_fence;
	return rc;
}

static int vgem_signal(int drm, uint32_t id, uint32_t flags)
{
	struct drm_vgem_fence_signal s = { .fence = id, .flags = flags };

	return ioctl(drm, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s);
}

static unsigned long ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (unsigned long)st.st_ino;
}

static int cloexec(int fd)
{
	return (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? 1 : 0;
}

static const char *accmode(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return E(-1);
	switch (fl & O_ACCMODE) {
	case O_RDONLY: return "O_RDONLY";
	case O_WRONLY: return "O_WRONLY";
	default: return "O_RDWR";
	}
}

/* ---------------------------------------------------------------- sync_file helpers */

static int esf(int buf, uint32_t flags)
{
	struct dma_buf_export_sync_file a = { .flags = flags, .fd = -1 };

	if (ioctl(buf, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &a))
		return -1;
	return a.fd;
}

static int isf(int buf, uint32_t flags, int sf)
{
	struct dma_buf_import_sync_file a = { .flags = flags, .fd = sf };

	return ioctl(buf, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &a);
}

/* Replaces the fence context number in a generated sync_file name ("vgem-unbound57-1") by
 * "<ctx>" unless it is 0 (the stub), so the line compares equal from boot to boot. */
static void norm_name(const char *in, char *out, size_t n)
{
	const char *dash = strrchr(in, '-');
	const char *p = dash;

	while (p && p > in && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (!dash || p == dash || (dash - p == 1 && *p == '0')) {
		snprintf(out, n, "%s", in);
		return;
	}
	snprintf(out, n, "%.*s<ctx>%s", (int)(p - in), in, dash);
}

/* "status=S num_fences=N name=NAME f0=DRV/TL st=S ts=0|>0 ..." from SYNC_IOC_FILE_INFO. */
static const char *sfdesc(int sf)
{
	struct sync_file_info i = { 0 };
	struct sync_fence_info f[8];
	char *o = scratch(), nm[64];
	unsigned k, n;

	if (sf < 0)
		return "no-sync-file";
	if (ioctl(sf, SYNC_IOC_FILE_INFO, &i))
		return E(-1);
	norm_name(i.name, nm, sizeof(nm));
	snprintf(o, 512, "status=%d num_fences=%u name=%s", i.status, i.num_fences, nm);
	n = i.num_fences;
	if (n > 8)
		n = 8;
	memset(f, 0, sizeof(f));
	memset(&i, 0, sizeof(i));
	i.num_fences = n;
	i.sync_fence_info = (uintptr_t)f;
	if (ioctl(sf, SYNC_IOC_FILE_INFO, &i))
		return E(-1);
	for (k = 0; k < n; k++)
		snprintf(o + strlen(o), 512 - strlen(o), " f%u=%s/%s st=%d ts%s", k, f[k].driver_name,
			 f[k].obj_name, f[k].status, f[k].timestamp_ns ? ">0" : "=0");
	return o;
}

static int sf_status(int sf)
{
	struct sync_file_info i = { 0 };

	if (ioctl(sf, SYNC_IOC_FILE_INFO, &i))
		return -1000;
	return i.status;
}

/* Exports a sync_file with FLAGS and says whether it is "signalled" or "pending". */
static const char *state(int buf, uint32_t flags)
{
	int sf = esf(buf, flags), st;

	if (sf < 0)
		return E(-1);
	st = sf_status(sf);
	close(sf);
	return st == 1 ? "signalled" : st == 0 ? "pending" : "status?";
}

/* poll() with timeout 0: the returned events as "IN", "OUT", "IN|OUT", "none", ... */
static const char *pollstr(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	char *o = scratch();
	int r = poll(&p, 1, 0);

	if (r < 0)
		return E(-1);
	if (!p.revents)
		return "none";
	snprintf(o, 512, "%s%s%s%s%s", p.revents & POLLIN ? "IN|" : "", p.revents & POLLOUT ? "OUT|" : "",
		 p.revents & POLLERR ? "ERR|" : "", p.revents & POLLHUP ? "HUP|" : "",
		 p.revents & POLLNVAL ? "NVAL|" : "");
	o[strlen(o) - 1] = '\0';
	return o;
}

/* ---------------------------------------------------------------- debugfs bufinfo */

/* For the dma-buf with FD's inode: "fences=[..] attached=N" from /sys/kernel/debug/dma_buf/bufinfo,
 * or "absent". WHAT: 'f' = fences only, 'a' = attached device count only, 'e' = exp_name. */
static const char *bufinfo(int fd, unsigned long ino, char what)
{
	char line[512], key[32], devs[256] = "", *o = scratch();
	int col;
	FILE *f = fopen(BUFINFO, "r");
	int in = 0, att = 0, found = 0;

	if (fd >= 0)
		ino = ino_of(fd);
	if (!f)
		return "no-bufinfo";
	snprintf(key, sizeof(key), "%08lu", ino);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!in) {
			/* header line: size flags mode count exp_name ino name (tab separated) */
			char *fld[7] = { line }, *p = line;

			if (line[0] == '\t')
				continue;
			for (col = 1; col < 7 && (p = strchr(p, '\t')); col++) {
				*p++ = '\0';
				fld[col] = p;
			}
			if (col < 7 || strcmp(fld[5], key))
				continue;
			in = found = 1;
			if (what == 'e') {
				snprintf(o, 512, "%.100s", fld[4]);
				break;
			}
			if (what == 'f')
				strcat(o, "[");
			continue;
		}
		if (strncmp(line, "Total ", 6) == 0)
			break;
		if (strstr(line, " fence:") && what == 'f') {
			char *fl = line + 1, *colon = strstr(fl, " fence:");

			snprintf(o + strlen(o), 512 - strlen(o), "%s%.*s:%s", o[1] ? "; " : "",
				 (int)(colon - fl), fl, colon + 7);
		} else if (line[0] == '\t' && !strstr(line, "Attached Devices:") && !strstr(line, " fence:")) {
			att++;
			if (what == 'a')
				snprintf(devs + strlen(devs), sizeof(devs) - strlen(devs), "%s%.60s", devs[0] ? "," : "",
					 line + 1);
		}
	}
	fclose(f);
	if (!found)
		return "absent";
	if (what == 'f')
		strcat(o, "]");
	if (what == 'a')
		snprintf(o, 512, "attached=%d%s%s%s", att, att ? " (" : "", devs, att ? ")" : "");
	return o;
}

/* ================================================================ 1. EXPORT_SYNC_FILE */

static void export_facts(int vgem_dbuf)
{
	static const struct { uint32_t flags; const char *name, *expect; } fl[] = {
		{ 0, "0", "EINVAL" },
		{ DMA_BUF_SYNC_READ, "READ", "OK" },
		{ DMA_BUF_SYNC_WRITE, "WRITE", "OK" },
		{ DMA_BUF_SYNC_RW, "RW", "OK" },
		{ DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END, "RW|0x4", "EINVAL" },
		{ 0x100, "0x100", "EINVAL" },
		{ DMA_BUF_SYNC_READ | 0x100, "READ|0x100", "EINVAL" },
		{ 0x80000000u, "0x80000000", "EINVAL" },
	};
	int hb = heap_alloc(O_RDWR | O_CLOEXEC), i, fd, lowest, untouched = 1;
	struct { const char *name; int fd; } bufs[4];

	for (i = 0; i < (int)(sizeof(fl) / sizeof(fl[0])); i++) {
		struct dma_buf_export_sync_file a = { .flags = fl[i].flags, .fd = 4242 };
		int rc = ioctl(hb, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &a);
		char id[64];

		snprintf(id, sizeof(id), "ESF-FLAGS[%s]", fl[i].name);
		fact(id, fl[i].expect, "%s", E(rc));
		if (rc == 0)
			close(a.fd);
		else if (a.fd != 4242)
			untouched = 0;
	}
	fact("ESF-FD-UNTOUCHED-ON-ERROR", "fd field unchanged", "%s",
	     untouched ? "fd field unchanged" : "fd field overwritten");

	/* the fd field is output only: any input value (an open fd, -1, INT_MAX) is ignored */
	{
		struct dma_buf_export_sync_file a = { .flags = DMA_BUF_SYNC_READ, .fd = hb };
		int rc, ok;

		lowest = dup(0);
		close(lowest);
		rc = ioctl(hb, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &a);
		ok = rc == 0 && a.fd == lowest && fcntl(hb, F_GETFD) >= 0 && lseek(hb, 0, SEEK_END) == SZ;
		fact("ESF-FD-IN[open fd]", "OK, new lowest free fd, input fd untouched", "%s%s", E(rc),
		     ok ? ", new lowest free fd, input fd untouched" : ", unexpected fd");
		if (rc == 0)
			close(a.fd);
		a.fd = -1;
		rc = ioctl(hb, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &a);
		fact("ESF-FD-IN[-1]", "OK", "%s", E(rc));
		if (rc == 0)
			close(a.fd);
		a.fd = 0x7fffffff;
		rc = ioctl(hb, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &a);
		fact("ESF-FD-IN[INT_MAX]", "OK", "%s", E(rc));
		if (rc == 0)
			close(a.fd);
	}

	bufs[0].name = "heap";
	bufs[0].fd = hb;
	bufs[1].name = "udmabuf";
	bufs[1].fd = udmabuf_alloc();
	bufs[2].name = "vgem-prime";
	bufs[2].fd = vgem_dbuf;
	bufs[3].name = "vivid-expbuf";
	bufs[3].fd = vivid_expbuf();
	for (i = 0; i < 4; i++) {
		static const char stub[] = "status=1 num_fences=1 name=stub-stub0-0 f0=stub/stub st=1 ts>0";
		char id[64];

		if (bufs[i].fd < 0) {
			snprintf(id, sizeof(id), "ESF-IDLE[%s]", bufs[i].name);
			fact(id, "present", "buffer type unavailable");
			continue;
		}
		info("exporter of %s: exp_name=%s", bufs[i].name, bufinfo(bufs[i].fd, 0, 'e'));
		snprintf(id, sizeof(id), "ESF-IDLE[%s,READ]", bufs[i].name);
		fd = esf(bufs[i].fd, DMA_BUF_SYNC_READ);
		fact(id, stub, "%s", sfdesc(fd));
		close(fd);
		snprintf(id, sizeof(id), "ESF-IDLE[%s,WRITE]", bufs[i].name);
		fd = esf(bufs[i].fd, DMA_BUF_SYNC_WRITE);
		fact(id, stub, "%s", sfdesc(fd));
		snprintf(id, sizeof(id), "ESF-IDLE[%s,fd]", bufs[i].name);
		fact(id, "FD_CLOEXEC=1 O_RDONLY poll=IN", "FD_CLOEXEC=%d %s poll=%s", cloexec(fd), accmode(fd),
		     pollstr(fd, POLLIN | POLLOUT));
		close(fd);
	}
	close(bufs[1].fd);
	if (bufs[3].fd >= 0)
		close(bufs[3].fd);
	close(hb);
}

/* ================================================================ 2. IMPORT_SYNC_FILE basics */

static void import_facts(void)
{
	static const struct { uint32_t flags; const char *name, *expect; } fl[] = {
		{ 0, "0", "EINVAL" },
		{ DMA_BUF_SYNC_READ, "READ", "OK" },
		{ DMA_BUF_SYNC_WRITE, "WRITE", "OK" },
		{ DMA_BUF_SYNC_RW, "RW", "OK" },
		{ DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END, "RW|0x4", "EINVAL" },
		{ 0x100, "0x100", "EINVAL" },
	};
	int hb = heap_alloc(O_RDWR | O_CLOEXEC), other = heap_alloc(O_RDWR | O_CLOEXEC);
	int sig = esf(other, DMA_BUF_SYNC_WRITE), closed, mfd, i;

	for (i = 0; i < (int)(sizeof(fl) / sizeof(fl[0])); i++) {
		char id[64];

		snprintf(id, sizeof(id), "ISF-FLAGS[%s]", fl[i].name);
		fact(id, fl[i].expect, "%s", E(isf(hb, fl[i].flags, sig)));
	}
	closed = CLOSED_FD;
	mfd = memfd_create("not-a-sync-file", MFD_CLOEXEC);
	fact("ISF-FD[dma-buf fd]", "EINVAL", "%s", E(isf(hb, DMA_BUF_SYNC_WRITE, other)));
	fact("ISF-FD[-1]", "EINVAL", "%s", E(isf(hb, DMA_BUF_SYNC_WRITE, -1)));
	fact("ISF-FD[closed fd]", "EINVAL", "%s", E(isf(hb, DMA_BUF_SYNC_WRITE, closed)));
	fact("ISF-FD[memfd]", "EINVAL", "%s", E(isf(hb, DMA_BUF_SYNC_WRITE, mfd)));
	fact("ISF-FD[drm fd]", "EINVAL", "%s", E(isf(hb, DMA_BUF_SYNC_WRITE, drm_fd)));
	fact("ISF-FLAGS-BEFORE-FD[flags 0, fd -1]", "EINVAL", "%s", E(isf(hb, 0, -1)));
	close(mfd);

	/* importing a signalled sync_file (it was imported READ, WRITE and RW above) */
	fact("ISF-SIGNALLED[export READ after]", "status=1 num_fences=1 name=stub-stub0-0 f0=stub/stub st=1 ts>0",
	     "%s", sfdesc(i = esf(hb, DMA_BUF_SYNC_READ)));
	close(i);
	fact("ISF-SIGNALLED[export WRITE after]", "status=1 num_fences=1 name=stub-stub0-0 f0=stub/stub st=1 ts>0",
	     "%s", sfdesc(i = esf(hb, DMA_BUF_SYNC_WRITE)));
	close(i);
	fact("ISF-SIGNALLED[poll]", "IN|OUT", "%s", pollstr(hb, POLLIN | POLLOUT));
	fact("ISF-SIGNALLED[SYNC START|RW]", "at once", "%s", sync_try(hb, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	info("ISF-SIGNALLED bufinfo fences of the heap buffer: %s", bufinfo(hb, 0, 'f'));

	/* no access-mode check: a read-only dma-buf fd may export and import (even WRITE) fences */
	{
		int ro = heap_alloc(O_RDONLY | O_CLOEXEC), e;

		fact("ESF-ACCESS[O_RDONLY dma-buf: export WRITE]", "OK", "%s", E(e = esf(ro, DMA_BUF_SYNC_WRITE)));
		if (e >= 0)
			close(e);
		fact("ISF-ACCESS[O_RDONLY dma-buf: import WRITE]", "OK", "%s", E(isf(ro, DMA_BUF_SYNC_WRITE, sig)));
		close(ro);
	}
	fact("ISF-ON-SYNC-FILE[DMA_BUF_IOCTL_IMPORT_SYNC_FILE on a sync_file fd]", "ENOTTY", "%s",
	     E(isf(sig, DMA_BUF_SYNC_WRITE, sig)));
	fact("ESF-ON-SYNC-FILE[DMA_BUF_IOCTL_EXPORT_SYNC_FILE on a sync_file fd]", "ENOTTY", "%s",
	     E(esf(sig, DMA_BUF_SYNC_READ)));
	close(sig);
	close(other);
	close(hb);
}

/* ================================================================ 3. vgem fences */

static void vgem_facts(void)
{
	uint32_t h = vgem_bo(drm_fd), r1 = 0, r2 = 0, w1 = 0, w2 = 0, tmp = 0, id4 = 0;
	int d = prime_export(drm_fd, h, DRM_CLOEXEC | DRM_RDWR), sf, sfw;
	char ids[64];

	if (d < 0)
		die("PRIME export");
	fact("VGEM-ATTACH[flags 0x2]", "EINVAL", "%s", E(vgem_attach(drm_fd, h, 0x2, 0, NULL)));
	fact("VGEM-ATTACH[flags 0xffffffff]", "EINVAL", "%s", E(vgem_attach(drm_fd, h, 0xffffffffu, 0, NULL)));
	fact("VGEM-ATTACH[pad 1]", "EINVAL", "%s", E(vgem_attach(drm_fd, h, 0, 1, NULL)));
	fact("VGEM-ATTACH[bad handle]", "ENOENT", "%s", E(vgem_attach(drm_fd, 0xdead, 0, 0, NULL)));
	fact("VGEM-ATTACH[bad handle + pad 1]", "EINVAL", "%s", E(vgem_attach(drm_fd, 0xdead, 0, 1, NULL)));
	fact("VGEM-ATTACH[bad handle + flags 0x2]", "EINVAL", "%s", E(vgem_attach(drm_fd, 0xdead, 2, 0, NULL)));
	fact("VGEM-IDLE[poll dma-buf]", "IN|OUT", "%s", pollstr(d, POLLIN | POLLOUT));

	/* one pending READ fence */
	fact("VGEM-ATTACH[READ]", "OK", "%s", E(vgem_attach(drm_fd, h, 0, 0, &r1)));
	fact("VGEM-READ-PENDING[export READ]", "signalled", "%s", state(d, DMA_BUF_SYNC_READ));
	sfw = esf(d, DMA_BUF_SYNC_WRITE);
	fact("VGEM-READ-PENDING[export WRITE]", "status=0 num_fences=1 name=vgem-unbound<ctx>-1 f0=vgem/unbound st=0 ts=0",
	     "%s", sfdesc(sfw));
	fact("VGEM-READ-PENDING[export RW]", "pending", "%s", state(d, DMA_BUF_SYNC_RW));
	fact("VGEM-READ-PENDING[poll IN|OUT]", "IN", "%s", pollstr(d, POLLIN | POLLOUT));
	fact("VGEM-READ-PENDING[poll OUT]", "none", "%s", pollstr(d, POLLOUT));
	fact("VGEM-READ-PENDING[SYNC START|READ]", "at once", "%s", sync_try(d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	fact("VGEM-READ-PENDING[SYNC START|WRITE]", "blocked", "%s", sync_try(d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	fact("VGEM-READ-PENDING[SYNC START|RW]", "blocked", "%s", sync_try(d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	fact("VGEM-READ-PENDING[SYNC END|RW]", "at once", "%s", sync_try(d, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	fact("VGEM-READ-PENDING[attach READ]", "OK", "%s", E(vgem_attach(drm_fd, h, 0, 0, &r2)));
	fact("VGEM-READ-PENDING[attach WRITE]", "EBUSY", "%s", E(vgem_attach(drm_fd, h, VGEM_FENCE_WRITE, 0, NULL)));
	fact("VGEM-TWO-READ[bufinfo]", "[read:vgem unbound seq 1 unsignalled; read:vgem unbound seq 1 unsignalled]",
	     "%s", bufinfo(d, 0, 'f'));
	sf = esf(d, DMA_BUF_SYNC_WRITE);
	fact("VGEM-TWO-READ[export WRITE]",
	     "status=0 num_fences=2 name=dma_fence_array-unbound<ctx>-1 f0=vgem/unbound st=0 ts=0 f1=vgem/unbound st=0 ts=0",
	     "%s", sfdesc(sf));
	close(sf);
	fact("VGEM-SIGNAL[flags 1]", "EINVAL", "%s", E(vgem_signal(drm_fd, r1, 1)));
	fact("VGEM-SIGNAL[id 0]", "ENOENT", "%s", E(vgem_signal(drm_fd, 0, 0)));
	fact("VGEM-SIGNAL[unknown id 9999]", "ENOENT", "%s", E(vgem_signal(drm_fd, 9999, 0)));
	fact("VGEM-SIGNAL[r1]", "OK", "%s", E(vgem_signal(drm_fd, r1, 0)));
	fact("VGEM-SIGNAL[r1 again]", "ENOENT", "%s", E(vgem_signal(drm_fd, r1, 0)));
	fact("VGEM-ONE-OF-TWO-SIGNALLED[export WRITE]", "pending", "%s", state(d, DMA_BUF_SYNC_WRITE));
	fact("VGEM-SIGNAL[r2]", "OK", "%s", E(vgem_signal(drm_fd, r2, 0)));
	fact("VGEM-READ-SIGNALLED[old sync_file]", "status=1 num_fences=1 name=vgem-unbound<ctx>-1 f0=vgem/unbound st=1 ts>0",
	     "%s", sfdesc(sfw));
	close(sfw);
	fact("VGEM-ALL-SIGNALLED[export WRITE]", "status=1 num_fences=1 name=stub-stub0-0 f0=stub/stub st=1 ts>0", "%s",
	     sfdesc(sf = esf(d, DMA_BUF_SYNC_WRITE)));
	close(sf);
	fact("VGEM-ALL-SIGNALLED[poll]", "IN|OUT", "%s", pollstr(d, POLLIN | POLLOUT));

	/* one pending WRITE fence */
	fact("VGEM-ATTACH[WRITE]", "OK", "%s", E(vgem_attach(drm_fd, h, VGEM_FENCE_WRITE, 0, &w1)));
	sfw = esf(d, DMA_BUF_SYNC_READ);
	fact("VGEM-WRITE-PENDING[export READ]", "status=0 num_fences=1 name=vgem-unbound<ctx>-1 f0=vgem/unbound st=0 ts=0",
	     "%s", sfdesc(sfw));
	fact("VGEM-WRITE-PENDING[export WRITE]", "pending", "%s", state(d, DMA_BUF_SYNC_WRITE));
	fact("VGEM-WRITE-PENDING[poll IN|OUT]", "none", "%s", pollstr(d, POLLIN | POLLOUT));
	fact("VGEM-WRITE-PENDING[poll IN]", "none", "%s", pollstr(d, POLLIN));
	fact("VGEM-WRITE-PENDING[poll sync_file]", "none", "%s", pollstr(sfw, POLLIN | POLLOUT));
	fact("VGEM-WRITE-PENDING[SYNC START|READ]", "blocked", "%s", sync_try(d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	fact("VGEM-WRITE-PENDING[SYNC START|WRITE]", "blocked", "%s", sync_try(d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	fact("VGEM-WRITE-PENDING[SYNC END|READ]", "at once", "%s", sync_try(d, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	fact("VGEM-WRITE-PENDING[attach READ]", "EBUSY", "%s", E(vgem_attach(drm_fd, h, 0, 0, NULL)));
	fact("VGEM-WRITE-PENDING[attach WRITE]", "EBUSY", "%s", E(vgem_attach(drm_fd, h, VGEM_FENCE_WRITE, 0, NULL)));
	/* dma_resv_add_fence reuses the first slot holding a signalled fence; the other stays listed */
	fact("VGEM-WRITE-PENDING[bufinfo]", "[write:vgem unbound seq 1 unsignalled; read:vgem unbound seq 1 signalled]", "%s",
	     bufinfo(d, 0, 'f'));
	fact("VGEM-SIGNAL[w1]", "OK", "%s", E(vgem_signal(drm_fd, w1, 0)));
	fact("VGEM-WRITE-SIGNALLED[poll old sync_file]", "IN", "%s", pollstr(sfw, POLLIN | POLLOUT));
	fact("VGEM-WRITE-SIGNALLED[old sync_file]", "status=1 num_fences=1 name=vgem-unbound<ctx>-1 f0=vgem/unbound st=1 ts>0",
	     "%s", sfdesc(sfw));
	close(sfw);
	fact("VGEM-WRITE-SIGNALLED[poll dma-buf]", "IN|OUT", "%s", pollstr(d, POLLIN | POLLOUT));
	fact("VGEM-WRITE-SIGNALLED[SYNC START|RW]", "at once", "%s", sync_try(d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	fact("VGEM-WRITE-SIGNALLED[bufinfo]", "[write:vgem unbound seq 1 signalled; read:vgem unbound seq 1 signalled]", "%s",
	     bufinfo(d, 0, 'f'));

	/* fence ids: per DRM file, from 1, never reused while the file is open; failed attaches use none */
	vgem_attach(drm_fd, h, VGEM_FENCE_WRITE, 0, &w2);
	vgem_signal(drm_fd, w2, 0);
	vgem_attach(drm_fd, h, 0, 0, &id4);
	vgem_signal(drm_fd, id4, 0);
	snprintf(ids, sizeof(ids), "%u,%u,%u,%u,%u", r1, r2, w1, w2, id4);
	fact("VGEM-FENCE-IDS[r1,r2,w1,w2,r3]", "1,2,3,4,5", "%s", ids);
	(void)tmp;
	close(d);
	gem_close(drm_fd, h);
}

/* ================================================================ 4. importing pending fences */

static void import_pending_facts(void)
{
	uint32_t hA = vgem_bo(drm_fd), hE = vgem_bo(drm_fd), hF = vgem_bo(drm_fd), hG = vgem_bo(drm_fd);
	uint32_t fA, fE, fF, fR;
	int dA = prime_export(drm_fd, hA, DRM_CLOEXEC | DRM_RDWR), dE = prime_export(drm_fd, hE, DRM_CLOEXEC);
	int dF = prime_export(drm_fd, hF, DRM_CLOEXEC), dG = prime_export(drm_fd, hG, DRM_CLOEXEC);
	int B = heap_alloc(O_RDWR | O_CLOEXEC), C = heap_alloc(O_RDWR | O_CLOEXEC), C2 = heap_alloc(O_RDWR | O_CLOEXEC);
	int sA, sE, sR, stub, sf;

	vgem_attach(drm_fd, hA, VGEM_FENCE_WRITE, 0, &fA);
	sA = esf(dA, DMA_BUF_SYNC_WRITE);
	fact("ISF-PENDING[source sync_file]", "status=0 num_fences=1 name=vgem-unbound<ctx>-1 f0=vgem/unbound st=0 ts=0",
	     "%s", sfdesc(sA));

	fact("ISF-PENDING[import READ into B]", "OK", "%s", E(isf(B, DMA_BUF_SYNC_READ, sA)));
	fact("ISF-PENDING-READ[B export READ]", "signalled", "%s", state(B, DMA_BUF_SYNC_READ));
	fact("ISF-PENDING-READ[B export WRITE]", "pending", "%s", state(B, DMA_BUF_SYNC_WRITE));
	fact("ISF-PENDING-READ[B poll]", "IN", "%s", pollstr(B, POLLIN | POLLOUT));
	fact("ISF-PENDING-READ[B SYNC START|READ]", "at once", "%s", sync_try(B, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	fact("ISF-PENDING-READ[B SYNC START|WRITE]", "blocked", "%s", sync_try(B, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE));
	fact("ISF-PENDING-READ[B bufinfo]", "[read:vgem unbound seq 1 unsignalled]", "%s", bufinfo(B, 0, 'f'));

	fact("ISF-PENDING[import WRITE into C]", "OK", "%s", E(isf(C, DMA_BUF_SYNC_WRITE, sA)));
	fact("ISF-PENDING-WRITE[C export READ]", "pending", "%s", state(C, DMA_BUF_SYNC_READ));
	fact("ISF-PENDING-WRITE[C export WRITE]", "pending", "%s", state(C, DMA_BUF_SYNC_WRITE));
	fact("ISF-PENDING-WRITE[C poll]", "none", "%s", pollstr(C, POLLIN | POLLOUT));
	fact("ISF-PENDING-WRITE[C SYNC START|READ]", "blocked", "%s", sync_try(C, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	fact("ISF-PENDING-WRITE[C bufinfo]", "[write:vgem unbound seq 1 unsignalled]", "%s", bufinfo(C, 0, 'f'));
	fact("ISF-PENDING[import RW into C2]", "OK", "%s", E(isf(C2, DMA_BUF_SYNC_RW, sA)));
	fact("ISF-PENDING-RW[C2 bufinfo]", "[write:vgem unbound seq 1 unsignalled]", "%s", bufinfo(C2, 0, 'f'));

	/* an imported fence counts for vgem's conflict check */
	fact("ISF-PENDING[import READ into vgem F]", "OK", "%s", E(isf(dF, DMA_BUF_SYNC_READ, sA)));
	fact("ISF-PENDING-READ[F vgem attach WRITE]", "EBUSY", "%s", E(vgem_attach(drm_fd, hF, VGEM_FENCE_WRITE, 0, NULL)));
	fact("ISF-PENDING-READ[F vgem attach READ]", "OK", "%s", E(vgem_attach(drm_fd, hF, 0, 0, &fF)));

	/* importing never drops or downgrades a fence */
	fact("ISF-NODROP[import own WRITE fence back as READ into A]", "OK", "%s", E(isf(dA, DMA_BUF_SYNC_READ, sA)));
	fact("ISF-NODROP[A bufinfo]", "[write:vgem unbound seq 1 unsignalled; read:vgem unbound seq 1 unsignalled]", "%s",
	     bufinfo(dA, 0, 'f'));
	fact("ISF-NODROP[A export READ]", "pending", "%s", state(dA, DMA_BUF_SYNC_READ));
	stub = esf(B, DMA_BUF_SYNC_READ); /* B READ is signalled: the stub */
	fact("ISF-NODROP[import signalled stub as WRITE into A]", "OK", "%s", E(isf(dA, DMA_BUF_SYNC_WRITE, stub)));
	fact("ISF-NODROP[A export READ after stub]", "pending", "%s", state(dA, DMA_BUF_SYNC_READ));
	info("ISF-NODROP A bufinfo after stub import: %s", bufinfo(dA, 0, 'f'));
	vgem_attach(drm_fd, hE, VGEM_FENCE_WRITE, 0, &fE);
	sE = esf(dE, DMA_BUF_SYNC_WRITE);
	fact("ISF-NODROP[import second pending fence as WRITE into A]", "OK", "%s", E(isf(dA, DMA_BUF_SYNC_WRITE, sE)));
	/* fA sits in A twice (WRITE and READ entry): the export lists it twice, nothing dedupes */
	fact("ISF-NODROP[A export WRITE]",
	     "status=0 num_fences=3 name=dma_fence_array-unbound<ctx>-1 f0=vgem/unbound st=0 ts=0 f1=vgem/unbound st=0 ts=0 f2=vgem/unbound st=0 ts=0",
	     "%s", sfdesc(sf = esf(dA, DMA_BUF_SYNC_WRITE)));
	{
		struct sync_merge_data md = { .name = "dedup", .fd2 = sf };
		int rc = ioctl(sf, SYNC_IOC_MERGE, &md);

		fact("ISF-NODROP[SYNC_IOC_MERGE of that export with itself dedupes per context]",
		     "OK status=0 num_fences=2 name=dedup f0=vgem/unbound st=0 ts=0 f1=vgem/unbound st=0 ts=0", "%s %s",
		     E(rc), rc ? "" : sfdesc(md.fence));
		if (!rc)
			close(md.fence);
	}
	close(sf);
	vgem_signal(drm_fd, fE, 0);
	fact("ISF-NODROP[A export READ after 2nd fence signalled]", "pending", "%s", state(dA, DMA_BUF_SYNC_READ));
	/* the most recently added WRITE fence (fE) is signalled, an older one (fA) is not: POLLIN waits for all */
	fact("POLL-ALL-WRITERS[A poll IN after most recent write fence signalled]", "none", "%s", pollstr(dA, POLLIN));
	fact("ISF-SNAPSHOT[sync_file keeps its fence: sA still pending]", "pending", "%s",
	     sf_status(sA) == 0 ? "pending" : "signalled");

	/* promotion: re-importing a READ fence as WRITE on the same buffer upgrades it */
	vgem_attach(drm_fd, hG, 0, 0, &fR);
	sR = esf(dG, DMA_BUF_SYNC_WRITE);
	fact("ISF-PROMOTE[G export READ before]", "signalled", "%s", state(dG, DMA_BUF_SYNC_READ));
	fact("ISF-PROMOTE[import own READ fence as WRITE into G]", "OK", "%s", E(isf(dG, DMA_BUF_SYNC_WRITE, sR)));
	fact("ISF-PROMOTE[G bufinfo]", "[write:vgem unbound seq 1 unsignalled]", "%s", bufinfo(dG, 0, 'f'));
	fact("ISF-PROMOTE[G export READ after]", "pending", "%s", state(dG, DMA_BUF_SYNC_READ));

	/* signal fA: everything that waited on it clears */
	vgem_signal(drm_fd, fA, 0);
	fact("ISF-PENDING-SIGNALLED[B C C2 A export WRITE]", "signalled signalled signalled signalled", "%s %s %s %s",
	     state(B, DMA_BUF_SYNC_WRITE), state(C, DMA_BUF_SYNC_WRITE), state(C2, DMA_BUF_SYNC_WRITE),
	     state(dA, DMA_BUF_SYNC_WRITE));
	fact("ISF-PENDING-SIGNALLED[F export WRITE (own vgem READ fence still pending)]", "pending", "%s",
	     state(dF, DMA_BUF_SYNC_WRITE));
	vgem_signal(drm_fd, fF, 0);
	vgem_signal(drm_fd, fR, 0);
	fact("ISF-PENDING-SIGNALLED[C poll]", "IN|OUT", "%s", pollstr(C, POLLIN | POLLOUT));
	close(sA);
	close(sE);
	close(sR);
	close(stub);
	close(B);
	close(C);
	close(C2);
	close(dA);
	close(dE);
	close(dF);
	close(dG);
	gem_close(drm_fd, hA);
	gem_close(drm_fd, hE);
	gem_close(drm_fd, hF);
	gem_close(drm_fd, hG);
}

/* ================================================================ 5. sync_file ioctls */

static int merge(int a, int b, const char *name, size_t namelen, uint32_t flags, uint32_t pad, int *out)
{
	struct sync_merge_data m = { .fd2 = b, .fence = 4242, .flags = flags, .pad = pad };
	int rc;

	memcpy(m.name, name, namelen > sizeof(m.name) ? sizeof(m.name) : namelen);
	rc = ioctl(a, SYNC_IOC_MERGE, &m);
	*out = m.fence;
	return rc;
}

static void sync_file_facts(void)
{
	uint32_t h1 = vgem_bo(drm_fd), h2 = vgem_bo(drm_fd), f1, f2;
	int d1 = prime_export(drm_fd, h1, DRM_CLOEXEC), d2 = prime_export(drm_fd, h2, DRM_CLOEXEC);
	int idle = heap_alloc(O_RDWR | O_CLOEXEC);
	int P, P2, S, A, m, rc, closed;
	const char *er;
	struct sync_file_info i;
	struct sync_fence_info fi[4];
	char name32[32], *p;
	struct sync_set_deadline dl = { 0 };

	vgem_attach(drm_fd, h1, VGEM_FENCE_WRITE, 0, &f1);
	vgem_attach(drm_fd, h2, VGEM_FENCE_WRITE, 0, &f2);
	P = esf(d1, DMA_BUF_SYNC_READ);
	P2 = esf(d2, DMA_BUF_SYNC_READ);
	S = esf(idle, DMA_BUF_SYNC_WRITE);

	memset(&i, 0, sizeof(i));
	i.flags = 1;
	fact("SYNCF-INFO[flags 1]", "EINVAL", "%s", E(ioctl(S, SYNC_IOC_FILE_INFO, &i)));
	memset(&i, 0, sizeof(i));
	i.pad = 1;
	fact("SYNCF-INFO[pad 1]", "EINVAL", "%s", E(ioctl(S, SYNC_IOC_FILE_INFO, &i)));
	memset(&i, 0, sizeof(i));
	i.sync_fence_info = 1; /* bogus pointer: must not be touched when num_fences == 0 */
	rc = ioctl(P, SYNC_IOC_FILE_INFO, &i);
	fact("SYNCF-INFO[num_fences 0 query, bogus pointer]", "OK status=0 num_fences=1", "%s status=%d num_fences=%u",
	     E(rc), i.status, i.num_fences);
	memset(fi, 0x5a, sizeof(fi));
	memset(&i, 0, sizeof(i));
	i.sync_fence_info = (uintptr_t)fi;
	rc = ioctl(S, SYNC_IOC_FILE_INFO, &i);
	fact("SYNCF-INFO[num_fences 0 leaves array untouched]", "OK untouched", "%s %s", E(rc),
	     ((unsigned char *)fi)[0] == 0x5a && fi[0].status == 0x5a5a5a5a ? "untouched" : "written");
	/* a two-fence sync_file (merge of two pending vgem fences) */
	rc = merge(P, P2, "two", 4, 0, 0, &A);
	fact("SYNCF-MERGE[two pending]", "OK status=0 num_fences=2 name=two f0=vgem/unbound st=0 ts=0 f1=vgem/unbound st=0 ts=0",
	     "%s %s", E(rc), rc ? "" : sfdesc(A));
	{
		/* importing a merged (array) sync_file adds each component fence */
		int hb = heap_alloc(O_RDWR | O_CLOEXEC);

		er = E(isf(hb, DMA_BUF_SYNC_WRITE, A));
		fact("ISF-UNWRAP[import 2-fence sync_file as WRITE]",
		     "OK [write:vgem unbound seq 1 unsignalled; write:vgem unbound seq 1 unsignalled]", "%s %s", er,
		     bufinfo(hb, 0, 'f'));
		close(hb);
	}
	memset(&i, 0, sizeof(i));
	i.num_fences = 1;
	i.sync_fence_info = (uintptr_t)fi;
	fact("SYNCF-INFO[num_fences 1 < actual 2]", "EINVAL", "%s", E(ioctl(A, SYNC_IOC_FILE_INFO, &i)));
	memset(fi, 0x5a, sizeof(fi));
	memset(&i, 0, sizeof(i));
	i.num_fences = 4;
	i.sync_fence_info = (uintptr_t)fi;
	rc = ioctl(A, SYNC_IOC_FILE_INFO, &i);
	fact("SYNCF-INFO[num_fences 4 > actual 2]", "OK num_fences=2 entry2=untouched", "%s num_fences=%u entry2=%s", E(rc),
	     i.num_fences, fi[2].status == 0x5a5a5a5a ? "untouched" : "written");
	memset(&i, 0, sizeof(i));
	i.num_fences = 1;
	i.sync_fence_info = 1;
	fact("SYNCF-INFO[num_fences 1, bogus pointer]", "EFAULT", "%s", E(ioctl(P, SYNC_IOC_FILE_INFO, &i)));

	/* merge */
	rc = merge(P, S, "merged", 7, 0, 0, &m);
	fact("SYNCF-MERGE[pending + signalled]", "OK status=0 num_fences=1 name=merged f0=vgem/unbound st=0 ts=0", "%s %s",
	     E(rc), rc ? "" : sfdesc(m));
	fact("SYNCF-MERGE[result fd]", "FD_CLOEXEC=1 O_RDONLY", "FD_CLOEXEC=%d %s", cloexec(m), accmode(m));
	fact("SYNCF-MERGE[inputs stay valid]", "status 0 and 1", "status %d and %d", sf_status(P), sf_status(S));
	close(m);
	rc = merge(S, S, "ss", 3, 0, 0, &m);
	fact("SYNCF-MERGE[signalled + itself]", "OK status=1 num_fences=1 name=ss f0=stub/stub st=1 ts>0", "%s %s", E(rc),
	     rc ? "" : sfdesc(m));
	close(m);
	rc = merge(P, P, "pp", 3, 0, 0, &m);
	fact("SYNCF-MERGE[pending + itself]", "OK status=0 num_fences=1 name=pp f0=vgem/unbound st=0 ts=0", "%s %s", E(rc),
	     rc ? "" : sfdesc(m));
	close(m);
	rc = merge(P, S, "", 1, 0, 0, &m);
	fact("SYNCF-MERGE[empty name]", "OK name=vgem-unbound<ctx>-1", "%s %s", E(rc),
	     rc ? "" : ((p = strstr(sfdesc(m), "name=")) ? (*strchr(p, ' ') = '\0', p) : "?"));
	close(m);
	rc = merge(P, P2, "", 1, 0, 0, &m);
	fact("SYNCF-MERGE[empty name, two fences]", "OK name=dma_fence_array-unbound<ctx>-1", "%s %s", E(rc),
	     rc ? "" : ((p = strstr(sfdesc(m), "name=")) ? (*strchr(p, ' ') = '\0', p) : "?"));
	close(m);
	memset(name32, 'x', sizeof(name32));
	rc = merge(P, S, name32, sizeof(name32), 0, 0, &m);
	er = E(rc);
	{
		struct sync_file_info q = { 0 };

		ioctl(m, SYNC_IOC_FILE_INFO, &q);
		fact("SYNCF-MERGE[32-char unterminated name]", "OK name length 31", "%s name length %zu", er,
		     strnlen(q.name, sizeof(q.name)));
	}
	close(m);
	closed = CLOSED_FD;
	fact("SYNCF-MERGE[flags 1]", "EINVAL", "%s", E(merge(P, S, "x", 2, 1, 0, &m)));
	fact("SYNCF-MERGE[pad 1]", "EINVAL", "%s", E(merge(P, S, "x", 2, 0, 1, &m)));
	rc = merge(P, d1, "x", 2, 0, 0, &m);
	fact("SYNCF-MERGE[fd2 dma-buf]", "ENOENT", "%s", E(rc));
	fact("SYNCF-MERGE[fence field untouched on error]", "4242", "%d", m);
	fact("SYNCF-MERGE[fd2 -1]", "ENOENT", "%s", E(merge(P, -1, "x", 2, 0, 0, &m)));
	fact("SYNCF-MERGE[fd2 closed]", "ENOENT", "%s", E(merge(P, closed, "x", 2, 0, 0, &m)));
	fact("SYNCF-MERGE[on a dma-buf fd]", "ENOTTY", "%s", E(merge(d1, P, "x", 2, 0, 0, &m)));

	/* poll and misc */
	fact("SYNCF-POLL[pending]", "none", "%s", pollstr(P, POLLIN | POLLOUT));
	fact("SYNCF-POLL[signalled, IN|OUT requested]", "IN", "%s", pollstr(S, POLLIN | POLLOUT));
	fact("SYNCF-POLL[signalled, OUT only requested]", "none", "%s", pollstr(S, POLLOUT));
	fact("SYNCF-POLL[array pending]", "none", "%s", pollstr(A, POLLIN));
	vgem_signal(drm_fd, f1, 0);
	fact("SYNCF-POLL[after signal]", "IN", "%s", pollstr(P, POLLIN));
	fact("SYNCF-POLL[array, one of two signalled]", "none", "%s", pollstr(A, POLLIN));
	fact("SYNCF-INFO[array, one of two signalled]", "status=0 num_fences=2 name=two f0=vgem/unbound st=1 ts>0 f1=vgem/unbound st=0 ts=0",
	     "%s", sfdesc(A));
	vgem_signal(drm_fd, f2, 0);
	fact("SYNCF-POLL[array, both signalled]", "IN", "%s", pollstr(A, POLLIN));
	fact("SYNCF-MISC[unknown ioctl]", "ENOTTY", "%s", E(ioctl(S, _IO(SYNC_IOC_MAGIC, 0x7f))));
	{
		char c;

		fact("SYNCF-MISC[read]", "EINVAL", "%s", E(read(S, &c, 1)));
		fact("SYNCF-MISC[write]", "EBADF", "%s", E(write(S, "x", 1)));
		fact("SYNCF-MISC[lseek]", "ESPIPE", "%s", E(lseek(S, 0, SEEK_SET)));
	}
	dl.pad = 1;
	fact("SYNCF-DEADLINE[pad 1]", "EINVAL", "%s", E(ioctl(S, SYNC_IOC_SET_DEADLINE, &dl)));
	dl.pad = 0;
	dl.deadline_ns = 1;
	fact("SYNCF-DEADLINE[pad 0]", "OK", "%s", E(ioctl(S, SYNC_IOC_SET_DEADLINE, &dl)));
	close(A);
	close(P);
	close(P2);
	close(S);
	close(idle);
	close(d1);
	close(d2);
	gem_close(drm_fd, h1);
	gem_close(drm_fd, h2);
}

/* ================================================================ 3b. vgem timeout and close */

/* One blocking waiter per thread: 's' poll(POLLIN) on a sync_file, 'p' poll(POLLIN) on a dma-buf,
 * 'y' DMA_BUF_IOCTL_SYNC START|READ on a dma-buf (no timeout of its own: vgem's 10 s timer and the
 * watchdog bound it). */
struct waiter {
	char kind;
	int fd, rc;
	double t0, dt;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	if (w->kind == 'y') {
		struct dma_buf_sync sy = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };

		w->rc = ioctl(w->fd, DMA_BUF_IOCTL_SYNC, &sy);
	} else {
		struct pollfd p = { .fd = w->fd, .events = POLLIN };

		w->rc = poll(&p, 1, 15000);
	}
	w->dt = now_ms() - w->t0;
	return NULL;
}

static void vgem_timeout_facts(void)
{
	uint32_t h = vgem_bo(drm_fd), h2 = vgem_bo(drm_fd), h3 = vgem_bo(drm_fd), fT, f2, f3, hx, fC = 0;
	int d = prime_export(drm_fd, h, DRM_CLOEXEC), d2 = prime_export(drm_fd, h2, DRM_CLOEXEC);
	int d3 = prime_export(drm_fd, h3, DRM_CLOEXEC), sT, sC, drm2, k;
	struct waiter w[3] = { { .kind = 's' }, { .kind = 'p', .fd = d2 }, { .kind = 'y', .fd = d3 } };
	pthread_t th[3];
	const char *er;
	struct pollfd p;
	double t0;
	int r;

	/* three WRITE fences nobody signals; three kinds of blocking waiters, one per thread */
	w[0].t0 = now_ms();
	vgem_attach(drm_fd, h, VGEM_FENCE_WRITE, 0, &fT);
	w[1].t0 = now_ms();
	vgem_attach(drm_fd, h2, VGEM_FENCE_WRITE, 0, &f2);
	w[2].t0 = now_ms();
	vgem_attach(drm_fd, h3, VGEM_FENCE_WRITE, 0, &f3);
	sT = esf(d, DMA_BUF_SYNC_READ);
	w[0].fd = sT;
	for (k = 0; k < 3; k++)
		pthread_create(&th[k], NULL, wait_thread, &w[k]);
	for (k = 0; k < 3; k++)
		pthread_join(th[k], NULL);
	info("vgem fences self-signalled: sync_file poll rc %d after %.0f ms, dma-buf poll rc %d after %.0f ms, "
	     "SYNC START|READ rc %d after %.0f ms", w[0].rc, w[0].dt, w[1].rc, w[1].dt, w[2].rc, w[2].dt);
	fact("VGEM-TIMEOUT[self-signal, seconds rounded: sync_file poll, dma-buf poll, SYNC START]",
	     "poll=1 after 10 s, poll=1 after 10 s, SYNC=0 after 10 s",
	     "poll=%d after %.0f s, poll=%d after %.0f s, SYNC=%d after %.0f s", w[0].rc, w[0].dt / 1000, w[1].rc,
	     w[1].dt / 1000, w[2].rc, w[2].dt / 1000);
	fact("VGEM-TIMEOUT[sync_file after]", "status=1 num_fences=1 name=vgem-unbound<ctx>-1 f0=vgem/unbound st=1 ts>0",
	     "%s", sfdesc(sT));
	fact("VGEM-TIMEOUT[dma-buf poll after]", "IN|OUT", "%s", pollstr(d, POLLIN | POLLOUT));
	fact("VGEM-TIMEOUT[signal expired fence]", "ETIMEDOUT", "%s", E(vgem_signal(drm_fd, fT, 0)));
	fact("VGEM-TIMEOUT[signal it again]", "ENOENT", "%s", E(vgem_signal(drm_fd, fT, 0)));
	close(sT);

	/* closing the DRM file signals its pending fences */
	drm2 = open(CARD, O_RDWR | O_CLOEXEC);
	if (drm2 < 0)
		die(CARD);
	prime_import(drm2, d, &hx);
	er = E(vgem_attach(drm2, hx, VGEM_FENCE_WRITE, 0, &fC));
	fact("VGEM-CLOSE[attach via 2nd file: first id]", "OK 1", "%s %u", er, fC);
	sC = esf(d, DMA_BUF_SYNC_READ);
	fact("VGEM-CLOSE[before close]", "pending", "%s", sf_status(sC) == 0 ? "pending" : "signalled");
	/* fence ids are per DRM file: id 1 of the 1st file (consumed long ago) is not the 2nd file's id 1 */
	er = E(vgem_signal(drm_fd, fC, 0));
	fact("VGEM-IDS-PER-FILE[1st file signals the 2nd file's id number]", "ENOENT pending", "%s %s", er,
	     state(d, DMA_BUF_SYNC_READ));
	{
		uint32_t hq = vgem_bo(drm_fd), own = 0;
		int dq = prime_export(drm_fd, hq, DRM_CLOEXEC);

		vgem_attach(drm_fd, hq, VGEM_FENCE_WRITE, 0, &own);
		er = E(vgem_signal(drm2, own, 0));
		fact("VGEM-IDS-PER-FILE[2nd file signals the 1st file's id]", "ENOENT pending", "%s %s", er,
		     state(dq, DMA_BUF_SYNC_READ));
		vgem_signal(drm_fd, own, 0);
		close(dq);
		gem_close(drm_fd, hq);
	}
	close(drm2);
	p.fd = sC;
	p.events = POLLIN;
	p.revents = 0;
	t0 = now_ms();
	r = poll(&p, 1, 2000);
	fact("VGEM-CLOSE[after close of DRM file]", "signalled at once", "%s",
	     r == 1 && now_ms() - t0 < 300 ? "signalled at once" : r == 1 ? "signalled late" : "not signalled");
	close(sC);
	er = E(vgem_signal(drm_fd, f2, 0));
	fact("VGEM-TIMEOUT[signal the other two expired fences]", "ETIMEDOUT ETIMEDOUT", "%s %s", er,
	     E(vgem_signal(drm_fd, f3, 0)));
	close(d);
	close(d2);
	close(d3);
	gem_close(drm_fd, h);
	gem_close(drm_fd, h2);
	gem_close(drm_fd, h3);
}

/* ================================================================ 6b. V4L2 ignores implicit fences */

/* vivid captures into its buffer 0 while a vgem WRITE fence on that buffer (imported into vgem) is
 * still pending: vb2 neither waits for nor adds fences. */
static void v4l2_fence_facts(void)
{
	int vb = vivid_expbuf(), ex, rc;
	uint32_t hi = 0, fid = 0;
	struct v4l2_plane pl[VIDEO_MAX_PLANES];
	struct v4l2_buffer b;
	struct pollfd p;
	const char *er;

	if (vb < 0) {
		fact("V4L2-IGNORES-FENCES", "present", "vivid unavailable");
		return;
	}
	prime_import(drm_fd, vb, &hi);
	er = E(vgem_attach(drm_fd, hi, VGEM_FENCE_WRITE, 0, &fid));
	fact("V4L2-IGNORES-FENCES[vgem WRITE fence on vivid buffer 0]", "OK pending", "%s %s", er,
	     state(vb, DMA_BUF_SYNC_READ));
	memset(&b, 0, sizeof(b));
	memset(pl, 0, sizeof(pl));
	b.type = vivid_type;
	b.memory = V4L2_MEMORY_MMAP;
	b.index = 0;
	if (vivid_type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE) {
		b.m.planes = pl;
		b.length = VIDEO_MAX_PLANES;
	}
	ex = ioctl(vivid_fd, VIDIOC_QBUF, &b);
	er = E(ex);
	rc = ioctl(vivid_fd, VIDIOC_STREAMON, &vivid_type);
	fact("V4L2-IGNORES-FENCES[QBUF, STREAMON]", "OK OK", "%s %s", er, E(rc));
	p.fd = vivid_fd;
	p.events = POLLIN;
	p.revents = 0;
	rc = poll(&p, 1, 5000);
	memset(&b, 0, sizeof(b));
	memset(pl, 0, sizeof(pl));
	b.type = vivid_type;
	b.memory = V4L2_MEMORY_MMAP;
	if (vivid_type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE) {
		b.m.planes = pl;
		b.length = VIDEO_MAX_PLANES;
	}
	ex = rc == 1 ? ioctl(vivid_fd, VIDIOC_DQBUF, &b) : -1;
	er = rc == 1 ? E(ex) : "poll timed out";
	fact("V4L2-IGNORES-FENCES[frame captured while the fence is pending]", "OK index 0 fence pending", "%s index %u fence %s",
	     er, b.index, state(vb, DMA_BUF_SYNC_READ));
	ioctl(vivid_fd, VIDIOC_STREAMOFF, &vivid_type);
	vgem_signal(drm_fd, fid, 0);
	gem_close(drm_fd, hi);
	close(vb);
}

/* ================================================================ 6. DRM PRIME */

static void prime_facts(void)
{
	static const struct { uint32_t flags; const char *name, *expect; } fl[] = {
		{ 0, "0", "OK" },
		{ DRM_CLOEXEC, "DRM_CLOEXEC", "OK" },
		{ DRM_RDWR, "DRM_RDWR", "OK" },
		{ DRM_CLOEXEC | DRM_RDWR, "DRM_CLOEXEC|DRM_RDWR", "OK" },
		{ O_WRONLY, "O_WRONLY", "EINVAL" },
		{ O_NONBLOCK, "O_NONBLOCK", "EINVAL" },
		{ DRM_CLOEXEC | DRM_RDWR | O_NONBLOCK, "DRM_CLOEXEC|DRM_RDWR|O_NONBLOCK", "EINVAL" },
		{ 0xffffffffu, "0xffffffff", "EINVAL" },
	};
	struct drm_get_cap cap = { .capability = DRM_CAP_PRIME };
	uint32_t h = vgem_bo(drm_fd), hX = vgem_bo(drm_fd), hY = vgem_bo(drm_fd), t1 = 0, t2 = 0, h2 = 0, hH, hZ, hh = 0;
	int i, fd, fx1, fx2, fx3, fy1, fy2, drm2, closed, mfd, sf, hb, ub, vb, dZ, rc;
	void *m1, *m2;
	uint64_t off;
	unsigned long ino;
	const char *er, *er2;

	er = E(ioctl(drm_fd, DRM_IOCTL_GET_CAP, &cap));
	fact("PRIME-CAP", "OK 3", "%s %llu", er, (unsigned long long)cap.value);
	for (i = 0; i < (int)(sizeof(fl) / sizeof(fl[0])); i++) {
		char id[80];

		fd = prime_export(drm_fd, h, fl[i].flags);
		snprintf(id, sizeof(id), "PRIME-H2F-FLAGS[%s]", fl[i].name);
		fact(id, fl[i].expect, "%s", E(fd));
		if (fd >= 0) {
			snprintf(id, sizeof(id), "PRIME-H2F-FDFLAG[%s]", fl[i].name);
			fact(id, fl[i].flags & DRM_CLOEXEC ? "FD_CLOEXEC=1" : "FD_CLOEXEC=0", "FD_CLOEXEC=%d", cloexec(fd));
			close(fd);
		}
	}
	fact("PRIME-H2F[bad handle]", "ENOENT", "%s", E(prime_export(drm_fd, 0xdead, 0)));
	fact("PRIME-H2F[bad handle + bad flags]", "EINVAL", "%s", E(prime_export(drm_fd, 0xdead, O_WRONLY)));

	/* same object exported twice: one dma-buf, one open file; the mode of the first export wins */
	fx1 = prime_export(drm_fd, hX, 0);
	fx2 = prime_export(drm_fd, hX, DRM_RDWR);
	fact("PRIME-H2F-TWICE[ino]", "same", "%s", ino_of(fx1) == ino_of(fx2) ? "same" : "different");
	fact("PRIME-H2F-TWICE[first 0, then DRM_RDWR: F_GETFL]", "O_RDONLY O_RDONLY", "%s %s", accmode(fx1), accmode(fx2));
	m1 = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fx2, 0);
	fact("PRIME-H2F-TWICE[writable mmap of 2nd fd]", "EACCES", "%s", m1 == MAP_FAILED ? E(-1) : "OK");
	if (m1 != MAP_FAILED)
		munmap(m1, SZ);
	ino = ino_of(fx1);
	close(fx1);
	close(fx2);
	fx3 = prime_export(drm_fd, hX, DRM_RDWR);
	fact("PRIME-H2F-AFTER-CLOSE[all fds closed, handle open: re-export DRM_RDWR]", "same ino O_RDONLY", "%s %s",
	     ino_of(fx3) == ino ? "same ino" : "new ino", accmode(fx3));
	close(fx3);
	gem_close(drm_fd, hX);
	fact("PRIME-H2F-AFTER-CLOSE[dma-buf after last handle and fd closed]", "absent", "%s", bufinfo(-1, ino, 'e'));
	fy1 = prime_export(drm_fd, hY, DRM_RDWR | DRM_CLOEXEC);
	fy2 = prime_export(drm_fd, hY, 0);
	fact("PRIME-H2F-TWICE[first DRM_RDWR, then 0: F_GETFL]", "O_RDWR O_RDWR", "%s %s", accmode(fy1), accmode(fy2));
	fact("PRIME-H2F-TWICE[FD_CLOEXEC is per fd]", "1 0", "%d %d", cloexec(fy1), cloexec(fy2));
	fcntl(fy1, F_SETFL, fcntl(fy1, F_GETFL) | O_NONBLOCK);
	fact("PRIME-H2F-TWICE[O_NONBLOCK set on 1st seen on 2nd (one open file)]", "yes", "%s",
	     (fcntl(fy2, F_GETFL) & O_NONBLOCK) ? "yes" : "no");

	/* fd -> handle */
	er = E(prime_import(drm_fd, fy1, &t1));
	fact("PRIME-F2H[self-import]", "OK same handle", "%s %s", er, t1 == hY ? "same handle" : "other handle");
	er = E(prime_import(drm_fd, fy2, &t2));
	fact("PRIME-F2H[self-import of 2nd fd]", "OK same handle", "%s %s", er, t2 == hY ? "same handle" : "other handle");
	drm2 = open(CARD, O_RDWR | O_CLOEXEC);
	if (drm2 < 0)
		die(CARD);
	rc = prime_import(drm2, fy1, &h2);
	fact("PRIME-F2H[2nd DRM file, fresh: handle]", "OK 1", "%s %u", E(rc), h2);
	info("handle of the same object in the 1st file: %u; handle 1 in the 1st file is another object", hY);
	prime_import(drm2, fy2, &t1);
	fact("PRIME-F2H[2nd DRM file, import again]", "same handle", "%s", t1 == h2 ? "same handle" : "other handle");
	fd = prime_export(drm2, h2, 0);
	fact("PRIME-F2H[2nd file re-export: same dma-buf]", "same ino", "%s", ino_of(fd) == ino_of(fy1) ? "same ino" : "new ino");
	close(fd);
	fact("PRIME-F2H[2nd file GEM_CLOSE]", "OK", "%s", E(gem_close(drm2, h2)));
	fact("PRIME-F2H[1st file handle still works after 2nd file's close]", "OK", "%s", E(map_dumb(drm_fd, hY, &off)));
	closed = CLOSED_FD;
	mfd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	sf = esf(fy1, DMA_BUF_SYNC_READ);
	{
		struct drm_prime_handle ph = { .fd = fy1, .flags = 0xffffffffu };

		er = E(ioctl(drm_fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &ph));
		fact("PRIME-F2H[flags 0xffffffff ignored]", "OK same handle", "%s %s", er,
		     ph.handle == hY ? "same handle" : "other handle");
	}
	fact("PRIME-F2H[fd -1]", "EBADF", "%s", E(prime_import(drm_fd, -1, &t1)));
	fact("PRIME-F2H[closed fd]", "EBADF", "%s", E(prime_import(drm_fd, closed, &t1)));
	fact("PRIME-F2H[memfd]", "EINVAL", "%s", E(prime_import(drm_fd, mfd, &t1)));
	fact("PRIME-F2H[sync_file]", "EINVAL", "%s", E(prime_import(drm_fd, sf, &t1)));
	close(sf);
	close(mfd);

	/* native handle closed while the dma-buf fd lives */
	{
		char *w = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, fy1, 0);
		uint64_t o2 = 0;

		if (w == MAP_FAILED)
			die("mmap vgem dma-buf");
		memcpy(w, "survivor", 9);
		munmap(w, SZ);
		ino = ino_of(fy1);
		fact("PRIME-LIFE[GEM_CLOSE native handle, dma-buf fd open]", "OK", "%s", E(gem_close(drm_fd, hY)));
		fact("PRIME-LIFE[dma-buf still listed]", "drm", "%s", bufinfo(fy1, 0, 'e'));
		w = mmap(NULL, SZ, PROT_READ, MAP_SHARED, fy1, 0);
		fact("PRIME-LIFE[contents via dma-buf mmap]", "survivor", "%s", w == MAP_FAILED ? E(-1) : w);
		if (w != MAP_FAILED)
			munmap(w, SZ);
		er = E(prime_import(drm_fd, fy1, &t1));
		er2 = E(map_dumb(drm_fd, t1, &o2));
		w = mmap(NULL, SZ, PROT_READ, MAP_SHARED, drm_fd, o2);
		fact("PRIME-LIFE[re-import gives a handle to the same object, mappable]", "OK OK survivor", "%s %s %s", er,
		     er2, w == MAP_FAILED ? E(-1) : w);
		if (w != MAP_FAILED)
			munmap(w, SZ);
		gem_close(drm_fd, t1);
	}
	close(fy1);
	close(fy2);
	fact("PRIME-LIFE[after last fd and handle closed]", "absent", "%s", bufinfo(-1, ino, 'e'));

	/* self-import: vgem mmap and dma-buf mmap see the same bytes, both directions */
	hZ = vgem_bo(drm_fd);
	dZ = prime_export(drm_fd, hZ, DRM_RDWR | DRM_CLOEXEC);
	m1 = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, dZ, 0);
	rc = map_dumb(drm2, (prime_import(drm2, dZ, &hh), hh), &off);
	m2 = rc ? MAP_FAILED : mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, drm2, off);
	if (m1 == MAP_FAILED || m2 == MAP_FAILED) {
		fact("PRIME-SELF-MMAP", "OK", "mmap failed: %s", E(-1));
	} else {
		memcpy(m1, "via-dmabuf", 11);
		fact("PRIME-SELF-MMAP[dma-buf write -> card0 mmap of self-import in 2nd file]", "via-dmabuf", "%s", (char *)m2);
		memcpy(m2, "via-card0", 10);
		fact("PRIME-SELF-MMAP[card0 write -> dma-buf mmap]", "via-card0", "%s", (char *)m1);
		munmap(m1, SZ);
		munmap(m2, SZ);
	}
	close(dZ);
	gem_close(drm_fd, hZ);

	/* foreign dma-bufs imported into vgem */
	hb = heap_alloc(O_RDWR | O_CLOEXEC);
	ub = udmabuf_alloc();
	vb = vivid_expbuf();
	{
		struct { const char *name; int fd; } f[3] = { { "heap", hb }, { "udmabuf", ub }, { "vivid-expbuf", vb } };

		for (i = 0; i < 3; i++) {
			char id[96], *w;
			uint32_t hi = 0, hi2 = 0, fid = 0;
			int ex;

			if (f[i].fd < 0) {
				snprintf(id, sizeof(id), "PRIME-FOREIGN[%s]", f[i].name);
				fact(id, "present", "buffer type unavailable");
				continue;
			}
			w = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, f[i].fd, 0);
			if (w != MAP_FAILED) {
				memcpy(w, "foreign", 8);
				munmap(w, SZ);
			}
			rc = prime_import(drm_fd, f[i].fd, &hi);
			er = E(rc);
			snprintf(id, sizeof(id), "PRIME-FOREIGN[%s import]", f[i].name);
			fact(id, "OK attached=1 (vgem)", "%s %s", er, bufinfo(f[i].fd, 0, 'a'));
			if (rc)
				continue;
			prime_import(drm_fd, f[i].fd, &hi2);
			snprintf(id, sizeof(id), "PRIME-FOREIGN[%s import twice]", f[i].name);
			fact(id, "same handle", "%s", hi2 == hi ? "same handle" : "other handle");
			snprintf(id, sizeof(id), "PRIME-FOREIGN[%s MAP_DUMB on imported handle]", f[i].name);
			fact(id, "EINVAL", "%s", E(map_dumb(drm_fd, hi, &off)));
			ex = prime_export(drm_fd, hi, DRM_CLOEXEC);
			er = E(ex);
			snprintf(id, sizeof(id), "PRIME-FOREIGN[%s re-export returns the original dma-buf]", f[i].name);
			fact(id, "OK same ino", "%s %s", er, ino_of(ex) == ino_of(f[i].fd) ? "same ino" : "new ino");
			if (ex >= 0)
				close(ex);
			/* vgem fences on an imported object land in the exporter's reservation object */
			snprintf(id, sizeof(id), "PRIME-FOREIGN[%s vgem WRITE fence seen on original fd]", f[i].name);
			er = E(vgem_attach(drm_fd, hi, VGEM_FENCE_WRITE, 0, &fid));
			fact(id, "OK pending none", "%s %s %s", er, state(f[i].fd, DMA_BUF_SYNC_READ),
			     pollstr(f[i].fd, POLLIN | POLLOUT));
			vgem_signal(drm_fd, fid, 0);
			snprintf(id, sizeof(id), "PRIME-FOREIGN[%s GEM_CLOSE imported handle]", f[i].name);
			er = E(gem_close(drm_fd, hi));
			fact(id, "OK attached=0", "%s %s", er, bufinfo(f[i].fd, 0, 'a'));
			snprintf(id, sizeof(id), "PRIME-FOREIGN[%s GEM_CLOSE again]", f[i].name);
			fact(id, "EINVAL", "%s", E(gem_close(drm_fd, hi)));
			w = mmap(NULL, SZ, PROT_READ, MAP_SHARED, f[i].fd, 0);
			snprintf(id, sizeof(id), "PRIME-FOREIGN[%s buffer after GEM_CLOSE]", f[i].name);
			fact(id, "foreign", "%s", w == MAP_FAILED ? E(-1) : w);
			if (w != MAP_FAILED)
				munmap(w, SZ);
			rc = prime_import(drm_fd, f[i].fd, &hH);
			snprintf(id, sizeof(id), "PRIME-FOREIGN[%s re-import after GEM_CLOSE]", f[i].name);
			fact(id, "OK", "%s", E(rc));
			if (!rc)
				gem_close(drm_fd, hH);
		}
	}
	close(hb);
	close(ub);
	if (vb >= 0)
		close(vb);
	close(drm2);
	gem_close(drm_fd, h);
}

int main(void)
{
	uint32_t h;
	int d;

	setvbuf(stdout, NULL, _IOLBF, 0);
	start_watchdog();
	close(CLOSED_FD);
	drm_fd = open(CARD, O_RDWR | O_CLOEXEC);
	if (drm_fd < 0)
		die(CARD);
	h = vgem_bo(drm_fd);
	d = prime_export(drm_fd, h, DRM_CLOEXEC | DRM_RDWR);
	if (d < 0)
		die("PRIME_HANDLE_TO_FD");

	export_facts(d);
	import_facts();
	vgem_facts();
	import_pending_facts();
	sync_file_facts();
	prime_facts();
	v4l2_fence_facts();
	vgem_timeout_facts();

	close(d);
	gem_close(drm_fd, h);
	close(drm_fd);
	if (vivid_fd >= 0)
		close(vivid_fd);
	printf("SUMMARY facts=%d diff=%d\n", nfacts, ndiff);
	return ndiff ? 1 : 0;
}
