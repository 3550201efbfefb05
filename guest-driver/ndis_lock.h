/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NDIS spin locks on Linux spin locks.  Holding one raises the IRQL model
 * (tnm_irql.h) to DISPATCH_LEVEL the way NDIS does: NdisAcquireSpinLock
 * disables bottom halves, so tnm_current_irql() sees softirq context; the
 * Dpr variants are for code already at DISPATCH_LEVEL (the DPC).
 */
#ifndef TNM_NDIS_LOCK_H
#define TNM_NDIS_LOCK_H

#include <linux/spinlock.h>

struct ndis_spin_lock {
	spinlock_t lock;
};

/* The NDIS type name, for code that reads like a miniport. */
#define NDIS_SPIN_LOCK struct ndis_spin_lock

#define NdisAllocateSpinLock(l)		spin_lock_init(&(l)->lock)
#define NdisFreeSpinLock(l)		do { } while (0)
#define NdisAcquireSpinLock(l)		spin_lock_bh(&(l)->lock)
#define NdisReleaseSpinLock(l)		spin_unlock_bh(&(l)->lock)
#define NdisDprAcquireSpinLock(l)	spin_lock(&(l)->lock)
#define NdisDprReleaseSpinLock(l)	spin_unlock(&(l)->lock)

#endif
