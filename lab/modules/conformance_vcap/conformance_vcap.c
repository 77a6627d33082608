// SPDX-License-Identifier: GPL-2.0
/*
 * conformance_vcap - a minimal vb2 video capture driver with switchable defects
 *
 * Registers one /dev/videoN: a single-planar V4L2_BUF_TYPE_VIDEO_CAPTURE node
 * with a fixed YUYV 640x360 format, built the way a plain capture driver is
 * (v4l2_device + video_device, videobuf2-vmalloc, the vb2 ioctl and file
 * operation helpers).  There is no hardware: while the queue streams, a
 * kthread "captures" a frame every VCAP_FRAME_MS, writing a test pattern into
 * the oldest queued buffer and completing it with vb2_buffer_done().
 *
 * It exists because a conformance suite needs a vb2 driver it can break on
 * purpose: the "bug" module parameter selects one deliberate defect.
 * Written against Linux 6.12; it also builds against 6.1.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/version.h>
#include <linux/videodev2.h>
#include <media/v4l2-dev.h>
#include <media/v4l2-device.h>
#include <media/v4l2-fh.h>
#include <media/v4l2-ioctl.h>
#include <media/videobuf2-v4l2.h>
#include <media/videobuf2-vmalloc.h>

/* The one format: YUYV (2 bytes per pixel), progressive. */
#define VCAP_WIDTH		640
#define VCAP_HEIGHT		360
#define VCAP_BYTESPERLINE	(VCAP_WIDTH * 2)
#define VCAP_SIZEIMAGE		(VCAP_BYTESPERLINE * VCAP_HEIGHT)

/* One frame every 20 ms (50 fps) while streaming. */
#define VCAP_FRAME_MS		20

enum vcap_bug {
	VCAP_BUG_NONE,
	VCAP_BUG_KEEPOWNER,
	VCAP_BUG_STOPLEAK,
};

static const char * const vcap_bug_names[] = {
	[VCAP_BUG_NONE]		= "none",
	[VCAP_BUG_KEEPOWNER]	= "keepowner",
	[VCAP_BUG_STOPLEAK]	= "stopleak",
};

static char *bug = "";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "deliberate defect: \"\" or none (correct), keepowner, stopleak");

static unsigned int min_queued = 1;
module_param(min_queued, uint, 0444);
MODULE_PARM_DESC(min_queued,
		 "buffers that must be queued before streaming starts (vb2 min_queued_buffers), 0-8, default 1");

/* Parsed once at load time; the parameter is read-only afterwards. */
static enum vcap_bug vcap_bug;

/* vb2 allocates buf_struct_size bytes and uses the head as its own buffer. */
struct vcap_buffer {
	struct vb2_v4l2_buffer vb;
	struct list_head list;
};

struct vcap_dev {
	struct platform_device *pdev;
	struct v4l2_device v4l2_dev;
	struct video_device vdev;
	struct vb2_queue queue;
	struct mutex lock;		/* serialises all ioctls and the queue */

	spinlock_t qlock;		/* guards active */
	struct list_head active;	/* buffers given to us by buf_queue */
	struct task_struct *thread;	/* the frame producer while streaming */
	u32 sequence;			/* frame counter, producer only */

	/* bug=keepowner: the owner's file handle, kept until unload. */
	struct v4l2_fh *stale_owner;
};

static struct vcap_dev *vcap;

static struct vcap_buffer *to_vcap_buffer(struct vb2_buffer *vb)
{
	return container_of(to_vb2_v4l2_buffer(vb), struct vcap_buffer, vb);
}

/* ---- the frame producer ---- */

/*
 * The pattern: every line is one grey level (YUYV with U = V = 0x80), and the
 * levels move up by one line per frame, so consecutive frames differ.
 */
static void vcap_fill(void *vaddr, u32 sequence)
{
	unsigned int y;

	for (y = 0; y < VCAP_HEIGHT; y++) {
		u32 luma = (y + sequence) & 0xff;
		u32 yuyv = luma | 0x80 << 8 | luma << 16 | 0x80u << 24;

		/* Bytes Y, U, Y, V in memory whatever the CPU's byte order. */
		memset32(vaddr + y * VCAP_BYTESPERLINE,
			 (__force u32)cpu_to_le32(yuyv), VCAP_BYTESPERLINE / 4);
	}
}

/* One frame period: fill and complete the oldest queued buffer, if any. */
static void vcap_capture_frame(struct vcap_dev *dev)
{
	struct vcap_buffer *buf;
	unsigned long flags;
	u32 sequence = dev->sequence++;
	void *vaddr;

	spin_lock_irqsave(&dev->qlock, flags);
	buf = list_first_entry_or_null(&dev->active, struct vcap_buffer, list);
	if (buf)
		list_del(&buf->list);
	spin_unlock_irqrestore(&dev->qlock, flags);

	/* No buffer queued: the frame is dropped, a gap in the sequence. */
	if (!buf)
		return;

	/*
	 * vb2-vmalloc always has a kernel mapping (QBUF refuses a dma-buf it
	 * cannot vmap); be defensive anyway.
	 */
	vaddr = vb2_plane_vaddr(&buf->vb.vb2_buf, 0);
	if (vaddr)
		vcap_fill(vaddr, sequence);

	vb2_set_plane_payload(&buf->vb.vb2_buf, 0, VCAP_SIZEIMAGE);
	buf->vb.field = V4L2_FIELD_NONE;
	buf->vb.sequence = sequence;
	buf->vb.vb2_buf.timestamp = ktime_get_ns();
	vb2_buffer_done(&buf->vb.vb2_buf, VB2_BUF_STATE_DONE);
}

static int vcap_thread(void *data)
{
	struct vcap_dev *dev = data;

	/* A frame takes a period to "expose": the first is done after one. */
	while (!kthread_should_stop()) {
		schedule_timeout_interruptible(msecs_to_jiffies(VCAP_FRAME_MS));
		if (kthread_should_stop())
			break;
		vcap_capture_frame(dev);
	}
	return 0;
}

/* ---- vb2 queue operations ---- */

static int vcap_queue_setup(struct vb2_queue *q, unsigned int *nbuffers,
			    unsigned int *nplanes, unsigned int sizes[],
			    struct device *alloc_devs[])
{
	/* VIDIOC_CREATE_BUFS: check the requested plane instead. */
	if (*nplanes)
		return *nplanes != 1 || sizes[0] < VCAP_SIZEIMAGE ? -EINVAL : 0;

	*nplanes = 1;
	sizes[0] = VCAP_SIZEIMAGE;
	return 0;
}

static int vcap_buf_prepare(struct vb2_buffer *vb)
{
	/* A USERPTR or DMABUF plane may be larger, never smaller. */
	if (vb2_plane_size(vb, 0) < VCAP_SIZEIMAGE)
		return -EINVAL;

	vb2_set_plane_payload(vb, 0, VCAP_SIZEIMAGE);
	return 0;
}

static void vcap_buf_queue(struct vb2_buffer *vb)
{
	struct vcap_dev *dev = vb2_get_drv_priv(vb->vb2_queue);
	struct vcap_buffer *buf = to_vcap_buffer(vb);
	unsigned long flags;

	spin_lock_irqsave(&dev->qlock, flags);
	list_add_tail(&buf->list, &dev->active);
	spin_unlock_irqrestore(&dev->qlock, flags);
}

/* Hand every buffer we hold back to vb2, in the given state. */
static void vcap_return_all_buffers(struct vcap_dev *dev,
				    enum vb2_buffer_state state)
{
	struct vcap_buffer *buf, *tmp;
	unsigned long flags;

	spin_lock_irqsave(&dev->qlock, flags);
	list_for_each_entry_safe(buf, tmp, &dev->active, list) {
		list_del(&buf->list);
		vb2_buffer_done(&buf->vb.vb2_buf, state);
	}
	spin_unlock_irqrestore(&dev->qlock, flags);
}

static int vcap_start_streaming(struct vb2_queue *q, unsigned int count)
{
	struct vcap_dev *dev = vb2_get_drv_priv(q);
	struct task_struct *thread;

	dev->sequence = 0;
	thread = kthread_run(vcap_thread, dev, "%s", dev->v4l2_dev.name);
	if (IS_ERR(thread)) {
		/* vb2 expects the buffers back as QUEUED when start fails. */
		vcap_return_all_buffers(dev, VB2_BUF_STATE_QUEUED);
		return PTR_ERR(thread);
	}
	dev->thread = thread;
	return 0;
}

static void vcap_stop_streaming(struct vb2_queue *q)
{
	struct vcap_dev *dev = vb2_get_drv_priv(q);

	/* Waits for a frame in progress: nothing touches a buffer after this. */
	if (dev->thread)
		kthread_stop(dev->thread);
	dev->thread = NULL;

	/*
	 * bug=stopleak: forget to give the active buffers back.  vb2 warns in
	 * __vb2_queue_cancel() and reclaims them itself, but they stay linked
	 * on our list, which the next streaming session then corrupts.
	 */
	if (vcap_bug == VCAP_BUG_STOPLEAK)
		return;

	vcap_return_all_buffers(dev, VB2_BUF_STATE_ERROR);
}

static const struct vb2_ops vcap_qops = {
	.queue_setup		= vcap_queue_setup,
	.buf_prepare		= vcap_buf_prepare,
	.buf_queue		= vcap_buf_queue,
	.start_streaming	= vcap_start_streaming,
	.stop_streaming		= vcap_stop_streaming,
	/* q->lock is set, so the stock helpers drop it while DQBUF waits. */
	.wait_prepare		= vb2_ops_wait_prepare,
	.wait_finish		= vb2_ops_wait_finish,
};

/* ---- ioctls ---- */

static int vcap_querycap(struct file *file, void *priv,
			 struct v4l2_capability *cap)
{
	/*
	 * driver[] is 16 bytes and must be NUL-terminated, so the module name
	 * (16 characters) is cut to "conformance_vca"; card has it whole.
	 * bus_info ("platform:conformance_vcap") is filled in by the core.
	 */
	strscpy(cap->driver, KBUILD_MODNAME, sizeof(cap->driver));
	strscpy(cap->card, KBUILD_MODNAME, sizeof(cap->card));
	return 0;
}

static int vcap_enum_fmt_vid_cap(struct file *file, void *priv,
				 struct v4l2_fmtdesc *f)
{
	if (f->index != 0)
		return -EINVAL;

	/* The core fills in the description. */
	f->pixelformat = V4L2_PIX_FMT_YUYV;
	return 0;
}

/* Every format request is answered with the one format there is. */
static void vcap_fill_pix_format(struct v4l2_pix_format *pix)
{
	pix->width = VCAP_WIDTH;
	pix->height = VCAP_HEIGHT;
	pix->pixelformat = V4L2_PIX_FMT_YUYV;
	pix->field = V4L2_FIELD_NONE;
	pix->bytesperline = VCAP_BYTESPERLINE;
	pix->sizeimage = VCAP_SIZEIMAGE;
	pix->colorspace = V4L2_COLORSPACE_SRGB;
	pix->flags = 0;
	pix->ycbcr_enc = V4L2_YCBCR_ENC_601;
	pix->quantization = V4L2_QUANTIZATION_LIM_RANGE;
	pix->xfer_func = V4L2_XFER_FUNC_SRGB;
	/* priv is the core's (V4L2_PIX_FMT_PRIV_MAGIC). */
}

static int vcap_g_fmt_vid_cap(struct file *file, void *priv,
			      struct v4l2_format *f)
{
	vcap_fill_pix_format(&f->fmt.pix);
	return 0;
}

static int vcap_try_fmt_vid_cap(struct file *file, void *priv,
				struct v4l2_format *f)
{
	/* TRY_FMT adjusts rather than refuses, an unknown pixelformat too. */
	vcap_fill_pix_format(&f->fmt.pix);
	return 0;
}

static int vcap_s_fmt_vid_cap(struct file *file, void *priv,
			      struct v4l2_format *f)
{
	struct vcap_dev *dev = video_drvdata(file);

	vcap_fill_pix_format(&f->fmt.pix);

	/* The format is fixed, but as usual none is set while buffers exist. */
	if (vb2_is_busy(&dev->queue))
		return -EBUSY;
	return 0;
}

static int vcap_enum_framesizes(struct file *file, void *priv,
				struct v4l2_frmsizeenum *fsize)
{
	if (fsize->index != 0 || fsize->pixel_format != V4L2_PIX_FMT_YUYV)
		return -EINVAL;

	fsize->type = V4L2_FRMSIZE_TYPE_DISCRETE;
	fsize->discrete.width = VCAP_WIDTH;
	fsize->discrete.height = VCAP_HEIGHT;
	return 0;
}

static int vcap_enum_input(struct file *file, void *priv,
			   struct v4l2_input *inp)
{
	if (inp->index != 0)
		return -EINVAL;

	inp->type = V4L2_INPUT_TYPE_CAMERA;
	strscpy(inp->name, "Camera", sizeof(inp->name));
	/* std, status (0: signal present) and capabilities stay zero. */
	return 0;
}

static int vcap_g_input(struct file *file, void *priv, unsigned int *i)
{
	*i = 0;
	return 0;
}

static int vcap_s_input(struct file *file, void *priv, unsigned int i)
{
	/* Selecting the current (only) input is always allowed. */
	return i == 0 ? 0 : -EINVAL;
}

static const struct v4l2_ioctl_ops vcap_ioctl_ops = {
	.vidioc_querycap		= vcap_querycap,
	.vidioc_enum_fmt_vid_cap	= vcap_enum_fmt_vid_cap,
	.vidioc_g_fmt_vid_cap		= vcap_g_fmt_vid_cap,
	.vidioc_try_fmt_vid_cap		= vcap_try_fmt_vid_cap,
	.vidioc_s_fmt_vid_cap		= vcap_s_fmt_vid_cap,
	.vidioc_enum_framesizes		= vcap_enum_framesizes,

	.vidioc_enum_input		= vcap_enum_input,
	.vidioc_g_input			= vcap_g_input,
	.vidioc_s_input			= vcap_s_input,

	/* The helpers do the locking and the queue-owner (EBUSY) checks. */
	.vidioc_reqbufs			= vb2_ioctl_reqbufs,
	.vidioc_create_bufs		= vb2_ioctl_create_bufs,
	.vidioc_prepare_buf		= vb2_ioctl_prepare_buf,
	.vidioc_querybuf		= vb2_ioctl_querybuf,
	.vidioc_qbuf			= vb2_ioctl_qbuf,
	.vidioc_dqbuf			= vb2_ioctl_dqbuf,
	.vidioc_expbuf			= vb2_ioctl_expbuf,
	.vidioc_streamon		= vb2_ioctl_streamon,
	.vidioc_streamoff		= vb2_ioctl_streamoff,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	/* VIDIOC_REMOVE_BUFS is new in 6.10. */
	.vidioc_remove_bufs		= vb2_ioctl_remove_bufs,
#endif
};

/* ---- file operations ---- */

/*
 * bug=keepowner: closing the queue owner's file does not release the queue.
 * Normally vb2_fop_release() stops streaming, frees the buffers and clears
 * the owner when the owner closes.  Here the owner's close only does what
 * v4l2_fh_release() does, so streaming, the buffers and queue->owner all
 * survive.  The file handle itself is parked instead of freed: queue->owner
 * keeps pointing at memory no later open() can get back, so every later
 * file handle is reliably "not the owner" (with kfree() a new handle could
 * reuse the address and silently inherit the queue), and nothing dangles.
 * The queue and the handle are released at module unload.
 */
static int vcap_release(struct file *file)
{
	struct vcap_dev *dev = video_drvdata(file);
	struct v4l2_fh *fh = file->private_data;

	if (vcap_bug != VCAP_BUG_KEEPOWNER)
		return vb2_fop_release(file);

	mutex_lock(&dev->lock);
	if (fh && dev->queue.owner == fh) {
		v4l2_fh_del(fh);
		v4l2_fh_exit(fh);
		/* Only the owner parks, and nobody can become owner after it. */
		WARN_ON_ONCE(dev->stale_owner);
		dev->stale_owner = fh;
		file->private_data = NULL;
	}
	mutex_unlock(&dev->lock);

	return v4l2_fh_release(file);
}

static const struct v4l2_file_operations vcap_fops = {
	.owner		= THIS_MODULE,
	.open		= v4l2_fh_open,
	.release	= vcap_release,
	.unlocked_ioctl	= video_ioctl2,
	.read		= vb2_fop_read,
	.mmap		= vb2_fop_mmap,
	.poll		= vb2_fop_poll,
};

/* ---- module ---- */

/* Last reference to the v4l2_device (and so to the video_device) is gone. */
static void vcap_v4l2_release(struct v4l2_device *v4l2_dev)
{
	struct vcap_dev *dev = container_of(v4l2_dev, struct vcap_dev, v4l2_dev);

	v4l2_device_unregister(&dev->v4l2_dev);
	mutex_destroy(&dev->lock);
	kfree(dev);
}

static int vcap_init_queue(struct vcap_dev *dev)
{
	struct vb2_queue *q = &dev->queue;

	q->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	q->io_modes = VB2_MMAP | VB2_USERPTR | VB2_DMABUF | VB2_READ;
	q->dev = &dev->pdev->dev;
	q->drv_priv = dev;
	q->buf_struct_size = sizeof(struct vcap_buffer);
	q->ops = &vcap_qops;
	q->mem_ops = &vb2_vmalloc_memops;
	q->timestamp_flags = V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
	q->lock = &dev->lock;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	/* 6.8 renamed min_buffers_needed; REQBUFS now allocates one more. */
	q->min_queued_buffers = min_queued;
#else
	q->min_buffers_needed = min_queued;
#endif
	return vb2_queue_init(q);
}

static int __init vcap_init(void)
{
	struct vcap_dev *dev;
	struct video_device *vdev;
	int ret;

	if (!bug || !*bug) {
		vcap_bug = VCAP_BUG_NONE;
	} else {
		ret = sysfs_match_string(vcap_bug_names, bug);
		if (ret < 0) {
			pr_err("unknown bug=%s\n", bug);
			return -EINVAL;
		}
		vcap_bug = ret;
	}
	if (min_queued > 8) {
		pr_err("min_queued=%u is out of range (0-8)\n", min_queued);
		return -EINVAL;
	}

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	mutex_init(&dev->lock);
	spin_lock_init(&dev->qlock);
	INIT_LIST_HEAD(&dev->active);

	/* No hardware: a bare platform device parents the nodes (bus_info). */
	dev->pdev = platform_device_register_simple(KBUILD_MODNAME,
						    PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(dev->pdev)) {
		ret = PTR_ERR(dev->pdev);
		mutex_destroy(&dev->lock);
		kfree(dev);
		return ret;
	}

	/* The device has no driver bound, so name the v4l2_device ourselves. */
	strscpy(dev->v4l2_dev.name, KBUILD_MODNAME, sizeof(dev->v4l2_dev.name));
	ret = v4l2_device_register(&dev->pdev->dev, &dev->v4l2_dev);
	if (ret) {
		platform_device_unregister(dev->pdev);
		mutex_destroy(&dev->lock);
		kfree(dev);
		return ret;
	}
	dev->v4l2_dev.release = vcap_v4l2_release;

	ret = vcap_init_queue(dev);
	if (ret)
		goto err_put;

	vdev = &dev->vdev;
	strscpy(vdev->name, KBUILD_MODNAME, sizeof(vdev->name));
	vdev->v4l2_dev = &dev->v4l2_dev;
	vdev->fops = &vcap_fops;
	vdev->ioctl_ops = &vcap_ioctl_ops;
	/* dev is freed by vcap_v4l2_release, after the video_device is gone. */
	vdev->release = video_device_release_empty;
	vdev->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING |
			    V4L2_CAP_READWRITE;
	vdev->lock = &dev->lock;
	vdev->queue = &dev->queue;
	video_set_drvdata(vdev, dev);

	ret = video_register_device(vdev, VFL_TYPE_VIDEO, -1);
	if (ret)
		goto err_put;

	vcap = dev;
	pr_info("%s: YUYV %ux%u, a frame every %u ms, min_queued=%u\n",
		video_device_node_name(vdev), VCAP_WIDTH, VCAP_HEIGHT,
		VCAP_FRAME_MS, min_queued);
	if (vcap_bug != VCAP_BUG_NONE)
		pr_warn("deliberate defect enabled: bug=%s\n",
			vcap_bug_names[vcap_bug]);
	return 0;

err_put:
	{
		struct platform_device *pdev = dev->pdev;

		/* Drops the last v4l2_device reference: frees dev. */
		v4l2_device_put(&dev->v4l2_dev);
		platform_device_unregister(pdev);
	}
	return ret;
}

static void __exit vcap_exit(void)
{
	struct vcap_dev *dev = vcap;
	struct platform_device *pdev = dev->pdev;
	struct v4l2_fh *stale_owner;

	/*
	 * Open files pin the module, so none is left.  Unregistering releases
	 * the queue under its lock: with bug=keepowner this is where streaming
	 * stops and the orphaned buffers are freed (buffers still mmapped or
	 * exported stay valid until their last user goes, as usual).
	 */
	vb2_video_unregister_device(&dev->vdev);
	stale_owner = dev->stale_owner;
	dev->stale_owner = NULL;
	kfree(stale_owner);

	/* The video_device's reference went with it; this is the last one. */
	v4l2_device_put(&dev->v4l2_dev);
	platform_device_unregister(pdev);
	vcap = NULL;
}

module_init(vcap_init);
module_exit(vcap_exit);

MODULE_DESCRIPTION("vb2 video capture driver with selectable defects for conformance tests");
MODULE_LICENSE("GPL");
