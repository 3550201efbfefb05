/*
 * tracenic: a PCI NIC that records every DMA access and every memory
 * lifecycle event its driver reports, to catch DMA-after-free bugs.
 * Internal interfaces between the device's source files.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_NET_TRACENIC_H
#define HW_NET_TRACENIC_H

#include "hw/pci/pci.h"
#include "net/net.h"
#include "qemu/timer.h"
#include "qom/object.h"
#include "tracenic/regs.h"
#include "tracenic/ledger.h"
#include "tracenic/trace.h"
#include "tracenic-trace.h"
#include "tnkit-check.h"

#define TYPE_TRACENIC "tracenic"
OBJECT_DECLARE_SIMPLE_TYPE(TracenicState, TRACENIC)

/*
 * Descriptors read ahead at most; a longer descriptor chain than FRAME_MAX
 * is a bad frame; late write-backs held, then flushed; descriptors per kick,
 * then a BH goes on.
 */
#define TRACENIC_PREFETCH_MAX     32
#define TRACENIC_FRAME_MAX_DESCS  64
#define TRACENIC_CACHE_SLOTS      (TRACENIC_PREFETCH_MAX + \
                                   TRACENIC_FRAME_MAX_DESCS)
#define TRACENIC_WB_QUEUE         256
#define TRACENIC_KICK_BUDGET      256

/* A descriptor the device has fetched and not yet completed. */
typedef struct TNCachedDesc {
    uint32_t slot;
    uint32_t ref_id;        /* its REF_PREFETCH, 0 if the buffer is empty */
    uint32_t inflight_ref;  /* its REF_INFLIGHT while a delayed transfer runs */
    uint64_t addr;
    uint16_t len;
    uint16_t flags;
} TNCachedDesc;

/* A descriptor write-back waiting for late-writeback to flush it. */
typedef struct TNPendingWb {
    uint32_t slot;
    uint16_t len;
    uint16_t flags;
    uint16_t wb_len;
    uint16_t wb_status;
    uint8_t cause;
    uint8_t irq;
} TNPendingWb;

typedef struct TNRing {
    Object *owner;          /* the TracenicState, for timer callbacks */
    uint8_t id;             /* TN_RING_ID_TX or TN_RING_ID_RX */
    uint32_t base_lo, base_hi, size_reg, ctrl;
    uint64_t base;          /* latched at enable */
    uint32_t size;
    uint32_t head, tail;
    bool active;            /* may still DMA: enabled or draining */
    bool draining;
    bool error;
    uint32_t ring_ref;
    int64_t drain_deadline;
    QEMUTimer *drain_timer;

    /* Fetched descriptors, in ring order starting at head. */
    TNCachedDesc cache[TRACENIC_CACHE_SLOTS];
    uint32_t n_cached;
    uint32_t n_inflight;    /* leading cached descriptors being transferred */
    QEMUTimer *inflight_timer;

    TNPendingWb wb[TRACENIC_WB_QUEUE];
    uint32_t n_wb;
    QEMUTimer *wb_timer;
} TNRing;

struct TracenicState {
    PCIDevice parent_obj;

    NICState *nic;
    NICConf conf;
    MemoryRegion mmio;
    MemoryRegion msix;
    QEMUBH *kick_bh;
    VMChangeStateEntry *vmstate_change;
    Notifier exit_notifier;

    /* Registers */
    uint32_t ctrl, status, icr, ims, itr_us, iam, err;
    uint32_t mac_lo, mac_hi;
    uint32_t stat_rx_packets, stat_rx_bytes, stat_rx_dropped;
    uint32_t stat_tx_packets, stat_tx_bytes, stat_tx_errors;
    TNRing tx, rx;
    bool resetting;
    QEMUTimer *reset_timer;
    bool bus_master;
    bool intx_level;
    uint8_t drain_unseen;   /* rings (bit = ring id) drained, not yet seen */
    bool reset_unseen;      /* a reset finished, CTRL not read since */
    int64_t last_irq_ns[TN_MSIX_VECTORS];
    uint32_t pending_vectors;   /* held back by interrupt moderation */
    QEMUTimer *itr_timer;

    /* RX frame accepted but not yet written (rx-dma-delay-ns) */
    uint8_t rx_frame[TN_MAX_FRAME];
    uint32_t rx_frame_len;

    /* Ledger staging registers and the ALLOC/MAP waiting for its extents */
    uint32_t lg_va_lo, lg_va_hi, lg_bus_lo, lg_bus_hi;
    uint32_t lg_id, lg_length, lg_flags, lg_tag, lg_site, lg_info;
    uint32_t lg_accepted, lg_rejected;
    uint32_t lg_pending_id, lg_pending_left, lg_pending_next;

    uint32_t next_ref_id;

    /* Properties */
    char *trace_path;
    uint64_t trace_max_bytes;
    bool check;
    char *on_violation;
    bool stop_on_violation;
    bool use_msix;
    uint64_t rx_dma_delay_ns, tx_dma_delay_ns, quiesce_delay_ns, reset_delay_ns;
    uint32_t prefetch;
    bool late_writeback;

    /* Trace and online checks */
    TNTraceWriter *trace;
    uint64_t dma_bytes;
    uint32_t violations;
    TNCheck *checker;
    /*
     * Inside a device callback (tracenic_callback_begin/end) every record
     * takes the time of the callback's first record: the callback runs under
     * the BQL, so no other device event can fall between them, and a TX
     * frame's eight records cost one clock read instead of eight.  -1: not
     * read yet.
     */
    unsigned callback_depth;
    int64_t callback_time_ns;
};

/* tracenic.c */
void tracenic_emit(TracenicState *s, struct tn_rec *rec);

static inline void tracenic_callback_begin(TracenicState *s)
{
    if (!s->callback_depth++) {
        s->callback_time_ns = -1;
    }
}

static inline void tracenic_callback_end(TracenicState *s)
{
    s->callback_depth--;
}
void tracenic_raise(TracenicState *s, uint32_t cause);
void tracenic_update_quiesced(TracenicState *s);
void tracenic_reset_maybe_finish(TracenicState *s);
void tracenic_drain_finished(TracenicState *s, uint8_t ring);
void tracenic_record_state(TracenicState *s, uint8_t kind, uint8_t ring,
                           uint64_t value, uint64_t value2);
uint32_t tracenic_ref_take(TracenicState *s, uint8_t kind, uint8_t ring,
                           uint32_t slot, uint64_t addr, uint32_t len);
void tracenic_ref_drop(TracenicState *s, uint32_t *ref_id, uint8_t kind,
                 uint8_t ring, uint32_t slot, uint64_t addr, uint32_t len);
/* A drop the driver can only learn of from STATUS.QUIESCED (drain, reset). */
void tracenic_ref_drop_drained(TracenicState *s, uint32_t *ref_id, uint8_t kind,
                               uint8_t ring, uint32_t slot, uint64_t addr,
                               uint32_t len);

/* tracenic-dma.c: every device access to guest memory goes through here */
bool tracenic_dma(TracenicState *s, bool write, uint8_t cause, uint8_t ring,
                  uint32_t slot, uint32_t ref_id, uint64_t addr, void *buf,
                  uint32_t len);

/* tracenic-rings.c */
void tracenic_rings_init(TracenicState *s);
void tracenic_rings_free(TracenicState *s);
void tracenic_ring_reset(TracenicState *s, TNRing *r);
void tracenic_ring_write_ctrl(TracenicState *s, TNRing *r, uint32_t val);
void tracenic_ring_write_tail(TracenicState *s, TNRing *r, uint32_t val);
void tracenic_ring_begin_drain(TracenicState *s, TNRing *r, uint64_t delay_ns);
void tracenic_flush_writebacks(TracenicState *s, TNRing *r);
void tracenic_tx_kick(TracenicState *s);
void tracenic_rx_refill(TracenicState *s);
bool tracenic_can_receive(TracenicState *s);
ssize_t tracenic_receive(TracenicState *s, const uint8_t *buf, size_t size);
extern const VMStateDescription vmstate_tn_ring;

/* tracenic-ledger.c */
void tracenic_ledger_command(TracenicState *s, uint32_t cmd);

#endif
