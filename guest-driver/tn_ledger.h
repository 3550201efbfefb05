/* SPDX-License-Identifier: GPL-2.0-only */
/* Reporting memory lifecycle events to the device (include/tracenic/ledger.h). */
#ifndef TN_LEDGER_H
#define TN_LEDGER_H

#include <linux/io.h>
#include <linux/spinlock.h>
#include "tracenic/ledger.h"

struct tn_ledger {
	void __iomem *regs;	/* BAR0 */
	spinlock_t lock;	/* one command's register writes at a time */
	/*
	 * What the staging registers hold: they keep their values between
	 * commands (docs/ledger.md), so a command writes only the registers it
	 * reads whose value changes.  A per-packet MAP + EXTENT + UNMAP takes 12
	 * MMIO writes instead of 27, which matters under TCG.
	 */
	u64 va, bus;
	u32 id, length, flags, tag, site, info;
	u8 known;		/* TN_LGR_* bits of the fields above that are valid */
};

struct tn_ledger_event {
	u32 cmd, id, length, flags, tag, site;
	u64 va, bus;
	u8 code, irql;
	u16 ext;
};

/* The registers each command reads (include/tracenic/ledger.h). */
#define TN_LGR_VA	BIT(0)
#define TN_LGR_BUS	BIT(1)
#define TN_LGR_ID	BIT(2)
#define TN_LGR_LENGTH	BIT(3)
#define TN_LGR_FLAGS	BIT(4)
#define TN_LGR_TAG	BIT(5)
#define TN_LGR_SITE	BIT(6)
#define TN_LGR_INFO	BIT(7)

static inline u8 tn_ledger_reads(u32 cmd)
{
	switch (cmd) {
	case TN_LG_CMD_ALLOC:
		return TN_LGR_ID | TN_LGR_VA | TN_LGR_LENGTH | TN_LGR_FLAGS | TN_LGR_TAG |
		       TN_LGR_SITE | TN_LGR_INFO;
	case TN_LG_CMD_EXTENT:
		return TN_LGR_ID | TN_LGR_BUS | TN_LGR_LENGTH | TN_LGR_INFO;
	case TN_LG_CMD_FREE:
		return TN_LGR_ID | TN_LGR_VA | TN_LGR_LENGTH | TN_LGR_FLAGS | TN_LGR_SITE |
		       TN_LGR_INFO;
	case TN_LG_CMD_MAP:
		return TN_LGR_ID | TN_LGR_VA | TN_LGR_LENGTH | TN_LGR_SITE | TN_LGR_INFO;
	case TN_LG_CMD_UNMAP:
		return TN_LGR_ID | TN_LGR_LENGTH | TN_LGR_SITE | TN_LGR_INFO;
	case TN_LG_CMD_MARK:
		return TN_LGR_VA | TN_LGR_INFO;
	}
	return 0xff;	/* unknown: stage everything */
}

static inline void tn_ledger_init(struct tn_ledger *lg, void __iomem *regs)
{
	lg->regs = regs;
	lg->known = 0;
	spin_lock_init(&lg->lock);
}

#define TN_LG_STAGE(lg, reads, bit, field, val, reg, wr)			\
	do {								\
		if (((reads) & (bit)) &&					\
		    (!((lg)->known & (bit)) || (lg)->field != (val))) {	\
			wr((val), (lg)->regs + (reg));				\
			(lg)->field = (val);				\
			(lg)->known |= (bit);				\
		}							\
	} while (0)

/* Writes the registers the command reads that changed, then the command. */
static inline void tn_ledger_send(struct tn_ledger *lg, const struct tn_ledger_event *e)
{
	u32 info = TN_LG_INFO_PACK(e->code, e->irql, e->ext);
	u8 reads = tn_ledger_reads(e->cmd);
	unsigned long flags;

	spin_lock_irqsave(&lg->lock, flags);
	TN_LG_STAGE(lg, reads, TN_LGR_VA, va, e->va, TN_LG_VA, writeq);
	TN_LG_STAGE(lg, reads, TN_LGR_BUS, bus, e->bus, TN_LG_BUS, writeq);
	TN_LG_STAGE(lg, reads, TN_LGR_ID, id, e->id, TN_LG_ID, writel);
	TN_LG_STAGE(lg, reads, TN_LGR_LENGTH, length, e->length, TN_LG_LENGTH, writel);
	TN_LG_STAGE(lg, reads, TN_LGR_FLAGS, flags, e->flags, TN_LG_FLAGS, writel);
	TN_LG_STAGE(lg, reads, TN_LGR_TAG, tag, e->tag, TN_LG_TAG, writel);
	TN_LG_STAGE(lg, reads, TN_LGR_SITE, site, e->site, TN_LG_SITE, writel);
	TN_LG_STAGE(lg, reads, TN_LGR_INFO, info, info, TN_LG_INFO, writel);
	writel(e->cmd, lg->regs + TN_LG_CMD);
	spin_unlock_irqrestore(&lg->lock, flags);
}

static inline void tn_ledger_mark(struct tn_ledger *lg, u8 code, u64 value)
{
	struct tn_ledger_event e = { .cmd = TN_LG_CMD_MARK, .code = code, .va = value };

	tn_ledger_send(lg, &e);
}

#endif
