/*
 * tracenic: a PCI NIC that records every DMA access and every memory
 * lifecycle event its driver reports, to catch DMA-after-free bugs.
 * The NIC core's state and the interfaces between the core's files.  The
 * glue (tracenic.c) includes this; the core includes only the kit (tnkit.h)
 * and the contract below it (docs/architecture.md).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_NET_TRACENIC_CORE_H
#define HW_NET_TRACENIC_CORE_H

#include "hw/pci/pci.h"
#include "net/net.h"
#include "qemu/timer.h"
#include "qom/object.h"
#include "tracenic/regs.h"
#include "tracenic/trace.h"
#include "tnkit.h"

#define TYPE_TRACENIC "tracenic"
OBJECT_DECLARE_SIMPLE_TYPE(TracenicState, TRACENIC)

/*
 * Descriptors read ahead at most; a longer descriptor chain than FRAME_MAX
 * is a bad frame; late write-backs held, then flushed; descriptors per kick,
 * then a BH goes on.
 */
#define TRACENIC_PREFETCH_MAX     TN_PREFETCH_MAX
#define TRACENIC_FRAME_MAX_DESCS  64
#define TRACENIC_CACHE_SLOTS      (TRACENIC_PREFETCH_MAX + \
                                   TRACENIC_FRAME_MAX_DESCS)
#define TRACENIC_WB_QUEUE         256
#define TRACENIC_KICK_BUDGET      256

/* A descriptor the device has fetched and not yet completed. */
typedef struct TracenicCachedDesc {
    uint32_t slot;
    uint64_t ref_id;        /* its REF_PREFETCH, 0 if the buffer is empty */
    uint64_t inflight_ref;  /* its REF_INFLIGHT while a delayed transfer runs */
    uint64_t addr;
    uint16_t len;
    uint16_t flags;
} TracenicCachedDesc;

/* A descriptor write-back waiting for late-writeback to flush it. */
typedef struct TracenicPendingWb {
    uint32_t slot;
    uint16_t len;
    uint16_t flags;
    uint16_t wb_len;
    uint16_t wb_status;
    uint8_t cause;
    uint8_t irq;
} TracenicPendingWb;

typedef struct TracenicRing {
    Object *owner;          /* the TracenicState, for timer callbacks */
    uint8_t id;             /* TN_RING_ID_TX or TN_RING_ID_RX */
    uint32_t base_lo, base_hi, size_reg, ctrl;
    uint64_t base;          /* latched at enable */
    uint32_t size;
    uint32_t head, tail;
    bool active;            /* may still DMA: enabled or draining */
    bool draining;
    bool error;
    uint64_t ring_ref;
    int64_t drain_deadline;
    QEMUTimer *drain_timer;

    /* Fetched descriptors, in ring order starting at head. */
    TracenicCachedDesc cache[TRACENIC_CACHE_SLOTS];
    uint32_t n_cached;
    uint32_t n_inflight;    /* leading cached descriptors being transferred */
    QEMUTimer *inflight_timer;

    TracenicPendingWb wb[TRACENIC_WB_QUEUE];
    uint32_t n_wb;
    QEMUTimer *wb_timer;
} TracenicRing;

struct TracenicState {
    PCIDevice parent_obj;

    NICState *nic;
    NICConf conf;
    MemoryRegion mmio;
    MemoryRegion msix;
    QEMUBH *kick_bh;
    /*
     * Record/replay: fault-injection property changes from the monitor,
     * applied by prop_bh at a point of the replay log (tracenic.c).
     */
    QEMUBH *prop_bh;
    struct {
        Property *prop;
        uint64_t value;
    } prop_pending[8];
    unsigned n_prop_pending;

    /* Registers */
    uint32_t ctrl, status, icr, ims, itr_us, iam, err;
    uint32_t mac_lo, mac_hi;
    uint32_t stat_rx_packets, stat_rx_bytes, stat_rx_dropped;
    uint32_t stat_tx_packets, stat_tx_bytes, stat_tx_errors;
    TracenicRing tx, rx;
    bool resetting;
    QEMUTimer *reset_timer;
    bool intx_level;
    uint8_t drain_unseen;   /* rings (bit = ring id) drained, not yet seen */
    bool reset_unseen;      /* a reset finished, CTRL not read since */
    int64_t last_irq_ns[TN_MSIX_VECTORS];
    uint32_t pending_vectors;   /* held back by interrupt moderation */
    QEMUTimer *itr_timer;

    /* RX frame accepted but not yet written (rx-dma-delay-ns) */
    uint8_t rx_frame[TN_MAX_FRAME];
    uint32_t rx_frame_len;

    /* Properties */
    TNKitConf kit_conf;
    bool use_msix;
    uint64_t rx_dma_delay_ns, tx_dma_delay_ns, quiesce_delay_ns, reset_delay_ns;
    uint32_t prefetch;
    bool late_writeback;

    /* The tracing kit: trace, DMA gateway, references, ledger, check */
    TNKit *kit;
};

/* tracenic-core.c: what the glue (tracenic.c) calls */
void tracenic_core_realize(TracenicState *s);
void tracenic_core_unrealize(TracenicState *s);
void tracenic_core_reset(TracenicState *s);
int tracenic_core_post_load(TracenicState *s);
uint64_t tracenic_core_mmio_read(TracenicState *s, hwaddr addr,
                                 unsigned size);
void tracenic_core_mmio_write(TracenicState *s, hwaddr addr, uint64_t val,
                              unsigned size);
void tracenic_core_config_written(TracenicState *s);
void tracenic_core_set_link(TracenicState *s, bool up);
bool tracenic_core_can_receive(TracenicState *s);
ssize_t tracenic_core_receive(TracenicState *s, const uint8_t *buf,
                              size_t size);
uint64_t tracenic_core_prop_value(TracenicState *s, uint8_t id);
void tracenic_core_prop_changed(TracenicState *s, uint8_t id);
extern const TNKitOps tracenic_kit_ops;

/* tracenic-core.c: for the core's other files */
void tracenic_raise(TracenicState *s, uint32_t cause);
void tracenic_update_quiesced(TracenicState *s);
void tracenic_reset_maybe_finish(TracenicState *s);
void tracenic_drain_finished(TracenicState *s, uint8_t ring);

/* tracenic-rings.c */
void tracenic_rings_init(TracenicState *s);
void tracenic_rings_free(TracenicState *s);
void tracenic_ring_reset(TracenicState *s, TracenicRing *r);
void tracenic_ring_write_ctrl(TracenicState *s, TracenicRing *r, uint32_t val);
void tracenic_ring_write_tail(TracenicState *s, TracenicRing *r, uint32_t val);
void tracenic_ring_begin_drain(TracenicState *s, TracenicRing *r,
                               uint64_t delay_ns);
void tracenic_flush_writebacks(TracenicState *s, TracenicRing *r);
void tracenic_tx_kick(TracenicState *s);
void tracenic_rx_refill(TracenicState *s);
bool tracenic_can_receive(TracenicState *s);
ssize_t tracenic_receive(TracenicState *s, const uint8_t *buf, size_t size);
extern const VMStateDescription vmstate_tracenic_ring;

#endif
