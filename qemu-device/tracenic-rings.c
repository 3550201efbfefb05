/*
 * tracenic: TX and RX descriptor rings.
 *
 * The device works like Intel's igb/ixgbe queues: the driver posts
 * descriptors and bumps TAIL; the device fetches them (possibly ahead, see
 * "prefetch"), moves the frame, writes the descriptor back and advances HEAD.
 * Clearing RING_CTRL.ENABLE does not stop DMA at once: the ring drains for
 * quiesce-delay-ns, transfers already under way still complete, and only
 * then are the ring's references dropped and STATUS.QUIESCED can be reached.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "migration/vmstate.h"
#include "sysemu/replay.h"
#include "tracenic-core.h"
#include "tracenic/names.h"
#include "trace.h"

static uint64_t tracenic_desc_addr(const TracenicRing *r, uint32_t slot)
{
    return r->base + (uint64_t)slot * sizeof(struct tn_desc);
}

/* Descriptors the driver has given the device: HEAD .. TAIL-1. */
static uint32_t tracenic_posted(const TracenicRing *r)
{
    return (r->tail - r->head) & (r->size - 1);
}

static bool tracenic_more_posted(const TracenicRing *r)
{
    return r->n_cached < tracenic_posted(r);
}

static bool tracenic_ring_running(TracenicState *s, const TracenicRing *r)
{
    return r->active && !r->draining && !r->error && !s->resetting;
}

static void tracenic_ring_fail(TracenicState *s, TracenicRing *r,
                               const char *why)
{
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: %s ring stopped: %s\n",
                  tn_ring_name(r->id), why);
    r->error = true;
    tracenic_raise(s, TN_INT_ERROR);
}

/* Fetch the next posted descriptor into the cache and reference its buffer. */
static bool tracenic_fetch_desc(TracenicState *s, TracenicRing *r)
{
    uint8_t cause = r->id == TN_RING_ID_TX ? TN_CAUSE_TX_DESC_READ
                                           : TN_CAUSE_RX_DESC_READ;
    uint32_t slot = (r->head + r->n_cached) & (r->size - 1);
    struct tn_desc d;
    TracenicCachedDesc *c;

    if (r->n_cached == TRACENIC_CACHE_SLOTS || !tracenic_more_posted(r)) {
        return false;
    }
    if (!tnkit_dma(s->kit, false, cause, r->id, slot, r->ring_ref,
                   tracenic_desc_addr(r, slot), &d, sizeof(d))) {
        tracenic_ring_fail(s, r, "a descriptor could not be read");
        return false;
    }
    if (!(le16_to_cpu(d.flags) & TN_DESC_OWN)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic: %s descriptor %u is below "
                      "TAIL but does not have OWN set; waiting for the next "
                      "TAIL write\n", tn_ring_name(r->id), slot);
        return false;
    }
    c = &r->cache[r->n_cached++];
    c->slot = slot;
    c->addr = le64_to_cpu(d.addr);
    c->len = le16_to_cpu(d.len);
    c->flags = le16_to_cpu(d.flags);
    c->inflight_ref = 0;
    c->ref_id = c->len ? tnkit_ref_take(s->kit, TN_REF_PREFETCH, r->id, slot,
                                        c->addr, c->len) : 0;
    return true;
}

static void tracenic_release_desc(TracenicState *s, TracenicRing *r,
                                  TracenicCachedDesc *c)
{
    tnkit_ref_drop(s->kit, &c->inflight_ref, TN_REF_INFLIGHT, r->id, c->slot,
                   c->addr, c->len);
    tnkit_ref_drop(s->kit, &c->ref_id, TN_REF_PREFETCH, r->id, c->slot, c->addr,
                   c->len);
}

/* Forget the first @n cached descriptors (already written back or dropped). */
static void tracenic_consume(TracenicRing *r, uint32_t n)
{
    r->n_cached -= n;
    memmove(r->cache, r->cache + n, r->n_cached * sizeof(r->cache[0]));
    r->head = (r->head + n) & (r->size - 1);
}

static void tracenic_do_writeback(TracenicState *s, TracenicRing *r,
                                  const TracenicPendingWb *p)
{
    uint16_t wb[4] = {
        cpu_to_le16(p->len), cpu_to_le16(p->flags),
        cpu_to_le16(p->wb_len), cpu_to_le16(p->wb_status),
    };

    tnkit_dma(s->kit, true, p->cause, r->id, p->slot, r->ring_ref,
              tracenic_desc_addr(r, p->slot) + TN_DESC_WB_OFFSET, wb,
              sizeof(wb));
}

void tracenic_flush_writebacks(TracenicState *s, TracenicRing *r)
{
    uint32_t irq = 0;
    uint32_t i;

    for (i = 0; i < r->n_wb; i++) {
        tracenic_do_writeback(s, r, &r->wb[i]);
        irq |= r->wb[i].irq;
    }
    r->n_wb = 0;
    timer_del(r->wb_timer);
    if (irq) {
        tracenic_raise(s, irq);
    }
}

static void tracenic_writeback(TracenicState *s, TracenicRing *r,
                               const TracenicCachedDesc *c,
                               uint16_t wb_len, uint16_t status, bool eop)
{
    TracenicPendingWb p = {
        .slot = c->slot,
        .len = c->len,
        .flags = (c->flags & ~TN_DESC_OWN) | TN_DESC_DONE |
                 (status ? TN_DESC_ERR : 0),
        .wb_len = wb_len,
        .wb_status = status,
    };

    if (r->id == TN_RING_ID_TX) {
        p.cause = TN_CAUSE_TX_WRITEBACK;
        p.irq = (c->flags & TN_DESC_IRQ) ? TN_INT_TX : 0;
    } else {
        p.cause = TN_CAUSE_RX_WRITEBACK;
        p.flags = (p.flags & ~TN_DESC_EOP) | (eop ? TN_DESC_EOP : 0);
        p.irq = eop ? TN_INT_RX : 0;
    }
    if (!s->late_writeback) {
        tracenic_do_writeback(s, r, &p);
        if (p.irq) {
            tracenic_raise(s, p.irq);
        }
        return;
    }
    r->wb[r->n_wb++] = p;
    if (r->n_wb == TRACENIC_WB_QUEUE) {
        tracenic_flush_writebacks(s, r);
    } else if (!timer_pending(r->wb_timer)) {
        timer_mod(r->wb_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  MAX(s->quiesce_delay_ns, 1));
    }
}

/* --- Draining and idling -------------------------------------------------- */

static void tracenic_release_desc_drained(TracenicState *s, TracenicRing *r,
                                          TracenicCachedDesc *c)
{
    tnkit_ref_drop_drained(s->kit, &c->inflight_ref, TN_REF_INFLIGHT, r->id,
                           c->slot, c->addr, c->len);
    tnkit_ref_drop_drained(s->kit, &c->ref_id, TN_REF_PREFETCH, r->id, c->slot,
                           c->addr, c->len);
}

static void tracenic_ring_go_idle(TracenicState *s, TracenicRing *r)
{
    uint32_t i;

    tracenic_flush_writebacks(s, r);
    for (i = 0; i < r->n_cached; i++) {
        tracenic_release_desc_drained(s, r, &r->cache[i]);
    }
    r->n_cached = 0;
    tnkit_ref_drop_drained(s->kit, &r->ring_ref, TN_REF_RING, r->id, 0, r->base,
                           r->size * sizeof(struct tn_desc));
    r->active = false;
    r->draining = false;
    timer_del(r->drain_timer);
    tracenic_drain_finished(s, r->id);
    trace_tracenic_ring_idle(tn_ring_name(r->id));
    tnkit_record_state(s->kit, TN_ST_RING_IDLE, r->id, 0, 0);
    tracenic_update_quiesced(s);
}

/* Idle the ring once its drain time is over and nothing is in flight. */
static void tracenic_ring_maybe_idle(TracenicState *s, TracenicRing *r)
{
    if (!r->draining || r->n_inflight ||
        qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) < r->drain_deadline) {
        return;
    }
    tracenic_ring_go_idle(s, r);
}

void tracenic_ring_begin_drain(TracenicState *s, TracenicRing *r,
                               uint64_t delay_ns)
{
    int64_t deadline = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + delay_ns;

    if (!r->active) {
        return;
    }
    if (!r->draining) {
        r->draining = true;
        r->drain_deadline = deadline;
        trace_tracenic_ring_disable(tn_ring_name(r->id), delay_ns);
        tnkit_record_state(s->kit, TN_ST_RING_DISABLE, r->id, 0, 0);
    } else {
        r->drain_deadline = MAX(r->drain_deadline, deadline);
    }
    timer_mod(r->drain_timer, r->drain_deadline);
    tracenic_ring_maybe_idle(s, r);
}

static void tracenic_drain_timer_cb(void *opaque)
{
    TracenicRing *r = opaque;
    TracenicState *s = TRACENIC(r->owner);

    tracenic_ring_maybe_idle(s, r);
    /* A drain that outlasts reset-delay-ns is what a reset waits for. */
    if (s->resetting) {
        tracenic_reset_maybe_finish(s);
    }
}

static void tracenic_wb_timer_cb(void *opaque)
{
    TracenicRing *r = opaque;
    TracenicState *s = TRACENIC(r->owner);

    tnkit_callback_begin(s->kit);
    tracenic_flush_writebacks(s, r);
    tnkit_callback_end(s->kit);
}

/* --- TX ------------------------------------------------------------------- */

/* @bad_chain: the descriptors never reached an EOP and are failed as one. */
static void tracenic_tx_send_frame(TracenicState *s, uint32_t ndesc,
                                   bool bad_chain)
{
    TracenicRing *r = &s->tx;
    uint8_t frame[TN_MAX_FRAME];
    uint16_t status = bad_chain ? TN_WB_BAD_DESC : TN_WB_OK;
    size_t len = 0;
    uint32_t i;

    for (i = 0; i < ndesc && status == TN_WB_OK; i++) {
        TracenicCachedDesc *c = &r->cache[i];

        if (!c->len) {
            status = TN_WB_BAD_DESC;
        } else if (len + c->len > TN_MAX_FRAME) {
            status = TN_WB_TOO_LONG;
        } else if (!tnkit_dma(s->kit, false, TN_CAUSE_TX_BUF_READ, r->id,
                              c->slot, c->ref_id, c->addr, frame + len,
                              c->len)) {
            status = TN_WB_DMA_ERROR;
        } else {
            len += c->len;
        }
    }
    if (status == TN_WB_OK) {
        trace_tracenic_tx_frame(len, ndesc);
        if (s->status & TN_STATUS_LINK_UP) {
            qemu_send_packet(qemu_get_queue(s->nic), frame, len);
        }
        s->stat_tx_packets++;
        s->stat_tx_bytes += len;
    } else {
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic: TX frame at descriptor %u "
                      "dropped (write-back status %u)\n", r->cache[0].slot,
                      status);
        s->err = status == TN_WB_DMA_ERROR ? TN_ERR_DMA : TN_ERR_DESC;
        s->stat_tx_errors++;
    }
    for (i = 0; i < ndesc; i++) {
        TracenicCachedDesc *c = &r->cache[i];

        tracenic_release_desc(s, r, c);
        tracenic_writeback(s, r, c, status == TN_WB_OK ? c->len : 0, status,
                           i == ndesc - 1);
    }
    tracenic_consume(r, ndesc);
}

/* Cached descriptors up to and including the first EOP, or 0. */
static uint32_t tracenic_tx_frame_descs(const TracenicRing *r)
{
    uint32_t i;

    for (i = 0; i < r->n_cached; i++) {
        if (r->cache[i].flags & TN_DESC_EOP) {
            return i + 1;
        }
    }
    return 0;
}

static void tracenic_tx_start_inflight(TracenicState *s, uint32_t ndesc)
{
    TracenicRing *r = &s->tx;
    uint32_t i;

    for (i = 0; i < ndesc; i++) {
        TracenicCachedDesc *c = &r->cache[i];

        if (c->len) {
            c->inflight_ref = tnkit_ref_take(s->kit, TN_REF_INFLIGHT, r->id,
                                             c->slot, c->addr, c->len);
        }
    }
    r->n_inflight = ndesc;
    timer_mod(r->inflight_timer,
              qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + s->tx_dma_delay_ns);
}

/* Read ahead while a frame is in flight, as real NICs do. */
static void tracenic_tx_read_ahead(TracenicState *s, TracenicRing *r)
{
    while (r->n_cached < r->n_inflight + s->prefetch) {
        if (!tracenic_fetch_desc(s, r)) {
            break;
        }
    }
}

void tracenic_tx_kick(TracenicState *s)
{
    TracenicRing *r = &s->tx;
    uint32_t budget = TRACENIC_KICK_BUDGET;

    if (r->n_inflight && tracenic_ring_running(s, r)) {
        tracenic_tx_read_ahead(s, r);     /* a TAIL write during a transfer */
        return;
    }

    while (tracenic_ring_running(s, r) && !r->n_inflight) {
        uint32_t ndesc = tracenic_tx_frame_descs(r);

        while (!ndesc && r->n_cached < TRACENIC_FRAME_MAX_DESCS && budget) {
            if (!tracenic_fetch_desc(s, r)) {
                return;
            }
            budget--;
            ndesc = tracenic_tx_frame_descs(r);
        }
        if (!ndesc) {
            if (r->n_cached < TRACENIC_FRAME_MAX_DESCS) {
                replay_bh_schedule_event(s->kick_bh);
                return;
            }
            /* Never an EOP: fail the chain rather than stall the ring. */
            tracenic_tx_send_frame(s, r->n_cached, true);
            continue;
        }
        if (s->tx_dma_delay_ns) {
            tracenic_tx_start_inflight(s, ndesc);
            tracenic_tx_read_ahead(s, r);
            return;
        }
        tracenic_tx_send_frame(s, ndesc, false);
        if (budget <= ndesc) {
            replay_bh_schedule_event(s->kick_bh);
            return;
        }
        budget -= ndesc;
    }
}

/* --- RX ------------------------------------------------------------------- */

void tracenic_rx_refill(TracenicState *s)
{
    TracenicRing *r = &s->rx;

    while (tracenic_ring_running(s, r) && tnkit_bus_master(s->kit) &&
           r->n_cached < s->prefetch) {
        if (!tracenic_fetch_desc(s, r)) {
            break;
        }
    }
}

bool tracenic_can_receive(TracenicState *s)
{
    TracenicRing *r = &s->rx;

    return tracenic_ring_running(s, r) && tnkit_bus_master(s->kit) &&
           !r->n_inflight && tracenic_posted(r) > 0;
}

static void tracenic_rx_write_frame(TracenicState *s, const uint8_t *data,
                                    uint32_t size, uint32_t ndesc)
{
    TracenicRing *r = &s->rx;
    uint32_t off = 0;
    uint32_t i;

    for (i = 0; i < ndesc; i++) {
        TracenicCachedDesc *c = &r->cache[i];
        uint32_t chunk = MIN(c->len, size - off);
        uint16_t status = TN_WB_OK;

        if (!c->len) {
            status = TN_WB_BAD_DESC;
        } else if (!tnkit_dma(s->kit, true, TN_CAUSE_RX_BUF_WRITE, r->id,
                              c->slot, c->ref_id, c->addr,
                              (void *)(data + off), chunk)) {
            status = TN_WB_DMA_ERROR;
        }
        off += chunk;
        tracenic_release_desc(s, r, c);
        tracenic_writeback(s, r, c, chunk, status, i == ndesc - 1);
    }
    trace_tracenic_rx_frame(size, ndesc);
    s->stat_rx_packets++;
    s->stat_rx_bytes += size;
    tracenic_consume(r, ndesc);
}

ssize_t tracenic_receive(TracenicState *s, const uint8_t *buf, size_t size)
{
    TracenicRing *r = &s->rx;
    uint32_t ndesc = 0;
    size_t room = 0;
    uint32_t i;

    if (size > TN_MAX_FRAME) {
        s->stat_rx_dropped++;
        return size;
    }
    if (!tracenic_can_receive(s)) {
        return 0;
    }
    while (room < size && ndesc < TRACENIC_FRAME_MAX_DESCS) {
        if (ndesc == r->n_cached && !tracenic_fetch_desc(s, r)) {
            break;
        }
        room += r->cache[ndesc++].len;
    }
    if (room < size) {
        if (r->error || ndesc == TRACENIC_FRAME_MAX_DESCS ||
            tracenic_posted(r) == r->size - 1) {
            /* The posted buffers can never hold this frame: drop it. */
            s->stat_rx_dropped++;
            tracenic_raise(s, TN_INT_RX_NOBUF);
            return size;
        }
        return 0;   /* queued until the driver posts more buffers */
    }
    if (s->rx_dma_delay_ns) {
        memcpy(s->rx_frame, buf, size);
        s->rx_frame_len = size;
        for (i = 0; i < ndesc; i++) {
            TracenicCachedDesc *c = &r->cache[i];

            if (c->len) {
                c->inflight_ref = tnkit_ref_take(s->kit, TN_REF_INFLIGHT, r->id,
                                                 c->slot, c->addr, c->len);
            }
        }
        r->n_inflight = ndesc;
        timer_mod(r->inflight_timer,
                  qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + s->rx_dma_delay_ns);
        return size;
    }
    tracenic_rx_write_frame(s, buf, size, ndesc);
    tracenic_rx_refill(s);
    return size;
}

/* A delayed transfer completes, whatever the driver did in the meantime. */
static void tracenic_inflight_timer_cb(void *opaque)
{
    TracenicRing *r = opaque;
    TracenicState *s = TRACENIC(r->owner);
    uint32_t n = r->n_inflight;

    if (!n) {
        return;
    }
    tnkit_callback_begin(s->kit);
    r->n_inflight = 0;
    if (r->id == TN_RING_ID_TX) {
        tracenic_tx_send_frame(s, n, false);
        tracenic_ring_maybe_idle(s, r);
        tracenic_tx_kick(s);
    } else {
        tracenic_rx_write_frame(s, s->rx_frame, s->rx_frame_len, n);
        tracenic_ring_maybe_idle(s, r);
        tracenic_rx_refill(s);
        if (tracenic_can_receive(s)) {
            qemu_flush_queued_packets(qemu_get_queue(s->nic));
        }
    }
    if (s->resetting) {
        tracenic_reset_maybe_finish(s);
    }
    tnkit_callback_end(s->kit);
}

/* --- Register writes ------------------------------------------------------ */

static bool tracenic_ring_validate(TracenicState *s, TracenicRing *r)
{
    uint32_t size = r->size_reg;
    uint64_t base = ((uint64_t)r->base_hi << 32) | r->base_lo;

    if (size < TN_RING_MIN || size > TN_RING_MAX || (size & (size - 1))) {
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic: %s ring enable refused: size "
                      "%u is not a power of two between %u and %u\n",
                      tn_ring_name(r->id), size, TN_RING_MIN, TN_RING_MAX);
        s->err = TN_ERR_RING_SIZE;
        return false;
    }
    if (base & (sizeof(struct tn_desc) - 1)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic: %s ring enable refused: base "
                      "0x%" PRIx64 " is not 16-byte aligned\n",
                      tn_ring_name(r->id), base);
        s->err = TN_ERR_RING_ALIGN;
        return false;
    }
    return true;
}

static void tracenic_ring_enable(TracenicState *s, TracenicRing *r)
{
    if (r->active) {
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic: %s ring enabled again while "
                      "still draining; wait for RING_STATUS.ACTIVE to clear\n",
                      tn_ring_name(r->id));
        s->err = TN_ERR_RING_BUSY;
        r->ctrl = 0;
        tracenic_raise(s, TN_INT_ERROR);
        return;
    }
    if (!tracenic_ring_validate(s, r)) {
        r->error = true;
        r->ctrl = 0;
        tracenic_raise(s, TN_INT_ERROR);
        return;
    }
    r->base = ((uint64_t)r->base_hi << 32) | r->base_lo;
    r->size = r->size_reg;
    r->head = r->tail = 0;
    r->n_cached = r->n_inflight = r->n_wb = 0;
    r->error = false;
    r->active = true;
    r->draining = false;
    r->ring_ref = tnkit_ref_take(s->kit, TN_REF_RING, r->id, 0, r->base,
                                 r->size * sizeof(struct tn_desc));
    trace_tracenic_ring_enable(tn_ring_name(r->id), r->base, r->size);
    tnkit_record_state(s->kit, TN_ST_RING_ENABLE, r->id, r->base, r->size);
    tracenic_update_quiesced(s);
}

void tracenic_ring_write_ctrl(TracenicState *s, TracenicRing *r, uint32_t val)
{
    bool was = r->ctrl & TN_RING_CTRL_ENABLE;
    bool now = val & TN_RING_CTRL_ENABLE;

    r->ctrl = val & TN_RING_CTRL_ENABLE;
    if (!was && now) {
        tracenic_ring_enable(s, r);
    } else if (was && !now) {
        tracenic_ring_begin_drain(s, r, s->quiesce_delay_ns);
    }
}

void tracenic_ring_write_tail(TracenicState *s, TracenicRing *r, uint32_t val)
{
    if (!r->active || r->draining) {
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic: %s TAIL written while the "
                      "ring is not enabled; ignored\n", tn_ring_name(r->id));
        return;
    }
    if (val >= r->size) {
        qemu_log_mask(LOG_GUEST_ERROR, "tracenic: %s TAIL %u is outside the "
                      "ring of %u descriptors; ignored\n", tn_ring_name(r->id),
                      val, r->size);
        return;
    }
    r->tail = val;
    /* late-writeback holds write-backs until the device next uses the ring. */
    tracenic_flush_writebacks(s, r);
    if (r->id == TN_RING_ID_TX) {
        tracenic_tx_kick(s);
    } else {
        tracenic_rx_refill(s);
        if (tracenic_can_receive(s)) {
            qemu_flush_queued_packets(qemu_get_queue(s->nic));
        }
    }
}

/*
 * Forget everything at once: only for QEMU's own reset and teardown, where
 * the guest cannot observe the missing DMA.  References are still dropped
 * in the trace so that it stays consistent.
 */
void tracenic_ring_reset(TracenicState *s, TracenicRing *r)
{
    uint32_t i;

    timer_del(r->drain_timer);
    timer_del(r->inflight_timer);
    timer_del(r->wb_timer);
    for (i = 0; i < r->n_cached; i++) {
        tracenic_release_desc_drained(s, r, &r->cache[i]);
    }
    if (r->ring_ref) {
        tracenic_drain_finished(s, r->id);
        tnkit_ref_drop_drained(s->kit, &r->ring_ref, TN_REF_RING, r->id, 0,
                               r->base, r->size * sizeof(struct tn_desc));
        tnkit_record_state(s->kit, TN_ST_RING_IDLE, r->id, 0, 0);
    }
    r->base_lo = r->base_hi = r->size_reg = r->ctrl = 0;
    r->base = 0;
    r->size = 0;
    r->head = r->tail = 0;
    r->n_cached = r->n_inflight = r->n_wb = 0;
    r->active = r->draining = r->error = false;
}

void tracenic_rings_init(TracenicState *s)
{
    TracenicRing *rings[] = { &s->tx, &s->rx };
    int i;

    s->tx.id = TN_RING_ID_TX;
    s->rx.id = TN_RING_ID_RX;
    for (i = 0; i < ARRAY_SIZE(rings); i++) {
        TracenicRing *r = rings[i];

        r->owner = OBJECT(s);
        r->drain_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL,
                                      tracenic_drain_timer_cb, r);
        r->inflight_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL,
                                         tracenic_inflight_timer_cb, r);
        r->wb_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, tracenic_wb_timer_cb, r);
    }
}

void tracenic_rings_free(TracenicState *s)
{
    TracenicRing *rings[] = { &s->tx, &s->rx };
    int i;

    for (i = 0; i < ARRAY_SIZE(rings); i++) {
        timer_free(rings[i]->drain_timer);
        timer_free(rings[i]->inflight_timer);
        timer_free(rings[i]->wb_timer);
    }
}

/* --- Migration ------------------------------------------------------------ */

static const VMStateDescription vmstate_tracenic_cached_desc = {
    .name = "tracenic/cached-desc",
    .version_id = 2,              /* 2: 64-bit reference ids */
    .minimum_version_id = 2,
    .fields = (VMStateField[]) {
        VMSTATE_UINT32(slot, TracenicCachedDesc),
        VMSTATE_UINT64(ref_id, TracenicCachedDesc),
        VMSTATE_UINT64(inflight_ref, TracenicCachedDesc),
        VMSTATE_UINT64(addr, TracenicCachedDesc),
        VMSTATE_UINT16(len, TracenicCachedDesc),
        VMSTATE_UINT16(flags, TracenicCachedDesc),
        VMSTATE_END_OF_LIST()
    }
};

static const VMStateDescription vmstate_tracenic_pending_wb = {
    .name = "tracenic/pending-wb",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_UINT32(slot, TracenicPendingWb),
        VMSTATE_UINT16(len, TracenicPendingWb),
        VMSTATE_UINT16(flags, TracenicPendingWb),
        VMSTATE_UINT16(wb_len, TracenicPendingWb),
        VMSTATE_UINT16(wb_status, TracenicPendingWb),
        VMSTATE_UINT8(cause, TracenicPendingWb),
        VMSTATE_UINT8(irq, TracenicPendingWb),
        VMSTATE_END_OF_LIST()
    }
};

static int tracenic_ring_post_load(void *opaque, int version_id)
{
    TracenicRing *r = opaque;

    if (r->n_cached > TRACENIC_CACHE_SLOTS || r->n_wb > TRACENIC_WB_QUEUE ||
        r->n_inflight > r->n_cached ||
        (r->active && (r->size < TN_RING_MIN || r->size > TN_RING_MAX ||
                       (r->size & (r->size - 1)) || r->head >= r->size ||
                       r->tail >= r->size))) {
        return -EINVAL;
    }
    return 0;
}

const VMStateDescription vmstate_tracenic_ring = {
    .name = "tracenic/ring",
    .version_id = 2,              /* 2: 64-bit reference ids */
    .minimum_version_id = 2,
    .post_load = tracenic_ring_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT32(base_lo, TracenicRing),
        VMSTATE_UINT32(base_hi, TracenicRing),
        VMSTATE_UINT32(size_reg, TracenicRing),
        VMSTATE_UINT32(ctrl, TracenicRing),
        VMSTATE_UINT64(base, TracenicRing),
        VMSTATE_UINT32(size, TracenicRing),
        VMSTATE_UINT32(head, TracenicRing),
        VMSTATE_UINT32(tail, TracenicRing),
        VMSTATE_BOOL(active, TracenicRing),
        VMSTATE_BOOL(draining, TracenicRing),
        VMSTATE_BOOL(error, TracenicRing),
        VMSTATE_UINT64(ring_ref, TracenicRing),
        VMSTATE_INT64(drain_deadline, TracenicRing),
        VMSTATE_TIMER_PTR(drain_timer, TracenicRing),
        VMSTATE_STRUCT_ARRAY(cache, TracenicRing, TRACENIC_CACHE_SLOTS, 1,
                             vmstate_tracenic_cached_desc, TracenicCachedDesc),
        VMSTATE_UINT32(n_cached, TracenicRing),
        VMSTATE_UINT32(n_inflight, TracenicRing),
        VMSTATE_TIMER_PTR(inflight_timer, TracenicRing),
        VMSTATE_STRUCT_ARRAY(wb, TracenicRing, TRACENIC_WB_QUEUE, 1,
                             vmstate_tracenic_pending_wb, TracenicPendingWb),
        VMSTATE_UINT32(n_wb, TracenicRing),
        VMSTATE_TIMER_PTR(wb_timer, TracenicRing),
        VMSTATE_END_OF_LIST()
    }
};
