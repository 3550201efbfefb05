/*
 * tracenic kit: its state and the interfaces between its own files
 * (tnkit.c, tnkit-dma.c, tnkit-ledger.c).  Devices include tnkit.h only.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_NET_TNKIT_INT_H
#define HW_NET_TNKIT_INT_H

#include "sysemu/runstate.h"
#include "tnkit.h"
#include "tnkit-trace.h"
#include "tnkit-check.h"

struct TNKit {
    PCIDevice *pdev;
    const TNKitOps *ops;
    void *opaque;
    const TNKitConf *conf;
    bool stop_on_violation;
    bool bus_master;

    TNKitTraceWriter *trace;
    uint64_t dma_bytes;
    uint32_t violations;
    TNKitCheck *checker;
    unsigned callback_depth;
    int64_t callback_time_ns;   /* -1: not read yet in this callback */

    VMChangeStateEntry *vmstate_change;
    Notifier exit_notifier;

    /* Ledger staging registers and the ALLOC/MAP waiting for its extents */
    uint32_t lg_va_lo, lg_va_hi, lg_bus_lo, lg_bus_hi;
    uint32_t lg_id, lg_length, lg_flags, lg_tag, lg_site, lg_info;
    uint32_t lg_accepted, lg_rejected;
    uint32_t lg_pending_id, lg_pending_left, lg_pending_next;

    uint32_t next_ref_id;
};

static inline void tnkit_event(TNKit *k, TNKitEvent ev)
{
    k->ops->event(k->opaque, ev);
}

/* tnkit-ledger.c */
void tnkit_ledger_command(TNKit *k, uint32_t cmd);

#endif
