/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An NDIS memory layer with NDIS names and semantics, on Linux allocators.
 * Every allocation, free, map and unmap is reported to the tracenic device's
 * ledger before the memory is released, with the caller's Length and
 * MemoryFlags exactly as passed, the IRQL and a call-site id.
 */
#ifndef TNM_NDIS_MEM_H
#define TNM_NDIS_MEM_H

#include <linux/dma-direction.h>
#include <linux/hashtable.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

struct dentry;
#include "tnm_ledger.h"

#define NDIS_MEMORY_CONTIGUOUS	TN_NDIS_MEMORY_CONTIGUOUS
#define NDIS_MEMORY_NONCACHED	TN_NDIS_MEMORY_NONCACHED
#define NDIS_STATUS_SUCCESS	0x00000000
#define NDIS_STATUS_RESOURCES	0xc000009a

enum ex_pool_priority {
	LowPoolPriority = 0,
	NormalPoolPriority = 16,
	HighPoolPriority = 32,
};

/* One element of a scatter/gather list (SCATTER_GATHER_ELEMENT). */
struct tnm_sg_element {
	dma_addr_t addr;
	u32 length;
};

/* The memory layer of one adapter: its NdisMiniportHandle, in effect. */
struct tnm_ndis {
	struct device *dev;
	struct tnm_ledger *lg;
	spinlock_t lock;
	DECLARE_HASHTABLE(by_va, 8);	/* live allocations */
	struct xarray maps;		/* live per-packet mappings by id */
	atomic_t next_id;
	struct { void *va; u32 id; } freed[64];	/* recent frees: name a double free */
	unsigned int freed_next;
	bool strict;			/* a rule break stops the guest like a bugcheck */
	bool echo;			/* copy every ledger event to the kernel log */
	struct { u64 allocs, frees, maps, unmaps; } stats;	/* ledger events sent */
	struct list_head deferred;	/* noncached memory freed in atomic context */
	struct work_struct release_work;
	unsigned int findings;
};

void tnm_ndis_init(struct tnm_ndis *nd, struct device *dev, struct tnm_ledger *lg, bool strict,
		  bool echo);
u32 tnm_ndis_id_of(struct tnm_ndis *nd, void *va);
void tnm_ndis_flush(struct tnm_ndis *nd);
/* debugfs "ndis" under @dir: allocate and free from user space (ndis_selftest.c). */
int tnm_ndis_selftest_init(struct tnm_ndis *nd, struct dentry *dir);
/* Log "tracenic-ndis: SUMMARY ..." (counts and what is still live). */
void tnm_ndis_summary(struct tnm_ndis *nd);
/* Free what is left (Halt after a leak), reporting nothing: the leak stands. */
void tnm_ndis_reclaim_leaks(struct tnm_ndis *nd);

/* Call sites: a file number and the line, so reports point at the code. */
#define TNM_SITE() TN_SITE_ID(TNM_FILE_ID, __LINE__)

void *tnm_allocate_memory_with_tag_priority(struct tnm_ndis *nd, u32 length, u32 tag,
					   enum ex_pool_priority priority, u32 site);
u32 tnm_allocate_memory(struct tnm_ndis *nd, void **va, u32 length, u32 flags,
		       u64 highest_acceptable_address, u32 site);
void tnm_free_memory(struct tnm_ndis *nd, void *va, u32 length, u32 flags, u32 site);
void tnm_m_allocate_shared_memory(struct tnm_ndis *nd, u32 length, bool cached, void **va,
				 dma_addr_t *pa, u32 site);
void tnm_m_free_shared_memory(struct tnm_ndis *nd, u32 length, bool cached, void *va,
			     dma_addr_t pa, u32 site);
/* Per-packet DMA mapping (what NdisMAllocateNetBufferSGList gives a miniport). */
dma_addr_t tnm_map_buffer(struct tnm_ndis *nd, void *va, u32 length,
			 enum dma_data_direction dir, u32 *map_id, u32 site);
unsigned int tnm_map_buffer_sg(struct tnm_ndis *nd, void *va, u32 length,
			      enum dma_data_direction dir, u32 *map_id,
			      struct tnm_sg_element *sg, unsigned int max_sg, u32 site);
void tnm_unmap_buffer(struct tnm_ndis *nd, u32 map_id, u32 site);

#define NdisAllocateMemoryWithTagPriority(nd, len, tag, prio) \
	tnm_allocate_memory_with_tag_priority(nd, len, tag, prio, TNM_SITE())
#define NdisAllocateMemory(nd, va, len, flags, highest) \
	tnm_allocate_memory(nd, va, len, flags, highest, TNM_SITE())
#define NdisFreeMemory(nd, va, len, flags) tnm_free_memory(nd, va, len, flags, TNM_SITE())
#define NdisMAllocateSharedMemory(nd, len, cached, va, pa) \
	tnm_m_allocate_shared_memory(nd, len, cached, va, pa, TNM_SITE())
#define NdisMFreeSharedMemory(nd, len, cached, va, pa) \
	tnm_m_free_shared_memory(nd, len, cached, va, pa, TNM_SITE())
#define TnMapBuffer(nd, va, len, dir, id) tnm_map_buffer(nd, va, len, dir, id, TNM_SITE())
#define TnMapBufferSg(nd, va, len, dir, id, sg, max) \
	tnm_map_buffer_sg(nd, va, len, dir, id, sg, max, TNM_SITE())
#define TnUnmapBuffer(nd, id) tnm_unmap_buffer(nd, id, TNM_SITE())

#endif
