/* SPDX-License-Identifier: GPL-2.0-only */
/* Seeded bug modes: each reproduces a real DMA-after-free bug class (docs/bugs.md). */
#ifndef TN_BUGS_H
#define TN_BUGS_H

#include <linux/string.h>

enum tn_bug {
	TN_BUG_NO_QUIESCE_POLL,	/* free rings right after clearing ENABLE */
	TN_BUG_NO_DISABLE,	/* never disable DMA before freeing */
	TN_BUG_MTU_FREE_POSTED,	/* MTU change frees RX buffers still posted */
	TN_BUG_TX_EARLY_UNMAP,	/* complete/unmap a TX packet before the device is done */
	TN_BUG_RESET_NO_WAIT,	/* reset path frees while DMA is pending */
	TN_BUG_WRONG_FLAGS,	/* wrong MemoryFlags on NdisFreeMemory */
	TN_BUG_WRONG_LENGTH,	/* wrong Length on NdisFreeMemory */
	TN_BUG_POOL_FLAGS,	/* non-zero flags for tag-priority memory */
	TN_BUG_FREE_AT_DISPATCH,	/* free contiguous memory in the DPC */
	TN_BUG_DOUBLE_FREE,
	TN_BUG_LEAK_ON_HALT,
	TN_BUG_SG_AS_CONTIGUOUS,	/* one descriptor for a multi-page, non-contiguous buffer */
	TN_BUG_RX_POOL_BUFFER,	/* an RX buffer in pool memory never made DMA-visible */
	TN_BUG_COUNT
};

static const char *const tn_bug_names[TN_BUG_COUNT] = {
	[TN_BUG_NO_QUIESCE_POLL] = "no-quiesce-poll",
	[TN_BUG_NO_DISABLE] = "no-disable",
	[TN_BUG_MTU_FREE_POSTED] = "mtu-free-posted",
	[TN_BUG_TX_EARLY_UNMAP] = "tx-early-unmap",
	[TN_BUG_RESET_NO_WAIT] = "reset-no-wait",
	[TN_BUG_WRONG_FLAGS] = "wrong-flags",
	[TN_BUG_WRONG_LENGTH] = "wrong-length",
	[TN_BUG_POOL_FLAGS] = "pool-flags",
	[TN_BUG_FREE_AT_DISPATCH] = "free-at-dispatch",
	[TN_BUG_DOUBLE_FREE] = "double-free",
	[TN_BUG_LEAK_ON_HALT] = "leak-on-halt",
	[TN_BUG_SG_AS_CONTIGUOUS] = "sg-as-contiguous",
	[TN_BUG_RX_POOL_BUFFER] = "rx-pool-buffer",
};

/* "a,b,c" -> bit mask; -EINVAL names nothing we know. */
static inline int tn_parse_bugs(const char *list, unsigned long *mask)
{
	char buf[256], *p = buf, *tok;
	int i;

	*mask = 0;
	strscpy(buf, list, sizeof(buf));
	while ((tok = strsep(&p, ",")) != NULL) {
		if (!*tok)
			continue;
		for (i = 0; i < TN_BUG_COUNT; i++)
			if (!strcmp(tok, tn_bug_names[i]))
				break;
		if (i == TN_BUG_COUNT)
			return -EINVAL;
		*mask |= 1UL << i;
	}
	return 0;
}

#endif
