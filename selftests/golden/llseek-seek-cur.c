/*
 * Standalone reproducer written by the buffer-sharing conformance suite.
 *
 * Invariant: DMABUF-LLSEEK-3 - Any other lseek on a dma-buf fd (SEEK_CUR, SEEK_DATA, SEEK_HOLE, or a
 *            non-zero offset with SEEK_SET or SEEK_END) fails.
 * Source:    Documentation/driver-api/dma-buf.rst, Userspace Interface Notes: "llseek operation will
 *            report -EINVAL."
 * Found:     property lockstep on the suite's broken:llseek-seek-cur target (profile vivid-like), seed
 *            15111065706836454660; step 3 of 3: expected -1 EINVAL, got 0; failed again 10 of 10 times
 *            from a fresh state
 * Note:      broken:llseek-seek-cur is a deliberately broken model: on a kernel that follows the
 *            documentation this program passes.
 * Replay:    ./run-suite.sh --replay
 *            OUT/counterexamples/broken_llseek-seek-cur/lockstep-DMABUF-LLSEEK-3.replay.json
 * Found by:  ./run-suite.sh --target broken:llseek-seek-cur --profile vivid-like --seed
 *            15111065706836454660 --sequences 50 --property lockstep --max-length 60 --out
 *            OUT/replays/lockstep-DMABUF-LLSEEK-3
 *
 * Build:     gcc -Wall -I UAPI -o repro repro.c
 *            UAPI: Linux 6.10+ uapi headers with drm/ (./run-suite.sh --emit-headers UAPI writes the lab's 6.12
 *            ones, or `make headers_install` of a kernel tree); Debian's linux-libc-dev lacks drm/ and 6.10's V4L2
 * Run:       ./repro [NAME=PATH ...] (defaults: heap:system=/dev/dma_heap/system)
 * Output:    KTAP, one result line per step (3); REPRO_TRACE=1 adds each step's raw outcome. Every
 *            step is checked against all outcomes the documentation allows there. Exit 0: every step
 *            as documented; 1: a step that is not (the counterexample reproduced); 4: inconclusive (in
 *            every attempt the device took another documented outcome at a step the rest of the
 *            sequence depends on, or it departed from the documentation at another step than the
 *            recorded one); 2: a set-up error (a device that cannot be opened, bad arguments). Fields
 *            a driver may choose (capability bits, counts within their documented bounds) are not
 *            compared unless the rule is about them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/types.h>
#include <linux/dma-heap.h>

#define NSTEPS 3
#define NSLOTS 3
/* the step the recorded run departed from the documentation at (0: none); a departure at another step is inconclusive */
#define FAILING_STEP 3
#define OUTPUT_PAYLOAD 460800u

/* symbolic device names the steps open, and their paths (NAME=PATH on the command line overrides one) */
static const char *dev_name[] = { "heap:system" };
static const char *dev_path[] = { "/dev/dma_heap/system" };
#define NDEVS 1
/* what each step's result is: 1 an fd, 2 a mapping, 3 a GEM handle, 4 a vgem fence id (for the clean-up) */
static const int slot_kind[NSLOTS] = { 0, 1, 1 };

#define NOT_RUN      (-1)   /* the suite's harness does not issue this step */
#define WOULD_BLOCK  (-2)   /* a DMA_BUF_IOCTL_SYNC START that would sleep on a fence: not issued */
#define MAX_ATTEMPTS 10
#define UNUSED       __attribute__((unused))
#define STATE_FLAGS  (V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE | V4L2_BUF_FLAG_PREPARED | V4L2_BUF_FLAG_IN_REQUEST)
/* what a DQBUF observation keeps: the state flags and LAST (a codec's last buffer of a drain) */
#define DQBUF_FLAGS  (STATE_FLAGS | V4L2_BUF_FLAG_LAST)

/* what one step did: an errno (0 on success) and up to three values the step observes */
struct outcome {
	int err;
	long long r0, r1, r2;
};

/* one outcome the documentation allows: r0 anywhere in [r0, r0_max] (a count the driver may choose within its
 * bounds); mask says which values the step's rule constrains (1: r0, 2: r1, 4: r2), the rest are the driver's */
struct allowed {
	int err;
	long long r0, r0_max, r1, r2;
	int mask;
};

static long long h[NSLOTS];     /* fd, GEM handle or vgem fence id of each created resource */
static char *maddr[NSLOTS];     /* mappings */
static size_t mlen[NSLOTS];
static long long hsize[NSLOTS]; /* size of the object behind a GEM handle */
static int live[NSLOTS];
static int fences_used;         /* a fence was attached or imported: a START SYNC may sleep */
static void (*after_cleanup)(void); /* device state the steps changed, put back once every file is closed */
static struct timespec last_attach;
static int trace;
static int reached;             /* the last step with a result line in this attempt */

/* a departure from the recorded run: a device's own timing took another documented branch */
static char departure[512];
/*
 * what a device chose, learned in this attempt, recorded -> seen: [0] contents it wrote, [1] a format's sizes,
 * [2] those sizes in whole pages (the size of a dma-buf exported from such a plane)
 */
static long long learned_from[3][64], learned_to[3][64];
static int nlearned[3];

/* KTAP lines of the current attempt (an attempt that departs from the recorded run is retried) */
static char out[1 << 17];
static size_t outlen;

__attribute__((format(printf, 1, 2)))
static UNUSED void emit(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + outlen, sizeof(out) - outlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		outlen = outlen + (size_t)n < sizeof(out) ? outlen + (size_t)n : sizeof(out) - 1;
}

static UNUSED struct outcome done(long long r0, long long r1, long long r2)
{
	struct outcome o = { 0, r0, r1, r2 };

	return o;
}

static UNUSED struct outcome fail(void)
{
	struct outcome o = { errno, 0, 0, 0 };

	return o;
}

static UNUSED struct outcome would_block(void)
{
	struct outcome o = { WOULD_BLOCK, 0, 0, 0 };

	return o;
}

static UNUSED struct outcome result(long r)
{
	return r < 0 ? fail() : done(0, 0, 0);
}

/* the one place EINTR is retried */
static UNUSED long xioctl(int fd, unsigned long request, void *arg)
{
	long r;

	do
		r = ioctl(fd, request, arg);
	while (r < 0 && errno == EINTR);
	return r;
}

static UNUSED struct outcome new_fd(long fd, int slot)
{
	if (fd < 0)
		return fail();
	h[slot] = fd;
	live[slot] = 1;
	return done(0, 0, 0);
}

static UNUSED struct outcome new_map(void *p, size_t len, int slot)
{
	if (p == MAP_FAILED)
		return fail();
	maddr[slot] = p;
	mlen[slot] = len;
	live[slot] = 1;
	return done(0, 0, 0);
}

static UNUSED struct outcome new_handle(__u32 handle, long long size, int slot)
{
	h[slot] = handle;
	hsize[slot] = size;
	live[slot] = 1;
	return done(handle, 0, 0);
}

static const char *device(const char *name)
{
	for (int i = 0; i < NDEVS; i++)
		if (strcmp(dev_name[i], name) == 0)
			return dev_path[i];
	return name;
}

static const char *errname(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "0";
	case NOT_RUN: return "not run";
	case WOULD_BLOCK: return "would block on a fence";
	case EPERM: return "-1 EPERM";
	case ENOENT: return "-1 ENOENT";
	case EINTR: return "-1 EINTR";
	case EIO: return "-1 EIO";
	case EBADF: return "-1 EBADF";
	case EAGAIN: return "-1 EAGAIN";
	case ENOMEM: return "-1 ENOMEM";
	case EACCES: return "-1 EACCES";
	case EFAULT: return "-1 EFAULT";
	case EBUSY: return "-1 EBUSY";
	case EEXIST: return "-1 EEXIST";
	case ENODEV: return "-1 ENODEV";
	case EINVAL: return "-1 EINVAL";
	case ENFILE: return "-1 ENFILE";
	case EMFILE: return "-1 EMFILE";
	case ENOTTY: return "-1 ENOTTY";
	case ESPIPE: return "-1 ESPIPE";
	case EPIPE: return "-1 EPIPE";
	case ERANGE: return "-1 ERANGE";
	case ENOSYS: return "-1 ENOSYS";
	case EBADR: return "-1 EBADR";
	case EOVERFLOW: return "-1 EOVERFLOW";
	case EBADFD: return "-1 EBADFD";
	case EOPNOTSUPP: return "-1 EOPNOTSUPP";
	case ENOBUFS: return "-1 ENOBUFS";
	case ETIMEDOUT: return "-1 ETIMEDOUT";
	}
	snprintf(buf, sizeof(buf), "-1 errno %d", e);
	return buf;
}

/* two buffers in turn, so that one message can describe two outcomes */
static const char *describe(const struct outcome *o)
{
	static char bufs[2][160];
	static int turn;
	char *buf = bufs[turn++ & 1];

	/* a failure's r0 counts what it left behind where the step asks (fds, dma-bufs) */
	if (o->err != 0 && o->r0 != 0) {
		snprintf(buf, sizeof(bufs[0]), "%s, r0 %lld", errname(o->err), o->r0);
		return buf;
	}
	if (o->err != 0 || (o->r0 == 0 && o->r1 == 0 && o->r2 == 0))
		return errname(o->err);
	snprintf(buf, sizeof(bufs[0]), "0 (values 0x%llx, 0x%llx, 0x%llx)", (unsigned long long)o->r0,
		 (unsigned long long)o->r1, (unsigned long long)o->r2);
	return buf;
}

/* a value the device chose where the recorded run saw another: later steps expect the device's (the latest answer for it) */
static UNUSED void learn(int kind, long long recorded, long long got)
{
	for (int i = 0; i < nlearned[kind]; i++)
		if (learned_from[kind][i] == recorded) {
			learned_to[kind][i] = got;
			return;
		}
	if (recorded != got && nlearned[kind] < 64) {
		learned_from[kind][nlearned[kind]] = recorded;
		learned_to[kind][nlearned[kind]++] = got;
	}
}

/* a size rounded up to whole pages of the given size (the recorded run's pages were 4096 bytes) */
static UNUSED long long page_align(long long size, long page)
{
	return (size + page - 1) / page * page;
}

static UNUSED long long learned(int kind, long long recorded)
{
	for (int i = 0; i < nlearned[kind]; i++)
		if (learned_from[kind][i] == recorded)
			return learned_to[kind][i];
	return recorded;
}

/*
 * A step's outcome against every outcome the documentation allows (taken: the one the recorded
 * run took, -1 where it took none). 0: as documented; 1: not; 4: documented, but not the recorded
 * branch, which the rest of the sequence was written for.
 */
/* the first allowed outcome got is (-1: none); content as for check() */
static UNUSED int allowed_match(const struct outcome *got, const struct allowed *allowed, int nallowed, int any_value, int content)
{
	for (int i = 0; i < nallowed; i++) {
		const struct allowed *a = &allowed[i];
		/* a value learned from this device is compared exactly, and only where the outcome is a success */
		int learnt = content && a->err == 0;
		long long want = learnt ? learned(content == 1 ? 0 : content == 4 ? 2 : 1, a->r0) : a->r0;

		if (got->err == a->err && (any_value || !(a->mask & 1) || (got->r0 >= want && got->r0 <= (learnt ? want : a->r0_max))) &&
		    (!(a->mask & 2) || got->r1 == a->r1) && (!(a->mask & 4) || got->r2 == a->r2))
			return i;
	}
	return -1;
}

static UNUSED int check(int n, const char *what, const struct outcome *got, const struct allowed *allowed, int nallowed,
		 int taken, int any_value, int content, const char *expected)
{
	int match;

	reached = n;
	if (trace)
		emit("# trace %d %d %lld %lld %lld\n", n, got->err, got->r0, got->r1, got->r2);
	match = allowed_match(got, allowed, nallowed, any_value, content);
	if (match < 0 && FAILING_STEP != 0 && n != FAILING_STEP) {
		/* not where the recorded run departed: this device fails differently, which proves nothing either way */
		snprintf(departure, sizeof(departure), "step %d is not as documented (expected %s, got %s), but the recorded departure is at step %d",
			 n, expected, describe(got), FAILING_STEP);
		emit("not ok %d - %s # %s\n", n, what, departure);
		return 5;
	}
	if (match < 0) {
		emit("# step %d is not as documented\n", n);
		emit("not ok %d - %s # expected %s, got %s\n", n, what, expected, describe(got));
		return 1;
	}
	if (any_value && taken >= 0) {
		learn(content == 2, allowed[taken].r0, got->r0);
		if (content == 2) {   /* a format's further planes, and every plane's size in whole pages */
			learn(1, allowed[taken].r1, got->r1);
			learn(1, allowed[taken].r2, got->r2);
			learn(2, page_align(allowed[taken].r0, 4096), page_align(got->r0, sysconf(_SC_PAGESIZE)));
			learn(2, page_align(allowed[taken].r1, 4096), page_align(got->r1, sysconf(_SC_PAGESIZE)));
			learn(2, page_align(allowed[taken].r2, 4096), page_align(got->r2, sysconf(_SC_PAGESIZE)));
		}
	}
	if (taken >= 0 && match != taken) {
		struct outcome rec = { allowed[taken].err, allowed[taken].r0, allowed[taken].r1, allowed[taken].r2 };

		snprintf(departure, sizeof(departure), "step %d: %s is documented too, but the recorded run took %s",
			 n, describe(got), describe(&rec));
		emit("ok %d - %s # %s\n", n, what, departure);
		return 4;
	}
	emit("ok %d - %s\n", n, what);
	return 0;
}

static UNUSED void step_skipped(int n, const char *what, const char *why)
{
	reached = n;
	emit("ok %d - %s # SKIP %s\n", n, what, why);
}

/* a side-effect-free query may look again for up to 2 s: the recorded run saw the device later */
static struct timespec wait_start;

static UNUSED void start_waiting(void)
{
	clock_gettime(CLOCK_MONOTONIC, &wait_start);
}

static UNUSED int still_waiting(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - wait_start.tv_sec) * 1000000000LL + (now.tv_nsec - wait_start.tv_nsec) > 2000000000LL)
		return 0;
	usleep(5000);
	return 1;
}

/* live dma-bufs system-wide: the "Total N objects" line of debugfs dma_buf/bufinfo, -1 if unreadable */
static UNUSED int live_dmabufs(void)
{
	FILE *f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");
	char line[256];
	int n = -1, k;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Total %d objects", &k) == 1)
			n = k;
	fclose(f);
	return n;
}

/* unmap every mapping, then close every fd: GEM handles and vgem fences go with their DRM file */
static UNUSED void cleanup(void)
{
	for (int i = 1; i < NSLOTS; i++)
		if (live[i] && slot_kind[i] == 2) {
			munmap(maddr[i], mlen[i]);
			live[i] = 0;
		}
	for (int i = 1; i < NSLOTS; i++)
		if (live[i] && slot_kind[i] == 1)
			close((int)h[i]);
	memset(live, 0, sizeof(live));
	fences_used = 0;
	nlearned[0] = nlearned[1] = nlearned[2] = 0;
	last_attach.tv_sec = 0;
	last_attach.tv_nsec = 0;
	if (after_cleanup)
		after_cleanup();
}

static UNUSED int end_check(int n, int before)
{
	const char *what = "no dma-buf outlives the last fd and mapping that named it";
	int after = live_dmabufs();

	reached = n;
	if (before < 0 || after < 0) {
		emit("ok %d - %s # SKIP cannot read /sys/kernel/debug/dma_buf/bufinfo (needs root and debugfs)\n", n, what);
		return 4;
	}
	if (after != before) {
		emit("# %d live dma-bufs before the sequence, %d after it closed and unmapped everything\n", before, after);
		emit("not ok %d - %s # expected %d live dma-bufs, got %d\n", n, what, before, after);
		return 1;
	}
	emit("ok %d - %s\n", n, what);
	return 0;
}

/* The sequence. Returns 0 when every step was as documented, 1 at the first that was not, 4 when the
 * device took another documented outcome than the recorded run at a step the rest depends on. */
static int run(void)
{
	int rc = 0;
	(void)rc;

	/* 1. v1 = open("heap:system", O_RDONLY|O_CLOEXEC) */
	{
		static const struct allowed allowed[] = { { 0, 0LL, 0LL, 0LL, 0LL, 7 } };
		struct outcome o;
		o = new_fd(open(device("heap:system"), O_RDONLY|O_CLOEXEC), 1);
		rc = check(1, "v1 = open(\"heap:system\", O_RDONLY|O_CLOEXEC)", &o, allowed, 1, 0, 0, 0, "0");
		if (rc != 0)
			return rc;
	}

	/* 2. v2 = ioctl(v1, DMA_HEAP_IOCTL_ALLOC, {.len = 4096, .fd = 0, .fd_flags = O_RDWR, .heap_flags = 0}) */
	{
		static const struct allowed allowed[] = { { 0, 0LL, 0LL, 0LL, 0LL, 7 } };
		struct outcome o;
		{
			struct dma_heap_allocation_data a = { .len = 4096ULL, .fd = 0, .fd_flags = O_RDWR, .heap_flags = 0ULL };
			o = xioctl((int)h[1], DMA_HEAP_IOCTL_ALLOC, &a) < 0 ? fail() : new_fd(a.fd, 2);
		}
		rc = check(2, "v2 = ioctl(v1, DMA_HEAP_IOCTL_ALLOC, {.len = 4096, .fd = 0, .fd_flags = O_RDWR, .heap_flags = 0})", &o, allowed, 1, 0, 0, 0, "0");
		if (rc != 0)
			return rc;
	}

	/* 3. lseek(v2, 0, SEEK_CUR) */
	{
		static const struct allowed allowed[] = { { EINVAL, 0LL, 0LL, 0LL, 0LL, 7 } };
		struct outcome o;
		{
			off_t r = lseek((int)h[2], 0LL, SEEK_CUR);
			o = r < 0 ? fail() : done(r, 0, 0);
		}
		rc = check(3, "lseek(v2, 0, SEEK_CUR)", &o, allowed, 1, -1, 0, 0, "-1 EINVAL");
		if (rc != 0)
			return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0, attempt;

	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		int known = 0;

		for (int d = 0; eq && d < NDEVS; d++)
			if (strncmp(argv[i], dev_name[d], (size_t)(eq - argv[i])) == 0 && dev_name[d][eq - argv[i]] == '\0') {
				dev_path[d] = eq + 1;
				known = 1;
			}
		if (!known) {
			fprintf(stderr, "usage: %s [NAME=PATH ...]; device names:", argv[0]);
			for (int d = 0; d < NDEVS; d++)
				fprintf(stderr, " %s (default %s)", dev_name[d], dev_path[d]);
			fprintf(stderr, "\n");
			return 2;
		}
	}
	for (int d = 0; d < NDEVS; d++)
		if (access(dev_path[d], F_OK) != 0) {
			fprintf(stderr, "error: %s (%s): %s; name another with %s=PATH\n", dev_name[d], dev_path[d],
				strerror(errno), dev_name[d]);
			return 2;
		}
	trace = getenv("REPRO_TRACE") != NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..%d\n", NSTEPS);
	for (attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
		outlen = 0;
		out[0] = '\0';
		reached = 0;
		rc = run();
		cleanup();
		if (rc == 5) {
			/* a departure at another step than the recorded one: inconclusive, not a reproduction */
			rc = 4;
			break;
		}
		if (rc != 4 || attempt == MAX_ATTEMPTS)
			break;
		printf("# attempt %d: %s; starting again from a fresh state\n", attempt, departure);
	}
#ifdef RACE_RUNS
	/* a parallel block: a run as documented proves little about a race, so it is made again (from a fresh state) */
	if (rc == 0) {
		int runs;

		for (runs = 1; rc == 0 && runs < RACE_RUNS; runs++) {
			outlen = 0;
			out[0] = '\0';
			reached = 0;
			rc = run();
			cleanup();
			rc = rc == 5 ? 4 : rc;
		}
		printf("# %d run(s) of the sequence with its parallel block%s\n", runs, rc == 1 ? ": the last one reproduced the counterexample" : "");
	}
#endif
	fputs(out, stdout);
	/* steps after the one that decided the attempt were not run */
	for (int n = reached + 1; n <= NSTEPS; n++)
		printf("ok %d - step %d # SKIP not reached: the sequence stopped at step %d\n", n, n, reached);
	if (rc == 0)
		printf("# every step was as documented: the counterexample does not reproduce here\n");
	else if (rc == 1)
		printf("# a step was not as documented: the counterexample reproduced\n");
	else
		printf("# inconclusive after %d attempt(s): %s\n", attempt > MAX_ATTEMPTS ? MAX_ATTEMPTS : attempt, departure);
	return rc;
}
