// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs "ndis" (module parameter selftest=1): drive the NDIS memory layer
 * from user space, so a test can allocate with every API and flag
 * combination, free with right and wrong arguments at a chosen IRQL, and
 * look at what the guest did with the memory (docs/guest-protocol.md).
 *
 * Write one command:
 *   pool LEN                      NdisAllocateMemoryWithTagPriority
 *   memory FLAGS LEN              NdisAllocateMemory (FLAGS: CONTIGUOUS 1, NONCACHED 2)
 *   shared LEN CACHED             NdisMAllocateSharedMemory
 *   free SLOT LEN FLAGS [IRQL]    NdisFreeMemory
 *   freeshared SLOT LEN CACHED [IRQL]   NdisMFreeSharedMemory
 * IRQL is passive (default) or dispatch (under NdisAcquireSpinLock).
 * Read the result: "ok slot=S id=N va=0x.. phys=0x.. len=N" or "error <why>".
 */
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include "ndis_lock.h"
#include "ndis_mem.h"

#define TNM_FILE_ID 3
#define TNM_SELFTEST_TAG 0x74536e54	/* 'TnSt' */
#define TNM_SELFTEST_SLOTS 16

struct tnm_selftest {
	struct tnm_ndis *nd;
	struct mutex lock;
	NDIS_SPIN_LOCK dispatch;	/* holding it is DISPATCH_LEVEL */
	struct { void *va; dma_addr_t pa; } slot[TNM_SELFTEST_SLOTS];
	char result[160];
};

static phys_addr_t tnm_phys_of(void *va)
{
	return is_vmalloc_addr(va) ? page_to_phys(vmalloc_to_page(va)) + offset_in_page(va) :
				     virt_to_phys(va);
}

static int tnm_free_slot(struct tnm_selftest *st)
{
	int i;

	for (i = 0; i < TNM_SELFTEST_SLOTS; i++)
		if (!st->slot[i].va)
			return i;
	return -1;
}

static void tnm_selftest_alloc(struct tnm_selftest *st, const char *api, u32 a, u32 b)
{
	int s = tnm_free_slot(st);
	dma_addr_t pa = 0;
	void *va = NULL;
	u32 len = b;

	if (s < 0) {
		snprintf(st->result, sizeof(st->result), "error all %d slots are in use",
			 TNM_SELFTEST_SLOTS);
		return;
	}
	if (!strcmp(api, "pool")) {
		len = a;
		va = NdisAllocateMemoryWithTagPriority(st->nd, len, TNM_SELFTEST_TAG,
						       NormalPoolPriority);
	} else if (!strcmp(api, "memory")) {
		NdisAllocateMemory(st->nd, &va, len, a, ~0ull);
	} else {
		len = a;
		NdisMAllocateSharedMemory(st->nd, len, b, &va, &pa);
	}
	if (!va) {
		snprintf(st->result, sizeof(st->result), "error %s allocation of %u bytes failed",
			 api, len);
		return;
	}
	st->slot[s].va = va;
	st->slot[s].pa = pa;
	snprintf(st->result, sizeof(st->result), "ok slot=%d id=%u va=0x%lx phys=0x%llx len=%u",
		 s, tnm_ndis_id_of(st->nd, va), (unsigned long)va,
		 (unsigned long long)tnm_phys_of(va), len);
}

static void tnm_selftest_free(struct tnm_selftest *st, bool shared, u32 s, u32 len, u32 arg,
			     bool dispatch)
{
	void *va;

	if (s >= TNM_SELFTEST_SLOTS || !st->slot[s].va) {
		snprintf(st->result, sizeof(st->result), "error slot %u holds nothing", s);
		return;
	}
	va = st->slot[s].va;
	if (dispatch)
		NdisAcquireSpinLock(&st->dispatch);
	if (shared)
		NdisMFreeSharedMemory(st->nd, len, arg, va, st->slot[s].pa);
	else
		NdisFreeMemory(st->nd, va, len, arg);
	if (dispatch)
		NdisReleaseSpinLock(&st->dispatch);
	/* A release deferred from DISPATCH_LEVEL has finished when we answer. */
	tnm_ndis_flush(st->nd);
	st->slot[s].va = NULL;
	snprintf(st->result, sizeof(st->result), "ok slot=%u freed", s);
}

static ssize_t tnm_selftest_write(struct file *f, const char __user *ubuf, size_t len,
				 loff_t *pos)
{
	struct tnm_selftest *st = f->private_data;
	char buf[96] = "", cmd[16] = "", irql[16] = "passive";
	u32 a = 0, b = 0, c = 0;
	int n;

	if (len >= sizeof(buf) || copy_from_user(buf, ubuf, len))
		return -EINVAL;
	n = sscanf(buf, "%15s %u %u %u %15s", cmd, &a, &b, &c, irql);
	mutex_lock(&st->lock);
	if ((!strcmp(cmd, "pool") && n >= 2) || (!strcmp(cmd, "memory") && n >= 3) ||
	    (!strcmp(cmd, "shared") && n >= 3))
		tnm_selftest_alloc(st, cmd, a, b);
	else if ((!strcmp(cmd, "free") || !strcmp(cmd, "freeshared")) && n >= 4 &&
		 (!strcmp(irql, "passive") || !strcmp(irql, "dispatch")))
		tnm_selftest_free(st, cmd[4] == 's', a, b, c, !strcmp(irql, "dispatch"));
	else
		snprintf(st->result, sizeof(st->result), "error cannot parse '%.40s'", buf);
	mutex_unlock(&st->lock);
	return len;
}

static ssize_t tnm_selftest_read(struct file *f, char __user *ubuf, size_t len, loff_t *pos)
{
	struct tnm_selftest *st = f->private_data;
	char line[sizeof(st->result) + 1];
	ssize_t ret;

	mutex_lock(&st->lock);
	ret = scnprintf(line, sizeof(line), "%s\n", st->result);
	mutex_unlock(&st->lock);
	return simple_read_from_buffer(ubuf, len, pos, line, ret);
}

static const struct file_operations tnm_selftest_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = tnm_selftest_read,
	.write = tnm_selftest_write,
};

/* Lives as long as @dir; memory still held in slots at Halt shows up as a leak. */
int tnm_ndis_selftest_init(struct tnm_ndis *nd, struct dentry *dir)
{
	struct tnm_selftest *st = devm_kzalloc(nd->dev, sizeof(*st), GFP_KERNEL);

	if (!st)
		return -ENOMEM;
	st->nd = nd;
	mutex_init(&st->lock);
	NdisAllocateSpinLock(&st->dispatch);
	strscpy(st->result, "error no command yet", sizeof(st->result));
	debugfs_create_file("ndis", 0600, dir, st, &tnm_selftest_fops);
	return 0;
}
