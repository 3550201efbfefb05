/* SPDX-License-Identifier: GPL-2.0-only */
/* Reporting memory lifecycle events to the device (include/tracenic/ledger.h). */
#ifndef TNM_LEDGER_H
#define TNM_LEDGER_H

#include <linux/io.h>
#include <linux/spinlock.h>
#include "tracenic/ledger.h"

struct tnm_ledger {
	void __iomem *regs;	/* BAR0 */
	spinlock_t lock;	/* one command's register writes at a time */
	/*
	 * What the staging registers hold: they keep their values between
	 * commands (docs/ledger.md), so a command writes only the registers it
	 * reads whose value changes, a pair of 32-bit registers in one 64-bit
	 * write.  Under TCG every write is an exit to QEMU: a packet's
	 * MAP_ONE + UNMAP takes 6 writes, where MAP + EXTENT + UNMAP with
	 * every register written took 27.
	 */
	u64 va, bus;
	u32 id, length, flags, tag, site, info;
	u8 known;		/* TN_LGR_* bits of the fields above that are valid */
	bool compact;		/* as above, and MAP_ONE; off: every register, every time */
};

struct tnm_ledger_event {
	u32 cmd, id, length, flags, tag, site;
	u64 va, bus;
	u8 code, irql;
	u16 ext;
};

static inline void tnm_ledger_init(struct tnm_ledger *lg, void __iomem *regs, bool compact)
{
	lg->regs = regs;
	lg->known = 0;
	lg->compact = compact;
	spin_lock_init(&lg->lock);
}

/* Does the command need register @bit written with @val? */
static inline bool tnm_lg_stale(const struct tnm_ledger *lg, u8 reads, u8 bit, u64 cur, u64 val)
{
	return (reads & bit) && (!(lg->known & bit) || cur != val);
}

static inline void tnm_lg_stage64(struct tnm_ledger *lg, u8 reads, u8 bit, u64 *cur, u64 val,
				 u32 reg)
{
	if (tnm_lg_stale(lg, reads, bit, *cur, val)) {
		writeq(val, lg->regs + reg);
		*cur = val;
		lg->known |= bit;
	}
}

/*
 * An 8-byte aligned pair of 32-bit registers in one 64-bit write; a half
 * the command does not read keeps the value it holds.
 */
static inline void tnm_lg_stage_pair(struct tnm_ledger *lg, u8 reads, u8 lo_bit, u32 *lo_cur,
				    u32 lo, u8 hi_bit, u32 *hi_cur, u32 hi, u32 reg)
{
	if (!tnm_lg_stale(lg, reads, lo_bit, *lo_cur, lo) &&
	    !tnm_lg_stale(lg, reads, hi_bit, *hi_cur, hi))
		return;
	if (!(reads & lo_bit) && (lg->known & lo_bit))
		lo = *lo_cur;
	if (!(reads & hi_bit) && (lg->known & hi_bit))
		hi = *hi_cur;
	writeq(lo | (u64)hi << 32, lg->regs + reg);
	*lo_cur = lo;
	*hi_cur = hi;
	lg->known |= lo_bit | hi_bit;
}

/* The protocol at its plainest: every register the command reads, then the command. */
static inline void tnm_ledger_write_all(struct tnm_ledger *lg, const struct tnm_ledger_event *e,
				       u8 reads, u32 info)
{
	if (reads & TN_LGR_VA)
		writeq(e->va, lg->regs + TN_LG_VA);
	if (reads & TN_LGR_BUS)
		writeq(e->bus, lg->regs + TN_LG_BUS);
	if (reads & TN_LGR_ID)
		writel(e->id, lg->regs + TN_LG_ID);
	if (reads & TN_LGR_LENGTH)
		writel(e->length, lg->regs + TN_LG_LENGTH);
	if (reads & TN_LGR_FLAGS)
		writel(e->flags, lg->regs + TN_LG_FLAGS);
	if (reads & TN_LGR_TAG)
		writel(e->tag, lg->regs + TN_LG_TAG);
	if (reads & TN_LGR_SITE)
		writel(e->site, lg->regs + TN_LG_SITE);
	if (reads & TN_LGR_INFO)
		writel(info, lg->regs + TN_LG_INFO);
	writel(e->cmd, lg->regs + TN_LG_CMD);
}

/* Writes the registers the command reads that changed, then the command. */
static inline void tnm_ledger_send(struct tnm_ledger *lg, const struct tnm_ledger_event *e)
{
	u32 info = TN_LG_INFO_PACK(e->code, e->irql, e->ext);
	u8 reads = tn_ledger_cmd_reads(e->cmd);
	unsigned long flags;

	spin_lock_irqsave(&lg->lock, flags);
	if (!lg->compact) {
		tnm_ledger_write_all(lg, e, reads, info);
		spin_unlock_irqrestore(&lg->lock, flags);
		return;
	}
	tnm_lg_stage64(lg, reads, TN_LGR_VA, &lg->va, e->va, TN_LG_VA);
	tnm_lg_stage64(lg, reads, TN_LGR_BUS, &lg->bus, e->bus, TN_LG_BUS);
	tnm_lg_stage_pair(lg, reads, TN_LGR_ID, &lg->id, e->id,
			 TN_LGR_LENGTH, &lg->length, e->length, TN_LG_ID);
	tnm_lg_stage_pair(lg, reads, TN_LGR_FLAGS, &lg->flags, e->flags,
			 TN_LGR_TAG, &lg->tag, e->tag, TN_LG_FLAGS);
	tnm_lg_stage_pair(lg, reads, TN_LGR_SITE, &lg->site, e->site,
			 TN_LGR_INFO, &lg->info, info, TN_LG_SITE);
	writel(e->cmd, lg->regs + TN_LG_CMD);
	spin_unlock_irqrestore(&lg->lock, flags);
}

static inline void tnm_ledger_mark(struct tnm_ledger *lg, u8 code, u64 value)
{
	struct tnm_ledger_event e = { .cmd = TN_LG_CMD_MARK, .code = code, .va = value };

	tnm_ledger_send(lg, &e);
}

#endif
