/*
 * vivid_request_two_buffers: a media request that holds two of vivid's capture buffers makes the kernel WARN when
 * the request completes (Linux 6.12.117: drivers/media/v4l2-core/v4l2-ctrls-request.c:385, in
 * v4l2_ctrl_request_complete). Evidence for spec/notes/vivid-request-two-buffers.md.
 *
 * vivid completes a request's controls once per buffer (vivid-kthread-cap.c: v4l2_ctrl_request_complete for each
 * vid_cap buffer, in the capture thread and in vivid_stop_generating_vid_cap). The first call binds and completes the
 * request's control object; the second finds that object already completed (hdl->request_is_queued false) and hits
 * WARN_ON(!hdl->request_is_queued). Nothing in the request API or in vivid refuses a request with two buffers of
 * one queue: vivid_req_validate calls vb2_request_validate, which wants at least one.
 *
 * usage: vivid_request_two_buffers [VIDEO [N]]   (default /dev/video0, vivid's first capture node; N buffers in the
 *        request, default 2: with 1 the kernel stays quiet)
 * Prints what each step returned; exit 0 when every step succeeded (the WARNING is in the kernel log), 1 when a step
 * failed, 2 when no vivid capture node or media device is found.
 *
 * Build and run from /work/main (the lab VM exits 3 and names the WARNING):
 *   bash lab/uapi-include.sh /tmp/vr2/inc
 *   gcc -O2 -Wall -Wextra -Werror -I/tmp/vr2/inc -o /tmp/vr2/vivid_request_two_buffers spec/notes/vivid_request_two_buffers.c
 *   bash lab/vm.sh run --warn-grace 5 --out /tmp/vr2/lab -- /tmp/vr2/vivid_request_two_buffers
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/media.h>
#include <linux/videodev2.h>

static int step(const char *what, int r)
{
	printf("%-60s %s\n", what, r < 0 ? strerror(errno) : "0");
	return r;
}

/* The media device whose MEDIA_IOC_DEVICE_INFO names the vivid driver, opened O_RDWR; -1 if none. */
static int vivid_media(void)
{
	char path[32];

	for (int i = 0; i < 64; i++) {
		struct media_device_info info;
		int m;

		snprintf(path, sizeof(path), "/dev/media%d", i);
		m = open(path, O_RDWR | O_CLOEXEC);
		if (m < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (ioctl(m, MEDIA_IOC_DEVICE_INFO, &info) == 0 && strcmp(info.driver, "vivid") == 0) {
			printf("media device %s (%s)\n", path, info.model);
			return m;
		}
		close(m);
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *video = argc > 1 ? argv[1] : "/dev/video0";
	struct v4l2_capability cap;
	struct v4l2_requestbuffers rb;
	struct pollfd p;
	int v, m, req = -1, failed = 0;
	unsigned int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, n = argc > 2 ? (unsigned int)atoi(argv[2]) : 2;

	v = open(video, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	memset(&cap, 0, sizeof(cap));
	if (v < 0 || ioctl(v, VIDIOC_QUERYCAP, &cap) < 0 || strcmp((char *)cap.driver, "vivid") != 0 ||
	    !(cap.device_caps & V4L2_CAP_VIDEO_CAPTURE)) {
		fprintf(stderr, "%s: not a vivid capture node\n", video);
		return 2;
	}
	m = vivid_media();
	if (m < 0) {
		fprintf(stderr, "no media device of the vivid driver\n");
		return 2;
	}

	memset(&rb, 0, sizeof(rb));
	rb.count = n < 2 ? 2 : n;
	rb.type = type;
	rb.memory = V4L2_MEMORY_MMAP;
	failed |= step("VIDIOC_REQBUFS(2, MMAP)", ioctl(v, VIDIOC_REQBUFS, &rb)) < 0;
	printf("  granted %u buffers, capabilities 0x%x (SUPPORTS_REQUESTS %s)\n", rb.count, rb.capabilities,
	       rb.capabilities & V4L2_BUF_CAP_SUPPORTS_REQUESTS ? "yes" : "no");
	failed |= step("MEDIA_IOC_REQUEST_ALLOC", ioctl(m, MEDIA_IOC_REQUEST_ALLOC, &req)) < 0;
	close(m);
	for (unsigned int i = 0; i < n; i++) {
		struct v4l2_buffer b;
		char what[64];

		memset(&b, 0, sizeof(b));
		b.index = i;
		b.type = type;
		b.memory = V4L2_MEMORY_MMAP;
		b.field = V4L2_FIELD_NONE;
		b.flags = V4L2_BUF_FLAG_REQUEST_FD;
		b.request_fd = req;
		snprintf(what, sizeof(what), "VIDIOC_QBUF(index %u) into the request", i);
		failed |= step(what, ioctl(v, VIDIOC_QBUF, &b)) < 0;
	}
	failed |= step("VIDIOC_STREAMON", ioctl(v, VIDIOC_STREAMON, &type)) < 0;
	failed |= step("MEDIA_REQUEST_IOC_QUEUE", ioctl(req, MEDIA_REQUEST_IOC_QUEUE, NULL)) < 0;
	/* vivid's capture thread fills both buffers, completing the request's controls once for each */
	p.fd = req;
	p.events = POLLPRI;
	p.revents = 0;
	{
		int r = poll(&p, 1, 5000);

		printf("%-60s %d, revents 0x%x\n", "poll(request, POLLPRI, 5 s)", r, p.revents);
	}
	failed |= step("VIDIOC_STREAMOFF", ioctl(v, VIDIOC_STREAMOFF, &type)) < 0;
	close(req);
	close(v);
	return failed ? 1 : 0;
}
