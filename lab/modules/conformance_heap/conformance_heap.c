// SPDX-License-Identifier: GPL-2.0
/*
 * conformance_heap - a minimal dma-buf exporter speaking the dma-heap ABI
 *
 * Registers /dev/conformance_heap, a misc device that answers
 * DMA_HEAP_IOCTL_ALLOC exactly as drivers/dma-buf/dma-heap.c and
 * heaps/system_heap.c do in Linux 6.12.  It exists because an out-of-tree
 * module cannot call dma_heap_add() (not exported in 6.12), and because a
 * conformance suite needs an exporter it can break on purpose: the "bug"
 * module parameter selects deliberate defects (comma-separated).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nospec.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/pfn_t.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <uapi/linux/dma-heap.h>

#define CH_NAME "conformance_heap"

enum ch_bug {
	CH_BUG_NONE,
	CH_BUG_NOZERO,
	CH_BUG_NOCLOEXEC,
	CH_BUG_MMAPOFFSET,
	CH_BUG_LEAK,
	CH_BUG_CPULEAK,
	CH_BUG_COPYOUTLEAK,
	CH_BUG_NOWRITESYNC,
	CH_BUG_FDLEAK,
	CH_BUG_MREMAPGROW,
};

static const char * const ch_bug_names[] = {
	[CH_BUG_NONE]		= "none",
	[CH_BUG_NOZERO]		= "nozero",
	[CH_BUG_NOCLOEXEC]	= "nocloexec",
	[CH_BUG_MMAPOFFSET]	= "mmapoffset",
	[CH_BUG_LEAK]		= "leak",
	[CH_BUG_CPULEAK]	= "cpuleak",
	[CH_BUG_COPYOUTLEAK]	= "copyoutleak",
	[CH_BUG_NOWRITESYNC]	= "nowritesync",
	[CH_BUG_FDLEAK]		= "fdleak",
	[CH_BUG_MREMAPGROW]	= "mremapgrow",
};

static char *bug = "";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug,
		 "deliberate defects, comma-separated: \"\" or none (correct), nozero, nocloexec, mmapoffset, leak, cpuleak, copyoutleak, nowritesync, fdleak, mremapgrow");

/* Parsed once at load time; the parameter is read-only afterwards. */
static unsigned long ch_bugs;	/* bit n set: defect n of enum ch_bug */

static bool ch_has(enum ch_bug b)
{
	return ch_bugs & BIT(b);
}

struct ch_buffer {
	struct mutex lock;		/* guards attachments, vmap_cnt, vaddr */
	struct list_head attachments;
	size_t size;
	unsigned int npages;
	struct page **pages;
	int vmap_cnt;
	void *vaddr;
	struct ch_cpu_access *cpu;	/* made at the first CPU access */
};

/*
 * What CPU access the buffer has seen, kept from its first
 * DMA_BUF_IOCTL_SYNC START to its release (as udmabuf keeps the sg table its
 * first begin_cpu_access builds).
 */
struct ch_cpu_access {
	unsigned int begun;
	enum dma_data_direction last_dir;
};

struct ch_attachment {
	struct device *dev;
	struct sg_table table;	/* per attachment: DMA addresses are per device */
	struct list_head list;
	bool mapped;
};

static int ch_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct ch_buffer *buf = dmabuf->priv;
	struct ch_attachment *a;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;

	ret = sg_alloc_table_from_pages(&a->table, buf->pages, buf->npages, 0,
					buf->size, GFP_KERNEL);
	if (ret) {
		kfree(a);
		return ret;
	}

	a->dev = attach->dev;
	INIT_LIST_HEAD(&a->list);
	attach->priv = a;

	mutex_lock(&buf->lock);
	list_add(&a->list, &buf->attachments);
	mutex_unlock(&buf->lock);

	return 0;
}

static void ch_detach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	struct ch_buffer *buf = dmabuf->priv;
	struct ch_attachment *a = attach->priv;

	mutex_lock(&buf->lock);
	list_del(&a->list);
	mutex_unlock(&buf->lock);

	sg_free_table(&a->table);
	kfree(a);
}

static struct sg_table *ch_map_dma_buf(struct dma_buf_attachment *attach,
				       enum dma_data_direction dir)
{
	struct ch_buffer *buf = attach->dmabuf->priv;
	struct ch_attachment *a = attach->priv;
	int ret;

	ret = dma_map_sgtable(attach->dev, &a->table, dir, 0);
	if (ret)
		return ERR_PTR(ret);

	/* Under the lock so cpu-access syncs see a consistent flag. */
	mutex_lock(&buf->lock);
	a->mapped = true;
	mutex_unlock(&buf->lock);

	return &a->table;
}

static void ch_unmap_dma_buf(struct dma_buf_attachment *attach,
			     struct sg_table *table,
			     enum dma_data_direction dir)
{
	struct ch_buffer *buf = attach->dmabuf->priv;
	struct ch_attachment *a = attach->priv;

	mutex_lock(&buf->lock);
	a->mapped = false;
	mutex_unlock(&buf->lock);

	dma_unmap_sgtable(attach->dev, table, dir, 0);
}

static int ch_begin_cpu_access(struct dma_buf *dmabuf,
			       enum dma_data_direction dir)
{
	struct ch_buffer *buf = dmabuf->priv;
	struct ch_attachment *a;

	/*
	 * bug=nowritesync: refuse CPU access for writing alone
	 * (DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE, DMA_TO_DEVICE), as an
	 * exporter that only ever thought of READ and RW would.
	 */
	if (ch_has(CH_BUG_NOWRITESYNC) && dir == DMA_TO_DEVICE)
		return -EINVAL;

	mutex_lock(&buf->lock);

	if (!buf->cpu) {
		buf->cpu = kzalloc(sizeof(*buf->cpu), GFP_KERNEL);
		if (!buf->cpu) {
			mutex_unlock(&buf->lock);
			return -ENOMEM;
		}
	}
	buf->cpu->begun++;
	buf->cpu->last_dir = dir;

	/* Needed on aliasing-cache architectures; a no-op on x86. */
	if (buf->vmap_cnt)
		invalidate_kernel_vmap_range(buf->vaddr, buf->size);

	list_for_each_entry(a, &buf->attachments, list) {
		if (a->mapped)
			dma_sync_sgtable_for_cpu(a->dev, &a->table, dir);
	}

	mutex_unlock(&buf->lock);
	return 0;
}

static int ch_end_cpu_access(struct dma_buf *dmabuf,
			     enum dma_data_direction dir)
{
	struct ch_buffer *buf = dmabuf->priv;
	struct ch_attachment *a;

	mutex_lock(&buf->lock);

	if (buf->vmap_cnt)
		flush_kernel_vmap_range(buf->vaddr, buf->size);

	list_for_each_entry(a, &buf->attachments, list) {
		if (a->mapped)
			dma_sync_sgtable_for_device(a->dev, &a->table, dir);
	}

	mutex_unlock(&buf->lock);
	return 0;
}

/*
 * bug=mremapgrow: the mapping is filled by faults, with nothing that keeps
 * mremap from growing it (VM_MIXEDMAP, not VM_DONTEXPAND or VM_PFNMAP), and the
 * fault handler wraps a page offset past the buffer back to its start, so the
 * bytes past the buffer's end of a grown mapping can be read, as through
 * udmabuf's fault handler before the fix for CVE-2023-2008 (which read past
 * its page array).  The wrap keeps it memory-safe: it serves the buffer's own
 * pages.  The pages are inserted as special PTEs (vmf_insert_mixed), which
 * take no reference and no rmap: the mapping holds the dma-buf's file, and
 * with it the buffer, for as long as it exists.
 */
static vm_fault_t ch_vm_fault(struct vm_fault *vmf)
{
	struct ch_buffer *buf = vmf->vma->vm_private_data;
	struct page *page = buf->pages[vmf->pgoff % buf->npages];

	return vmf_insert_mixed(vmf->vma, vmf->address,
				__pfn_to_pfn_t(page_to_pfn(page), 0));
}

static const struct vm_operations_struct ch_vm_ops = {
	.fault = ch_vm_fault,
};

static int ch_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct ch_buffer *buf = dmabuf->priv;
	unsigned long addr;
	pgoff_t pgoff = vma->vm_pgoff;
	int ret;

	if (ch_has(CH_BUG_MREMAPGROW)) {
		vm_flags_set(vma, VM_MIXEDMAP);
		vma->vm_ops = &ch_vm_ops;
		vma->vm_private_data = buf;
		return 0;
	}

	/* bug=mmapoffset: ignore the requested offset, always start at page 0. */
	if (ch_has(CH_BUG_MMAPOFFSET))
		pgoff = 0;

	for (addr = vma->vm_start; addr < vma->vm_end; addr += PAGE_SIZE) {
		/* The dma-buf core already rejects this; never trust it blindly. */
		if (pgoff >= buf->npages)
			return -EINVAL;

		ret = remap_pfn_range(vma, addr, page_to_pfn(buf->pages[pgoff]),
				      PAGE_SIZE, vma->vm_page_prot);
		if (ret)
			return ret;
		pgoff++;
	}

	return 0;
}

static int ch_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct ch_buffer *buf = dmabuf->priv;
	int ret = 0;

	mutex_lock(&buf->lock);
	if (!buf->vmap_cnt) {
		buf->vaddr = vmap(buf->pages, buf->npages, VM_MAP, PAGE_KERNEL);
		if (!buf->vaddr) {
			ret = -ENOMEM;
			goto out;
		}
	}
	buf->vmap_cnt++;
	iosys_map_set_vaddr(map, buf->vaddr);
out:
	mutex_unlock(&buf->lock);
	return ret;
}

static void ch_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct ch_buffer *buf = dmabuf->priv;

	mutex_lock(&buf->lock);
	if (!--buf->vmap_cnt) {
		vunmap(buf->vaddr);
		buf->vaddr = NULL;
	}
	mutex_unlock(&buf->lock);
	iosys_map_clear(map);
}

static void ch_free_pages(struct ch_buffer *buf, unsigned int n)
{
	while (n--)
		__free_page(buf->pages[n]);
	kvfree(buf->pages);
	mutex_destroy(&buf->lock);
	kfree(buf);
}

static void ch_release(struct dma_buf *dmabuf)
{
	struct ch_buffer *buf = dmabuf->priv;

	/*
	 * bug=cpuleak: forget the CPU-access record.  The buffer is released
	 * (bufinfo is back to its count) but the record stays allocated for
	 * good: only the kernel's own allocation tracking (slub_debug=U) shows
	 * it (DMABUF-LIFE-4).
	 */
	if (!ch_has(CH_BUG_CPULEAK))
		kfree(buf->cpu);
	ch_free_pages(buf, buf->npages);
}

static const struct dma_buf_ops ch_buf_ops = {
	.attach		= ch_attach,
	.detach		= ch_detach,
	.map_dma_buf	= ch_map_dma_buf,
	.unmap_dma_buf	= ch_unmap_dma_buf,
	.begin_cpu_access = ch_begin_cpu_access,
	.end_cpu_access	= ch_end_cpu_access,
	.mmap		= ch_mmap,
	.vmap		= ch_vmap,
	.vunmap		= ch_vunmap,
	.release	= ch_release,
};

static struct dma_buf *ch_allocate(size_t len, u32 fd_flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	/* No OOM killer and no allocation splat: a huge request is just ENOMEM. */
	gfp_t gfp = GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
	size_t npages = len >> PAGE_SHIFT;
	struct ch_buffer *buf;
	struct dma_buf *dmabuf;
	unsigned int i;
	int ret = -ENOMEM;

	/* sg tables and vmap count pages in unsigned int. */
	if (npages > UINT_MAX)
		return ERR_PTR(-ENOMEM);

	/* bug=nozero: hand out pages as they come, made visibly dirty below. */
	if (!ch_has(CH_BUG_NOZERO))
		gfp |= __GFP_ZERO;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	mutex_init(&buf->lock);
	INIT_LIST_HEAD(&buf->attachments);
	buf->size = len;
	buf->npages = npages;

	buf->pages = kvmalloc_array(npages, sizeof(*buf->pages),
				    GFP_KERNEL | __GFP_NOWARN);
	if (!buf->pages) {
		mutex_destroy(&buf->lock);
		kfree(buf);
		return ERR_PTR(-ENOMEM);
	}

	for (i = 0; i < npages; i++) {
		/* Same as the system heap: a killed task stops allocating. */
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err;
		}
		buf->pages[i] = alloc_page(gfp);
		if (!buf->pages[i])
			goto err;
		/* A fixed pattern makes stale contents unmistakable in a test. */
		if (ch_has(CH_BUG_NOZERO))
			memset_page(buf->pages[i], 0, 0xa5, PAGE_SIZE);
		cond_resched();
	}

	exp_info.exp_name = CH_NAME;
	exp_info.ops = &ch_buf_ops;
	exp_info.size = len;
	exp_info.flags = fd_flags;
	exp_info.priv = buf;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err;
	}

	/*
	 * bug=leak: an extra file reference nobody drops.  Safe: the buffer
	 * (and, via dma_buf_export's module ref, this module) just stay
	 * pinned until reboot, listed in debugfs dma_buf/bufinfo.
	 */
	if (ch_has(CH_BUG_LEAK))
		get_dma_buf(dmabuf);

	return dmabuf;

err:
	ch_free_pages(buf, i);
	return ERR_PTR(ret);
}

/* Mirrors dma_heap_ioctl_allocate() in drivers/dma-buf/dma-heap.c. */
static struct dma_buf *ch_ioctl_allocate(void *data)
{
	struct dma_heap_allocation_data *heap_allocation = data;
	struct dma_buf *dmabuf;
	u32 fd_flags;
	size_t len;
	int fd;

	if (heap_allocation->fd)
		return ERR_PTR(-EINVAL);

	if (heap_allocation->fd_flags & ~DMA_HEAP_VALID_FD_FLAGS)
		return ERR_PTR(-EINVAL);

	if (heap_allocation->heap_flags & ~DMA_HEAP_VALID_HEAP_FLAGS)
		return ERR_PTR(-EINVAL);

	len = PAGE_ALIGN(heap_allocation->len);
	if (!len)
		return ERR_PTR(-EINVAL);

	dmabuf = ch_allocate(len, heap_allocation->fd_flags);
	if (IS_ERR(dmabuf))
		return dmabuf;

	fd_flags = heap_allocation->fd_flags;
	/* bug=nocloexec: drop the caller's O_CLOEXEC on the new descriptor. */
	if (ch_has(CH_BUG_NOCLOEXEC))
		fd_flags &= ~O_CLOEXEC;

	fd = get_unused_fd_flags(fd_flags);
	if (fd < 0) {
		/*
		 * bug=fdleak: forget the buffer when no fd can be had (the fd
		 * table full: EMFILE), as udmabuf_create did before 6.12.7
		 * (CVE-2024-56712): it stays alive with no fd until reboot.
		 */
		if (!ch_has(CH_BUG_FDLEAK))
			dma_buf_put(dmabuf);
		return ERR_PTR(fd);
	}

	heap_allocation->fd = fd;

	return dmabuf;
}

static unsigned int ch_ioctl_cmds[] = {
	DMA_HEAP_IOCTL_ALLOC,
};

/*
 * Mirrors dma_heap_ioctl() in drivers/dma-buf/dma-heap.c, quirks included:
 * only _IOC_NR is looked at, an nr past the table is EINVAL (not ENOTTY),
 * and the argument may be shorter (zero-filled) or longer (tail ignored,
 * copied back) than the kernel's struct.
 */
static long ch_ioctl(struct file *file, unsigned int ucmd, unsigned long arg)
{
	char stack_kdata[128];
	char *kdata = stack_kdata;
	unsigned int kcmd;
	unsigned int in_size, out_size, drv_size, ksize;
	int nr = _IOC_NR(ucmd);
	int ret = 0;
	int fd;
	struct dma_buf *dmabuf;

	if (nr >= ARRAY_SIZE(ch_ioctl_cmds))
		return -EINVAL;

	nr = array_index_nospec(nr, ARRAY_SIZE(ch_ioctl_cmds));
	kcmd = ch_ioctl_cmds[nr];

	/* The delta between the user's and the kernel's argument size. */
	drv_size = _IOC_SIZE(kcmd);
	out_size = _IOC_SIZE(ucmd);
	in_size = out_size;
	if ((ucmd & kcmd & IOC_IN) == 0)
		in_size = 0;
	if ((ucmd & kcmd & IOC_OUT) == 0)
		out_size = 0;
	ksize = max(max(in_size, out_size), drv_size);

	if (ksize > sizeof(stack_kdata)) {
		kdata = kmalloc(ksize, GFP_KERNEL);
		if (!kdata)
			return -ENOMEM;
	}

	if (copy_from_user(kdata, (void __user *)arg, in_size) != 0) {
		ret = -EFAULT;
		goto err;
	}

	/* Fields an older, shorter struct does not have read as zero. */
	if (ksize > in_size)
		memset(kdata + in_size, 0, ksize - in_size);

	switch (kcmd) {
	case DMA_HEAP_IOCTL_ALLOC:
		dmabuf = ch_ioctl_allocate(kdata);
		if (IS_ERR(dmabuf)) {
			ret = PTR_ERR(dmabuf);
			break;
		}

		fd = ((struct dma_heap_allocation_data *)kdata)->fd;
		/*
		 * bug=copyoutleak: publish the fd before the copy-out, as
		 * dma_heap_ioctl did before 6.12.112: when the copy faults
		 * the caller gets EFAULT and never learns the fd, which stays
		 * open holding the buffer until the process exits.
		 */
		if (ch_has(CH_BUG_COPYOUTLEAK)) {
			fd_install(fd, dmabuf->file);
			if (copy_to_user((void __user *)arg, kdata, out_size) != 0)
				ret = -EFAULT;
			break;
		}
		if (copy_to_user((void __user *)arg, kdata, out_size) != 0) {
			put_unused_fd(fd);
			dma_buf_put(dmabuf);
			ret = -EFAULT;
		} else {
			fd_install(fd, dmabuf->file);
		}
		break;
	default:
		ret = -ENOTTY;
		goto err;
	}

err:
	if (kdata != stack_kdata)
		kfree(kdata);
	return ret;
}

static int ch_open(struct inode *inode, struct file *file)
{
	/* The dma-heap core's devices are not seekable either. */
	return nonseekable_open(inode, file);
}

static const struct file_operations ch_fops = {
	.owner		= THIS_MODULE,
	.open		= ch_open,
	.unlocked_ioctl	= ch_ioctl,
#ifdef CONFIG_COMPAT
	/* The argument has the same layout for 32-bit callers. */
	.compat_ioctl	= ch_ioctl,
#endif
};

static struct miscdevice ch_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= CH_NAME,
	.fops	= &ch_fops,
};

static int __init ch_init(void)
{
	char *list, *rest, *name;
	int ret;

	/* bug=a,b: several defects at once (one lab boot covers them) */
	if (bug && *bug) {
		rest = list = kstrdup(bug, GFP_KERNEL);
		if (!list)
			return -ENOMEM;
		while ((name = strsep(&rest, ","))) {
			ret = sysfs_match_string(ch_bug_names, name);
			if (ret < 0) {
				pr_err("unknown bug=%s\n", name);
				kfree(list);
				return -EINVAL;
			}
			if (ret != CH_BUG_NONE)
				ch_bugs |= BIT(ret);
		}
		kfree(list);
	}

	ret = misc_register(&ch_misc);
	if (ret)
		return ret;

	if (ch_bugs)
		pr_warn("deliberate defect enabled: bug=%s\n", bug);
	return 0;
}

static void __exit ch_exit(void)
{
	/* Live buffers hold a module reference, so none can remain here. */
	misc_deregister(&ch_misc);
}

module_init(ch_init);
module_exit(ch_exit);

MODULE_DESCRIPTION("dma-heap ABI exporter with selectable defects for conformance tests");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
