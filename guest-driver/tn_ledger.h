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
};

struct tn_ledger_event {
	u32 cmd, id, length, flags, tag, site;
	u64 va, bus;
	u8 code, irql;
	u16 ext;
};

static inline void tn_ledger_init(struct tn_ledger *lg, void __iomem *regs)
{
	lg->regs = regs;
	spin_lock_init(&lg->lock);
}

/* Writes only the registers the command reads (docs/ledger.md). */
static inline void tn_ledger_send(struct tn_ledger *lg, const struct tn_ledger_event *e)
{
	unsigned long flags;

	spin_lock_irqsave(&lg->lock, flags);
	writeq(e->va, lg->regs + TN_LG_VA);
	writeq(e->bus, lg->regs + TN_LG_BUS);
	writel(e->id, lg->regs + TN_LG_ID);
	writel(e->length, lg->regs + TN_LG_LENGTH);
	writel(e->flags, lg->regs + TN_LG_FLAGS);
	writel(e->tag, lg->regs + TN_LG_TAG);
	writel(e->site, lg->regs + TN_LG_SITE);
	writel(TN_LG_INFO_PACK(e->code, e->irql, e->ext), lg->regs + TN_LG_INFO);
	writel(e->cmd, lg->regs + TN_LG_CMD);
	spin_unlock_irqrestore(&lg->lock, flags);
}

static inline void tn_ledger_mark(struct tn_ledger *lg, u8 code, u64 value)
{
	struct tn_ledger_event e = { .cmd = TN_LG_CMD_MARK, .code = code, .va = value };

	tn_ledger_send(lg, &e);
}

#endif
