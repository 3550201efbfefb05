// SPDX-License-Identifier: GPL-2.0-only
/*
 * tracenic-agent: the DMA-API calls the kernel makes for one PCI device,
 * reported through a tracenic-ledger device into the device's trace, so a
 * driver nobody changed gets a ledger (docs/agent.md).
 *
 *   insmod tracenic-agent.ko dev=0000:00:03.0
 *
 * Debian's 6.1 kernel has no CONFIG_DMA_API_DEBUG and no DMA-API
 * tracepoints, so the agent hooks the exported functions every
 * dma_map_single(), dma_map_page(), skb_frag_dma_map(), dma_map_sg(),
 * dma_map_sgtable() and dma_alloc_coherent() ends in (kretprobes where the
 * return value is needed, ftrace callbacks on entry), and reports only
 * calls for the chosen device:
 *
 *   dma_alloc_attrs     (kretprobe)  ALLOC(api DMA coherent) + EXTENT(bus)
 *   dma_free_attrs      (entry)      FREE
 *   dma_map_page_attrs  (kretprobe)  MAP_ONE(direction)
 *   dma_unmap_page_attrs(entry)      UNMAP
 *   dma_map_sg_attrs, dma_map_sgtable (kretprobe)  MAP + one EXTENT per segment
 *   dma_unmap_sg_attrs  (entry)      UNMAP
 *   tracepoint mm_page_free          FREE(page freed) of each live
 *                                    mapping a freed page lies in
 *
 * An unmap or free is reported at the function's entry, before the
 * mapping or memory is released, as the ledger protocol asks; a map once
 * the function has returned the bus address, before the driver can give
 * it to the device.  A map that failed (DMA_MAPPING_ERROR) is not a
 * mapping and is not reported.  An unmap or free of nothing live is
 * reported too: with the id last unmapped at that address (a double unmap)
 * or an id never used.  Each record's site is the caller's return address
 * (TN_SITE_IS_CODE), named once in the kernel log.  The agent only
 * observes: no probe changes an argument or a return value.
 *
 * The page allocator's free is observed as well, through its mm_page_free
 * tracepoint (every free passes free_pages_prepare(), which fires it): a
 * page returned while a mapping of the device still covers it is reported
 * at that moment (dmacheck's free-while-mapped), so the device's later DMA
 * into it is dma-after-free.  Every streaming mapping's pages are indexed by
 * page frame for this.  Not a kprobe: page frees are constant, and a kprobe
 * handler that an interrupt preempts makes the kprobes hit inside the
 * interrupt (NAPI's unmaps) count as missed (measured: an RX unmap lost in
 * one run of eight).
 *
 * It must be loaded before the device's driver binds (a mapping made
 * before would be unknown to it); it refuses otherwise, with what to do.
 */
#include <linux/atomic.h>
#include <linux/dma-mapping.h>
#include <linux/ftrace.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/preempt.h>
#include <linux/scatterlist.h>
#include <linux/stacktrace.h>
#include <linux/tracepoint.h>
#include <linux/vmalloc.h>
#include "tracenic/regs.h"
#include "tnm_ledger.h"

#define TNA_NAME "tracenic-agent"

static char *dev;
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "PCI address of the device whose DMA-API calls are reported, e.g. 0000:00:03.0");

/* The ledger's directions are the DMA API's. */
static_assert(TN_DIR_BIDIRECTIONAL - DMA_BIDIRECTIONAL == 0);
static_assert(TN_DIR_TO_DEVICE - DMA_TO_DEVICE == 0);
static_assert(TN_DIR_FROM_DEVICE - DMA_FROM_DEVICE == 0);

/* --- What is live: the id each mapping and allocation was reported with ---- */

enum tna_kind { TNA_FREE_SLOT, TNA_PAGE, TNA_SG, TNA_COHERENT, TNA_PFN };

/*
 * One live mapping or allocation, found again by what the unmap or free
 * passes: the bus address (page maps, coherent memory) or the scatterlist;
 * and (TNA_PFN) one page frame a live streaming mapping covers, found by
 * the page allocator's free.  A page map keeps the frames it covers, as its
 * unmap passes only the bus address.
 */
struct tna_live {
	unsigned long key;
	unsigned long pfn;	/* TNA_PAGE: the first frame mapped */
	u32 id;
	u32 npages;		/* TNA_PAGE: the frames mapped from pfn */
	u8 kind;
};

/* Open addressing, linear probing, deletion by backward shift. */
#define TNA_LIVE_BITS	16
#define TNA_LIVE_SLOTS	BIT(TNA_LIVE_BITS)
#define TNA_LIVE_MASK	(TNA_LIVE_SLOTS - 1)

static struct tna_live *tna_live;
static unsigned int tna_live_count;
static DEFINE_RAW_SPINLOCK(tna_live_lock);

static struct {
	struct pci_dev *target;
	struct tnm_ledger ledger;
	struct pci_dev *ledger_dev;
	bool have_ledger;
	atomic_t next_id;
	atomic_t unknown_unmaps;	/* unmaps and frees of nothing the agent saw mapped */
	atomic_t table_full;		/* maps not reported: TNA_LIVE_SLOTS live at once */
	atomic_t page_frees;		/* pages freed while a mapping covered them */
	atomic_t pfns;			/* TNA_PFN entries: 0 lets the page-free probe return */
} tna;

/*
 * What was unmapped or freed last at an address, by the same hash: an unmap
 * of it again names that id (a double unmap).  Overwritten on collision: an
 * older double unmap then reads as an unmap of something never mapped.
 */
#define TNA_DEAD_BITS	12
static struct { unsigned long key; u32 id; u8 kind; } tna_dead[BIT(TNA_DEAD_BITS)];

static unsigned int tna_slot(unsigned long key, u8 kind)
{
	return hash_long(key ^ kind, TNA_LIVE_BITS);
}

/* Called with tna_live_lock held. */
static bool __tna_live_add(const struct tna_live *e)
{
	unsigned int i;

	if (tna_live_count >= TNA_LIVE_SLOTS - 1)
		return false;
	for (i = tna_slot(e->key, e->kind); tna_live[i].kind != TNA_FREE_SLOT;
	     i = (i + 1) & TNA_LIVE_MASK)
		;
	tna_live[i] = *e;
	tna_live_count++;
	return true;
}

static bool tna_live_add(const struct tna_live *e)
{
	unsigned long flags;
	bool ok;

	raw_spin_lock_irqsave(&tna_live_lock, flags);
	ok = __tna_live_add(e);
	raw_spin_unlock_irqrestore(&tna_live_lock, flags);
	return ok;
}

/*
 * The entry for @key (and @id, unless 0) taken out of the table into @out;
 * false if none.  Called with tna_live_lock held.
 */
static bool __tna_live_take(unsigned long key, u8 kind, u32 id, struct tna_live *out)
{
	unsigned int i, j, home;

	for (i = tna_slot(key, kind); tna_live[i].kind != TNA_FREE_SLOT;
	     i = (i + 1) & TNA_LIVE_MASK) {
		if (tna_live[i].key == key && tna_live[i].kind == kind &&
		    (!id || tna_live[i].id == id))
			break;
	}
	if (tna_live[i].kind == TNA_FREE_SLOT)
		return false;
	*out = tna_live[i];
	/* Shift back the entries after it that probed past the hole. */
	for (j = (i + 1) & TNA_LIVE_MASK; tna_live[j].kind != TNA_FREE_SLOT;
	     j = (j + 1) & TNA_LIVE_MASK) {
		home = tna_slot(tna_live[j].key, tna_live[j].kind);
		if (((j - home) & TNA_LIVE_MASK) >= ((j - i) & TNA_LIVE_MASK)) {
			tna_live[i] = tna_live[j];
			i = j;
		}
	}
	tna_live[i].kind = TNA_FREE_SLOT;
	tna_live_count--;
	return true;
}

/* One TNA_PFN entry per page frame of [pfn, pfn + n) for mapping @id. */
static bool tna_pfns_add(unsigned long pfn, u32 n, u32 id)
{
	unsigned long flags;
	u32 i;

	raw_spin_lock_irqsave(&tna_live_lock, flags);
	for (i = 0; i < n; i++) {
		struct tna_live e = { .key = pfn + i, .id = id, .kind = TNA_PFN };

		if (!__tna_live_add(&e))
			break;
	}
	raw_spin_unlock_irqrestore(&tna_live_lock, flags);
	atomic_add(i, &tna.pfns);
	return i == n;
}

static void tna_pfns_del(unsigned long pfn, u32 n, u32 id)
{
	struct tna_live gone;
	unsigned long flags;
	u32 i, taken = 0;

	raw_spin_lock_irqsave(&tna_live_lock, flags);
	for (i = 0; i < n; i++)
		taken += __tna_live_take(pfn + i, TNA_PFN, id, &gone);
	raw_spin_unlock_irqrestore(&tna_live_lock, flags);
	atomic_sub(taken, &tna.pfns);
}

/* The frames [pfn, pfn + *n) that @len bytes from @offset into @page cover. */
static unsigned long tna_frames(struct page *page, unsigned long offset, size_t len, u32 *n)
{
	unsigned long first = offset >> PAGE_SHIFT;

	*n = len ? ((offset + len - 1) >> PAGE_SHIFT) - first + 1 : 0;
	return page_to_pfn(page) + first;
}

/* The frames of the first @nents segments of @sg, added (or deleted) for @id. */
static bool tna_sg_pfns(struct scatterlist *sg, unsigned int nents, u32 id, bool add)
{
	struct scatterlist *s;
	unsigned int i;
	bool ok = true;

	for_each_sg(sg, s, nents, i) {
		u32 n;
		unsigned long pfn = tna_frames(sg_page(s), s->offset, s->length, &n);

		if (add)
			ok &= tna_pfns_add(pfn, n, id);
		else
			tna_pfns_del(pfn, n, id);
	}
	return ok;
}

/* The live entry for @key, taken out of the table with its frames; false if none. */
static bool tna_live_take(unsigned long key, u8 kind, struct tna_live *out)
{
	unsigned long flags;
	unsigned int h;
	bool found;

	raw_spin_lock_irqsave(&tna_live_lock, flags);
	found = __tna_live_take(key, kind, 0, out);
	raw_spin_unlock_irqrestore(&tna_live_lock, flags);
	if (!found)
		return false;
	if (kind == TNA_PAGE)
		tna_pfns_del(out->pfn, out->npages, out->id);
	h = hash_long(key ^ kind, TNA_DEAD_BITS);
	WRITE_ONCE(tna_dead[h].key, key);
	WRITE_ONCE(tna_dead[h].kind, kind);
	WRITE_ONCE(tna_dead[h].id, out->id);
	return true;
}

/*
 * The id to report an unmap or free of nothing live with: the one last
 * released at @key (a double unmap or free), else one never used.
 */
static u32 tna_dead_id(unsigned long key, u8 kind);

/* --- Reporting --------------------------------------------------------------- */

static bool tna_for_target(struct device *d)
{
	return tna.target && d == &tna.target->dev;
}

/*
 * Ids with TN_LG_ID_AGENT_BIT set, apart from another reporter's on the same
 * trace (the miniport's NDIS layer, with the agent loaded beside it).
 */
static u32 tna_new_id(void)
{
	return TN_LG_ID_AGENT_BIT | (atomic_inc_return(&tna.next_id) & TN_LG_ID_COUNT_MASK);
}

/*
 * The caller's context, as the ledger's IRQL byte says it: a hard interrupt
 * or interrupts off is DIRQL, softirq or bottom halves off DISPATCH_LEVEL,
 * the rest PASSIVE_LEVEL.  The probes sit on function entry, so they are
 * ftrace-based (CONFIG_KPROBES_ON_FTRACE) and see the caller's interrupt
 * state; the handler itself runs with preemption off, so preemptible()
 * says nothing about the caller (measured: every call read DISPATCH), and
 * with interrupts off (TNA_IRQS_OFF), so the caller's interrupt state is
 * the one the wrapper saw.
 */
static DEFINE_PER_CPU(bool, tna_caller_irqs_off);

static u8 tna_irql(void)
{
	if (in_hardirq() || in_nmi() || this_cpu_read(tna_caller_irqs_off))
		return TN_IRQL_DIRQL;
	if (in_softirq())
		return TN_IRQL_DISPATCH;
	return TN_IRQL_PASSIVE;
}

static void tna_send(struct tnm_ledger_event *e)
{
	e->irql = tna_irql();
	tnm_ledger_send(&tna.ledger, e);
}

static u32 tna_dead_id(unsigned long key, u8 kind)
{
	unsigned int h = hash_long(key ^ kind, TNA_DEAD_BITS);

	atomic_inc(&tna.unknown_unmaps);
	if (READ_ONCE(tna_dead[h].key) == key && READ_ONCE(tna_dead[h].kind) == kind)
		return READ_ONCE(tna_dead[h].id);
	return tna_new_id();
}

/*
 * A code site (TN_SITE_IS_CODE) for return address @ret, named in the
 * kernel log the first time it is seen (a few may be named twice).
 */
#define TNA_SITES_BITS 9
static u32 tna_sites[BIT(TNA_SITES_BITS)];

static u32 tna_site(unsigned long ret)
{
	u32 site = lower_32_bits(ret) | TN_SITE_CODE_BIT;
	unsigned int h = hash_32(site, TNA_SITES_BITS);

	if (READ_ONCE(tna_sites[h]) != site) {
		WRITE_ONCE(tna_sites[h], site);
		pr_info(TNA_NAME ": SITE 0x%08x %pS\n", site, (void *)ret);
	}
	return site;
}

/* The return address of a probe on a function's first instruction. */
static unsigned long tna_caller(struct pt_regs *regs)
{
	return *(unsigned long *)kernel_stack_pointer(regs);
}

static void tna_report_unmap(unsigned long key, u8 kind, size_t size, u8 dir,
			     unsigned long ret)
{
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_UNMAP, .length = size, .code = TN_UNMAP_DIR(dir),
	};
	struct tna_live live;

	e.id = tna_live_take(key, kind, &live) ? live.id : tna_dead_id(key, kind);
	e.site = tna_site(ret);
	tna_send(&e);
}

/* --- The probes ---------------------------------------------------------------- */

/* What a kretprobe's entry handler keeps for its return handler. */
struct tna_call {
	struct device *dev;
	unsigned long a, b;	/* per function, see each entry handler */
	unsigned long ret;	/* the caller's return address */
	u32 size;
	u8 dir;
};

/* dma_map_page_attrs(dev, page, offset, size, dir, attrs) */
static int tna_map_page_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;

	c->dev = (struct device *)regs->di;
	if (!tna_for_target(c->dev))
		return 1;
	c->ret = tna_caller(regs);
	c->a = regs->si;		/* page */
	c->b = regs->dx;		/* offset */
	c->size = regs->cx;
	c->dir = regs->r8;
	return 0;
}

static int tna_map_page_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;
	dma_addr_t addr = regs_return_value(regs);
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_MAP_ONE, .bus = addr, .length = c->size, .code = c->dir,
	};

	struct tna_live live = { .key = addr, .kind = TNA_PAGE };

	if (dma_mapping_error(c->dev, addr))
		return 0;
	e.va = (unsigned long)page_address((struct page *)c->a) + c->b;
	e.id = tna_new_id();
	e.site = tna_site(c->ret);
	live.id = e.id;
	live.pfn = tna_frames((struct page *)c->a, c->b, c->size, &live.npages);
	if (!tna_live_add(&live)) {
		atomic_inc(&tna.table_full);
		return 0;
	}
	if (!tna_pfns_add(live.pfn, live.npages, e.id))
		atomic_inc(&tna.table_full);
	tna_send(&e);
	return 0;
}

/* dma_unmap_page_attrs(dev, addr, size, dir, attrs), called from @ret */
static void tna_unmap_page(struct pt_regs *regs, unsigned long ret)
{
	tna_report_unmap(regs->si, TNA_PAGE, regs->dx, regs->cx, ret);
}

/* The bytes of the first @nents segments of @sg, as a 32-bit ledger length. */
static u32 tna_sg_length(struct scatterlist *sg, unsigned int nents)
{
	struct scatterlist *s;
	unsigned int i;
	u64 length = 0;

	for_each_sg(sg, s, nents, i)
		length += s->length;
	return min_t(u64, length, U32_MAX);
}

/* Reports the segments @sg holds after a map of @nents of them. */
static void tna_report_sg(struct scatterlist *sg, int mapped, unsigned int nents, u8 dir,
			  unsigned long ret)
{
	struct tnm_ledger_event e = { .cmd = TN_LG_CMD_MAP, .code = dir, .ext = mapped };
	u32 id = tna_new_id();
	struct tna_live live = { .key = (unsigned long)sg, .id = id, .kind = TNA_SG };
	struct scatterlist *s;
	unsigned int i;

	if (!tna_live_add(&live)) {
		atomic_inc(&tna.table_full);
		return;
	}
	if (!tna_sg_pfns(sg, nents, id, true))
		atomic_inc(&tna.table_full);
	e.id = id;
	e.site = tna_site(ret);
	e.va = (unsigned long)sg_virt(sg);
	e.length = tna_sg_length(sg, nents);
	tna_send(&e);
	for_each_sg(sg, s, mapped, i) {
		struct tnm_ledger_event x = {
			.cmd = TN_LG_CMD_EXTENT, .id = id, .bus = sg_dma_address(s),
			.length = sg_dma_len(s), .code = TN_EXT_BUS, .ext = i,
		};

		tna_send(&x);
	}
}

/* dma_map_sg_attrs(dev, sg, nents, dir, attrs): the number of segments mapped */
static int tna_map_sg_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;

	c->dev = (struct device *)regs->di;
	if (!tna_for_target(c->dev))
		return 1;
	c->ret = tna_caller(regs);
	c->a = regs->si;		/* sg */
	c->b = regs->dx;		/* nents */
	c->dir = regs->cx;
	return 0;
}

static int tna_map_sg_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;
	int mapped = (int)regs_return_value(regs);

	if (mapped > 0)
		tna_report_sg((struct scatterlist *)c->a, mapped, c->b, c->dir, c->ret);
	return 0;
}

/* dma_map_sgtable(dev, sgt, dir, attrs): 0 or an error; sgt->nents mapped */
static int tna_map_sgtable_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;

	c->dev = (struct device *)regs->di;
	if (!tna_for_target(c->dev))
		return 1;
	c->ret = tna_caller(regs);
	c->a = regs->si;		/* sgt */
	c->dir = regs->dx;
	return 0;
}

static int tna_map_sgtable_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;
	struct sg_table *sgt = (struct sg_table *)c->a;

	if (regs_return_value(regs) == 0 && sgt->nents)
		tna_report_sg(sgt->sgl, sgt->nents, sgt->orig_nents, c->dir, c->ret);
	return 0;
}

/* dma_unmap_sg_attrs(dev, sg, nents, dir, attrs); dma_unmap_sgtable() ends here too */
static void tna_unmap_sg(struct pt_regs *regs, unsigned long ret)
{
	struct scatterlist *sg = (struct scatterlist *)regs->si;
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_UNMAP, .length = tna_sg_length(sg, regs->dx),
		.code = TN_UNMAP_DIR(regs->cx),
	};
	struct tna_live live;

	if (tna_live_take((unsigned long)sg, TNA_SG, &live)) {
		e.id = live.id;
		tna_sg_pfns(sg, regs->dx, live.id, false);
	} else {
		e.id = tna_dead_id((unsigned long)sg, TNA_SG);
	}
	e.site = tna_site(ret);
	tna_send(&e);
}

/* dma_alloc_attrs(dev, size, dma_handle, gfp, attrs): the CPU address */
static int tna_alloc_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;

	c->dev = (struct device *)regs->di;
	if (!tna_for_target(c->dev))
		return 1;
	c->ret = tna_caller(regs);
	c->size = regs->si;
	c->a = regs->dx;		/* dma_addr_t *dma_handle */
	return 0;
}

static int tna_alloc_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;
	unsigned long cpu = regs_return_value(regs);
	dma_addr_t bus;
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_ALLOC, .va = cpu, .length = c->size,
		.code = TN_API_DMA_COHERENT, .ext = 1,
	};

	struct tna_live live = { .kind = TNA_COHERENT };

	if (!cpu)
		return 0;
	bus = *(dma_addr_t *)c->a;
	e.id = tna_new_id();
	e.site = tna_site(c->ret);
	live.key = bus;
	live.id = e.id;
	if (!tna_live_add(&live)) {
		atomic_inc(&tna.table_full);
		return 0;
	}
	tna_send(&e);
	e = (struct tnm_ledger_event){
		.cmd = TN_LG_CMD_EXTENT, .id = e.id, .bus = bus, .length = c->size,
		.code = TN_EXT_BUS, .ext = 0,
	};
	tna_send(&e);
	return 0;
}

/* dma_free_attrs(dev, size, cpu_addr, dma_handle, attrs) */
static void tna_free(struct pt_regs *regs, unsigned long ret)
{
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_FREE, .va = regs->dx, .length = regs->si,
		.code = TN_FREE_API_DMA_FREE,
	};

	struct tna_live live;

	e.id = tna_live_take(regs->cx, TNA_COHERENT, &live) ? live.id :
	       tna_dead_id(regs->cx, TNA_COHERENT);
	e.site = tna_site(ret);
	tna_send(&e);
}

/* --- Pages freed while mapped ------------------------------------------------------- */

/*
 * The first return address on the stack inside a module with a name for it
 * (the driver whose put_page() freed the page: NIC drivers are modules;
 * is_module_text_address is not exported, and the module area also holds
 * ftrace and kprobe trampolines, which have none), else the first one.
 */
static unsigned long tna_free_site(void)
{
	unsigned long trace[24];
	unsigned int i, n = stack_trace_save(trace, ARRAY_SIZE(trace), 0);
	char name[KSYM_SYMBOL_LEN];

	for (i = 0; i < n; i++) {
		if (trace[i] < MODULES_VADDR || trace[i] >= MODULES_END ||
		    within_module(trace[i], THIS_MODULE))
			continue;
		sprint_symbol(name, trace[i]);
		if (strncmp(name, "0x", 2))	/* a name, not the bare address */
			return trace[i];
	}
	return n ? trace[0] : 0;
}

/*
 * mm_page_free(page, order): every page going back to the allocator, before
 * it can be handed out again.  A FREE(page freed) for each live mapping a
 * freed frame lies in, at most once per mapping and free.
 */
#define TNA_PAGE_FREE_IDS 8

static void tna_page_free_irqs_off(struct page *page, unsigned int order);

static void tna_page_free(void *data, struct page *page, unsigned int order)
{
	unsigned long flags;

	if (!atomic_read(&tna.pfns))
		return;
	local_irq_save(flags);
	this_cpu_write(tna_caller_irqs_off, irqs_disabled_flags(flags));
	tna_page_free_irqs_off(page, order);
	local_irq_restore(flags);
}

static void tna_page_free_irqs_off(struct page *page, unsigned int order)
{
	unsigned long pfn, n = 1UL << (order & 31), flags, site = 0;
	u32 ids[TNA_PAGE_FREE_IDS];
	unsigned int i, k, found = 0;

	if (!atomic_read(&tna.pfns))
		return;
	pfn = page_to_pfn(page);
	raw_spin_lock_irqsave(&tna_live_lock, flags);
	for (i = 0; i < n && found < TNA_PAGE_FREE_IDS; i++) {
		unsigned int s;

		for (s = tna_slot(pfn + i, TNA_PFN); tna_live[s].kind != TNA_FREE_SLOT;
		     s = (s + 1) & TNA_LIVE_MASK) {
			if (tna_live[s].kind != TNA_PFN || tna_live[s].key != pfn + i)
				continue;
			for (k = 0; k < found && ids[k] != tna_live[s].id; k++)
				;
			if (k == found && found < TNA_PAGE_FREE_IDS)
				ids[found++] = tna_live[s].id;
		}
	}
	raw_spin_unlock_irqrestore(&tna_live_lock, flags);
	for (k = 0; k < found; k++) {
		struct tnm_ledger_event e = {
			.cmd = TN_LG_CMD_FREE, .id = ids[k],
			.va = (unsigned long)page_address(page),
			.length = min_t(unsigned long, n << PAGE_SHIFT, U32_MAX),
			.code = TN_FREE_API_PAGE_FREE,
		};

		if (!site)
			site = tna_free_site();
		e.site = tna_site(site);
		/* Its frames go too: the mapping is reported freed once. */
		tna_pfns_del(pfn, n, ids[k]);
		atomic_inc(&tna.page_frees);
		tna_send(&e);
	}
}

static struct tracepoint *tna_page_free_tp;

static void tna_find_page_free_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "mm_page_free"))
		tna_page_free_tp = tp;
}

/*
 * Every handler runs with interrupts off.  While a kprobe handler runs, any
 * other kprobe hit on that CPU is dropped as "missed", and an interrupt
 * taken in the handler runs softirqs on its way out: NAPI's unmaps were
 * lost that way (measured: one unmap in four runs of the free-path
 * scenario, leaving a mapping live at unload).  With interrupts off only
 * the kprobe framework's own few instructions remain exposed; a miss is
 * still counted, and the harness fails a run that had one.
 */
#define TNA_IRQS_OFF(fn, ptype)							\
static int fn##_irqs_off(ptype p, struct pt_regs *regs)				\
{										\
	unsigned long flags;							\
	int ret;								\
										\
	local_irq_save(flags);							\
	this_cpu_write(tna_caller_irqs_off, irqs_disabled_flags(flags));	\
	ret = fn(p, regs);							\
	local_irq_restore(flags);						\
	return ret;								\
}

TNA_IRQS_OFF(tna_map_page_entry, struct kretprobe_instance *)
TNA_IRQS_OFF(tna_map_page_ret, struct kretprobe_instance *)
TNA_IRQS_OFF(tna_map_sg_entry, struct kretprobe_instance *)
TNA_IRQS_OFF(tna_map_sg_ret, struct kretprobe_instance *)
TNA_IRQS_OFF(tna_map_sgtable_entry, struct kretprobe_instance *)
TNA_IRQS_OFF(tna_map_sgtable_ret, struct kretprobe_instance *)
TNA_IRQS_OFF(tna_alloc_entry, struct kretprobe_instance *)
TNA_IRQS_OFF(tna_alloc_ret, struct kretprobe_instance *)

/*
 * Instances of a kretprobe in flight at once: one per CPU in a map call is
 * enough for a NIC (maps do not nest); a miss is counted by the kernel and
 * reported at unload.
 */
#define TNA_MAXACTIVE 64

#define TNA_KRETPROBE(fn, entry, ret) {						\
	.kp.symbol_name = #fn, .entry_handler = entry##_irqs_off,		\
	.handler = ret##_irqs_off,						\
	.data_size = sizeof(struct tna_call), .maxactive = TNA_MAXACTIVE,	\
}

static struct kretprobe tna_map_page_rp =
	TNA_KRETPROBE(dma_map_page_attrs, tna_map_page_entry, tna_map_page_ret);
static struct kretprobe tna_map_sg_rp =
	TNA_KRETPROBE(dma_map_sg_attrs, tna_map_sg_entry, tna_map_sg_ret);
static struct kretprobe tna_map_sgtable_rp =
	TNA_KRETPROBE(dma_map_sgtable, tna_map_sgtable_entry, tna_map_sgtable_ret);
static struct kretprobe tna_alloc_rp =
	TNA_KRETPROBE(dma_alloc_attrs, tna_alloc_entry, tna_alloc_ret);

static struct kretprobe *tna_kretprobes[] = {
	&tna_map_page_rp, &tna_map_sg_rp, &tna_map_sgtable_rp, &tna_alloc_rp,
};

/*
 * The unmaps and the coherent free are hooked on function entry with ftrace
 * callbacks of their own, not kprobes: ftrace guards recursion per context
 * (task, softirq, hardirq, NMI), so an unmap in an interrupt taken while
 * another probe's handler runs is still seen.  As kprobes, e1000e's TX
 * unmaps in its MSI-X TX interrupt were dropped as "missed" when the
 * interrupt hit a kprobe handler (measured: one run in eighteen of
 * e1000e-agent-free-paths-iommu-lazy).  @parent_ip is the caller's return
 * address.
 */
#define TNA_ENTRY_HOOK(fn)							\
static void fn##_ft(unsigned long ip, unsigned long parent_ip,			\
		    struct ftrace_ops *op, struct ftrace_regs *fregs)		\
{										\
	struct pt_regs *regs = ftrace_get_regs(fregs);				\
	unsigned long flags;							\
										\
	if (!regs || !tna_for_target((struct device *)regs->di))		\
		return;								\
	local_irq_save(flags);							\
	this_cpu_write(tna_caller_irqs_off, irqs_disabled_flags(flags));	\
	fn(regs, parent_ip);							\
	local_irq_restore(flags);						\
}

TNA_ENTRY_HOOK(tna_unmap_page)
TNA_ENTRY_HOOK(tna_unmap_sg)
TNA_ENTRY_HOOK(tna_free)

static struct {
	const char *symbol;
	struct ftrace_ops ops;
	bool registered;
} tna_hooks[] = {
#define TNA_HOOK(sym, fn) { sym, { .func = fn##_ft,					\
	.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION } }
	TNA_HOOK("dma_unmap_page_attrs", tna_unmap_page),
	TNA_HOOK("dma_unmap_sg_attrs", tna_unmap_sg),
	TNA_HOOK("dma_free_attrs", tna_free),
#undef TNA_HOOK
};

static void tna_hooks_remove(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(tna_hooks); i++) {
		if (tna_hooks[i].registered)
			unregister_ftrace_function(&tna_hooks[i].ops);
		ftrace_free_filter(&tna_hooks[i].ops);
		tna_hooks[i].registered = false;
	}
}

static int tna_hooks_add(void)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(tna_hooks) && !err; i++) {
		err = ftrace_set_filter(&tna_hooks[i].ops, (unsigned char *)tna_hooks[i].symbol,
					strlen(tna_hooks[i].symbol), 1);
		if (!err)
			err = register_ftrace_function(&tna_hooks[i].ops);
		if (err)
			pr_err(TNA_NAME ": cannot hook %s (ftrace: %d); the kernel needs CONFIG_DYNAMIC_FTRACE_WITH_REGS\n",
			       tna_hooks[i].symbol, err);
		else
			tna_hooks[i].registered = true;
	}
	if (err)
		tna_hooks_remove();
	return err;
}

/* --- The driver's life: bind and unbind ----------------------------------------------- */

/*
 * The driver's probe and remove, as the miniport's MARKs name Initialize
 * and Halt: what is still allocated or mapped when the device has been
 * unbound is a leak (dma-debug: "device driver has pending DMA allocations
 * while released from device"), and dmacheck judges it at HALT_END.
 */
static int tna_bus_event(struct notifier_block *nb, unsigned long action, void *data)
{
	static const struct { unsigned long action; u8 mark; } marks[] = {
		{ BUS_NOTIFY_BIND_DRIVER, TN_MARK_INIT_BEGIN },
		{ BUS_NOTIFY_BOUND_DRIVER, TN_MARK_INIT_END },
		{ BUS_NOTIFY_UNBIND_DRIVER, TN_MARK_HALT_BEGIN },
		{ BUS_NOTIFY_UNBOUND_DRIVER, TN_MARK_HALT_END },
	};
	unsigned int i;

	if (!tna_for_target(data))
		return NOTIFY_DONE;
	for (i = 0; i < ARRAY_SIZE(marks); i++) {
		struct tnm_ledger_event e = { .cmd = TN_LG_CMD_MARK, .code = marks[i].mark };

		if (marks[i].action == action)
			tna_send(&e);
	}
	return NOTIFY_DONE;
}

static struct notifier_block tna_bus_nb = { .notifier_call = tna_bus_event };

/* --- The ledger device ----------------------------------------------------------- */

static int tna_ledger_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	void __iomem *regs;
	int err;

	if (tna.have_ledger) {
		dev_info(&pdev->dev, "a second tracenic-ledger device; the agent uses the first\n");
		return -EBUSY;
	}
	err = pcim_enable_device(pdev);
	if (err)
		return err;
	regs = pcim_iomap(pdev, TN_LEDGER_BAR, TN_LEDGER_BAR_SIZE);
	if (!regs)
		return -ENOMEM;
	tnm_ledger_init(&tna.ledger, regs, true);
	tna.ledger_dev = pdev;
	tna.have_ledger = true;
	return 0;
}

static void tna_ledger_remove(struct pci_dev *pdev)
{
	tna.have_ledger = false;
}

static const struct pci_device_id tna_ledger_ids[] = {
	{ PCI_DEVICE(TN_PCI_VENDOR_ID, TN_LEDGER_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, tna_ledger_ids);

static struct pci_driver tna_ledger_driver = {
	.name = TNA_NAME,
	.id_table = tna_ledger_ids,
	.probe = tna_ledger_probe,
	.remove = tna_ledger_remove,
};

/* --- Module ------------------------------------------------------------------------ */

static struct pci_dev *tna_find_target(void)
{
	unsigned int domain, bus, slot, fn;

	if (!dev || sscanf(dev, "%x:%x:%x.%x", &domain, &bus, &slot, &fn) != 4) {
		pr_err(TNA_NAME ": dev='%s' is not a PCI address; load it as insmod tracenic-agent.ko dev=0000:00:03.0 (lspci -D lists them)\n",
		       dev ? dev : "");
		return NULL;
	}
	return pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(slot, fn));
}

static int __init tna_init(void)
{
	struct pci_dev *target = tna_find_target();
	int err;

	if (!target) {
		if (dev)
			pr_err(TNA_NAME ": no PCI device at %s; lspci -D lists the devices\n", dev);
		return -ENODEV;
	}
	if (target->dev.driver) {
		pr_err(TNA_NAME ": %s is already bound to %s, and its mappings made before the agent are unknown to it; load the agent first, or unbind the device (echo %s > /sys/bus/pci/drivers/%s/unbind) and bind it again after loading the agent\n",
		       dev, target->dev.driver->name, dev, target->dev.driver->name);
		pci_dev_put(target);
		return -EBUSY;
	}
	tna_live = vzalloc(array_size(TNA_LIVE_SLOTS, sizeof(*tna_live)));
	if (!tna_live) {
		pci_dev_put(target);
		return -ENOMEM;
	}
	err = pci_register_driver(&tna_ledger_driver);
	if (err)
		goto free_table;
	if (!tna.have_ledger) {
		pr_err(TNA_NAME ": no tracenic-ledger PCI device (%04x:%04x) to report through; start QEMU with -device tracenic-ledger,trace-hub=<the traced device's trace>\n",
		       TN_PCI_VENDOR_ID, TN_LEDGER_PCI_DEVICE_ID);
		err = -ENODEV;
		goto unregister_driver;
	}
	tna.target = target;
	err = register_kretprobes(tna_kretprobes, ARRAY_SIZE(tna_kretprobes));
	if (err) {
		pr_err(TNA_NAME ": cannot probe the DMA API (register_kretprobes: %d); the kernel needs CONFIG_KRETPROBES\n",
		       err);
		goto unregister_driver;
	}
	err = tna_hooks_add();
	if (err)
		goto unregister_kretprobes;
	for_each_kernel_tracepoint(tna_find_page_free_tp, NULL);
	err = tna_page_free_tp ? tracepoint_probe_register(tna_page_free_tp, tna_page_free, NULL) :
	      -ENOENT;
	if (err) {
		pr_err(TNA_NAME ": cannot observe the page allocator's frees (tracepoint mm_page_free: %d); the kernel needs CONFIG_TRACEPOINTS\n",
		       err);
		goto remove_hooks;
	}
	err = bus_register_notifier(&pci_bus_type, &tna_bus_nb);
	if (err)
		goto unregister_tracepoint;
	pr_info(TNA_NAME ": reporting the DMA-API calls for %s through %s\n", dev,
		pci_name(tna.ledger_dev));
	return 0;

unregister_tracepoint:
	tracepoint_probe_unregister(tna_page_free_tp, tna_page_free, NULL);
	tracepoint_synchronize_unregister();
remove_hooks:
	tna_hooks_remove();
unregister_kretprobes:
	unregister_kretprobes(tna_kretprobes, ARRAY_SIZE(tna_kretprobes));
unregister_driver:
	tna.target = NULL;
	pci_unregister_driver(&tna_ledger_driver);
free_table:
	vfree(tna_live);
	pci_dev_put(target);
	return err;
}

static void __exit tna_exit(void)
{
	unsigned int i, missed = 0;

	bus_unregister_notifier(&pci_bus_type, &tna_bus_nb);
	tracepoint_probe_unregister(tna_page_free_tp, tna_page_free, NULL);
	tracepoint_synchronize_unregister();
	tna_hooks_remove();
	unregister_kretprobes(tna_kretprobes, ARRAY_SIZE(tna_kretprobes));
	for (i = 0; i < ARRAY_SIZE(tna_kretprobes); i++) {
		missed += tna_kretprobes[i]->nmissed;
		if (tna_kretprobes[i]->nmissed)
			pr_info(TNA_NAME ": %s: %d calls missed\n",
				tna_kretprobes[i]->kp.symbol_name, tna_kretprobes[i]->nmissed);
	}
	pr_info(TNA_NAME ": unloaded: %u mappings and allocations still live, %d unmaps or frees of nothing mapped, %d pages freed while mapped, %d maps not fully indexed (table full), %u calls missed by the probes\n",
		tna_live_count - atomic_read(&tna.pfns), atomic_read(&tna.unknown_unmaps),
		atomic_read(&tna.page_frees), atomic_read(&tna.table_full), missed);
	pci_unregister_driver(&tna_ledger_driver);
	vfree(tna_live);
	pci_dev_put(tna.target);
}

module_init(tna_init);
module_exit(tna_exit);
MODULE_DESCRIPTION("tracenic: a device's DMA-API calls reported through a tracenic-ledger device");
MODULE_LICENSE("GPL");
