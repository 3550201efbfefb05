// SPDX-License-Identifier: GPL-2.0-only
/*
 * tracenic miniport: a Linux network driver for the tracenic NIC, laid out
 * like an NDIS miniport so an NDIS engineer finds the usual entry points:
 *
 *   MiniportInitializeEx    tnm_initialize()   (PCI probe)
 *   MiniportHaltEx          tnm_halt()         (PCI remove)
 *   MiniportResetEx         tnm_reset()        (debugfs "reset")
 *   MiniportSendNetBufferLists  tnm_send()     (ndo_start_xmit)
 *   NdisMSendNetBufferListsComplete  tnm_tx_complete()
 *   NdisMIndicateReceiveNetBufferLists  tnm_rx()   (receive buffers lent, not copied)
 *   MiniportReturnNetBufferLists  tnm_rx_repost()  (the stack dropped its page reference)
 *   MiniportInterrupt       tnm_isr_*()        (hard IRQ)
 *   MiniportInterruptDPC    tnm_dpc()          (NAPI poll)
 *
 * All memory comes from the NDIS memory layer (ndis_mem.c), which reports
 * it to the device's ledger.  Teardown follows the device's quiesce
 * protocol: clear ENABLE, poll STATUS.QUIESCED, reclaim, then free - unless
 * a seeded bug mode (docs/bugs.md) says otherwise.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/iopoll.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/rtnetlink.h>
#include "tracenic/regs.h"
#include "ndis_mem.h"
#include "tnm_bugs.h"

#define TNM_FILE_ID 2
#define TNM_TAG 0x6e436e54	/* 'TnCn' */
#define TNM_QUIESCE_TIMEOUT_US 100000
#define TNM_REALLOC_SETTLE_MS 50	/* rx-realloc-posted: RX keeps running this long */
#define TNM_DEFAULT_RING 256
/*
 * At most one interrupt per vector every 50 us.  RX gains most (under TCG
 * 64 B frames went from 63 to 68-79 kpps in A/B runs); TX does not wait
 * for interrupts since the send path reclaims (tx_irq_every).
 */
#define TNM_DEFAULT_ITR_US 50
/*
 * While RX is busy (over TNM_ITR_BUSY_PPS frames a second) interrupts come at
 * most every itr_busy_us instead, as e1000's dynamic ITR does, so that a
 * poll finds a batch: under TCG, 250 us moved 1.2x as many RX frames (64
 * and 1500 B) as 50 us for the same CPU time.  TX is left out: it is
 * reclaimed by the send path, and a longer gap cost it 4 %.
 */
#define TNM_DEFAULT_ITR_BUSY_US 250
#define TNM_ITR_BUSY_PPS 20000
#define TNM_ITR_SAMPLE_JIFFIES (HZ / 16)

static char *bugs = "";
module_param(bugs, charp, 0444);
MODULE_PARM_DESC(bugs, "comma-separated seeded bug modes (docs/bugs.md)");
static bool strict;
module_param(strict, bool, 0444);
MODULE_PARM_DESC(strict, "stop the guest like a bugcheck on an NDIS rule break");
static unsigned int tx_ring = TNM_DEFAULT_RING, rx_ring = TNM_DEFAULT_RING;
module_param(tx_ring, uint, 0444);
module_param(rx_ring, uint, 0444);
static bool tx_coalesce;
module_param(tx_coalesce, bool, 0444);
MODULE_PARM_DESC(tx_coalesce,
		 "copy TX frames into a fragmented coalescing buffer, one descriptor per SG element");
static bool ledger_compact = true;
module_param(ledger_compact, bool, 0444);
MODULE_PARM_DESC(ledger_compact,
		 "write only changed ledger registers, pairs as one 64-bit write, MAP_ONE (0: every register)");
static bool iam = true;
module_param(iam, bool, 0444);
MODULE_PARM_DESC(iam, "with MSI-X let the device mask and clear interrupt causes (IAM)");
static bool ledger_echo;
module_param(ledger_echo, bool, 0444);
MODULE_PARM_DESC(ledger_echo, "also log every ledger event to compare with the trace");
static bool selftest;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "debugfs \"ndis\": allocate and free through the NDIS layer");

/*
 * The coalescing buffer gives each TX slot one page; a frame starts this
 * many bytes before its page ends, so every frame longer than that spans two
 * physically separate pages - the case a driver must post as two elements.
 */
#define TNM_COALESCE_HEAD 32
/* Descriptors one frame can take: two when it spans two coalescing pages. */
#define TNM_TX_MAX_ELEMENTS 2

/*
 * TX completion: a frame asks for an interrupt only every tx_irq_every frames
 * (and when the ring is about to fill); the send path reclaims what the
 * device has finished, and a one-jiffy timer reclaims the tail of a burst.
 * One interrupt per frame cost a third of TX throughput under TCG.
 */
#define TNM_DEFAULT_TX_IRQ_EVERY 32

static unsigned int tx_irq_every = TNM_DEFAULT_TX_IRQ_EVERY;
module_param(tx_irq_every, uint, 0444);
MODULE_PARM_DESC(tx_irq_every,
		 "request a TX completion interrupt every N frames (1 = every frame)");

static unsigned int itr_us = TNM_DEFAULT_ITR_US;
module_param(itr_us, uint, 0444);
MODULE_PARM_DESC(itr_us,
		 "interrupt moderation: minimum us between two interrupts of a vector (0 = none)");

static unsigned int itr_busy_us = TNM_DEFAULT_ITR_BUSY_US;
module_param(itr_busy_us, uint, 0444);
MODULE_PARM_DESC(itr_busy_us,
		 "interrupt moderation while RX is busy (0 = always itr_us)");

struct tnm_tx_slot {
	struct sk_buff *skb;
	u32 map_id;
};

/*
 * A receive buffer: its own page (compound for jumbo frames), mapped once.
 * The device writes at TNM_RX_HEADROOM; the frame is built in place
 * (build_skb), so the end of the page holds the skb_shared_info.
 */
struct tnm_rx_buf {
	struct page *page;
	dma_addr_t dma;		/* of the buffer, TNM_RX_HEADROOM into the page */
	u32 map_id;
};

#define TNM_RX_HEADROOM (NET_SKB_PAD + NET_IP_ALIGN)

struct tnm_adapter {
	struct pci_dev *pdev;
	struct net_device *netdev;
	void __iomem *regs;
	struct tnm_ledger ledger;
	struct tnm_ndis ndis;
	struct napi_struct napi;
	unsigned long bugs;
	bool msix;
	bool iam;			/* MSI-X and the iam parameter */
	struct dentry *debugfs;
	struct mutex ops_lock;		/* serialises up/down/reset/resize */

	/* Rings and buffers (shared memory, device-visible) */
	u32 tx_size, rx_size, rx_buf_len;
	struct tn_desc *tx_desc, *rx_desc;
	dma_addr_t tx_desc_pa, rx_desc_pa;
	struct tnm_rx_buf *rx_bufs;	/* pool memory: software context */
	unsigned int rx_order;		/* of each buffer's pages */
	struct tnm_tx_slot *tx_slots;	/* pool memory: software context */
	void *tx_coalesce;		/* NdisAllocateMemory, no flags: fragmented pages */
	void *rx_pool_buf;		/* rx-pool-buffer: slot 0's buffer in pool memory */
	u32 tx_next, tx_clean;
	u32 rx_next, rx_fill;		/* next slot to complete, next to post (TAIL) */
	u32 tx_since_irq;		/* frames posted since the last one with TN_DESC_IRQ */
	u32 itr_now;			/* ITR_US as last written */
	u32 itr_rx_frames;		/* RX frames since itr_since */
	unsigned long itr_since;
	spinlock_t tx_lock;
	/* Schedules a poll: TX frames posted without TN_DESC_IRQ, RX slots left empty. */
	struct timer_list poll_timer;
	void *stats_block;		/* NdisAllocateMemory NONCACHED: exercises that free path */
	void *scratch;			/* NdisAllocateMemory CONTIGUOUS */
	bool rings_up;
};

static void tnm_w(struct tnm_adapter *ad, u32 reg, u32 val)
{
	writel(val, ad->regs + reg);
}

static u32 tnm_r(struct tnm_adapter *ad, u32 reg)
{
	return readl(ad->regs + reg);
}

static bool tnm_bug(struct tnm_adapter *ad, enum tnm_bug b)
{
	return test_bit(b, &ad->bugs);
}

/* --- DMA quiesce --------------------------------------------------------- */

static int tnm_wait_quiesced(struct tnm_adapter *ad)
{
	u32 st;
	int ret = readl_poll_timeout(ad->regs + TN_REG_STATUS, st, st & TN_STATUS_QUIESCED,
				     10, TNM_QUIESCE_TIMEOUT_US);

	if (ret)
		netdev_err(ad->netdev,
			   "the device did not report QUIESCED within %u us (STATUS 0x%x); its memory is kept, not freed\n",
			   TNM_QUIESCE_TIMEOUT_US, st);
	return ret;
}

/*
 * The seeded quiesce-check-once: RX is stopped first, so that no frame
 * arrives while TX drains; once the TX ring is idle, STATUS is read once and
 * a device not QUIESCED yet only earns a warning.  When the device is on
 * time it is QUIESCED by then (RX, stopped first, went idle first); a
 * receive still in flight keeps RX busy after TX, and the memory is freed.
 */
static int tnm_stop_dma_check_once(struct tnm_adapter *ad)
{
	u32 st;

	tnm_w(ad, TN_RING_REG(TN_RX_RING, TN_RING_CTRL), 0);
	tnm_w(ad, TN_RING_REG(TN_TX_RING, TN_RING_CTRL), 0);
	readl_poll_timeout(ad->regs + TN_RING_REG(TN_TX_RING, TN_RING_STATUS), st,
			   !(st & TN_RING_STATUS_ACTIVE), 10, TNM_QUIESCE_TIMEOUT_US);
	st = tnm_r(ad, TN_REG_STATUS);
	if (!(st & TN_STATUS_QUIESCED))
		netdev_warn(ad->netdev, "the device is not QUIESCED yet (STATUS 0x%x)\n", st);
	return 0;
}

/* Stop all DMA and wait until the device holds no reference to our memory. */
static int tnm_stop_dma(struct tnm_adapter *ad)
{
	if (tnm_bug(ad, TNM_BUG_QUIESCE_CHECK_ONCE))
		return tnm_stop_dma_check_once(ad);
	if (!tnm_bug(ad, TNM_BUG_NO_DISABLE)) {
		tnm_w(ad, TN_RING_REG(TN_TX_RING, TN_RING_CTRL), 0);
		tnm_w(ad, TN_RING_REG(TN_RX_RING, TN_RING_CTRL), 0);
	}
	if (tnm_bug(ad, TNM_BUG_NO_QUIESCE_POLL) || tnm_bug(ad, TNM_BUG_NO_DISABLE))
		return 0;
	return tnm_wait_quiesced(ad);
}

/* --- Rings ----------------------------------------------------------------- */

static void tnm_post_rx(struct tnm_adapter *ad, u32 slot)
{
	struct tn_desc *d = &ad->rx_desc[slot];

	if (slot == 0 && ad->rx_pool_buf)
		/* MmGetPhysicalAddress of pool memory: never mapped for the device. */
		d->addr = cpu_to_le64(virt_to_phys(ad->rx_pool_buf));
	else if (slot == 1 && tnm_bug(ad, TNM_BUG_RX_POST_TWICE))
		/* A refill that hands out a buffer the device still owns: slot 0's. */
		d->addr = cpu_to_le64(ad->rx_bufs[0].dma);
	else
		d->addr = cpu_to_le64(ad->rx_bufs[slot].dma);
	d->len = cpu_to_le16(ad->rx_buf_len);
	d->wb_len = 0;
	d->wb_status = 0;
	dma_wmb();
	d->flags = cpu_to_le16(TN_DESC_OWN);
}

/*
 * The direction RX buffers are mapped, synced and unmapped with: from the
 * device, but to it with the seeded bug (the device then writes into a
 * mapping made for reading: dma-direction).
 */
static enum dma_data_direction tnm_rx_dir(struct tnm_adapter *ad)
{
	return tnm_bug(ad, TNM_BUG_RX_MAP_TO_DEVICE) ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
}

static int tnm_rx_buf_alloc(struct tnm_adapter *ad, struct tnm_rx_buf *b, gfp_t gfp)
{
	b->page = alloc_pages(gfp | __GFP_COMP | __GFP_NOWARN, ad->rx_order);
	if (!b->page)
		return -ENOMEM;
	b->dma = TnMapBuffer(&ad->ndis, page_address(b->page) + TNM_RX_HEADROOM, ad->rx_buf_len,
			     tnm_rx_dir(ad), &b->map_id);
	if (b->dma == DMA_MAPPING_ERROR) {
		put_page(b->page);
		b->page = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Unmaps the buffer and drops the driver's reference; the stack may hold others. */
static void tnm_rx_buf_free(struct tnm_adapter *ad, struct tnm_rx_buf *b)
{
	if (!b->page)
		return;
	TnUnmapBuffer(&ad->ndis, b->map_id);
	put_page(b->page);
	b->page = NULL;
}

static int tnm_alloc_rings(struct tnm_adapter *ad)
{
	struct tnm_ndis *nd = &ad->ndis;
	u32 i;

	ad->rx_buf_len = ALIGN(ad->netdev->mtu + ETH_HLEN + VLAN_HLEN, 512);
	ad->rx_order = get_order(SKB_DATA_ALIGN(TNM_RX_HEADROOM + ad->rx_buf_len) +
				 SKB_DATA_ALIGN(sizeof(struct skb_shared_info)));
	NdisMAllocateSharedMemory(nd, ad->tx_size * sizeof(struct tn_desc), false,
				  (void **)&ad->tx_desc, &ad->tx_desc_pa);
	NdisMAllocateSharedMemory(nd, ad->rx_size * sizeof(struct tn_desc), false,
				  (void **)&ad->rx_desc, &ad->rx_desc_pa);
	ad->rx_bufs = NdisAllocateMemoryWithTagPriority(nd, ad->rx_size * sizeof(*ad->rx_bufs),
							TNM_TAG, NormalPoolPriority);
	ad->tx_slots = NdisAllocateMemoryWithTagPriority(nd, ad->tx_size * sizeof(*ad->tx_slots),
							 TNM_TAG, NormalPoolPriority);
	if (ad->rx_bufs)	/* before any failure: tnm_free_rx_buffers() reads it */
		memset(ad->rx_bufs, 0, ad->rx_size * sizeof(*ad->rx_bufs));
	if (!ad->tx_desc || !ad->rx_desc || !ad->rx_bufs || !ad->tx_slots)
		return -ENOMEM;
	for (i = 0; i < ad->rx_size; i++)
		if (tnm_rx_buf_alloc(ad, &ad->rx_bufs[i], GFP_KERNEL))
			return -ENOMEM;
	if ((tx_coalesce || tnm_bug(ad, TNM_BUG_SG_AS_CONTIGUOUS)) &&
	    NdisAllocateMemory(nd, &ad->tx_coalesce, (ad->tx_size + 1) * PAGE_SIZE, 0, ~0ull) !=
	    NDIS_STATUS_SUCCESS)
		return -ENOMEM;
	if (tnm_bug(ad, TNM_BUG_RX_POOL_BUFFER)) {
		ad->rx_pool_buf = NdisAllocateMemoryWithTagPriority(nd, ad->rx_buf_len, TNM_TAG,
								    NormalPoolPriority);
		if (!ad->rx_pool_buf)
			return -ENOMEM;
	}
	memset(ad->tx_desc, 0, ad->tx_size * sizeof(struct tn_desc));
	memset(ad->rx_desc, 0, ad->rx_size * sizeof(struct tn_desc));
	memset(ad->tx_slots, 0, ad->tx_size * sizeof(*ad->tx_slots));
	return 0;
}

static void tnm_free_rx_buffers(struct tnm_adapter *ad)
{
	u32 i;

	if (ad->rx_pool_buf)
		NdisFreeMemory(&ad->ndis, ad->rx_pool_buf, 0, 0);
	ad->rx_pool_buf = NULL;
	if (!ad->rx_bufs)
		return;
	for (i = 0; i < ad->rx_size; i++)
		tnm_rx_buf_free(ad, &ad->rx_bufs[i]);
	NdisFreeMemory(&ad->ndis, ad->rx_bufs, 0, 0);
	ad->rx_bufs = NULL;
}

static void tnm_free_rings(struct tnm_adapter *ad)
{
	struct tnm_ndis *nd = &ad->ndis;

	tnm_free_rx_buffers(ad);
	if (ad->tx_desc)
		NdisMFreeSharedMemory(nd, ad->tx_size * sizeof(struct tn_desc), false, ad->tx_desc,
				      ad->tx_desc_pa);
	if (ad->rx_desc)
		NdisMFreeSharedMemory(nd, ad->rx_size * sizeof(struct tn_desc), false, ad->rx_desc,
				      ad->rx_desc_pa);
	if (ad->tx_slots)
		NdisFreeMemory(nd, ad->tx_slots, 0, tnm_bug(ad, TNM_BUG_POOL_FLAGS) ?
			       NDIS_MEMORY_CONTIGUOUS : 0);
	if (ad->tx_coalesce)
		NdisFreeMemory(nd, ad->tx_coalesce, (ad->tx_size + 1) * PAGE_SIZE, 0);
	ad->tx_coalesce = NULL;
	ad->tx_desc = NULL;
	ad->rx_desc = NULL;
	ad->tx_slots = NULL;
}

static void tnm_program_ring(struct tnm_adapter *ad, u32 ring, dma_addr_t base, u32 size)
{
	tnm_w(ad, TN_RING_REG(ring, TN_RING_BASE_LO), lower_32_bits(base));
	tnm_w(ad, TN_RING_REG(ring, TN_RING_BASE_HI), upper_32_bits(base));
	tnm_w(ad, TN_RING_REG(ring, TN_RING_SIZE), size);
	tnm_w(ad, TN_RING_REG(ring, TN_RING_CTRL), TN_RING_CTRL_ENABLE);
}

static u32 tnm_tx_free_slots(struct tnm_adapter *ad)
{
	return (ad->tx_clean - ad->tx_next - 1) & (ad->tx_size - 1);
}

/*
 * TX descriptors the device is done with (all: every posted one, after the
 * device quiesced): unmap and complete the packets.  Caller holds tx_lock.
 */
static int tnm_tx_reclaim(struct tnm_adapter *ad, bool all)
{
	int done = 0;

	while (ad->tx_clean != ad->tx_next) {
		u32 s = ad->tx_clean;
		struct tnm_tx_slot *slot = &ad->tx_slots[s];

		if (!all && !(le16_to_cpu(READ_ONCE(ad->tx_desc[s].flags)) & TN_DESC_DONE))
			break;
		/*
		 * The seeded tx-reclaim-past-done: the oldest frame done is taken
		 * to mean the device caught up with all of them.  It has when the
		 * device sends at the doorbell; a later frame may still be in flight.
		 */
		if (tnm_bug(ad, TNM_BUG_TX_RECLAIM_PAST_DONE))
			all = true;
		if (slot->map_id && !tnm_bug(ad, TNM_BUG_TX_EARLY_UNMAP))
			TnUnmapBuffer(&ad->ndis, slot->map_id);
		slot->map_id = 0;
		if (slot->skb) {
			ad->netdev->stats.tx_packets++;
			ad->netdev->stats.tx_bytes += slot->skb->len;
			dev_consume_skb_any(slot->skb);	/* NdisMSendNetBufferListsComplete */
		}
		slot->skb = NULL;
		ad->tx_desc[s].flags = 0;
		ad->tx_clean = (s + 1) & (ad->tx_size - 1);
		done++;
	}
	return done;
}

/*
 * @all: the rings are going down.  The queue then stays stopped: waking it
 * would let the qdisc post its waiting frames to a ring about to be freed.
 */
static int tnm_tx_complete(struct tnm_adapter *ad, bool all)
{
	bool wake;
	int done;

	spin_lock(&ad->tx_lock);
	done = tnm_tx_reclaim(ad, all);
	wake = !all && tnm_tx_free_slots(ad) >= TNM_TX_MAX_ELEMENTS;
	spin_unlock(&ad->tx_lock);
	if (wake && netif_queue_stopped(ad->netdev))
		netif_wake_queue(ad->netdev);
	return done;
}

/* The end of a TX burst (no TN_DESC_IRQ), or RX slots to post again: NAPI does both. */
static void tnm_poll_timer(struct timer_list *t)
{
	struct tnm_adapter *ad = from_timer(ad, t, poll_timer);

	napi_schedule(&ad->napi);
}

static int tnm_rings_up(struct tnm_adapter *ad)
{
	u32 i;
	int ret;

	ret = tnm_alloc_rings(ad);
	if (ret) {
		tnm_free_rings(ad);
		return ret;
	}
	ad->tx_next = ad->tx_clean = ad->rx_next = 0;
	ad->rx_fill = ad->rx_size - 1;
	ad->tx_since_irq = 0;
	tnm_program_ring(ad, TN_TX_RING, ad->tx_desc_pa, ad->tx_size);
	tnm_program_ring(ad, TN_RX_RING, ad->rx_desc_pa, ad->rx_size);
	for (i = 0; i < ad->rx_size - 1; i++)
		tnm_post_rx(ad, i);
	wmb();	/* descriptors visible before the TAIL write hands them over */
	tnm_w(ad, TN_RING_REG(TN_RX_RING, TN_RING_TAIL), ad->rx_size - 1);
	ad->rings_up = true;
	return 0;
}

static void tnm_rings_down(struct tnm_adapter *ad)
{
	if (!ad->rings_up)
		return;
	ad->rings_up = false;
	if (tnm_stop_dma(ad)) {
		/* The device may still DMA: leaking is the only safe choice. */
		ad->tx_desc = ad->rx_desc = NULL;
		ad->rx_bufs = ad->rx_pool_buf = ad->tx_coalesce = NULL;
		return;
	}
	if (!tnm_bug(ad, TNM_BUG_TX_EARLY_UNMAP))
		tnm_tx_complete(ad, true);
	tnm_free_rings(ad);
}

/* --- Interrupts: MiniportInterrupt and MiniportInterruptDPC ---------------- */

static irqreturn_t tnm_isr_rxtx(int irq, void *data)
{
	struct tnm_adapter *ad = data;

	/* With MSI-X and IAM the device masked and cleared the causes itself. */
	if (!ad->iam)
		tnm_w(ad, TN_REG_IMC, TN_INT_RX | TN_INT_TX);
	napi_schedule(&ad->napi);
	return IRQ_HANDLED;
}

static void tnm_handle_other(struct tnm_adapter *ad, u32 icr)
{
	if (icr & TN_INT_LINK) {
		if (tnm_r(ad, TN_REG_STATUS) & TN_STATUS_LINK_UP)
			netif_carrier_on(ad->netdev);
		else
			netif_carrier_off(ad->netdev);
	}
	if (icr & TN_INT_ERROR)
		netdev_warn(ad->netdev, "device reported a programming error, ERR=%u\n",
			    tnm_r(ad, TN_REG_ERR));
}

static irqreturn_t tnm_isr_other(int irq, void *data)
{
	struct tnm_adapter *ad = data;
	u32 icr = tnm_r(ad, TN_REG_ICR) & (TN_INT_LINK | TN_INT_ERROR | TN_INT_VIOLATION);

	tnm_w(ad, TN_REG_ICR, icr);
	tnm_handle_other(ad, icr);
	return IRQ_HANDLED;
}

static irqreturn_t tnm_isr_legacy(int irq, void *data)
{
	struct tnm_adapter *ad = data;
	u32 icr = tnm_r(ad, TN_REG_ICR) & tnm_r(ad, TN_REG_IMS);

	if (!icr)
		return IRQ_NONE;
	tnm_w(ad, TN_REG_ICR, icr & ~(TN_INT_RX | TN_INT_TX));
	tnm_handle_other(ad, icr);
	if (icr & (TN_INT_RX | TN_INT_TX))
		tnm_isr_rxtx(irq, data);
	return IRQ_HANDLED;
}

/*
 * MiniportReturnNetBufferLists, in effect: posts the empty slots again, up
 * to the one before the next to complete.  A buffer the stack has given
 * back (its page reference dropped) goes back to the device as it is,
 * still mapped; one the stack still holds is unmapped (the device finished
 * with it) and left to the stack, and a new page takes the slot.  Without
 * memory the slot stays empty and a poll retries.
 */
static void tnm_rx_refill(struct tnm_adapter *ad)
{
	u32 mask = ad->rx_size - 1, last = (ad->rx_next + mask) & mask, from = ad->rx_fill;

	while (ad->rx_fill != last) {
		struct tnm_rx_buf *b = &ad->rx_bufs[ad->rx_fill];

		if (b->page && page_ref_count(b->page) == 1) {
			dma_sync_single_for_device(ad->ndis.dev, b->dma, ad->rx_buf_len,
						   tnm_rx_dir(ad));
		} else {
			tnm_rx_buf_free(ad, b);
			if (tnm_rx_buf_alloc(ad, b, GFP_ATOMIC)) {
				mod_timer(&ad->poll_timer, jiffies + 1);
				break;
			}
		}
		tnm_post_rx(ad, ad->rx_fill);
		ad->rx_fill = (ad->rx_fill + 1) & mask;
	}
	if (ad->rx_fill != from) {
		wmb();	/* descriptors visible before TAIL moves */
		tnm_w(ad, TN_RING_REG(TN_RX_RING, TN_RING_TAIL), ad->rx_fill);
	}
}

static struct sk_buff *tnm_rx_copy(struct tnm_adapter *ad, const void *data, u32 len)
{
	struct sk_buff *skb = napi_alloc_skb(&ad->napi, len);

	if (skb)
		skb_put_data(skb, data, len);
	return skb;
}

/*
 * NdisMIndicateReceiveNetBufferLists: the frame in slot @s as an skb built
 * in its buffer; the driver keeps its own page reference, and
 * tnm_rx_refill() tells from the page's count whether the stack gave it back.
 */
static struct sk_buff *tnm_rx_indicate(struct tnm_adapter *ad, u32 s, u32 len)
{
	struct tnm_rx_buf *b = &ad->rx_bufs[s];
	struct sk_buff *skb;

	if (s == 0 && ad->rx_pool_buf)
		return tnm_rx_copy(ad, ad->rx_pool_buf, len);
	dma_sync_single_for_cpu(ad->ndis.dev, b->dma, len, tnm_rx_dir(ad));
	skb = napi_build_skb(page_address(b->page), PAGE_SIZE << ad->rx_order);
	if (!skb)
		return NULL;
	skb_reserve(skb, TNM_RX_HEADROOM);
	skb_put(skb, len);
	page_ref_inc(b->page);
	return skb;
}

/*
 * Completed slots are posted again by the next poll, not here: GRO hands
 * frames on to the stack in batches, at the latest when the poll ends, so
 * by the next poll the stack has dropped most of them and their pages are
 * reused as they are.
 */
static int tnm_rx(struct tnm_adapter *ad, int budget)
{
	int done = 0;

	while (done < budget && ad->rx_next != ad->rx_fill) {
		u32 s = ad->rx_next;
		struct tn_desc *d = &ad->rx_desc[s];
		u16 flags = le16_to_cpu(READ_ONCE(d->flags));
		u16 len = le16_to_cpu(d->wb_len);
		struct sk_buff *skb;

		if (!(flags & TN_DESC_DONE))
			break;
		dma_rmb();
		if ((flags & (TN_DESC_ERR | TN_DESC_EOP)) != TN_DESC_EOP) {
			ad->netdev->stats.rx_errors++;	/* multi-buffer frames are not posted */
		} else {
			skb = tnm_rx_indicate(ad, s, len);
			if (skb) {
				skb->protocol = eth_type_trans(skb, ad->netdev);
				ad->netdev->stats.rx_packets++;
				ad->netdev->stats.rx_bytes += len;
				napi_gro_receive(&ad->napi, skb);
			} else {
				ad->netdev->stats.rx_dropped++;
			}
		}
		ad->rx_next = (s + 1) & (ad->rx_size - 1);
		done++;
	}
	return done;
}

/* Interrupt moderation by RX load (itr_busy_us); called from the DPC. */
static void tnm_itr_adapt(struct tnm_adapter *ad, int rx_frames)
{
	unsigned long elapsed = jiffies - ad->itr_since;
	u32 want;

	ad->itr_rx_frames += rx_frames;
	if (!itr_busy_us || elapsed < TNM_ITR_SAMPLE_JIFFIES)
		return;
	want = (u64)ad->itr_rx_frames * HZ > (u64)TNM_ITR_BUSY_PPS * elapsed ?
	       itr_busy_us : itr_us;
	if (want != ad->itr_now) {
		ad->itr_now = want;
		tnm_w(ad, TN_REG_ITR_US, want);
	}
	ad->itr_rx_frames = 0;
	ad->itr_since = jiffies;
}

/* MiniportInterruptDPC: runs at DISPATCH_LEVEL (NAPI softirq). */
static int tnm_dpc(struct napi_struct *napi, int budget)
{
	struct tnm_adapter *ad = container_of(napi, struct tnm_adapter, napi);
	int done;

	if (!ad->iam)
		tnm_w(ad, TN_REG_ICR, TN_INT_RX | TN_INT_TX);
	tnm_tx_complete(ad, false);
	/* Frames the device has not finished yet (a slow device): look again later. */
	if (READ_ONCE(ad->tx_clean) != READ_ONCE(ad->tx_next) && !timer_pending(&ad->poll_timer))
		mod_timer(&ad->poll_timer, jiffies + 1);
	tnm_rx_refill(ad);
	done = tnm_rx(ad, budget);
	tnm_itr_adapt(ad, done);
	if (tnm_bug(ad, TNM_BUG_FREE_AT_DISPATCH) && ad->scratch) {
		/* Contiguous memory must be freed at PASSIVE_LEVEL, not in a DPC. */
		NdisFreeMemory(&ad->ndis, ad->scratch, PAGE_SIZE, NDIS_MEMORY_CONTIGUOUS);
		ad->scratch = NULL;
	}
	if (done < budget && napi_complete_done(napi, done))
		tnm_w(ad, TN_REG_IMS, TN_INT_RX | TN_INT_TX);
	return done;
}

/* Interrupts on; CTRL.RST clears ITR_US, IAM and IMS, so the reset path calls this too. */
static void tnm_irqs_on(struct tnm_adapter *ad)
{
	ad->itr_now = itr_us;
	ad->itr_rx_frames = 0;
	ad->itr_since = jiffies;
	tnm_w(ad, TN_REG_ITR_US, itr_us);
	/* Saves the handler's IMC and ICR writes: two exits per interrupt under TCG. */
	tnm_w(ad, TN_REG_IAM, ad->iam ? TN_INT_RX | TN_INT_TX : 0);
	tnm_w(ad, TN_REG_IMS, TN_INT_RX | TN_INT_TX | TN_INT_LINK | TN_INT_ERROR);
}

/* --- MiniportSendNetBufferLists -------------------------------------------- */

/*
 * Posts @n descriptors from slot @s on; the frame's skb and mapping go with
 * the last, which asks for an interrupt if @irq.
 */
static void tnm_post_tx(struct tnm_adapter *ad, u32 s, const struct tnm_sg_element *sg, u32 n,
		       struct sk_buff *skb, u32 map_id, bool irq)
{
	u32 i;

	for (i = 0; i < n; i++, s = (s + 1) & (ad->tx_size - 1)) {
		struct tn_desc *d = &ad->tx_desc[s];
		bool last = i == n - 1;
		u16 flags = TN_DESC_OWN;

		if (last)
			flags |= TN_DESC_EOP | (irq ? TN_DESC_IRQ : 0);
		ad->tx_slots[s].skb = last ? skb : NULL;
		ad->tx_slots[s].map_id = last ? map_id : 0;
		d->addr = cpu_to_le64(sg[i].addr);
		d->len = cpu_to_le16(sg[i].length);
		d->wb_len = 0;
		d->wb_status = 0;
		dma_wmb();
		d->flags = cpu_to_le16(flags);
	}
	ad->tx_next = s;
}

/*
 * A frame asks for an interrupt every tx_irq_every frames, and always when
 * the ring is nearly full: the queue may stop, and only that interrupt's
 * completion would wake it.
 */
static bool tnm_tx_want_irq(struct tnm_adapter *ad, u32 n)
{
	if (++ad->tx_since_irq >= max(tx_irq_every, 1u) ||
	    tnm_tx_free_slots(ad) < n + ad->tx_size / 4) {
		ad->tx_since_irq = 0;
		return true;
	}
	return false;
}

/*
 * Maps the frame: the skb itself, or (tx_coalesce) a copy in the
 * coalescing buffer that spans two pages.  Returns the element count.
 */
static u32 tnm_map_tx(struct tnm_adapter *ad, struct sk_buff *skb, u32 s,
		     struct tnm_sg_element *sg, u32 *map_id)
{
	void *copy;
	u32 n;

	if (!ad->tx_coalesce)
		return TnMapBufferSg(&ad->ndis, skb->data, skb->len, DMA_TO_DEVICE, map_id, sg, 1);
	copy = ad->tx_coalesce + (size_t)(s + 1) * PAGE_SIZE - TNM_COALESCE_HEAD;
	skb_copy_bits(skb, 0, copy, skb->len);
	n = TnMapBufferSg(&ad->ndis, copy, skb->len, DMA_TO_DEVICE, map_id, sg, 2);
	if (n > 1 && tnm_bug(ad, TNM_BUG_SG_AS_CONTIGUOUS)) {
		/* The first element's address with the whole length, as if contiguous. */
		sg[0].length = skb->len;
		n = 1;
	}
	return n;
}

static netdev_tx_t tnm_send(struct sk_buff *skb, struct net_device *netdev)
{
	struct tnm_adapter *ad = netdev_priv(netdev);
	struct tnm_sg_element sg[TNM_TX_MAX_ELEMENTS];
	u32 s, n, id;
	bool irq;

	if (skb_linearize(skb) || skb->len > TN_MAX_FRAME) {
		dev_kfree_skb_any(skb);
		netdev->stats.tx_dropped++;
		return NETDEV_TX_OK;
	}
	spin_lock_bh(&ad->tx_lock);
	/* Earlier frames the device finished: no interrupt needed for them. */
	tnm_tx_reclaim(ad, false);
	s = ad->tx_next;
	if (tnm_tx_free_slots(ad) < TNM_TX_MAX_ELEMENTS) {
		netif_stop_queue(netdev);
		spin_unlock_bh(&ad->tx_lock);
		return NETDEV_TX_BUSY;
	}
	n = tnm_map_tx(ad, skb, s, sg, &id);
	if (!n) {
		spin_unlock_bh(&ad->tx_lock);
		dev_kfree_skb_any(skb);
		netdev->stats.tx_dropped++;
		return NETDEV_TX_OK;
	}
	irq = tnm_tx_want_irq(ad, n);
	tnm_post_tx(ad, s, sg, n, skb, id, irq);
	wmb();	/* descriptors visible before the doorbell */
	tnm_w(ad, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), ad->tx_next);
	if (tnm_bug(ad, TNM_BUG_TX_EARLY_UNMAP)) {
		/* Completes the packet before the device is done with it. */
		TnUnmapBuffer(&ad->ndis, id);
	}
	/* tnm_tx_want_irq() gave this frame an interrupt: its completion wakes the queue. */
	if (tnm_tx_free_slots(ad) < TNM_TX_MAX_ELEMENTS)
		netif_stop_queue(netdev);
	spin_unlock_bh(&ad->tx_lock);
	if (!irq && !timer_pending(&ad->poll_timer))
		mod_timer(&ad->poll_timer, jiffies + 1);
	return NETDEV_TX_OK;
}

/* --- netdev operations ---------------------------------------------------------- */

static int tnm_open(struct net_device *netdev)
{
	struct tnm_adapter *ad = netdev_priv(netdev);
	int ret;

	mutex_lock(&ad->ops_lock);
	ret = tnm_rings_up(ad);
	mutex_unlock(&ad->ops_lock);
	if (ret)
		return ret;
	napi_enable(&ad->napi);
	tnm_irqs_on(ad);
	if (tnm_r(ad, TN_REG_STATUS) & TN_STATUS_LINK_UP)
		netif_carrier_on(netdev);
	netif_start_queue(netdev);
	return 0;
}

static int tnm_close(struct net_device *netdev)
{
	struct tnm_adapter *ad = netdev_priv(netdev);

	tnm_w(ad, TN_REG_IMC, TN_INT_ALL);
	/*
	 * NAPI before the queue: a poll under way can wake the queue after
	 * netif_tx_disable(), and tnm_send() would then post frames to rings
	 * tnm_rings_down() has already reclaimed (mapped and leaked) or freed.
	 */
	napi_disable(&ad->napi);
	/* Unlike netif_stop_queue(), waits for a tnm_send() under way. */
	netif_tx_disable(netdev);
	del_timer_sync(&ad->poll_timer);
	mutex_lock(&ad->ops_lock);
	tnm_rings_down(ad);
	mutex_unlock(&ad->ops_lock);
	netif_carrier_off(netdev);
	return 0;
}

/* MTU change reallocates the RX buffers for the new frame size. */
/*
 * The seeded rx-realloc-posted: an MTU change that replaces the RX buffers
 * while RX runs.  Each posted buffer is unmapped and freed and a new one
 * allocated and mapped at once; the page allocator hands back the page just
 * freed, so the new mapping mostly has the old bus address, and a frame the
 * device receives into a descriptor it fetched before lands in memory that
 * looks live again.  The rings then go down as usual.
 */
static void tnm_rx_realloc_posted(struct tnm_adapter *ad)
{
	u32 i;

	napi_disable(&ad->napi);
	for (i = 0; i < ad->rx_size; i++) {
		struct tnm_rx_buf *b = &ad->rx_bufs[i];

		if (!b->page)
			continue;
		tnm_rx_buf_free(ad, b);
		if (tnm_rx_buf_alloc(ad, b, GFP_KERNEL))
			break;
	}
	msleep(TNM_REALLOC_SETTLE_MS);	/* frames keep arriving meanwhile */
	napi_enable(&ad->napi);
}

static int tnm_change_mtu(struct net_device *netdev, int mtu)
{
	struct tnm_adapter *ad = netdev_priv(netdev);
	bool running = netif_running(netdev);

	if (running && tnm_bug(ad, TNM_BUG_MTU_FREE_POSTED)) {
		/* Frees RX buffers the device still has posted and prefetched. */
		tnm_free_rx_buffers(ad);
	}
	if (running && tnm_bug(ad, TNM_BUG_RX_REALLOC_POSTED))
		tnm_rx_realloc_posted(ad);
	if (running)
		tnm_close(netdev);
	netdev->mtu = mtu;
	return running ? tnm_open(netdev) : 0;
}

static const struct net_device_ops tnm_netdev_ops = {
	.ndo_open = tnm_open,
	.ndo_stop = tnm_close,
	.ndo_start_xmit = tnm_send,
	.ndo_change_mtu = tnm_change_mtu,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_validate_addr = eth_validate_addr,
};

/* --- MiniportResetEx and ring resize (debugfs) ----------------------------------- */

static int tnm_reset(struct tnm_adapter *ad)
{
	bool running = netif_running(ad->netdev);
	u32 v;
	int ret;

	tnm_ledger_mark(&ad->ledger, TN_MARK_RESET_BEGIN, 0);
	if (running) {
		napi_disable(&ad->napi);	/* first: see tnm_close() */
		netif_tx_disable(ad->netdev);
	}
	mutex_lock(&ad->ops_lock);
	tnm_w(ad, TN_REG_CTRL, TN_CTRL_RST);
	if (!tnm_bug(ad, TNM_BUG_RESET_NO_WAIT)) {
		ret = readl_poll_timeout(ad->regs + TN_REG_CTRL, v, !(v & TN_CTRL_RST), 10,
					 TNM_QUIESCE_TIMEOUT_US);
		if (ret)
			netdev_err(ad->netdev, "reset did not complete within %u us\n",
				   TNM_QUIESCE_TIMEOUT_US);
	}
	if (ad->rings_up) {
		ad->rings_up = false;
		tnm_tx_complete(ad, true);
		tnm_free_rings(ad);
	}
	ret = running ? tnm_rings_up(ad) : 0;
	mutex_unlock(&ad->ops_lock);
	if (running) {
		napi_enable(&ad->napi);
		tnm_irqs_on(ad);
		netif_wake_queue(ad->netdev);
	}
	tnm_ledger_mark(&ad->ledger, TN_MARK_RESET_END, 0);
	return ret;
}

static ssize_t tnm_reset_write(struct file *f, const char __user *buf, size_t len, loff_t *pos)
{
	struct tnm_adapter *ad = f->private_data;
	int ret;

	rtnl_lock();
	ret = tnm_reset(ad);
	rtnl_unlock();
	return ret ? ret : len;
}

static ssize_t tnm_rings_write(struct file *f, const char __user *ubuf, size_t len, loff_t *pos)
{
	struct tnm_adapter *ad = f->private_data;
	unsigned int tx, rx;
	char buf[32] = "";
	bool running;

	if (len >= sizeof(buf) || copy_from_user(buf, ubuf, len))
		return -EINVAL;
	if (sscanf(buf, "%u %u", &tx, &rx) != 2 || !is_power_of_2(tx) || !is_power_of_2(rx) ||
	    tx < TN_RING_MIN || rx < TN_RING_MIN || tx > TN_RING_MAX || rx > TN_RING_MAX)
		return -EINVAL;
	rtnl_lock();
	running = netif_running(ad->netdev);
	if (running)
		tnm_close(ad->netdev);
	ad->tx_size = tx;
	ad->rx_size = rx;
	if (running)
		tnm_open(ad->netdev);
	rtnl_unlock();
	return len;
}

static const struct file_operations tnm_reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = tnm_reset_write,
};

static const struct file_operations tnm_rings_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = tnm_rings_write,
};

/* --- MiniportInitializeEx and MiniportHaltEx ------------------------------------------ */

static int tnm_setup_irqs(struct tnm_adapter *ad)
{
	struct pci_dev *pdev = ad->pdev;
	int n, ret;

	n = pci_alloc_irq_vectors(pdev, TN_MSIX_VECTORS, TN_MSIX_VECTORS, PCI_IRQ_MSIX);
	if (n == TN_MSIX_VECTORS) {
		ad->msix = true;
		ad->iam = iam;
		ret = request_irq(pci_irq_vector(pdev, TN_MSIX_VEC_RX), tnm_isr_rxtx, 0,
				  "tracenic-rx", ad);
		if (!ret)
			ret = request_irq(pci_irq_vector(pdev, TN_MSIX_VEC_TX), tnm_isr_rxtx, 0,
					  "tracenic-tx", ad);
		if (!ret)
			ret = request_irq(pci_irq_vector(pdev, TN_MSIX_VEC_OTHER), tnm_isr_other, 0,
					  "tracenic-other", ad);
		return ret;
	}
	n = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_LEGACY);
	if (n < 0)
		return n;
	return request_irq(pci_irq_vector(pdev, 0), tnm_isr_legacy, IRQF_SHARED, "tracenic", ad);
}

static void tnm_free_irqs(struct tnm_adapter *ad)
{
	int i;

	for (i = 0; i < (ad->msix ? TN_MSIX_VECTORS : 1); i++)
		free_irq(pci_irq_vector(ad->pdev, i), ad);
	pci_free_irq_vectors(ad->pdev);
}

static int tnm_initialize(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct net_device *netdev;
	struct tnm_adapter *ad;
	u8 mac[ETH_ALEN];
	u32 lo, hi;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(TN_BAR_REGS), "tracenic");
	if (ret)
		return ret;
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	pci_set_master(pdev);
	netdev = alloc_etherdev(sizeof(*ad));
	if (!netdev)
		return -ENOMEM;
	SET_NETDEV_DEV(netdev, &pdev->dev);
	ad = netdev_priv(netdev);
	ad->pdev = pdev;
	ad->netdev = netdev;
	ad->regs = pcim_iomap_table(pdev)[TN_BAR_REGS];
	ad->tx_size = tx_ring;
	ad->rx_size = rx_ring;
	mutex_init(&ad->ops_lock);
	spin_lock_init(&ad->tx_lock);
	timer_setup(&ad->poll_timer, tnm_poll_timer, 0);
	ret = tnm_parse_bugs(bugs, &ad->bugs);
	if (ret) {
		dev_err(&pdev->dev, "unknown bug mode in bugs=\"%s\"; see docs/bugs.md\n", bugs);
		goto err_free;
	}
	tnm_ledger_init(&ad->ledger, ad->regs, ledger_compact);
	tnm_ndis_init(&ad->ndis, &pdev->dev, &ad->ledger, strict, ledger_echo);
	tnm_ledger_mark(&ad->ledger, TN_MARK_INIT_BEGIN, 0);
	tnm_ledger_mark(&ad->ledger, TN_MARK_BUG_MODES, ad->bugs);

	if (NdisAllocateMemory(&ad->ndis, &ad->stats_block, PAGE_SIZE, NDIS_MEMORY_NONCACHED,
			       ~0ull) != NDIS_STATUS_SUCCESS ||
	    NdisAllocateMemory(&ad->ndis, &ad->scratch, PAGE_SIZE, NDIS_MEMORY_CONTIGUOUS,
			       ~0ull) != NDIS_STATUS_SUCCESS) {
		ret = -ENOMEM;
		goto err_free;
	}

	lo = tnm_r(ad, TN_REG_MAC_LO);
	hi = tnm_r(ad, TN_REG_MAC_HI);
	mac[0] = lo;
	mac[1] = lo >> 8;
	mac[2] = lo >> 16;
	mac[3] = lo >> 24;
	mac[4] = hi;
	mac[5] = hi >> 8;
	eth_hw_addr_set(netdev, mac);
	netdev->netdev_ops = &tnm_netdev_ops;
	netdev->min_mtu = ETH_MIN_MTU;
	netdev->max_mtu = TN_MAX_FRAME - ETH_HLEN - VLAN_HLEN;
	netif_napi_add(netdev, &ad->napi, tnm_dpc);
	ret = tnm_setup_irqs(ad);
	if (ret)
		goto err_free;
	pci_set_drvdata(pdev, ad);
	netif_carrier_off(netdev);
	ret = register_netdev(netdev);
	if (ret)
		goto err_irq;
	ad->debugfs = debugfs_create_dir(netdev_name(netdev), NULL);
	debugfs_create_file("reset", 0200, ad->debugfs, ad, &tnm_reset_fops);
	debugfs_create_file("rings", 0200, ad->debugfs, ad, &tnm_rings_fops);
	if (selftest)
		tnm_ndis_selftest_init(&ad->ndis, ad->debugfs);
	tnm_ledger_mark(&ad->ledger, TN_MARK_INIT_END, 0);
	netdev_info(netdev, "tracenic %pM, %s interrupts, bug modes 0x%lx\n", mac,
		    ad->msix ? "MSI-X" : "INTx", ad->bugs);
	return 0;

err_irq:
	tnm_free_irqs(ad);
err_free:
	tnm_ndis_reclaim_leaks(&ad->ndis);
	free_netdev(netdev);
	return ret;
}

static void tnm_halt(struct pci_dev *pdev)
{
	struct tnm_adapter *ad = pci_get_drvdata(pdev);
	struct tnm_ndis *nd = &ad->ndis;

	tnm_ledger_mark(&ad->ledger, TN_MARK_HALT_BEGIN, 0);
	debugfs_remove_recursive(ad->debugfs);
	unregister_netdev(ad->netdev);		/* closes: quiesces and frees the rings */
	tnm_free_irqs(ad);
	if (!tnm_bug(ad, TNM_BUG_LEAK_ON_HALT)) {
		/* Noncached and contiguous memory go back at PASSIVE_LEVEL. */
		NdisFreeMemory(nd, ad->stats_block, tnm_bug(ad, TNM_BUG_WRONG_LENGTH) ? 1 : PAGE_SIZE,
			       tnm_bug(ad, TNM_BUG_WRONG_FLAGS) ? 0 : NDIS_MEMORY_NONCACHED);
		if (ad->scratch)
			NdisFreeMemory(nd, ad->scratch, PAGE_SIZE, NDIS_MEMORY_CONTIGUOUS);
		if (tnm_bug(ad, TNM_BUG_DOUBLE_FREE))
			NdisFreeMemory(nd, ad->stats_block, PAGE_SIZE, NDIS_MEMORY_NONCACHED);
	}
	tnm_ledger_mark(&ad->ledger, TN_MARK_HALT_END, nd->findings);
	tnm_ndis_summary(nd);
	/* After the leak is on record, give the memory back to the guest anyway. */
	tnm_ndis_reclaim_leaks(nd);
	pci_clear_master(pdev);
	free_netdev(ad->netdev);
}

static const struct pci_device_id tnm_ids[] = {
	{ PCI_DEVICE(TN_PCI_VENDOR_ID, TN_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, tnm_ids);

static struct pci_driver tnm_driver = {
	.name = "tracenic",
	.id_table = tnm_ids,
	.probe = tnm_initialize,
	.remove = tnm_halt,
};
module_pci_driver(tnm_driver);

MODULE_DESCRIPTION("tracenic NDIS-style miniport");
MODULE_LICENSE("GPL");
