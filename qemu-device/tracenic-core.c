/*
 * tracenic: the NIC core.  Registers, interrupts (MSI-X, INTx, moderation),
 * DMA state (STATUS.QUIESCED), CTRL.RST and the callbacks the tracing kit
 * makes; the rings are in tracenic-rings.c.  Called by the glue
 * (tracenic.c), never calling up into it.
 *
 * Register map and descriptor layout: include/tracenic/regs.h,
 * documented in docs/device.md.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "hw/pci/msix.h"
#include "tracenic-core.h"
#include "tracenic/names.h"
#include "trace.h"

/* Causes each MSI-X vector signals. */
static const uint32_t tracenic_vector_causes[TN_MSIX_VECTORS] = {
    [TN_MSIX_VEC_RX] = TN_INT_RX | TN_INT_RX_NOBUF,
    [TN_MSIX_VEC_TX] = TN_INT_TX,
    [TN_MSIX_VEC_OTHER] = TN_INT_LINK | TN_INT_QUIESCED | TN_INT_RESET_DONE |
                          TN_INT_ERROR | TN_INT_VIOLATION,
};

/* --- Interrupts ---------------------------------------------------------- */

static void tracenic_record_irq(TracenicState *s, uint32_t cause,
                                uint16_t vector)
{
    struct tn_rec rec = {
        .type = TN_REC_IRQ,
        .u.irq.cause = cpu_to_le32(cause),
        .u.irq.vector = cpu_to_le16(vector),
    };

    trace_tracenic_irq(cause, vector);
    tnkit_emit(s->kit, &rec);
}

static void tracenic_update_intx(TracenicState *s)
{
    bool level = (s->icr & s->ims) != 0;

    if (msix_enabled(PCI_DEVICE(s))) {
        level = false;
    }
    if (level != s->intx_level) {
        s->intx_level = level;
        pci_set_irq(PCI_DEVICE(s), level);
        if (level) {
            tracenic_record_irq(s, s->icr & s->ims, 0xffff);
        }
    }
}

static void tracenic_msix_fire(TracenicState *s, int vec)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    int64_t gap = (int64_t)s->itr_us * SCALE_US;

    if (gap && now < s->last_irq_ns[vec] + gap) {
        /* Interrupt moderation: deliver once the interval has passed. */
        s->pending_vectors |= 1u << vec;
        if (!timer_pending(s->itr_timer) ||
            timer_expire_time_ns(s->itr_timer) > s->last_irq_ns[vec] + gap) {
            timer_mod(s->itr_timer, s->last_irq_ns[vec] + gap);
        }
        return;
    }
    s->pending_vectors &= ~(1u << vec);
    s->last_irq_ns[vec] = now;
    tracenic_record_irq(s, s->icr & s->ims & tracenic_vector_causes[vec], vec);
    /* Auto-mask: the handler's IMC and ICR writes, done by the device. */
    s->ims &= ~(s->iam & tracenic_vector_causes[vec]);
    s->icr &= ~(s->iam & tracenic_vector_causes[vec]);
    msix_notify(PCI_DEVICE(s), vec);
}

static void tracenic_notify(TracenicState *s, uint32_t cause)
{
    int vec;

    if (!msix_enabled(PCI_DEVICE(s))) {
        tracenic_update_intx(s);
        return;
    }
    for (vec = 0; vec < TN_MSIX_VECTORS; vec++) {
        if (cause & s->ims & tracenic_vector_causes[vec]) {
            tracenic_msix_fire(s, vec);
        }
    }
}

static void tracenic_itr_timer_cb(void *opaque)
{
    TracenicState *s = opaque;
    uint32_t pending = s->pending_vectors;
    int vec;

    tnkit_callback_begin(s->kit);
    for (vec = 0; vec < TN_MSIX_VECTORS; vec++) {
        if ((pending & (1u << vec)) &&
            (s->icr & s->ims & tracenic_vector_causes[vec])) {
            tracenic_msix_fire(s, vec);
        } else {
            s->pending_vectors &= ~(1u << vec);
        }
    }
    tnkit_callback_end(s->kit);
}

void tracenic_raise(TracenicState *s, uint32_t cause)
{
    s->icr |= cause;
    tracenic_notify(s, cause);
}

/* --- DMA state ------------------------------------------------------------ */

void tracenic_update_quiesced(TracenicState *s)
{
    bool quiesced = !s->tx.active && !s->rx.active && !s->resetting;
    bool was = s->status & TN_STATUS_QUIESCED;

    s->status &= ~(TN_STATUS_TX_ACTIVE | TN_STATUS_RX_ACTIVE |
                   TN_STATUS_RESETTING | TN_STATUS_QUIESCED);
    s->status |= (s->tx.active ? TN_STATUS_TX_ACTIVE : 0) |
                 (s->rx.active ? TN_STATUS_RX_ACTIVE : 0) |
                 (s->resetting ? TN_STATUS_RESETTING : 0) |
                 (quiesced ? TN_STATUS_QUIESCED : 0);
    if (quiesced != was) {
        trace_tracenic_quiesced(quiesced);
        tnkit_record_state(s->kit, TN_ST_QUIESCED, TN_RING_ID_NONE, quiesced,
                           0);
        if (quiesced) {
            tracenic_raise(s, TN_INT_QUIESCED);
        }
    }
}

static void tracenic_mac_to_regs(TracenicState *s)
{
    const uint8_t *m = s->conf.macaddr.a;

    s->mac_lo = m[0] | m[1] << 8 | m[2] << 16 | (uint32_t)m[3] << 24;
    s->mac_hi = m[4] | m[5] << 8;
}

/* Everything CTRL.RST resets; the ledger and the references are not in it. */
static void tracenic_reset_regs(TracenicState *s)
{
    int i;

    s->ctrl = 0;
    s->icr = 0;
    s->ims = 0;
    s->itr_us = 0;
    s->iam = 0;
    s->err = 0;
    s->pending_vectors = 0;
    timer_del(s->itr_timer);
    for (i = 0; i < TN_MSIX_VECTORS; i++) {
        s->last_irq_ns[i] = INT64_MIN / 2;  /* long ago: no gap to keep */
    }
    tracenic_mac_to_regs(s);
    s->stat_rx_packets = s->stat_rx_bytes = s->stat_rx_dropped = 0;
    s->stat_tx_packets = s->stat_tx_bytes = s->stat_tx_errors = 0;
    tracenic_update_intx(s);
}

void tracenic_reset_maybe_finish(TracenicState *s)
{
    if (!s->resetting || timer_pending(s->reset_timer) ||
        s->tx.active || s->rx.active) {
        return;
    }
    tracenic_ring_reset(s, &s->tx);
    tracenic_ring_reset(s, &s->rx);
    tracenic_reset_regs(s);
    s->resetting = false;
    trace_tracenic_reset_done();
    tracenic_update_quiesced(s);
    tnkit_record_state(s->kit, TN_ST_RESET_DONE, TN_RING_ID_NONE, 0, 0);
    s->reset_unseen = true;
    s->icr |= TN_INT_RESET_DONE;    /* IMS is 0 now: visible, not signalled */
}

static void tracenic_reset_timer_cb(void *opaque)
{
    tracenic_reset_maybe_finish(opaque);
}

static void tracenic_start_reset(TracenicState *s)
{
    if (s->resetting) {
        return;
    }
    s->resetting = true;
    s->ctrl |= TN_CTRL_RST;
    trace_tracenic_reset_begin(s->reset_delay_ns);
    tracenic_update_quiesced(s);
    tnkit_record_state(s->kit, TN_ST_RESET_BEGIN, TN_RING_ID_NONE, 0, 0);
    tracenic_ring_begin_drain(s, &s->tx, s->reset_delay_ns);
    tracenic_ring_begin_drain(s, &s->rx, s->reset_delay_ns);
    timer_mod(s->reset_timer,
              qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + s->reset_delay_ns);
}

static void tracenic_kick_bh(void *opaque)
{
    TracenicState *s = opaque;

    tnkit_callback_begin(s->kit);
    tracenic_tx_kick(s);
    tnkit_callback_end(s->kit);
}

/* --- Registers ------------------------------------------------------------ */

void tracenic_drain_finished(TracenicState *s, uint8_t ring)
{
    s->drain_unseen |= 1u << ring;
}

/* The driver looked and saw the drain over (TN_ST_QUIESCED_SEEN). */
static void tracenic_drain_seen(TracenicState *s, uint8_t ring, uint64_t how)
{
    s->drain_unseen &= ring == TN_RING_ID_NONE ? 0 : ~(1u << ring);
    tnkit_record_state(s->kit, TN_ST_QUIESCED_SEEN, ring, how, 0);
}

static TracenicRing *tracenic_ring_at(TracenicState *s, hwaddr addr,
                                      hwaddr *off)
{
    if (addr >= TN_TX_RING && addr < TN_TX_RING + 0x20) {
        *off = addr - TN_TX_RING;
        return &s->tx;
    }
    if (addr >= TN_RX_RING && addr < TN_RX_RING + 0x20) {
        *off = addr - TN_RX_RING;
        return &s->rx;
    }
    return NULL;
}

static uint32_t tracenic_ring_read(TracenicState *s, TracenicRing *r,
                                   hwaddr off)
{
    switch (off) {
    case TN_RING_BASE_LO:
        return r->base_lo;
    case TN_RING_BASE_HI:
        return r->base_hi;
    case TN_RING_SIZE:
        return r->size_reg;
    case TN_RING_HEAD:
        return r->head;
    case TN_RING_TAIL:
        return r->tail;
    case TN_RING_CTRL:
        return r->ctrl;
    case TN_RING_STATUS:
        if (!r->active && (s->drain_unseen & (1u << r->id))) {
            tracenic_drain_seen(s, r->id, 2);
        }
        return (r->active ? TN_RING_STATUS_ACTIVE : 0) |
               (r->error ? TN_RING_STATUS_ERROR : 0);
    }
    return 0;
}

static uint32_t tracenic_read32(TracenicState *s, hwaddr addr)
{
    uint32_t val;
    hwaddr off;
    TracenicRing *r = tracenic_ring_at(s, addr, &off);

    if (r) {
        return tracenic_ring_read(s, r, off);
    }
    switch (addr) {
    case TN_REG_ID:
        return TN_ID_VALUE;
    case TN_REG_CTRL:
        if (s->reset_unseen && !(s->ctrl & TN_CTRL_RST)) {
            s->reset_unseen = false;
            tracenic_drain_seen(s, TN_RING_ID_NONE, 3);
        }
        return s->ctrl;
    case TN_REG_STATUS:
        if ((s->status & TN_STATUS_QUIESCED) && s->drain_unseen) {
            tracenic_drain_seen(s, TN_RING_ID_NONE, 1);
        }
        return s->status;
    case TN_REG_ICR:
        return s->icr;
    case TN_REG_IMS:
        return s->ims;
    case TN_REG_IMC:
        return 0;
    case TN_REG_ITR_US:
        return s->itr_us;
    case TN_REG_IAM:
        return s->iam;
    case TN_REG_MAC_LO:
        return s->mac_lo;
    case TN_REG_MAC_HI:
        return s->mac_hi;
    case TN_REG_ERR:
        return s->err;
    case TN_REG_RX_PACKETS:
        return s->stat_rx_packets;
    case TN_REG_RX_BYTES:
        return s->stat_rx_bytes;
    case TN_REG_RX_DROPPED:
        return s->stat_rx_dropped;
    case TN_REG_TX_PACKETS:
        return s->stat_tx_packets;
    case TN_REG_TX_BYTES:
        return s->stat_tx_bytes;
    case TN_REG_TX_ERRORS:
        return s->stat_tx_errors;
    }
    if (tnkit_ledger_read(s->kit, addr, &val)) {
        return val;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: read of unknown register 0x%"
                  HWADDR_PRIx "\n", addr);
    return 0;
}

static void tracenic_ring_write(TracenicState *s, TracenicRing *r, hwaddr off,
                                uint32_t val)
{
    switch (off) {
    case TN_RING_BASE_LO:
    case TN_RING_BASE_HI:
    case TN_RING_SIZE:
        if (r->active) {
            qemu_log_mask(LOG_GUEST_ERROR, "tracenic: ring base/size written "
                          "while the ring is active; ignored\n");
            s->err = TN_ERR_RING_BUSY;
            return;
        }
        if (off == TN_RING_BASE_LO) {
            r->base_lo = val;
        } else if (off == TN_RING_BASE_HI) {
            r->base_hi = val;
        } else {
            r->size_reg = val;
        }
        return;
    case TN_RING_TAIL:
        tracenic_ring_write_tail(s, r, val);
        return;
    case TN_RING_CTRL:
        tracenic_ring_write_ctrl(s, r, val);
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: write to read-only or unknown "
                  "ring register 0x%" HWADDR_PRIx "; ignored\n", off);
}

static void tracenic_write32(TracenicState *s, hwaddr addr, uint32_t val)
{
    hwaddr off;
    TracenicRing *r = tracenic_ring_at(s, addr, &off);

    if (r) {
        if (s->resetting) {
            qemu_log_mask(LOG_GUEST_ERROR, "tracenic: ring register written "
                          "during reset; ignored\n");
            return;
        }
        tracenic_ring_write(s, r, off, val);
        return;
    }
    switch (addr) {
    case TN_REG_CTRL:
        if (val & TN_CTRL_RST) {
            tracenic_start_reset(s);
        }
        return;
    case TN_REG_ICR:
        s->icr &= ~val;
        tracenic_update_intx(s);
        return;
    case TN_REG_IMS:
        s->ims |= val & TN_INT_ALL;
        tracenic_notify(s, s->icr & val);
        return;
    case TN_REG_IMC:
        s->ims &= ~val;
        tracenic_update_intx(s);
        return;
    case TN_REG_ITR_US:
        s->itr_us = MIN(val, 1000000);
        return;
    case TN_REG_IAM:
        s->iam = val & TN_INT_ALL;
        return;
    case TN_REG_MAC_LO:
        s->mac_lo = val;
        return;
    case TN_REG_MAC_HI:
        s->mac_hi = val & 0xffff;
        return;
    }
    if (tnkit_ledger_write(s->kit, addr, val)) {
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: write of 0x%x to read-only or "
                  "unknown register 0x%" HWADDR_PRIx "; ignored\n", val, addr);
}

uint64_t tracenic_core_mmio_read(TracenicState *s, hwaddr addr, unsigned size)
{
    uint64_t val;

    tnkit_callback_begin(s->kit);
    val = tracenic_read32(s, addr);
    if (size == 8) {
        val |= (uint64_t)tracenic_read32(s, addr + 4) << 32;
    }
    tnkit_callback_end(s->kit);
    trace_tracenic_mmio_read(addr, size, val);
    return val;
}

void tracenic_core_mmio_write(TracenicState *s, hwaddr addr, uint64_t val,
                              unsigned size)
{

    trace_tracenic_mmio_write(addr, size, val);
    tnkit_callback_begin(s->kit);
    /* A 64-bit access is the low register, then the high one. */
    tracenic_write32(s, addr, val);
    if (size == 8) {
        tracenic_write32(s, addr + 4, val >> 32);
    }
    tnkit_callback_end(s->kit);
}



/* --- PCI config, link, frames from the network ---------------------------- */

void tracenic_core_config_written(TracenicState *s)
{
    bool was = tnkit_bus_master(s->kit);

    tnkit_config_written(s->kit);
    if (!was && tnkit_bus_master(s->kit)) {
        tracenic_rx_refill(s);
        tracenic_tx_kick(s);
        if (tracenic_can_receive(s)) {
            qemu_flush_queued_packets(qemu_get_queue(s->nic));
        }
    }
}

void tracenic_core_set_link(TracenicState *s, bool up)
{
    if (up == !!(s->status & TN_STATUS_LINK_UP)) {
        return;
    }
    s->status = up ? s->status | TN_STATUS_LINK_UP
                   : s->status & ~TN_STATUS_LINK_UP;
    tnkit_record_state(s->kit, TN_ST_LINK, TN_RING_ID_NONE, up, 0);
    tracenic_raise(s, TN_INT_LINK);
}

bool tracenic_core_can_receive(TracenicState *s)
{
    return tracenic_can_receive(s);
}

ssize_t tracenic_core_receive(TracenicState *s, const uint8_t *buf,
                              size_t size)
{
    ssize_t ret;

    tnkit_callback_begin(s->kit);
    ret = tracenic_receive(s, buf, size);
    tnkit_callback_end(s->kit);
    return ret;
}

/* --- Run-time fault-injection properties ---------------------------------- */

uint64_t tracenic_core_prop_value(TracenicState *s, uint8_t id)
{
    switch (id) {
    case TN_PROP_RX_DMA_DELAY_NS:
        return s->rx_dma_delay_ns;
    case TN_PROP_TX_DMA_DELAY_NS:
        return s->tx_dma_delay_ns;
    case TN_PROP_QUIESCE_DELAY_NS:
        return s->quiesce_delay_ns;
    case TN_PROP_PREFETCH:
        return s->prefetch;
    case TN_PROP_LATE_WRITEBACK:
        return s->late_writeback;
    case TN_PROP_RESET_DELAY_NS:
        return s->reset_delay_ns;
    }
    return 0;
}

/* Property @id (TN_PROP_*) was set on the running device. */
void tracenic_core_prop_changed(TracenicState *s, uint8_t id)
{
    uint64_t val = tracenic_core_prop_value(s, id);

    trace_tracenic_prop(tn_prop_name(id), val);
    tnkit_record_state(s->kit, TN_ST_PROP, TN_RING_ID_NONE, val, id);
    if (id == TN_PROP_LATE_WRITEBACK && !s->late_writeback) {
        /* Nothing is held back any more: deliver what was. */
        tracenic_flush_writebacks(s, &s->tx);
        tracenic_flush_writebacks(s, &s->rx);
    }
}

/* --- What the tracing kit tells the NIC ----------------------------------- */

static void tracenic_kit_event(void *opaque, TNKitEvent ev)
{
    TracenicState *s = opaque;

    switch (ev) {
    case TNKIT_EV_DMA_ERROR:
        s->err = TN_ERR_DMA;
        tracenic_raise(s, TN_INT_ERROR);
        break;
    case TNKIT_EV_LEDGER_ERROR:
        s->err = TN_ERR_LEDGER;
        tracenic_raise(s, TN_INT_ERROR);
        break;
    case TNKIT_EV_VIOLATION:
        tracenic_raise(s, TN_INT_VIOLATION);
        break;
    }
}

static uint32_t tracenic_kit_status(void *opaque)
{
    TracenicState *s = opaque;

    return s->status;
}

const TNKitOps tracenic_kit_ops = {
    .event = tracenic_kit_event,
    .status = tracenic_kit_status,
};

/* --- Life cycle ----------------------------------------------------------- */

/* After the glue set up PCI, MSI-X and the netdev, before the trace opens. */
void tracenic_core_realize(TracenicState *s)
{
    DeviceState *dev = DEVICE(s);

    tracenic_rings_init(s);
    /*
     * Scheduled with replay_bh_schedule_event(): under record/replay a plain
     * bottom half runs whenever the main loop gets to it, at another guest
     * instruction in the replay than in the recording; a replay event runs
     * at the same one.  Without record/replay it is qemu_bh_schedule().
     */
    s->kick_bh = qemu_bh_new_guarded(tracenic_kick_bh, s,
                                     &dev->mem_reentrancy_guard);
    s->reset_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, tracenic_reset_timer_cb,
                                  s);
    s->itr_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, tracenic_itr_timer_cb, s);
    s->status = TN_STATUS_QUIESCED |
                (qemu_get_queue(s->nic)->link_down ? 0 : TN_STATUS_LINK_UP);
    tracenic_reset_regs(s);
}

void tracenic_core_unrealize(TracenicState *s)
{
    tracenic_rings_free(s);
    timer_free(s->reset_timer);
    timer_free(s->itr_timer);
    qemu_bh_delete(s->kick_bh);
}

/* QEMU's own reset (system reset): immediate, nothing left to drain. */
void tracenic_core_reset(TracenicState *s)
{
    tnkit_record_state(s->kit, TN_ST_RESET_BEGIN, TN_RING_ID_NONE, 0, 0);
    timer_del(s->reset_timer);
    s->resetting = false;
    tracenic_ring_reset(s, &s->tx);
    tracenic_ring_reset(s, &s->rx);
    tracenic_reset_regs(s);
    tracenic_update_quiesced(s);
    tnkit_record_state(s->kit, TN_ST_RESET_DONE, TN_RING_ID_NONE, 0, 0);
    tnkit_reset(s->kit);
}

int tracenic_core_post_load(TracenicState *s)
{
    if (s->rx_frame_len > TN_MAX_FRAME) {
        return -EINVAL;
    }
    tnkit_post_load(s->kit);
    return 0;
}
