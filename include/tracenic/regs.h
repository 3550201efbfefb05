/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tracenic register map and descriptor layout: the device/driver contract.
 * Documented for readers in docs/device.md.
 */
#ifndef TRACENIC_REGS_H
#define TRACENIC_REGS_H

#include "tracenic/types.h"

/* PCI identity.  0x1234 is QEMU's experimental vendor ID; 0x7e5c is unused by QEMU. */
#define TN_PCI_VENDOR_ID	0x1234
#define TN_PCI_DEVICE_ID	0x7e5c
#define TN_PCI_REVISION		0x01
#define TN_PCI_SUBSYS_ID	0x0001

/* BAR0: registers (32-bit; the 64-bit pairs also accept one 64-bit access). */
#define TN_BAR_REGS		0
#define TN_REGS_SIZE		0x1000
/* BAR1: MSI-X table at 0x000, pending-bit array at 0x800. */
#define TN_BAR_MSIX		1
#define TN_MSIX_SIZE		0x1000
#define TN_MSIX_TABLE_OFF	0x000
#define TN_MSIX_PBA_OFF		0x800

/* MSI-X vectors.  Without MSI-X every cause is signalled on INTx. */
#define TN_MSIX_VEC_RX		0
#define TN_MSIX_VEC_TX		1
#define TN_MSIX_VEC_OTHER	2
#define TN_MSIX_VECTORS		3

/* --- Global registers ------------------------------------------------- */
#define TN_REG_ID		0x000	/* RO: TN_ID_VALUE */
#define  TN_ID_VALUE		0x544e4331u	/* "TNC1": contract version 1 */

#define TN_REG_CTRL		0x004	/* RW, reset 0 */
/*
 * Write 1 to start a device reset.  It stays set while the reset is in
 * progress (in-flight DMA still completes during reset-delay-ns) and clears
 * itself when every register is back at its reset value.
 */
#define  TN_CTRL_RST		(1u << 0)

#define TN_REG_STATUS		0x008	/* RO */
#define  TN_STATUS_LINK_UP	(1u << 0)
/*
 * The device holds no reference to guest memory: both rings are disabled and
 * drained, nothing is in flight and no reset is pending.  Only after reading
 * this bit as 1 may a driver free memory the device was given.
 */
#define  TN_STATUS_QUIESCED	(1u << 1)
#define  TN_STATUS_RESETTING	(1u << 2)
#define  TN_STATUS_TX_ACTIVE	(1u << 3)	/* copy of TX RING_STATUS.ACTIVE */
#define  TN_STATUS_RX_ACTIVE	(1u << 4)	/* copy of RX RING_STATUS.ACTIVE */
/* Reset value: QUIESCED, plus LINK_UP when the netdev link is up. */

/* Interrupt cause (write 1 to clear; reads do not clear), mask set/clear. */
#define TN_REG_ICR		0x00c	/* RW1C, reset 0 */
#define TN_REG_IMS		0x010	/* write 1 enables; read returns the mask; reset 0 */
#define TN_REG_IMC		0x014	/* write 1 disables; reads 0 */
#define  TN_INT_RX		(1u << 0)	/* RX descriptor written back (vector RX) */
#define  TN_INT_TX		(1u << 1)	/* TX descriptor with IRQ written back (vector TX) */
#define  TN_INT_LINK		(1u << 2)	/* link status changed (vector OTHER) */
#define  TN_INT_QUIESCED	(1u << 3)	/* STATUS.QUIESCED became 1 (vector OTHER) */
#define  TN_INT_RESET_DONE	(1u << 4)	/* CTRL.RST cleared itself (vector OTHER) */
#define  TN_INT_RX_NOBUF	(1u << 5)	/* frame dropped: no posted RX buffer (vector RX) */
#define  TN_INT_ERROR		(1u << 6)	/* guest programming error, see ERR (vector OTHER) */
#define  TN_INT_VIOLATION	(1u << 7)	/* online check found a violation (vector OTHER) */
#define  TN_INT_ALL		0xffu

/* Interrupt moderation: minimum gap between two interrupts of one vector. */
#define TN_REG_ITR_US		0x018	/* RW, microseconds, reset 0 (no moderation) */
/*
 * Interrupt auto-mask (MSI-X only): when a vector's message is sent, the
 * causes it carries that are set here are cleared in ICR and disabled in
 * IMS, so a handler need not write IMC and ICR; it writes IMS when done.
 */
#define TN_REG_IAM		0x01c	/* RW, TN_INT_* bits, reset 0 */

#define TN_REG_MAC_LO		0x020	/* RW: MAC bytes 0..3, byte 0 in bits 7:0 */
#define TN_REG_MAC_HI		0x024	/* RW: MAC bytes 4..5 in bits 15:0 */
/* Reset value: the MAC of the device's NICConf (property mac). */

#define TN_REG_ERR		0x028	/* RO: last guest programming error, TN_ERR_*; reset 0 */
#define  TN_ERR_NONE		0
#define  TN_ERR_RING_SIZE	1	/* ring enabled with a size that is not a power of two in range */
#define  TN_ERR_RING_ALIGN	2	/* ring base not 16-byte aligned */
#define  TN_ERR_RING_BUSY	3	/* base/size written while the ring is active */
#define  TN_ERR_DESC		4	/* descriptor with zero length or a frame over TN_MAX_FRAME */
#define  TN_ERR_DMA		5	/* a DMA access failed (unmapped, IOMMU fault, bus master off) */
#define  TN_ERR_LEDGER		6	/* malformed ledger command */

/* Statistics: 32-bit counters, wrap, reset 0. */
#define TN_REG_RX_PACKETS	0x040
#define TN_REG_RX_BYTES		0x044
#define TN_REG_RX_DROPPED	0x048	/* no buffer, ring disabled or frame error */
#define TN_REG_TX_PACKETS	0x04c
#define TN_REG_TX_BYTES		0x050
#define TN_REG_TX_ERRORS	0x054

/* --- Ring registers: TN_TX_RING or TN_RX_RING plus a TN_RING_* offset ---- */
#define TN_TX_RING		0x100
#define TN_RX_RING		0x200
#define TN_RING_REG(ring, off)	((ring) + (off))

#define TN_RING_BASE_LO		0x00	/* RW: descriptor ring bus address, 16-byte aligned */
#define TN_RING_BASE_HI		0x04
#define TN_RING_SIZE		0x08	/* RW: descriptors, power of two, MIN..MAX; reset 0 */
#define TN_RING_HEAD		0x0c	/* RO: next descriptor the device will process */
#define TN_RING_TAIL		0x10	/* RW: one past the last descriptor given to the device */
#define TN_RING_CTRL		0x14	/* RW */
/*
 * ENABLE 0->1 latches BASE/SIZE and sets HEAD and TAIL to 0.  ENABLE 1->0
 * only requests a stop: the ring keeps RING_STATUS.ACTIVE (and may still DMA)
 * until it has drained, quiesce-delay-ns later at the earliest.
 */
#define  TN_RING_CTRL_ENABLE	(1u << 0)
#define TN_RING_STATUS		0x18	/* RO */
#define  TN_RING_STATUS_ACTIVE	(1u << 0)	/* device may DMA for this ring */
#define  TN_RING_STATUS_ERROR	(1u << 1)	/* enable refused: see TN_REG_ERR */

#define TN_RING_MIN		8
#define TN_RING_MAX		4096
/* The "prefetch" property's range: descriptors the device reads ahead, 0..32. */
#define TN_PREFETCH_MAX		32
#define TN_MAX_FRAME		9018	/* bytes, without FCS */
#define TN_MIN_FRAME		14

/* --- Descriptors (TX and RX share one 16-byte layout) --------------------- */
struct tn_desc {
	uint64_t addr;		/* buffer bus address */
	uint16_t len;		/* TX: bytes to send from addr; RX: buffer size */
	uint16_t flags;		/* TN_DESC_* */
	uint16_t wb_len;	/* written back: bytes sent from / received into this buffer */
	uint16_t wb_status;	/* written back: TN_WB_* */
};
TN_STATIC_ASSERT(sizeof(struct tn_desc) == 16, "tn_desc is 16 bytes");

/* The device writes back bytes 8..15 (len, flags, wb_len, wb_status) in one access. */
#define TN_DESC_WB_OFFSET	8
#define TN_DESC_WB_SIZE		8

#define TN_DESC_OWN		(1u << 0)	/* set by driver: the device may use it; cleared at write-back */
#define TN_DESC_EOP		(1u << 1)	/* TX: last buffer of a frame; RX (written back): last of a frame */
#define TN_DESC_IRQ		(1u << 2)	/* TX: raise TN_INT_TX when written back (RX always does) */
#define TN_DESC_DONE		(1u << 8)	/* written back by the device */
#define TN_DESC_ERR		(1u << 9)	/* written back: see wb_status */

#define TN_WB_OK		0
#define TN_WB_DMA_ERROR		1	/* a DMA access for this buffer failed */
#define TN_WB_TOO_LONG		2	/* frame longer than TN_MAX_FRAME or than the posted buffers */
#define TN_WB_BAD_DESC		3	/* zero length */

#endif /* TRACENIC_REGS_H */
