/*
 * tracenic kit: its state and the interfaces between its own files
 * (tnkit.c, tnkit-hub.c, tnkit-dma.c, tnkit-ledger.c).  Devices include
 * tnkit.h only.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_NET_TNKIT_INT_H
#define HW_NET_TNKIT_INT_H

#include "sysemu/runstate.h"
#include "tnkit.h"
#include "tnkit-trace.h"
#include "tnkit-check.h"

/*
 * One trace and everything shared by the devices writing into it: the file,
 * the online check (a FREE reported through one device must meet the DMA of
 * another), the END totals, the callback time stamp, reference ids.  A
 * tracenic-trace object is one; a device with its own trace= or check= gets a
 * private one.
 */
struct TNKitHub {
    Object parent_obj;

    /* Properties (the object's, or copied from a device's TNKitConf) */
    char *file;
    uint64_t max_bytes;
    bool check;
    char *on_violation;
    bool stop_on_violation;

    bool opened;            /* the header is written (or there is no file) */
    TNKitTraceWriter *trace;
    TNKitCheck *checker;
    uint64_t dma_bytes;
    uint32_t violations;
    /*
     * Inside a device callback every record takes the time of the
     * callback's first record (tnkit_callback_begin); -1: not read yet.
     */
    unsigned callback_depth;
    int64_t callback_time_ns;
    /* The time of the last record written (tnkit_hub_emit) */
    int64_t last_ns;
    bool record_replay;     /* QEMU runs under -icount rr=record|replay */
    /* -icount: the instruction count the last ICOUNT record gave */
    bool icount_written;
    uint64_t last_icount;
    /* Unique over the trace, the checks key on it: 64 bits never wrap. */
    uint64_t next_ref_id;

    TNKit *dev[TN_REC_DEV_MAX + 1];     /* attached devices by number */
    unsigned n_dev;                     /* numbers given so far */
    unsigned n_attached;

    VMChangeStateEntry *vmstate_change;
    Notifier exit_notifier;
};

struct TNKit {
    TNKitHub *hub;          /* NULL: no trace, no check: records go nowhere */
    uint8_t dev;            /* this device's number in the hub's trace */
    PCIDevice *pdev;
    const TNKitOps *ops;
    void *opaque;
    const TNKitConf *conf;
    bool bus_master;

    /* Ledger staging registers and the ALLOC/MAP waiting for its extents */
    uint32_t lg_va_lo, lg_va_hi, lg_bus_lo, lg_bus_hi;
    uint32_t lg_id, lg_length, lg_flags, lg_tag, lg_site, lg_info;
    uint32_t lg_accepted, lg_rejected;
    uint32_t lg_pending_id, lg_pending_left, lg_pending_next;
};

static inline void tnkit_event(TNKit *k, TNKitEvent ev)
{
    k->ops->event(k->opaque, ev);
}

/* tnkit-hub.c */
TNKitHub *tnkit_hub_new_private(const TNKitConf *conf, Error **errp);
bool tnkit_hub_open(TNKitHub *h, const struct tn_trace_header *hdr,
                    Error **errp);
void tnkit_hub_header_for(TNKitHub *h, struct tn_trace_header *hdr,
                          PCIDevice *pdev, const uint8_t *mac);
bool tnkit_hub_attach(TNKitHub *h, TNKit *k, Error **errp);
void tnkit_hub_detach(TNKitHub *h, TNKit *k);
void tnkit_hub_emit(TNKitHub *h, struct tn_rec *rec);
uint64_t tnkit_hub_ref_id(TNKitHub *h);
void tnkit_hub_flush(TNKitHub *h);
void tnkit_hub_check_suspend(TNKitHub *h, const char *why);
bool tnkit_parse_on_violation(const char *val, bool check, bool *stop,
                              Error **errp);

/* tnkit-ledger.c */
void tnkit_ledger_command(TNKit *k, uint32_t cmd);

#endif
