/*
 * QEMU's e1000e (Intel 82574L) traced with the tracenic kit: what the
 * patch qemu-device/e1000e-tnkit.patch calls from Debian's e1000e.c and
 * e1000e_core.c.  With no trace configured core->tnkit is NULL and every
 * wrapper below is the call Debian's code makes, behind one pointer test.
 * docs/kit.md says what the calls mean; docs/e1000e.md what is traced.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_NET_E1000E_TNKIT_H
#define HW_NET_E1000E_TNKIT_H

#include "sysemu/dma.h"
#include "net/net.h"
#include "tnkit.h"
#include "e1000_regs.h"
#include "e1000e_core.h"

/* A reference per buffer of a posted descriptor (packet split: up to 4). */
#define E1000E_TNKIT_BUFS 4

typedef struct E1000ETnkitPosted {
    uint64_t ref;
    uint32_t len;
    uint64_t addr;
} E1000ETnkitPosted;

#define E1000E_TNKIT_STALE_BASE 1
#define E1000E_TNKIT_STALE_LEN  2

/* A ring as the trace knows it: on from enable until disable or reset. */
typedef struct E1000ETnkitRing {
    bool on;
    uint64_t base;
    uint32_t slots;         /* 16-byte descriptor slots */
    uint32_t head, tail;    /* [head, tail) is posted: the device's */
    uint64_t ring_ref;
    E1000ETnkitPosted *posted;  /* slots * E1000E_TNKIT_BUFS */
    /*
     * TX: the first slot of a packet not yet sent (pkt_open).  net_tx_pkt
     * maps each buffer of a packet and reads them all when the EOP
     * descriptor is processed, so every buffer of the packet stays
     * referenced until then.
     */
    bool pkt_open;
    uint32_t pkt_first;
    /*
     * A software reset (CTRL.RST) left the ring's registers as they were:
     * QEMU 7.2's model keeps them, where the 82574 clears them.  Until the
     * driver has written the base and the length again (the bits still
     * missing, E1000E_TNKIT_STALE_*) the ring is not on for the trace, so no
     * descriptor of a ring freed or shrunk before the reset is read as
     * posted: Linux's e1000e sets RCTL.EN in e1000_setup_rctl() before
     * e1000_configure_rx() programs the new ring, and such a read through an
     * IOMMU faulted in the guest (measured: a DMAR fault at every ethtool -G
     * and MTU change), which the 82574 never does.
     */
    uint8_t stale;
} E1000ETnkitRing;

struct E1000ETnkit {
    TNKit *kit;
    /* The descriptor being worked on (e1000e_tnkit_at): its ring and slot */
    uint8_t ring;
    uint32_t slot;
    /*
     * A frame received inside a transmit (slirp answers an ARP request or
     * a ping from within the TX call) works on an RX descriptor in the
     * middle of the TX one: the receive callback keeps the TX descriptor
     * here and gives it back when it returns.
     */
    uint8_t outer_ring[2];
    uint32_t outer_slot[2];
    unsigned depth;
    E1000ETnkitRing rings[TN_RING_IDS];    /* by TN_RING_ID_* */
};

/*
 * e1000e.c: realize (before anything else; sets the default MAC address
 * early only when traced, the trace header names it), exit, config, post_load
 */
bool e1000e_tnkit_new(E1000ECore *core, PCIDevice *pdev,
                      const TNKitConf *conf, MACAddr *mac, Error **errp);
void e1000e_tnkit_free(E1000ECore *core);
void e1000e_tnkit_config_written(E1000ECore *core);
void e1000e_tnkit_post_load(E1000ECore *core);

/* e1000e_core.c */
void e1000e_tnkit_dma(E1000ECore *core, bool write, uint8_t cause,
                      dma_addr_t addr, void *buf, dma_addr_t len);
void e1000e_tnkit_at(E1000ECore *core, bool rx, int queue, uint32_t slot);
void e1000e_tnkit_done(E1000ECore *core);
void e1000e_tnkit_tx_done(E1000ECore *core, const struct e1000_tx_desc *dp);
void e1000e_tnkit_mapped(E1000ECore *core, dma_addr_t addr, dma_addr_t len,
                         bool ok);
typedef void (*E1000ETnkitWriteOp)(E1000ECore *core, int index,
                                   uint32_t val);
void e1000e_tnkit_reg_write(E1000ECore *core, int index, uint32_t val,
                            E1000ETnkitWriteOp op);
void e1000e_tnkit_reset(E1000ECore *core, bool done);
void e1000e_tnkit_callback(E1000ECore *core, bool begin);
bool e1000e_tnkit_rx_lapped(E1000ECore *core, int queue, uint32_t fetched,
                            uint32_t lap, size_t written, size_t total);

static inline void e1000e_dma_read(E1000ECore *core, uint8_t cause,
                                   dma_addr_t addr, void *buf,
                                   dma_addr_t len)
{
    if (likely(!core->tnkit)) {
        pci_dma_read(core->owner, addr, buf, len);
        return;
    }
    e1000e_tnkit_dma(core, false, cause, addr, buf, len);
}

static inline void e1000e_dma_write(E1000ECore *core, uint8_t cause,
                                    dma_addr_t addr, const void *buf,
                                    dma_addr_t len)
{
    if (likely(!core->tnkit)) {
        pci_dma_write(core->owner, addr, buf, len);
        return;
    }
    e1000e_tnkit_dma(core, true, cause, addr, (void *)buf, len);
}

/*
 * Traced, guest programming cannot stop QEMU through two assertions of
 * Debian's model: the interrupt throttling timers assert that MSI-X is
 * still as it was when they were armed, and a guest that turns MSI-X on or
 * off while one runs aborts QEMU (found by make fuzz-device).  QEMU 8.0
 * removed both ("e1000e: Do not assert when MSI-X is disabled later",
 * Akihiko Odaki, 2023): msix_notify() with MSI-X off only sets the pending
 * bit.  Untraced, the assertions are Debian's.
 */
static inline bool e1000e_traced(const E1000ECore *core)
{
    return core->tnkit;
}

/* The descriptor at @slot of queue @queue is being fetched and used. */
static inline void e1000e_trace_at(E1000ECore *core, bool rx, int queue,
                                   uint32_t slot)
{
    if (unlikely(core->tnkit)) {
        e1000e_tnkit_at(core, rx, queue, slot);
    }
}

/* That RX descriptor was written back: its buffers are released. */
static inline void e1000e_trace_done(E1000ECore *core)
{
    if (unlikely(core->tnkit)) {
        e1000e_tnkit_done(core);
    }
}

/*
 * That TX descriptor @dp was processed (and written back if asked): the
 * buffers of its packet are released when it ends the packet (EOP).
 */
static inline void e1000e_trace_tx_done(E1000ECore *core,
                                        const struct e1000_tx_desc *dp)
{
    if (unlikely(core->tnkit)) {
        e1000e_tnkit_tx_done(core, dp);
    }
}

/* A TX buffer mapped for sending (net_tx_pkt_add_raw_fragment). */
static inline void e1000e_trace_mapped(E1000ECore *core, dma_addr_t addr,
                                       dma_addr_t len, bool ok)
{
    if (unlikely(core->tnkit)) {
        e1000e_tnkit_mapped(core, addr, len, ok);
    }
}

/*
 * A register write, @op being Debian's handler: traced, a tail write posts
 * descriptors first and the ring registers are looked at after it.
 */
static inline void e1000e_reg_write(E1000ECore *core, int index,
                                    uint32_t val, E1000ETnkitWriteOp op)
{
    if (likely(!core->tnkit)) {
        op(core, index, val);
        return;
    }
    e1000e_tnkit_reg_write(core, index, val, op);
}

/* After every PCI config write: bus mastering. */
static inline void e1000e_trace_config_written(E1000ECore *core)
{
    if (unlikely(core->tnkit)) {
        e1000e_tnkit_config_written(core);
    }
}

static inline void e1000e_trace_reset(E1000ECore *core, bool done)
{
    if (unlikely(core->tnkit)) {
        e1000e_tnkit_reset(core, done);
    }
}

/* Around MMIO and netdev callbacks: one time stamp per callback. */
static inline void e1000e_trace_callback(E1000ECore *core, bool begin)
{
    if (unlikely(core->tnkit)) {
        e1000e_tnkit_callback(core, begin);
    }
}

/*
 * Before the RX loop fetches its @fetched-th descriptor (from 1) for one
 * frame: true when that would start a second lap of a ring of @lap
 * descriptors.  A frame can never need more than one lap (head to tail is
 * less than the ring), but Debian's loop ignores a tail the head cannot
 * reach (32-byte descriptors move the head two slots, an odd tail is never
 * met) and goes round for ever when the posted descriptors take none of the
 * frame (packet split with PSRCTL's BSIZE1..3 all 0): traced, the frame is
 * dropped there with a guest error.  Untraced, the loop is Debian's.
 */
static inline bool e1000e_trace_rx_lapped(E1000ECore *core, int queue,
                                          uint32_t fetched, uint32_t lap,
                                          size_t written, size_t total)
{
    return unlikely(core->tnkit) && fetched > lap &&
           e1000e_tnkit_rx_lapped(core, queue, fetched, lap, written, total);
}

#endif
