// SPDX-License-Identifier: GPL-2.0
/*
 * smoke - quick userspace check of a dma-heap style allocator device.
 *
 *   smoke [DEVICE [EXP_NAME]]
 *
 * DEVICE defaults to /dev/conformance_heap; EXP_NAME defaults to the last
 * path component of DEVICE (so /dev/dma_heap/system expects "system"),
 * which lets the same checks run against the kernel's own system heap.
 * Needs root for debugfs (mounted on demand at /sys/kernel/debug).
 * Prints one "ok"/"not ok" line per check and "N passed, N failed" last;
 * exits non-zero if any check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUFINFO "/sys/kernel/debug/dma_buf/bufinfo"

static int passed, failed;
static long pg;

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

/* Raw ioctl on an allocation struct; returns 0 or -errno. */
static int alloc_raw(int dev, unsigned long cmd, void *arg)
{
	return ioctl(dev, cmd, arg) < 0 ? -errno : 0;
}

static int alloc_buf(int dev, uint64_t len, uint32_t fd_flags, int *fd)
{
	struct dma_heap_allocation_data d = { .len = len, .fd_flags = fd_flags };
	int ret = alloc_raw(dev, DMA_HEAP_IOCTL_ALLOC, &d);

	*fd = ret ? -1 : (int)d.fd;
	return ret;
}

static int sync_buf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0 ? -errno : 0;
}

/* Value of "key:" in /proc/self/fdinfo/<fd>, or "" if absent. */
static void fdinfo_get(int fd, const char *key, char *out, size_t outlen)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			char *v = line + klen + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, outlen, "%s", v);
			break;
		}
	}
	fclose(f);
}

/* 1 if bufinfo lists a buffer with this inode and exporter, 0 if not, -1 if unreadable. */
static int bufinfo_lists(unsigned long ino, const char *exp_name)
{
	char line[512], name[128];
	unsigned long size, flags, mode, count, i;
	FILE *f = fopen(BUFINFO, "r");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lu %lx %lx %lu %127s %lu",
			   &size, &flags, &mode, &count, name, &i) == 6 &&
		    i == ino && !strcmp(name, exp_name))
			found = 1;
	}
	fclose(f);
	return found;
}

static size_t count_nonzero(const unsigned char *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += p[i] != 0;
	return c;
}

int main(int argc, char **argv)
{
	const char *devpath = argc > 1 ? argv[1] : "/dev/conformance_heap";
	const char *exp_name = argc > 2 ? argv[2] : strrchr(devpath, '/') + 1;
	struct dma_heap_allocation_data d;
	unsigned char *m0, *m1, *mbad;
	char val[128];
	struct stat st;
	int dev, fd, fd2, ret, listed;
	size_t len, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pg = sysconf(_SC_PAGESIZE);
	len = 2 * pg + 1;	/* rounds up to 3 pages */

	if (mount("none", "/sys/kernel/debug", "debugfs", 0, NULL) && errno != EBUSY)
		printf("# mount debugfs: %s\n", strerror(errno));

	dev = open(devpath, O_RDONLY | O_CLOEXEC);
	if (dev < 0) {
		check(0, "open %s: %s", devpath, strerror(errno));
		goto out;
	}
	printf("# device %s, expecting exp_name %s\n", devpath, exp_name);

	/* ---- ioctl argument validation, as the dma-heap core does it ---- */
	d = (struct dma_heap_allocation_data){ .len = pg, .fd = 1, .fd_flags = O_RDWR };
	check(alloc_raw(dev, DMA_HEAP_IOCTL_ALLOC, &d) == -EINVAL, "fd != 0 on input -> EINVAL");
	ret = alloc_buf(dev, pg, O_RDWR | O_NONBLOCK, &fd);
	check(ret == -EINVAL, "fd_flags O_NONBLOCK -> EINVAL (got %d)", ret);
	d = (struct dma_heap_allocation_data){ .len = pg, .fd_flags = O_RDWR, .heap_flags = 1 };
	ret = alloc_raw(dev, DMA_HEAP_IOCTL_ALLOC, &d);
	check(ret == -EINVAL, "heap_flags 1 -> EINVAL (got %d)", ret);
	ret = alloc_buf(dev, 0, O_RDWR, &fd);
	check(ret == -EINVAL, "len 0 -> EINVAL (got %d)", ret);
	ret = alloc_raw(dev, _IOWR('H', 1, struct dma_heap_allocation_data), &d);
	check(ret == -EINVAL, "unknown ioctl nr 1 -> EINVAL (core quirk, got %d)", ret);
	{
		/* An older caller's 16-byte struct: heap_flags reads as 0. */
		struct { uint64_t len; uint32_t fd, fd_flags; } s = { pg, 0, O_RDWR | O_CLOEXEC };

		ret = alloc_raw(dev, _IOC(_IOC_READ | _IOC_WRITE, 'H', 0, sizeof(s)), &s);
		check(ret == 0 && (int)s.fd > 2, "short 16-byte struct accepted (got %d, fd %d)",
		      ret, (int)s.fd);
		if (!ret)
			close(s.fd);
	}
	{
		/* A newer caller's longer struct: the tail is ignored. */
		struct { struct dma_heap_allocation_data d; uint64_t extra; } l = {
			{ .len = pg, .fd_flags = O_RDWR | O_CLOEXEC }, 0x1234 };

		ret = alloc_raw(dev, _IOC(_IOC_READ | _IOC_WRITE, 'H', 0, sizeof(l)), &l);
		check(ret == 0 && (int)l.d.fd > 2 && l.extra == 0x1234,
		      "long 32-byte struct accepted, tail untouched (got %d)", ret);
		if (!ret)
			close(l.d.fd);
	}

	/* ---- descriptor flags ---- */
	ret = alloc_buf(dev, pg, O_RDWR, &fd2);
	check(ret == 0 && !(fcntl(fd2, F_GETFD) & FD_CLOEXEC),
	      "without O_CLOEXEC: FD_CLOEXEC clear");
	if (!ret)
		close(fd2);

	ret = alloc_buf(dev, len, O_RDWR | O_CLOEXEC, &fd);
	check(ret == 0, "alloc %zu bytes O_RDWR|O_CLOEXEC (got %d)", len, ret);
	if (ret)
		goto out;
	check(fcntl(fd, F_GETFD) & FD_CLOEXEC, "with O_CLOEXEC: FD_CLOEXEC set");
	check((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "file is O_RDWR");

	/* ---- fdinfo ---- */
	fdinfo_get(fd, "count", val, sizeof(val));
	check(!strcmp(val, "1"), "fdinfo count: %s (no hidden file references)", val);
	fdinfo_get(fd, "exp_name", val, sizeof(val));
	check(!strcmp(val, exp_name), "fdinfo exp_name: %s", val);
	fdinfo_get(fd, "size", val, sizeof(val));
	check(strtoul(val, NULL, 10) == (unsigned long)(3 * pg),
	      "fdinfo size: %s (len rounded up to 3 pages)", val);
	fstat(fd, &st);
	listed = bufinfo_lists(st.st_ino, exp_name);
	check(listed == 1, "bufinfo lists ino %lu while open (%d)",
	      (unsigned long)st.st_ino, listed);

	/* ---- mmap, contents, offsets ---- */
	m0 = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m1 = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, pg);
	check(m0 != MAP_FAILED, "mmap 3 pages at offset 0");
	check(m1 != MAP_FAILED, "mmap 1 page at offset 1 page");
	if (m0 == MAP_FAILED || m1 == MAP_FAILED)
		goto out;
	mbad = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 3 * pg);
	check(mbad == MAP_FAILED && errno == EINVAL, "mmap past the end -> EINVAL");
	mbad = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, 2 * pg);
	check(mbad == MAP_FAILED && errno == EINVAL, "mmap straddling the end -> EINVAL");

	ret = sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	check(ret == 0, "DMA_BUF_IOCTL_SYNC start rw (%d)", ret);
	n = count_nonzero(m0, 3 * pg);
	check(n == 0, "new buffer reads as zero (%zu non-zero bytes, first 0x%02x)", n, m0[0]);

	memset(m0, 0x11, pg);
	memset(m0 + pg, 0x22, pg);
	memset(m0 + 2 * pg, 0x33, pg);
	check(m1[0] == 0x22 && m1[pg - 1] == 0x22,
	      "write via offset-0 map page 1 shows at offset-1 map (saw 0x%02x)", m1[0]);
	m1[7] = 0x77;
	check(m0[pg + 7] == 0x77 && m0[7] == 0x11,
	      "write via offset-1 map lands in page 1, not page 0 (p1 0x%02x p0 0x%02x)",
	      m0[pg + 7], m0[7]);
	ret = sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	check(ret == 0, "DMA_BUF_IOCTL_SYNC end rw (%d)", ret);
	ret = sync_buf(fd, 0x80);
	check(ret == -EINVAL, "DMA_BUF_IOCTL_SYNC bad flags -> EINVAL (%d)", ret);

	/* ---- release ---- */
	munmap(m0, 3 * pg);
	munmap(m1, pg);
	close(fd);
	listed = bufinfo_lists(st.st_ino, exp_name);
	check(listed == 0, "bufinfo no longer lists ino %lu after close+munmap (%d)",
	      (unsigned long)st.st_ino, listed);

out:
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
