/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Seeded bug modes of Linux's e1000e driver, built out of tree from Debian's
 * linux-source-6.1 with bugs.patch (docs/bugs.md, "Seeded bugs in Linux's
 * e1000e").  Load with bugs=<name>[,<name>...]; without it the module is
 * Debian's e1000e, unchanged in what it does.
 */
#ifndef TN_E1000E_BUGS_H
#define TN_E1000E_BUGS_H

#include <linux/bits.h>
#include "tn_bug_list.h"

enum tn_e1000e_bug {
	TN_E1000E_BUG_RINGS_BEFORE_DISABLE,	/* close frees the rings, RX and TX still enabled */
	TN_E1000E_BUG_RX_FREE_POSTED,	/* down unmaps and frees RX buffers still posted */
	TN_E1000E_BUG_TX_EARLY_UNMAP,	/* a frame unmapped before the tail write posts it */
	TN_E1000E_BUG_DOUBLE_UNMAP,	/* every TX buffer unmapped twice */
	TN_E1000E_BUG_UNMAP_WRONG_SIZE,	/* an RX buffer unmapped with the received length */
	TN_E1000E_BUG_RX_MAP_TO_DEVICE,	/* RX buffers mapped DMA_TO_DEVICE */
	TN_E1000E_BUG_PAGE_FREE_MAPPED,	/* packet-split pages put before their unmap */
	TN_E1000E_BUG_COUNT
};

static const char *const tn_e1000e_bug_names[TN_E1000E_BUG_COUNT] = {
	[TN_E1000E_BUG_RINGS_BEFORE_DISABLE] = "rings-before-disable",
	[TN_E1000E_BUG_RX_FREE_POSTED] = "rx-free-posted",
	[TN_E1000E_BUG_TX_EARLY_UNMAP] = "tx-early-unmap",
	[TN_E1000E_BUG_DOUBLE_UNMAP] = "double-unmap",
	[TN_E1000E_BUG_UNMAP_WRONG_SIZE] = "unmap-wrong-size",
	[TN_E1000E_BUG_RX_MAP_TO_DEVICE] = "rx-map-to-device",
	[TN_E1000E_BUG_PAGE_FREE_MAPPED] = "page-free-mapped",
};

extern unsigned long tn_e1000e_bugs;

#define tn_bug(name)	(tn_e1000e_bugs & BIT(TN_E1000E_BUG_##name))

/* The direction RX buffers are mapped and unmapped with. */
#define TN_E1000E_RX_DIR	(tn_bug(RX_MAP_TO_DEVICE) ? DMA_TO_DEVICE : DMA_FROM_DEVICE)

#endif
