/*
 * conformance-helper: a second process of a sequence, for the kernel adapter (adapters/Kernel/KernelTarget.Processes.cs).
 *
 * The suite starts it with posix_spawn, with one end of a SOCK_SEQPACKET socketpair as fd 3 and no other fd of the
 * suite's (the spawn closes them; close_range here makes sure). It answers one request at a time: each request is one
 * struct h_req (and, for H_RECV, an fd in SCM_RIGHTS), each reply one struct h_rep (and, for H_SEND, an fd). Its fd
 * numbers and mapping ids are its own; the suite keeps them as the handles of the ops that run here. H_EXIT, or the
 * socket's end, ends it with _exit(0), holding whatever it holds: the kernel's exit releases that (DMABUF-PROC-2).
 *
 * Built by `dotnet build` (adapters/Conformance.Adapters.csproj) with gcc -Wall -Werror, statically linked where the C library
 * allows (under the lab's TCG a dynamically linked start, the loader's work, took twice as long); no library beyond libc.
 * Run as `conformance-helper exec-probe FD...` it is the program the exec op runs instead (exec_probe below).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/videodev2.h>

/* The wire format, shared with adapters/Kernel/KernelTarget.Processes.cs: little-endian, no padding. */
struct h_req { int32_t cmd; int32_t fd; int64_t a[6]; };
struct h_rep { int32_t err; int32_t fd; int64_t r[3]; };

enum {
	H_RECV = 1,       /* an fd in SCM_RIGHTS; a0 = MSG_CMSG_CLOEXEC wanted, a1..a3 = the sender's dev major, minor, ino.
	                     rep.fd = the new fd, r0 = 1 when it is the same file */
	H_SEND = 2,       /* fd: sent back in SCM_RIGHTS with the reply; r0..r2 = its dev major, minor, ino */
	H_CLOSE = 3,      /* fd */
	H_GETFD = 4,      /* fd: r0 = F_GETFD & FD_CLOEXEC */
	H_MMAP = 5,       /* fd, a0 = offset in bytes, a1 = length, a2 = prot, a3 = flags: rep.fd = mapping id */
	H_MMAP_VIDEO = 6, /* fd, a0 = type, a1 = index | plane << 32, a2 = length, a3 = prot, a4 = flags, a5 = vb2's layout offset */
	H_MUNMAP = 7,     /* a0 = mapping id */
	H_READ = 8,       /* a0 = mapping id, a1 = byte offset: r0 = the 64-bit word there */
	H_WRITE = 9,      /* a0 = mapping id, a1 = byte offset, a2 = the word */
	H_SYNC = 10,      /* fd, a0 = DMA_BUF_SYNC_* flags, a1 = poll events that must be ready first (0: none): rep.r[0] = 1 where they were not and no call was made */
	H_EXIT = 11,      /* _exit(0), no reply */
	H_FORK = 12,      /* a socket in SCM_RIGHTS: fork(2); the child takes the socket as its fd 3 and answers there with its pid
	                     (as a new helper does), keeping every other fd and mapping of its parent; r0 = the child's pid */
};

#define MAX_MAPS 256
static struct { void *addr; size_t len; } maps[MAX_MAPS];
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t in_access;

static void on_fault(int sig)
{
	(void)sig;
	if (in_access) siglongjmp(fault_jmp, 1);
	_exit(2);
}

static int same_file(int fd, int64_t dev_major, int64_t dev_minor, int64_t ino)
{
	struct stat st;
	if (fstat(fd, &st) != 0) return 0;
	return (int64_t)major(st.st_dev) == dev_major && (int64_t)minor(st.st_dev) == dev_minor && (int64_t)st.st_ino == ino;
}

static int new_map(void *addr, size_t len)
{
	for (int i = 1; i < MAX_MAPS; i++)
		if (!maps[i].addr) { maps[i].addr = addr; maps[i].len = len; return i; }
	munmap(addr, len);
	return -ENOMEM;
}

/* The offset of (index, plane) as QUERYBUF reports it, else vb2's own layout (as KernelTarget.MmapVideo finds it). */
static off_t video_offset(int fd, uint32_t type, uint32_t index, uint32_t plane, off_t layout)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b;
	memset(&b, 0, sizeof b);
	memset(planes, 0, sizeof planes);
	b.type = type;
	b.index = index;
	b.memory = V4L2_MEMORY_MMAP;
	if (type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE || type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE) {
		b.m.planes = planes;
		b.length = VIDEO_MAX_PLANES;
		if (ioctl(fd, VIDIOC_QUERYBUF, &b) != 0 || b.memory != V4L2_MEMORY_MMAP) return layout;
		return plane < b.length ? (off_t)planes[plane].m.mem_offset : (off_t)planes[0].m.mem_offset + ((off_t)plane << 12);
	}
	if (ioctl(fd, VIDIOC_QUERYBUF, &b) != 0 || b.memory != V4L2_MEMORY_MMAP) return layout;
	return (off_t)b.m.offset + ((off_t)plane << 12);
}

static void serve(int sock, const struct h_req *q, int passed, struct h_rep *p, int *send_fd, int *is_child)
{
	int64_t id = q->a[0];
	switch (q->cmd) {
	case H_RECV:
		if (passed < 0) { p->err = EMFILE; return; }
		p->fd = passed;
		p->r[0] = same_file(passed, q->a[1], q->a[2], q->a[3]);
		return;
	case H_SEND: {
		struct stat st;
		if (fstat(q->fd, &st) != 0) { p->err = errno; return; }
		p->r[0] = major(st.st_dev); p->r[1] = minor(st.st_dev); p->r[2] = (int64_t)st.st_ino;
		*send_fd = q->fd;
		return;
	}
	case H_CLOSE:
		if (close(q->fd) != 0) p->err = errno;
		return;
	case H_GETFD: {
		int r = fcntl(q->fd, F_GETFD);
		if (r < 0) p->err = errno; else p->r[0] = r & FD_CLOEXEC;
		return;
	}
	case H_MMAP:
	case H_MMAP_VIDEO: {
		off_t off = q->a[0];
		size_t len = (size_t)q->a[1];
		int prot = (int)q->a[2], flags = (int)q->a[3];
		if (q->cmd == H_MMAP_VIDEO) {
			off = video_offset(q->fd, (uint32_t)q->a[0], (uint32_t)q->a[1], (uint32_t)(q->a[1] >> 32), q->a[5]);
			len = (size_t)q->a[2]; prot = (int)q->a[3]; flags = (int)q->a[4];
		}
		void *m = mmap(NULL, len, prot, flags, q->fd, off);
		if (m == MAP_FAILED) { p->err = errno; return; }
		int slot = new_map(m, len);
		if (slot < 0) p->err = -slot; else p->fd = slot;
		return;
	}
	case H_MUNMAP:
		if (id <= 0 || id >= MAX_MAPS || !maps[id].addr) { p->err = EINVAL; return; }
		if (munmap(maps[id].addr, maps[id].len) != 0) p->err = errno;
		maps[id].addr = NULL;
		return;
	case H_READ:
	case H_WRITE: {
		int64_t off = q->a[1];
		if (id <= 0 || id >= MAX_MAPS || !maps[id].addr || off < 0 || (size_t)off + 8 > maps[id].len) { p->err = EINVAL; return; }
		volatile uint64_t *w = (volatile uint64_t *)((char *)maps[id].addr + off);
		if (sigsetjmp(fault_jmp, 1)) { in_access = 0; p->err = EFAULT; return; }
		in_access = 1;
		if (q->cmd == H_READ) p->r[0] = (int64_t)*w; else *w = (uint64_t)q->a[2];
		in_access = 0;
		return;
	}
	case H_SYNC: {
		if (q->a[1]) {
			struct pollfd pf = { .fd = q->fd, .events = (short)q->a[1] };
			int n = poll(&pf, 1, 0);
			if (n < 0) { p->err = errno; return; }
			if (n == 1 && (pf.revents & POLLNVAL)) { p->err = EBADF; return; }
			/* not made: the START would sleep (r[0] = 1 says so; an errno would be one the ioctl could return) */
			if (n == 0 || !(pf.revents & q->a[1])) { p->r[0] = 1; return; }
		}
		struct dma_buf_sync s = { .flags = (uint64_t)q->a[0] };
		if (ioctl(q->fd, DMA_BUF_IOCTL_SYNC, &s) != 0) p->err = errno;
		return;
	}
	case H_FORK: {
		if (passed < 0) { p->err = EINVAL; return; }
		pid_t pid = fork();
		if (pid < 0) { p->err = errno; close(passed); return; }
		if (pid == 0) {
			/* the child: its own socket at 3 (the parent's goes), every other fd and mapping as the parent has them */
			dup2(passed, 3);
			close(passed);
			*is_child = 1;
			return;
		}
		close(passed);
		p->r[0] = pid;
		return;
	}
	default:
		p->err = ENOSYS;
	}
	(void)sock;
}

/*
 * `conformance-helper exec-probe FD...`: the image a process runs after execve (DMABUF-EXEC-*; KernelTarget.Exec starts it
 * with posix_spawn, which execs it with every fd of the suite that has no close-on-exec). Prints two strings of one digit per
 * FD, "M S": M's digit is 1 where FD is open here, S's where it is also the same file as the parent's FD (the device and
 * inode fstat gives here, and stat of /proc/PPID/fd/FD gives there). Exit 3 without /proc, where neither can be told.
 */
static int exec_probe(int argc, char **argv)
{
	if (access("/proc/self/fd", F_OK) != 0) return 3;
	char m[64], s[64];
	int k = 0;
	for (int i = 2; i < argc && k < 63; i++, k++) {
		int fd = atoi(argv[i]);
		struct stat here, there;
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)getppid(), fd);
		m[k] = fcntl(fd, F_GETFD) >= 0 ? '1' : '0';
		s[k] = m[k] == '1' && fstat(fd, &here) == 0 && stat(path, &there) == 0
			&& here.st_dev == there.st_dev && here.st_ino == there.st_ino ? '1' : '0';
	}
	m[k] = s[k] = '\0';
	printf("%s %s\n", m, s);
	return fflush(stdout) == 0 ? 0 : 4;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exec-probe") == 0) return exec_probe(argc, argv);
	const int sock = 3;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);   /* a child it forks is reaped by the kernel when it exits: the suite waits for it with a pidfd */
	/* hold nothing of the suite's: every fd above the socket goes (the spawn already closed them where it could) */
	syscall(SYS_close_range, 4U, ~0U, 0U);
	struct h_rep ready = { .err = 0, .fd = (int32_t)getpid() };
	if (send(sock, &ready, sizeof ready, 0) != (ssize_t)sizeof ready) _exit(3);
	for (;;) {
		struct h_req q;
		union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
		struct iovec iov = { .iov_base = &q, .iov_len = sizeof q };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
		memset(&q, 0, sizeof q);
		/* a request to receive says whether the fd gets close-on-exec, which recvmsg must know before it installs the fd:
		   peek at the request first, then receive it for real */
		ssize_t n = recv(sock, &q, sizeof q, MSG_PEEK);
		if (n <= 0) _exit(0);
		int flags = q.cmd == H_RECV && q.a[0] ? MSG_CMSG_CLOEXEC : 0;
		n = recvmsg(sock, &m, flags);
		if (n != (ssize_t)sizeof q) _exit(n == 0 ? 0 : 4);
		int passed = -1;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && !(m.msg_flags & MSG_CTRUNC))
			memcpy(&passed, CMSG_DATA(c), sizeof passed);
		if (q.cmd == H_EXIT) _exit(0);
		struct h_rep p;
		int send_fd = -1, is_child = 0;
		memset(&p, 0, sizeof p);
		p.fd = -1;
		serve(sock, &q, passed, &p, &send_fd, &is_child);
		/* an fd that came with a request that takes none is not kept */
		if (passed >= 0 && q.cmd != H_RECV && q.cmd != H_FORK) close(passed);
		if (is_child) {
			/* a forked child answers on its own socket first, with its pid, as a new helper does */
			struct h_rep child_ready = { .err = 0, .fd = (int32_t)getpid() };
			if (send(sock, &child_ready, sizeof child_ready, 0) != (ssize_t)sizeof child_ready) _exit(3);
			continue;
		}
		struct iovec riov = { .iov_base = &p, .iov_len = sizeof p };
		struct msghdr r = { .msg_iov = &riov, .msg_iovlen = 1 };
		union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } rctl;
		if (send_fd >= 0) {
			memset(&rctl, 0, sizeof rctl);
			r.msg_control = rctl.buf;
			r.msg_controllen = sizeof rctl.buf;
			struct cmsghdr *rc = CMSG_FIRSTHDR(&r);
			rc->cmsg_level = SOL_SOCKET;
			rc->cmsg_type = SCM_RIGHTS;
			rc->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(rc), &send_fd, sizeof send_fd);
		}
		if (sendmsg(sock, &r, 0) != (ssize_t)sizeof p) _exit(5);
	}
}
