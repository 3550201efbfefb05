/* SPDX-License-Identifier: GPL-2.0-only */
/* Seeded bug modes: each reproduces a real DMA-after-free bug class (docs/bugs.md). */
#ifndef TNM_BUGS_H
#define TNM_BUGS_H

#include "tn_bug_list.h"

enum tnm_bug {
	TNM_BUG_NO_QUIESCE_POLL,	/* free rings right after clearing ENABLE */
	TNM_BUG_NO_DISABLE,	/* never disable DMA before freeing */
	TNM_BUG_MTU_FREE_POSTED,	/* MTU change frees RX buffers still posted */
	TNM_BUG_TX_EARLY_UNMAP,	/* complete/unmap a TX packet before the device is done */
	TNM_BUG_RESET_NO_WAIT,	/* reset path frees while DMA is pending */
	TNM_BUG_WRONG_FLAGS,	/* wrong MemoryFlags on NdisFreeMemory */
	TNM_BUG_WRONG_LENGTH,	/* wrong Length on NdisFreeMemory */
	TNM_BUG_POOL_FLAGS,	/* non-zero flags for tag-priority memory */
	TNM_BUG_FREE_AT_DISPATCH,	/* free contiguous memory in the DPC */
	TNM_BUG_DOUBLE_FREE,
	TNM_BUG_LEAK_ON_HALT,
	TNM_BUG_SG_AS_CONTIGUOUS,	/* one descriptor for a multi-page, non-contiguous buffer */
	TNM_BUG_RX_POOL_BUFFER,	/* an RX buffer in pool memory never made DMA-visible */
	TNM_BUG_RX_MAP_TO_DEVICE,	/* RX buffers mapped DMA_TO_DEVICE */
	TNM_BUG_RX_POST_TWICE,	/* RX slot 1 posted with slot 0's buffer */
	TNM_BUG_RX_REALLOC_POSTED,	/* MTU change replaces posted RX buffers while RX runs */
	/* Timing-only: clean unless the device is late (a sweep finds them). */
	TNM_BUG_TX_RECLAIM_PAST_DONE,	/* one DONE taken for every frame posted before it */
	TNM_BUG_QUIESCE_CHECK_ONCE,	/* teardown reads QUIESCED once, when TX is idle */
	TNM_BUG_COUNT
};

static const char *const tnm_bug_names[TNM_BUG_COUNT] = {
	[TNM_BUG_NO_QUIESCE_POLL] = "no-quiesce-poll",
	[TNM_BUG_NO_DISABLE] = "no-disable",
	[TNM_BUG_MTU_FREE_POSTED] = "mtu-free-posted",
	[TNM_BUG_TX_EARLY_UNMAP] = "tx-early-unmap",
	[TNM_BUG_RESET_NO_WAIT] = "reset-no-wait",
	[TNM_BUG_WRONG_FLAGS] = "wrong-flags",
	[TNM_BUG_WRONG_LENGTH] = "wrong-length",
	[TNM_BUG_POOL_FLAGS] = "pool-flags",
	[TNM_BUG_FREE_AT_DISPATCH] = "free-at-dispatch",
	[TNM_BUG_DOUBLE_FREE] = "double-free",
	[TNM_BUG_LEAK_ON_HALT] = "leak-on-halt",
	[TNM_BUG_SG_AS_CONTIGUOUS] = "sg-as-contiguous",
	[TNM_BUG_RX_POOL_BUFFER] = "rx-pool-buffer",
	[TNM_BUG_RX_MAP_TO_DEVICE] = "rx-map-to-device",
	[TNM_BUG_RX_POST_TWICE] = "rx-post-twice",
	[TNM_BUG_RX_REALLOC_POSTED] = "rx-realloc-posted",
	[TNM_BUG_TX_RECLAIM_PAST_DONE] = "tx-reclaim-past-done",
	[TNM_BUG_QUIESCE_CHECK_ONCE] = "quiesce-check-once",
};

/* "a,b,c" -> bit mask; -EINVAL names nothing we know. */
static inline int tnm_parse_bugs(const char *list, unsigned long *mask)
{
	return tn_parse_bug_list(list, tnm_bug_names, TNM_BUG_COUNT, mask);
}

#endif
