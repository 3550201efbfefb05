/*
 * QEMU's e1000e traced with the tracenic kit (docs/e1000e.md).
 *
 * Every guest-memory access of the model goes through the kit with its
 * cause; references follow the ring registers: while a ring is on (RCTL.EN /
 * TCTL.EN with a non-zero length) its descriptor memory is referenced, and
 * the buffers of the descriptors between head and tail belong to the device:
 * when the driver moves a tail the buffer addresses of the newly posted
 * descriptors are read (a tracer's read, not recorded as DMA) and referenced
 * until the device writes that descriptor back, the ring goes off, or the
 * device resets.  The model does its DMA synchronously, so turning a ring
 * off is the end of its DMA: those drops are not "drained".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "net/eth.h"
#include "net/net.h"
#include "hw/pci/pci.h"
#include "net_tx_pkt.h"
#include "net_rx_pkt.h"
#include "e1000_regs.h"
#include "e1000x_common.h"
#include "e1000e-tnkit.h"

/* Ring ids of queue 0 and 1, TX and RX. */
static uint8_t e1000e_tnkit_ring_id(bool rx, int queue)
{
    return rx ? (queue ? TN_RING_ID_RX1 : TN_RING_ID_RX)
              : (queue ? TN_RING_ID_TX1 : TN_RING_ID_TX);
}

/* The registers of ring @id: base high, base low, length, head, tail. */
typedef struct E1000ETnkitRegs {
    int bah, bal, len, head, tail, ctl, en;
} E1000ETnkitRegs;

static const E1000ETnkitRegs e1000e_tnkit_regs[TN_RING_IDS] = {
    [TN_RING_ID_TX] = { TDBAH, TDBAL, TDLEN, TDH, TDT, TCTL, E1000_TCTL_EN },
    [TN_RING_ID_RX] = { RDBAH0, RDBAL0, RDLEN0, RDH0, RDT0, RCTL,
                        E1000_RCTL_EN },
    [TN_RING_ID_TX1] = { TDBAH1, TDBAL1, TDLEN1, TDH1, TDT1, TCTL,
                         E1000_TCTL_EN },
    [TN_RING_ID_RX1] = { RDBAH1, RDBAL1, RDLEN1, RDH1, RDT1, RCTL,
                         E1000_RCTL_EN },
};

/* Slots one descriptor takes: packet-split RX descriptors are 32 bytes. */
static uint32_t e1000e_tnkit_stride(E1000ECore *core, uint8_t id)
{
    return tn_ring_is_rx(id) ? MAX(core->rx_desc_len, 16) / 16 : 1;
}

/* --- Posted buffers ------------------------------------------------------- */

static void e1000e_tnkit_drop_slot(E1000ECore *core, uint8_t id,
                                   uint32_t slot)
{
    E1000ETnkitRing *r = &core->tnkit->rings[id];
    E1000ETnkitPosted *p = &r->posted[slot * E1000E_TNKIT_BUFS];
    int i;

    for (i = 0; i < E1000E_TNKIT_BUFS; i++) {
        tnkit_ref_drop(core->tnkit->kit, &p[i].ref, TN_REF_POSTED, id, slot,
                       p[i].addr, p[i].len);
    }
}

/*
 * The most the model writes into one RX buffer: a frame as long as
 * e1000x_is_oversized() lets through (1522 bytes, 16 KiB with RCTL.LPE,
 * any length with RCTL.SBP), and the FCS unless RCTL.SECRC strips it.
 * Linux's e1000e maps 1522 bytes of a buffer while RCTL.BSIZE says 2048;
 * the device never writes past the frame, so the buffer's reference ends
 * there too, and the memory after it may be another mapping's.
 */
static uint32_t e1000e_tnkit_rx_reach(E1000ECore *core)
{
    uint32_t rctl = core->mac[RCTL];

    if (rctl & E1000_RCTL_SBP) {
        return UINT32_MAX;
    }
    return ((rctl & E1000_RCTL_LPE) ? 16 * KiB : 1522) + e1000x_fcs_len(core->mac);
}

/* The driver posted the descriptor at @slot: reference its buffers. */
static void e1000e_tnkit_post_slot(E1000ECore *core, uint8_t id,
                                   uint32_t slot)
{
    E1000ETnkitRing *r = &core->tnkit->rings[id];
    E1000ETnkitPosted *p = &r->posted[slot * E1000E_TNKIT_BUFS];
    uint64_t desc[E1000E_TNKIT_BUFS] = { 0 };
    uint32_t len[E1000E_TNKIT_BUFS] = { 0 };
    int i, n = 1;

    e1000e_tnkit_drop_slot(core, id, slot);     /* posted again: re-read */
    /*
     * QEMU 7.2 counts head and tail in 16-byte units and steps 32-byte
     * (packet-split) descriptors by two, while Linux writes RDT in
     * descriptors: from an odd head the walk reaches the last slot, whose
     * 32 bytes run past the ring (measured: a DMAR fault on the page after
     * the ring at an MTU change).  No descriptor lies there.
     */
    if (slot + e1000e_tnkit_stride(core, id) > r->slots) {
        return;
    }
    if (!tnkit_peek(core->tnkit->kit, r->base + (uint64_t)slot * 16, desc,
                    16 * e1000e_tnkit_stride(core, id))) {
        return;
    }
    if (tn_ring_is_rx(id)) {
        uint32_t reach = e1000e_tnkit_rx_reach(core);

        if (core->rx_desc_len == sizeof(union e1000_rx_desc_packet_split)) {
            n = E1000E_TNKIT_BUFS;
            for (i = 0; i < n; i++) {
                len[i] = MIN(core->rxbuf_sizes[i], reach);
            }
        } else {
            len[0] = MIN(core->rx_desc_buf_size, reach);
        }
    } else {
        /* desc[1]: lower (command, length), upper */
        uint32_t lower = le64_to_cpu(desc[1]);
        uint32_t dtype = lower & (E1000_TXD_CMD_DEXT | E1000_TXD_DTYP_D);

        if (dtype == E1000_TXD_CMD_DEXT) {
            return;                 /* a context descriptor: no buffer */
        }
        len[0] = dtype ? (lower & 0xfffff) : (lower & 0xffff);
    }
    for (i = 0; i < n; i++) {
        uint64_t addr = le64_to_cpu(desc[i]);

        if (!addr || !len[i]) {
            continue;
        }
        p[i].addr = addr;
        p[i].len = len[i];
        p[i].ref = tnkit_ref_take(core->tnkit->kit, TN_REF_POSTED, id, slot,
                                  addr, len[i]);
    }
}

/* --- Ring state ----------------------------------------------------------- */

static void e1000e_tnkit_ring_off(E1000ECore *core, uint8_t id)
{
    E1000ETnkitRing *r = &core->tnkit->rings[id];
    TNKit *k = core->tnkit->kit;
    uint32_t s;

    if (!r->on) {
        return;
    }
    tnkit_record_state(k, TN_ST_RING_DISABLE, id, 0, 0);
    for (s = 0; s < r->slots; s++) {
        e1000e_tnkit_drop_slot(core, id, s);
    }
    tnkit_ref_drop(k, &r->ring_ref, TN_REF_RING, id, 0, r->base,
                   r->slots * 16);
    tnkit_record_state(k, TN_ST_RING_IDLE, id, 0, 0);
    g_free(r->posted);
    r->posted = NULL;
    r->on = false;
    r->pkt_open = false;
}

/* Post what lies between the tracked tail and @tail. */
static void e1000e_tnkit_post_to(E1000ECore *core, uint8_t id, uint32_t tail)
{
    E1000ETnkitRing *r = &core->tnkit->rings[id];
    uint32_t stride = e1000e_tnkit_stride(core, id);
    uint32_t n = 0;

    if (tail >= r->slots) {
        return;         /* the model stops at such a tail: nothing posted */
    }
    while (r->tail != tail && n++ < r->slots) {
        e1000e_tnkit_post_slot(core, id, r->tail);
        r->tail = (r->tail + stride) % r->slots;
    }
    r->tail = tail;
}

/* Bring the trace's view of ring @id in line with the registers. */
static void e1000e_tnkit_sync_ring(E1000ECore *core, uint8_t id)
{
    const E1000ETnkitRegs *g = &e1000e_tnkit_regs[id];
    E1000ETnkitRing *r = &core->tnkit->rings[id];
    TNKit *k = core->tnkit->kit;
    uint64_t base = ((uint64_t)core->mac[g->bah] << 32) | core->mac[g->bal];
    uint32_t slots = core->mac[g->len] / 16;
    bool on = (core->mac[g->ctl] & g->en) && slots && !r->stale;

    if (r->on && (!on || base != r->base || slots != r->slots ||
                  core->mac[g->head] != r->head)) {
        e1000e_tnkit_ring_off(core, id);
    }
    if (!on || r->on) {
        return;
    }
    r->on = true;
    r->base = base;
    r->slots = slots;
    r->posted = g_new0(E1000ETnkitPosted, slots * E1000E_TNKIT_BUFS);
    tnkit_record_state(k, TN_ST_RING_ENABLE, id, base, slots);
    r->ring_ref = tnkit_ref_take(k, TN_REF_RING, id, 0, base, slots * 16);
    r->head = r->tail = core->mac[g->head] % slots;
    e1000e_tnkit_post_to(core, id, core->mac[g->tail]);
}

static void e1000e_tnkit_sync(E1000ECore *core)
{
    uint8_t id;

    for (id = 0; id < TN_RING_IDS; id++) {
        e1000e_tnkit_sync_ring(core, id);
    }
}

/*
 * A register write: a tail write posts descriptors before the model sees
 * it (a TDT write sends at once); after it, enable, disable, base, length
 * or head may have changed.
 */
void e1000e_tnkit_reg_write(E1000ECore *core, int index, uint32_t val,
                            E1000ETnkitWriteOp op)
{
    uint8_t id;

    tnkit_callback_begin(core->tnkit->kit);
    for (id = 0; id < TN_RING_IDS; id++) {
        if (index == e1000e_tnkit_regs[id].tail &&
            core->tnkit->rings[id].on) {
            e1000e_tnkit_post_to(core, id, val & 0xffff);
        }
    }
    op(core, index, val);
    for (id = 0; id < TN_RING_IDS; id++) {
        const E1000ETnkitRegs *g = &e1000e_tnkit_regs[id];

        if (index == CTRL && (val & E1000_CTRL_RST)) {
            e1000e_tnkit_ring_off(core, id);
            core->tnkit->rings[id].stale = E1000E_TNKIT_STALE_BASE |
                                           E1000E_TNKIT_STALE_LEN;
        } else if (index == g->bal) {
            core->tnkit->rings[id].stale &= ~E1000E_TNKIT_STALE_BASE;
        } else if (index == g->len) {
            core->tnkit->rings[id].stale &= ~E1000E_TNKIT_STALE_LEN;
        }

        if (index == g->ctl || index == g->bah || index == g->bal ||
            index == g->len || index == g->head) {
            e1000e_tnkit_sync_ring(core, id);
        }
    }
    tnkit_callback_end(core->tnkit->kit);
}

void e1000e_tnkit_reset(E1000ECore *core, bool done)
{
    TNKit *k = core->tnkit->kit;
    uint8_t id;

    if (!done) {
        tnkit_record_state(k, TN_ST_RESET_BEGIN, TN_RING_ID_NONE, 0, 0);
        for (id = 0; id < TN_RING_IDS; id++) {
            e1000e_tnkit_ring_off(core, id);
        }
        return;
    }
    tnkit_record_state(k, TN_ST_RESET_DONE, TN_RING_ID_NONE, 0, 0);
    tnkit_reset(k);
}

/* --- DMA ------------------------------------------------------------------ */

void e1000e_tnkit_at(E1000ECore *core, bool rx, int queue, uint32_t slot)
{
    core->tnkit->ring = e1000e_tnkit_ring_id(rx, queue);
    core->tnkit->slot = slot;
}

void e1000e_tnkit_done(E1000ECore *core)
{
    E1000ETnkit *t = core->tnkit;
    E1000ETnkitRing *r = &t->rings[t->ring];

    if (r->on && t->slot < r->slots) {
        e1000e_tnkit_drop_slot(core, t->ring, t->slot);
        r->head = (t->slot + e1000e_tnkit_stride(core, t->ring)) % r->slots;
    }
}

/*
 * A TX descriptor is done: a context descriptor has no buffer, a data one
 * without EOP leaves its buffer mapped for the packet, an EOP descriptor
 * sent (or dropped) the packet, which releases every buffer of it.
 */
void e1000e_tnkit_tx_done(E1000ECore *core, const struct e1000_tx_desc *dp)
{
    E1000ETnkit *t = core->tnkit;
    E1000ETnkitRing *r = &t->rings[t->ring];
    uint32_t lower = le32_to_cpu(dp->lower.data);
    uint32_t dtype = lower & (E1000_TXD_CMD_DEXT | E1000_TXD_DTYP_D);
    uint32_t s, n;

    if (!r->on || t->slot >= r->slots) {
        return;
    }
    r->head = (t->slot + 1) % r->slots;
    if (dtype == E1000_TXD_CMD_DEXT) {
        return;
    }
    if (!r->pkt_open) {
        r->pkt_open = true;
        r->pkt_first = t->slot;
    }
    if (!(lower & E1000_TXD_CMD_EOP)) {
        return;
    }
    s = r->pkt_first;
    for (n = 0; n < r->slots; n++) {
        e1000e_tnkit_drop_slot(core, t->ring, s);
        if (s == t->slot) {
            break;
        }
        s = (s + 1) % r->slots;
    }
    r->pkt_open = false;
}

/* The reference an access is made under: the ring's, or the buffer's. */
static uint64_t e1000e_tnkit_ref(E1000ECore *core, uint8_t cause,
                                 dma_addr_t addr)
{
    E1000ETnkit *t = core->tnkit;
    E1000ETnkitRing *r = &t->rings[t->ring];
    E1000ETnkitPosted *p;
    int i;

    if (!r->on || t->slot >= r->slots) {
        return 0;
    }
    if (cause != TN_CAUSE_TX_BUF_READ && cause != TN_CAUSE_RX_BUF_WRITE) {
        return r->ring_ref;
    }
    p = &r->posted[t->slot * E1000E_TNKIT_BUFS];
    for (i = 0; i < E1000E_TNKIT_BUFS; i++) {
        if (p[i].ref && addr >= p[i].addr && addr - p[i].addr < p[i].len) {
            return p[i].ref;
        }
    }
    return 0;
}

void e1000e_tnkit_dma(E1000ECore *core, bool write, uint8_t cause,
                      dma_addr_t addr, void *buf, dma_addr_t len)
{
    E1000ETnkit *t = core->tnkit;

    tnkit_dma(t->kit, write, cause, t->ring, t->slot,
              e1000e_tnkit_ref(core, cause, addr), addr, buf, len);
}

void e1000e_tnkit_mapped(E1000ECore *core, dma_addr_t addr, dma_addr_t len,
                         bool ok)
{
    E1000ETnkit *t = core->tnkit;

    tnkit_dma_note(t->kit, false, TN_CAUSE_TX_BUF_READ, t->ring, t->slot,
                   e1000e_tnkit_ref(core, TN_CAUSE_TX_BUF_READ, addr), addr,
                   len, ok);
}

void e1000e_tnkit_callback(E1000ECore *core, bool begin)
{
    E1000ETnkit *t = core->tnkit;

    if (begin) {
        if (t->depth < ARRAY_SIZE(t->outer_ring)) {
            t->outer_ring[t->depth] = t->ring;
            t->outer_slot[t->depth] = t->slot;
        }
        t->depth++;
        tnkit_callback_begin(t->kit);
    } else {
        tnkit_callback_end(t->kit);
        if (t->depth && --t->depth < ARRAY_SIZE(t->outer_ring)) {
            t->ring = t->outer_ring[t->depth];
            t->slot = t->outer_slot[t->depth];
        }
    }
}

bool e1000e_tnkit_rx_lapped(E1000ECore *core, int queue, uint32_t fetched,
                            uint32_t lap, size_t written, size_t total)
{
    qemu_log_mask(LOG_GUEST_ERROR, "e1000e: RX queue %d: a frame of %zu "
                  "bytes went round the ring (%u descriptors, %u fetched) "
                  "and %zu bytes of it found room; the head cannot reach the "
                  "tail (RDT %u), dropping the frame\n", queue, total, lap,
                  fetched - 1, written,
                  core->mac[queue ? RDT1 : RDT0]);
    return true;
}

/* --- Life cycle ----------------------------------------------------------- */

/* DMA the model could not do is its own business: nothing to raise. */
static void e1000e_tnkit_event(void *opaque, TNKitEvent ev)
{
}

static uint32_t e1000e_tnkit_status(void *opaque)
{
    E1000ECore *core = opaque;

    return core->mac[STATUS];
}

static const TNKitOps e1000e_tnkit_ops = {
    .event = e1000e_tnkit_event,
    .status = e1000e_tnkit_status,
};

bool e1000e_tnkit_new(E1000ECore *core, PCIDevice *pdev,
                      const TNKitConf *conf, MACAddr *mac, Error **errp)
{
    TNKit *k;

    if (!conf->trace && !conf->hub && !conf->check) {
        return true;    /* not traced: Debian's e1000e, untouched */
    }
    k = tnkit_new(pdev, conf, &e1000e_tnkit_ops, core, errp);
    if (!k) {
        return false;
    }
    /* Debian's realize does this later; a second call changes nothing. */
    qemu_macaddr_default_if_unset(mac);
    if (!tnkit_open_trace(k, mac->a, errp)) {
        tnkit_free(k);
        return false;
    }
    core->tnkit = g_new0(E1000ETnkit, 1);
    core->tnkit->kit = k;
    return true;
}

void e1000e_tnkit_free(E1000ECore *core)
{
    uint8_t id;

    if (!core->tnkit) {
        return;
    }
    for (id = 0; id < TN_RING_IDS; id++) {
        g_free(core->tnkit->rings[id].posted);
    }
    tnkit_free(core->tnkit->kit);
    g_free(core->tnkit);
    core->tnkit = NULL;
}

void e1000e_tnkit_config_written(E1000ECore *core)
{
    if (core->tnkit) {
        tnkit_config_written(core->tnkit->kit);
    }
}

/* Migrated: the trace starts afresh from the registers. */
void e1000e_tnkit_post_load(E1000ECore *core)
{
    uint8_t id;

    if (!core->tnkit) {
        return;
    }
    tnkit_post_load(core->tnkit->kit);
    for (id = 0; id < TN_RING_IDS; id++) {
        e1000e_tnkit_ring_off(core, id);
    }
    e1000e_tnkit_sync(core);
}
