/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The NDIS IRQL a Windows driver would run at, derived from the Linux
 * context: a hard interrupt handler runs at DIRQL; softirq/NAPI (the DPC),
 * bottom halves disabled, a spinlock held or interrupts off correspond to
 * DISPATCH_LEVEL; plain process context is PASSIVE_LEVEL.  NDIS-style raises
 * (NdisAcquireSpinLock = spin_lock_bh) show up through the same tests.
 */
#ifndef TNM_IRQL_H
#define TNM_IRQL_H

#include <linux/preempt.h>
#include <linux/irqflags.h>
#include "tracenic/ledger.h"

static inline u8 tnm_current_irql(void)
{
	if (in_hardirq() || in_nmi())
		return TN_IRQL_DIRQL;
	if (in_softirq() || irqs_disabled() || !preemptible())
		return TN_IRQL_DISPATCH;
	return TN_IRQL_PASSIVE;
}

#endif
