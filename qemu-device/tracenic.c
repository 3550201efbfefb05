/*
 * tracenic: a PCI Ethernet NIC that records every DMA access, every memory
 * lifecycle event its driver reports and every DMA-state change into one
 * ordered trace, to catch DMA-after-free bugs in NIC drivers.
 *
 * Register map and descriptor layout: include/tracenic/regs.h,
 * documented in docs/device.md.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "sysemu/runstate.h"
#include "sysemu/sysemu.h"
#include "qemu-version.h"
#include "tracenic.h"
#include "tracenic/names.h"
#include "tracenic/rules.h"
#include "trace.h"

/* Causes each MSI-X vector signals. */
static const uint32_t tracenic_vector_causes[TN_MSIX_VECTORS] = {
    [TN_MSIX_VEC_RX] = TN_INT_RX | TN_INT_RX_NOBUF,
    [TN_MSIX_VEC_TX] = TN_INT_TX,
    [TN_MSIX_VEC_OTHER] = TN_INT_LINK | TN_INT_QUIESCED | TN_INT_RESET_DONE |
                          TN_INT_ERROR | TN_INT_VIOLATION,
};

/* --- Trace plumbing ------------------------------------------------------ */

/* Every record goes to the trace (if any), then to the online check. */
void tracenic_emit(TracenicState *s, struct tn_rec *rec)
{
    int64_t now;

    if (s->trace) {
        if (!s->callback_depth) {
            now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        } else {
            if (s->callback_time_ns < 0) {
                s->callback_time_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
            }
            now = s->callback_time_ns;
        }
        rec->time_ns = cpu_to_le64(now);
        tracenic_trace_put(s->trace, rec);
    }
    if (s->checker) {
        tnkit_check_record(s->checker, rec);
    }
}

/* The online check found a violation: record it, say it, maybe stop. */
static void tracenic_check_violation(void *opaque, const struct tn_rec *vio)
{
    TracenicState *s = opaque;
    struct tn_rec rec = *vio;
    uint64_t addr = le64_to_cpu(rec.u.violation.addr);
    uint32_t id = le32_to_cpu(rec.id), len = le32_to_cpu(rec.u.violation.len);

    tracenic_emit(s, &rec);
    s->violations++;
    trace_tracenic_violation(tn_rule_name(rec.kind), id, addr, len);
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: violation %s: %s: id %u, 0x%"
                  PRIx64 "+%u%s\n", tn_rule_name(rec.kind),
                  tn_rule_info(rec.kind).summary, id, addr, len,
                  s->stop_on_violation ? "; pausing the VM" : "");
    tracenic_raise(s, TN_INT_VIOLATION);
    if (s->stop_on_violation) {
        if (s->trace) {
            tracenic_trace_flush(s->trace);
        }
        qemu_system_vmstop_request_prepare();
        qemu_system_vmstop_request(RUN_STATE_PAUSED);
    }
}

static void tracenic_check_warn(void *opaque, const char *msg)
{
    warn_report("%s", msg);
}

void tracenic_record_state(TracenicState *s, uint8_t kind, uint8_t ring,
                           uint64_t value, uint64_t value2)
{
    struct tn_rec rec = {
        .type = TN_REC_STATE,
        .kind = kind,
        .idx = cpu_to_le16(ring),
        .u.state.value = cpu_to_le64(value),
        .u.state.value2 = cpu_to_le64(value2),
        .u.state.status = cpu_to_le32(s->status),
    };

    tracenic_emit(s, &rec);
}

uint32_t tracenic_ref_take(TracenicState *s, uint8_t kind, uint8_t ring,
                           uint32_t slot, uint64_t addr, uint32_t len)
{
    uint32_t id = ++s->next_ref_id ? s->next_ref_id : ++s->next_ref_id;
    struct tn_rec rec = {
        .type = TN_REC_REF_TAKE,
        .kind = kind,
        .idx = cpu_to_le16(slot),
        .id = cpu_to_le32(id),
        .u.ref.addr = cpu_to_le64(addr),
        .u.ref.len = cpu_to_le32(len),
        .u.ref.ring = ring,
    };

    tracenic_emit(s, &rec);
    return id;
}

static void tracenic_ref_drop_rec(TracenicState *s, uint32_t *ref_id,
                                  uint8_t kind,
                                  uint8_t ring, uint32_t slot, uint64_t addr,
                                  uint32_t len, bool drained)
{
    struct tn_rec rec = {
        .type = TN_REC_REF_DROP,
        .kind = kind,
        .idx = cpu_to_le16(slot),
        .id = cpu_to_le32(*ref_id),
        .u.ref.addr = cpu_to_le64(addr),
        .u.ref.len = cpu_to_le32(len),
        .u.ref.ring = ring,
        .u.ref.drained = drained,
    };

    if (!*ref_id) {
        return;
    }
    tracenic_emit(s, &rec);
    *ref_id = 0;
}

void tracenic_ref_drop(TracenicState *s, uint32_t *ref_id, uint8_t kind,
                       uint8_t ring, uint32_t slot, uint64_t addr, uint32_t len)
{
    tracenic_ref_drop_rec(s, ref_id, kind, ring, slot, addr, len, false);
}

void tracenic_ref_drop_drained(TracenicState *s, uint32_t *ref_id, uint8_t kind,
                               uint8_t ring, uint32_t slot, uint64_t addr,
                               uint32_t len)
{
    tracenic_ref_drop_rec(s, ref_id, kind, ring, slot, addr, len, true);
}

static void tracenic_trace_report(void *opaque, const char *msg)
{
    error_report("%s", msg);
}

static void tracenic_trace_close_now(TracenicState *s)
{
    if (s->trace) {
        tracenic_trace_close(s->trace, s->dma_bytes, s->violations);
        s->trace = NULL;
    }
}

static void tracenic_exit_notify(Notifier *n, void *data)
{
    TracenicState *s = container_of(n, TracenicState, exit_notifier);

    tracenic_trace_close_now(s);
}

static void tracenic_vm_state_change(void *opaque, bool running, RunState state)
{
    TracenicState *s = opaque;

    /* A stopped VM is being looked at: make the trace on disk current. */
    if (!running && s->trace) {
        tracenic_trace_flush(s->trace);
    }
}

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
    tracenic_emit(s, &rec);
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

    tracenic_callback_begin(s);
    for (vec = 0; vec < TN_MSIX_VECTORS; vec++) {
        if ((pending & (1u << vec)) &&
            (s->icr & s->ims & tracenic_vector_causes[vec])) {
            tracenic_msix_fire(s, vec);
        } else {
            s->pending_vectors &= ~(1u << vec);
        }
    }
    tracenic_callback_end(s);
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
        tracenic_record_state(s, TN_ST_QUIESCED, TN_RING_ID_NONE, quiesced, 0);
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
    tracenic_record_state(s, TN_ST_RESET_DONE, TN_RING_ID_NONE, 0, 0);
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
    tracenic_record_state(s, TN_ST_RESET_BEGIN, TN_RING_ID_NONE, 0, 0);
    tracenic_ring_begin_drain(s, &s->tx, s->reset_delay_ns);
    tracenic_ring_begin_drain(s, &s->rx, s->reset_delay_ns);
    timer_mod(s->reset_timer,
              qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + s->reset_delay_ns);
}

static void tracenic_kick_bh(void *opaque)
{
    TracenicState *s = opaque;

    tracenic_callback_begin(s);
    tracenic_tx_kick(s);
    tracenic_callback_end(s);
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
    tracenic_record_state(s, TN_ST_QUIESCED_SEEN, ring, how, 0);
}

static TNRing *tracenic_ring_at(TracenicState *s, hwaddr addr, hwaddr *off)
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

static uint32_t tracenic_ring_read(TracenicState *s, TNRing *r, hwaddr off)
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
    hwaddr off;
    TNRing *r = tracenic_ring_at(s, addr, &off);

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
    case TN_LG_VA:
        return s->lg_va_lo;
    case TN_LG_VA + 4:
        return s->lg_va_hi;
    case TN_LG_BUS:
        return s->lg_bus_lo;
    case TN_LG_BUS + 4:
        return s->lg_bus_hi;
    case TN_LG_ID:
        return s->lg_id;
    case TN_LG_LENGTH:
        return s->lg_length;
    case TN_LG_FLAGS:
        return s->lg_flags;
    case TN_LG_TAG:
        return s->lg_tag;
    case TN_LG_SITE:
        return s->lg_site;
    case TN_LG_INFO:
        return s->lg_info;
    case TN_LG_CMD:
        return s->lg_accepted;
    case TN_LG_REJECTED:
        return s->lg_rejected;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: read of unknown register 0x%"
                  HWADDR_PRIx "\n", addr);
    return 0;
}

static void tracenic_ring_write(TracenicState *s, TNRing *r, hwaddr off,
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
    TNRing *r = tracenic_ring_at(s, addr, &off);

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
    case TN_LG_VA:
        s->lg_va_lo = val;
        return;
    case TN_LG_VA + 4:
        s->lg_va_hi = val;
        return;
    case TN_LG_BUS:
        s->lg_bus_lo = val;
        return;
    case TN_LG_BUS + 4:
        s->lg_bus_hi = val;
        return;
    case TN_LG_ID:
        s->lg_id = val;
        return;
    case TN_LG_LENGTH:
        s->lg_length = val;
        return;
    case TN_LG_FLAGS:
        s->lg_flags = val;
        return;
    case TN_LG_TAG:
        s->lg_tag = val;
        return;
    case TN_LG_SITE:
        s->lg_site = val;
        return;
    case TN_LG_INFO:
        s->lg_info = val;
        return;
    case TN_LG_CMD:
        tracenic_ledger_command(s, val);
        return;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: write of 0x%x to read-only or "
                  "unknown register 0x%" HWADDR_PRIx "; ignored\n", val, addr);
}

static uint64_t tracenic_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    TracenicState *s = opaque;
    uint64_t val;

    tracenic_callback_begin(s);
    val = tracenic_read32(s, addr);
    if (size == 8) {
        val |= (uint64_t)tracenic_read32(s, addr + 4) << 32;
    }
    tracenic_callback_end(s);
    trace_tracenic_mmio_read(addr, size, val);
    return val;
}

static void tracenic_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                                unsigned size)
{
    TracenicState *s = opaque;

    trace_tracenic_mmio_write(addr, size, val);
    tracenic_callback_begin(s);
    /* A 64-bit access is the low register, then the high one. */
    tracenic_write32(s, addr, val);
    if (size == 8) {
        tracenic_write32(s, addr + 4, val >> 32);
    }
    tracenic_callback_end(s);
}

static const MemoryRegionOps tracenic_mmio_ops = {
    .read = tracenic_mmio_read,
    .write = tracenic_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
};

/* --- PCI config: bus mastering -------------------------------------------- */

static void tracenic_config_write(PCIDevice *dev, uint32_t addr, uint32_t val,
                                  int len)
{
    TracenicState *s = TRACENIC(dev);
    bool bm;

    pci_default_write_config(dev, addr, val, len);
    msix_write_config(dev, addr, val, len);
    bm = pci_get_word(dev->config + PCI_COMMAND) & PCI_COMMAND_MASTER;
    if (bm != s->bus_master) {
        s->bus_master = bm;
        trace_tracenic_bus_master(bm);
        tracenic_record_state(s, TN_ST_BUS_MASTER, TN_RING_ID_NONE, bm, 0);
        if (bm) {
            tracenic_rx_refill(s);
            tracenic_tx_kick(s);
            if (tracenic_can_receive(s)) {
                qemu_flush_queued_packets(qemu_get_queue(s->nic));
            }
        }
    }
}

/* --- Network backend ------------------------------------------------------ */

static bool tracenic_nc_can_receive(NetClientState *nc)
{
    return tracenic_can_receive(qemu_get_nic_opaque(nc));
}

static ssize_t tracenic_nc_receive(NetClientState *nc, const uint8_t *buf,
                                   size_t size)
{
    TracenicState *s = qemu_get_nic_opaque(nc);
    ssize_t ret;

    tracenic_callback_begin(s);
    ret = tracenic_receive(s, buf, size);
    tracenic_callback_end(s);
    return ret;
}

static void tracenic_set_link_status(NetClientState *nc)
{
    TracenicState *s = qemu_get_nic_opaque(nc);
    bool up = !nc->link_down;

    if (up == !!(s->status & TN_STATUS_LINK_UP)) {
        return;
    }
    s->status = up ? s->status | TN_STATUS_LINK_UP
                   : s->status & ~TN_STATUS_LINK_UP;
    tracenic_record_state(s, TN_ST_LINK, TN_RING_ID_NONE, up, 0);
    tracenic_raise(s, TN_INT_LINK);
}

static NetClientInfo tracenic_net_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NICState),
    .can_receive = tracenic_nc_can_receive,
    .receive = tracenic_nc_receive,
    .link_status_changed = tracenic_set_link_status,
};

/* --- Run-time fault-injection properties ---------------------------------- */

static PropertyInfo tracenic_prop_runtime_u64;
static PropertyInfo tracenic_prop_runtime_u32;
static PropertyInfo tracenic_prop_runtime_bool;

static uint64_t tracenic_prop_value(TracenicState *s, uint8_t id)
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

static void tracenic_prop_set_runtime(Object *obj, Visitor *v, const char *name,
                                      void *opaque, Error **errp)
{
    ERRP_GUARD();
    TracenicState *s = TRACENIC(obj);
    Property *prop = opaque;
    const PropertyInfo *base = prop->info == &tracenic_prop_runtime_bool ?
        &qdev_prop_bool : prop->info == &tracenic_prop_runtime_u32 ?
        &qdev_prop_uint32 : &qdev_prop_uint64;
    uint32_t old_prefetch = s->prefetch;
    uint8_t id;

    base->set(obj, v, name, opaque, errp);
    if (*errp) {
        return;
    }
    if (s->prefetch > TRACENIC_PREFETCH_MAX) {
        error_setg(errp, "prefetch=%u is too large: the device reads at most "
                   "%d descriptors ahead", s->prefetch, TRACENIC_PREFETCH_MAX);
        s->prefetch = old_prefetch;
        return;
    }
    if (!DEVICE(obj)->realized) {
        return;
    }
    /* The contract's TN_PROP_* numbers are named by their QOM names. */
    for (id = TN_PROP_RX_DMA_DELAY_NS; id <= TN_PROP_MAX; id++) {
        if (!strcmp(name, tn_prop_name(id))) {
            trace_tracenic_prop(name, tracenic_prop_value(s, id));
            tracenic_record_state(s, TN_ST_PROP, TN_RING_ID_NONE,
                                  tracenic_prop_value(s, id), id);
        }
    }
    if (!strcmp(name, "late-writeback") && !s->late_writeback) {
        /* Nothing is held back any more: deliver what was. */
        tracenic_flush_writebacks(s, &s->tx);
        tracenic_flush_writebacks(s, &s->rx);
    }
}

#define DEFINE_PROP_TN_U64(_n, _f, _d) \
    DEFINE_PROP(_n, TracenicState, _f, tracenic_prop_runtime_u64, uint64_t, \
                .set_default = true, .defval.u = (_d))
#define DEFINE_PROP_TN_U32(_n, _f, _d) \
    DEFINE_PROP(_n, TracenicState, _f, tracenic_prop_runtime_u32, uint32_t, \
                .set_default = true, .defval.u = (_d))
#define DEFINE_PROP_TN_BOOL(_n, _f, _d) \
    DEFINE_PROP(_n, TracenicState, _f, tracenic_prop_runtime_bool, bool, \
                .set_default = true, .defval.u = (_d))

static Property tracenic_properties[] = {
    DEFINE_NIC_PROPERTIES(TracenicState, conf),
    DEFINE_PROP_STRING("trace", TracenicState, trace_path),
    DEFINE_PROP_SIZE("trace-max-bytes", TracenicState, trace_max_bytes, 0),
    DEFINE_PROP_BOOL("check", TracenicState, check, false),
    DEFINE_PROP_STRING("on-violation", TracenicState, on_violation),
    DEFINE_PROP_BOOL("msix", TracenicState, use_msix, true),
    DEFINE_PROP_TN_U64("rx-dma-delay-ns", rx_dma_delay_ns, 0),
    DEFINE_PROP_TN_U64("tx-dma-delay-ns", tx_dma_delay_ns, 0),
    DEFINE_PROP_TN_U64("quiesce-delay-ns", quiesce_delay_ns, 20000),
    DEFINE_PROP_TN_U64("reset-delay-ns", reset_delay_ns, 50000),
    DEFINE_PROP_TN_U32("prefetch", prefetch, 4),
    DEFINE_PROP_TN_BOOL("late-writeback", late_writeback, false),
    DEFINE_PROP_END_OF_LIST(),
};

/* --- Lifecycle ------------------------------------------------------------ */

static bool tracenic_open_trace(TracenicState *s, Error **errp)
{
    struct tn_trace_header hdr = {
        .version = cpu_to_le16(TN_TRACE_VERSION),
        .header_size = cpu_to_le16(TN_TRACE_HEADER_SIZE),
        .record_size = cpu_to_le16(TN_TRACE_REC_SIZE),
        .clock = cpu_to_le16(TN_TRACE_CLOCK_VIRTUAL),
        .pci_vendor = cpu_to_le16(TN_PCI_VENDOR_ID),
        .pci_device = cpu_to_le16(TN_PCI_DEVICE_ID),
        .pci_revision = TN_PCI_REVISION,
        .flags = cpu_to_le32((s->check ? TN_TRACE_F_CHECK : 0) |
                             (s->stop_on_violation ? TN_TRACE_F_STOP : 0)),
        .start_ns = cpu_to_le64(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL)),
        .wall_start_ns = cpu_to_le64(g_get_real_time() * SCALE_US),
        .cap_bytes = cpu_to_le64(s->trace_max_bytes),
    };
    const char *id = DEVICE(s)->id ? DEVICE(s)->id : "";
    char *err = NULL;

    memcpy(hdr.magic, TN_TRACE_MAGIC, TN_TRACE_MAGIC_LEN);
    memcpy(hdr.mac, s->conf.macaddr.a, sizeof(hdr.mac));
    strncpy(hdr.device_id, id, sizeof(hdr.device_id));
    strncpy(hdr.qemu_version, QEMU_VERSION, sizeof(hdr.qemu_version));
    s->trace = tracenic_trace_open(s->trace_path, &hdr, s->trace_max_bytes,
                                   tracenic_trace_report, s, &err);
    if (!s->trace) {
        error_setg(errp, "tracenic: %s", err ? err : "out of memory");
        free(err);
        return false;
    }
    tracenic_record_state(s, TN_ST_TRACE_OPEN, TN_RING_ID_NONE, s->status, 0);
    tracenic_record_state(s, TN_ST_BUS_MASTER, TN_RING_ID_NONE, s->bus_master,
                          0);
    return true;
}

static void tracenic_realize(PCIDevice *pdev, Error **errp)
{
    TracenicState *s = TRACENIC(pdev);
    DeviceState *dev = DEVICE(pdev);

    if (!s->on_violation || !strcmp(s->on_violation, "log")) {
        s->stop_on_violation = false;
    } else if (!strcmp(s->on_violation, "stop")) {
        s->stop_on_violation = true;
    } else {
        error_setg(errp, "tracenic: on-violation=%s is not valid: use 'log' "
                   "or 'stop'", s->on_violation);
        return;
    }
    if (s->stop_on_violation && !s->check) {
        error_setg(errp, "tracenic: on-violation=stop needs check=on");
        return;
    }

    pci_config_set_interrupt_pin(pdev->config, 1);
    pci_set_word(pdev->config + PCI_SUBSYSTEM_VENDOR_ID, TN_PCI_VENDOR_ID);
    pci_set_word(pdev->config + PCI_SUBSYSTEM_ID, TN_PCI_SUBSYS_ID);

    memory_region_init_io(&s->mmio, OBJECT(s), &tracenic_mmio_ops, s,
                          "tracenic-mmio", TN_REGS_SIZE);
    pci_register_bar(pdev, TN_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->mmio);
    memory_region_init(&s->msix, OBJECT(s), "tracenic-msix", TN_MSIX_SIZE);
    pci_register_bar(pdev, TN_BAR_MSIX, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->msix);
    if (s->use_msix &&
        msix_init(pdev, TN_MSIX_VECTORS, &s->msix, TN_BAR_MSIX,
                  TN_MSIX_TABLE_OFF, &s->msix, TN_BAR_MSIX, TN_MSIX_PBA_OFF,
                  0, errp) < 0) {
        return;
    }
    if (msix_present(pdev)) {
        int i;

        for (i = 0; i < TN_MSIX_VECTORS; i++) {
            msix_vector_use(pdev, i);
        }
    }

    qemu_macaddr_default_if_unset(&s->conf.macaddr);
    s->nic = qemu_new_nic(&tracenic_net_info, &s->conf,
                          object_get_typename(OBJECT(s)), dev->id,
                          &dev->mem_reentrancy_guard, s);
    qemu_format_nic_info_str(qemu_get_queue(s->nic), s->conf.macaddr.a);

    tracenic_rings_init(s);
    s->kick_bh = qemu_bh_new_guarded(tracenic_kick_bh, s,
                                     &dev->mem_reentrancy_guard);
    s->reset_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, tracenic_reset_timer_cb,
                                  s);
    s->itr_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, tracenic_itr_timer_cb, s);
    s->status = TN_STATUS_QUIESCED |
                (qemu_get_queue(s->nic)->link_down ? 0 : TN_STATUS_LINK_UP);
    tracenic_reset_regs(s);

    if (s->check) {
        s->checker = tnkit_check_new(tracenic_check_violation,
                                     tracenic_check_warn, s);
    }
    if (s->trace_path && !tracenic_open_trace(s, errp)) {
        return;
    }
    s->vmstate_change =
        qemu_add_vm_change_state_handler(tracenic_vm_state_change, s);
    s->exit_notifier.notify = tracenic_exit_notify;
    qemu_add_exit_notifier(&s->exit_notifier);
}

static void tracenic_exit(PCIDevice *pdev)
{
    TracenicState *s = TRACENIC(pdev);

    tracenic_trace_close_now(s);
    if (s->vmstate_change) {
        qemu_del_vm_change_state_handler(s->vmstate_change);
        qemu_remove_exit_notifier(&s->exit_notifier);
    }
    tracenic_rings_free(s);
    timer_free(s->reset_timer);
    timer_free(s->itr_timer);
    qemu_bh_delete(s->kick_bh);
    if (s->checker) {
        tnkit_check_free(s->checker);
    }
    if (msix_present(pdev)) {
        msix_unuse_all_vectors(pdev);
        msix_uninit(pdev, &s->msix, &s->msix);
    }
    qemu_del_nic(s->nic);
}

/* QEMU's own reset (system reset): immediate, nothing left to drain. */
static void tracenic_qdev_reset(DeviceState *dev)
{
    TracenicState *s = TRACENIC(dev);

    tracenic_record_state(s, TN_ST_RESET_BEGIN, TN_RING_ID_NONE, 0, 0);
    timer_del(s->reset_timer);
    s->resetting = false;
    tracenic_ring_reset(s, &s->tx);
    tracenic_ring_reset(s, &s->rx);
    tracenic_reset_regs(s);
    s->bus_master = pci_get_word(PCI_DEVICE(s)->config + PCI_COMMAND) &
                    PCI_COMMAND_MASTER;
    tracenic_update_quiesced(s);
    tracenic_record_state(s, TN_ST_RESET_DONE, TN_RING_ID_NONE, 0, 0);
    if (s->trace) {
        tracenic_trace_flush(s->trace);
    }
}

static int tracenic_post_load(void *opaque, int version_id)
{
    TracenicState *s = opaque;

    if (s->rx_frame_len > TN_MAX_FRAME) {
        return -EINVAL;
    }
    /* The online check's region map lives outside the migration stream. */
    if (s->checker) {
        tnkit_check_suspend(s->checker, "the VM was restored from a snapshot "
                            "or migrated");
    }
    return 0;
}

static const VMStateDescription tracenic_vmstate = {
    .name = "tracenic",
    .version_id = 2,
    .minimum_version_id = 1,
    .post_load = tracenic_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, TracenicState),
        VMSTATE_MSIX(parent_obj, TracenicState),
        VMSTATE_UINT32(ctrl, TracenicState),
        VMSTATE_UINT32(status, TracenicState),
        VMSTATE_UINT32(icr, TracenicState),
        VMSTATE_UINT32(ims, TracenicState),
        VMSTATE_UINT32(itr_us, TracenicState),
        VMSTATE_UINT32(err, TracenicState),
        VMSTATE_UINT32(mac_lo, TracenicState),
        VMSTATE_UINT32(mac_hi, TracenicState),
        VMSTATE_UINT32(stat_rx_packets, TracenicState),
        VMSTATE_UINT32(stat_rx_bytes, TracenicState),
        VMSTATE_UINT32(stat_rx_dropped, TracenicState),
        VMSTATE_UINT32(stat_tx_packets, TracenicState),
        VMSTATE_UINT32(stat_tx_bytes, TracenicState),
        VMSTATE_UINT32(stat_tx_errors, TracenicState),
        VMSTATE_STRUCT(tx, TracenicState, 1, vmstate_tn_ring, TNRing),
        VMSTATE_STRUCT(rx, TracenicState, 1, vmstate_tn_ring, TNRing),
        VMSTATE_BOOL(resetting, TracenicState),
        VMSTATE_TIMER_PTR(reset_timer, TracenicState),
        VMSTATE_BOOL(bus_master, TracenicState),
        VMSTATE_BOOL(intx_level, TracenicState),
        VMSTATE_UINT8(drain_unseen, TracenicState),
        VMSTATE_BOOL(reset_unseen, TracenicState),
        VMSTATE_INT64_ARRAY(last_irq_ns, TracenicState, TN_MSIX_VECTORS),
        VMSTATE_UINT32(pending_vectors, TracenicState),
        VMSTATE_TIMER_PTR(itr_timer, TracenicState),
        VMSTATE_UINT8_ARRAY(rx_frame, TracenicState, TN_MAX_FRAME),
        VMSTATE_UINT32(rx_frame_len, TracenicState),
        VMSTATE_UINT32(lg_va_lo, TracenicState),
        VMSTATE_UINT32(lg_va_hi, TracenicState),
        VMSTATE_UINT32(lg_bus_lo, TracenicState),
        VMSTATE_UINT32(lg_bus_hi, TracenicState),
        VMSTATE_UINT32(lg_id, TracenicState),
        VMSTATE_UINT32(lg_length, TracenicState),
        VMSTATE_UINT32(lg_flags, TracenicState),
        VMSTATE_UINT32(lg_tag, TracenicState),
        VMSTATE_UINT32(lg_site, TracenicState),
        VMSTATE_UINT32(lg_info, TracenicState),
        VMSTATE_UINT32(lg_accepted, TracenicState),
        VMSTATE_UINT32(lg_rejected, TracenicState),
        VMSTATE_UINT32(lg_pending_id, TracenicState),
        VMSTATE_UINT32(lg_pending_left, TracenicState),
        VMSTATE_UINT32(lg_pending_next, TracenicState),
        VMSTATE_UINT32(next_ref_id, TracenicState),
        VMSTATE_UINT32_V(iam, TracenicState, 2),
        VMSTATE_END_OF_LIST()
    }
};

/* Shown by -device tracenic,help; the run-time ones say so. */
static const char *const tracenic_prop_help[][2] = {
    { "trace", "file to write the binary trace to (docs/trace-format.md)" },
    { "trace-max-bytes", "size cap of the trace file, 0 = none; later "
                         "records are dropped and counted" },
    { "check", "online checks: dma-after-free, free-not-quiesced, "
               "dma-non-dma-memory and wild-dma as they happen" },
    { "on-violation", "log (default) or stop: pause the VM at a violation "
                      "(needs check=on)" },
    { "msix", "offer MSI-X (3 vectors); off: INTx only" },
    { "rx-dma-delay-ns", "delay of every RX transfer, virtual ns "
                         "(run time: qom-set)" },
    { "tx-dma-delay-ns", "delay of every TX transfer, virtual ns "
                         "(run time: qom-set)" },
    { "quiesce-delay-ns", "minimum drain time after RING_CTRL.ENABLE is "
                          "cleared, virtual ns (run time: qom-set)" },
    { "reset-delay-ns", "duration of CTRL.RST, virtual ns "
                        "(run time: qom-set)" },
    { "prefetch", "descriptors read ahead of use, 0-32 "
                  "(run time: qom-set)" },
    { "late-writeback", "hold descriptor write-backs until the drain ends "
                        "or quiesce-delay-ns passed (run time: qom-set)" },
};

static void tracenic_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    int i;

    /* Fault injection must be adjustable on a running VM (QMP qom-set). */
    tracenic_prop_runtime_u64 = qdev_prop_uint64;
    tracenic_prop_runtime_u64.set = tracenic_prop_set_runtime;
    tracenic_prop_runtime_u64.realized_set_allowed = true;
    tracenic_prop_runtime_u32 = qdev_prop_uint32;
    tracenic_prop_runtime_u32.set = tracenic_prop_set_runtime;
    tracenic_prop_runtime_u32.realized_set_allowed = true;
    tracenic_prop_runtime_bool = qdev_prop_bool;
    tracenic_prop_runtime_bool.set = tracenic_prop_set_runtime;
    tracenic_prop_runtime_bool.realized_set_allowed = true;

    k->realize = tracenic_realize;
    k->exit = tracenic_exit;
    k->config_write = tracenic_config_write;
    k->vendor_id = TN_PCI_VENDOR_ID;
    k->device_id = TN_PCI_DEVICE_ID;
    k->revision = TN_PCI_REVISION;
    k->class_id = PCI_CLASS_NETWORK_ETHERNET;
    dc->desc = "tracenic: NIC that traces DMA and driver memory lifecycle";
    dc->reset = tracenic_qdev_reset;
    dc->vmsd = &tracenic_vmstate;
    device_class_set_props(dc, tracenic_properties);
    for (i = 0; i < ARRAY_SIZE(tracenic_prop_help); i++) {
        object_class_property_set_description(klass, tracenic_prop_help[i][0],
                                              tracenic_prop_help[i][1]);
    }
    set_bit(DEVICE_CATEGORY_NETWORK, dc->categories);
}

static const TypeInfo tracenic_info = {
    .name = TYPE_TRACENIC,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(TracenicState),
    .class_init = tracenic_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void tracenic_register_types(void)
{
    type_register_static(&tracenic_info);
}

type_init(tracenic_register_types)
