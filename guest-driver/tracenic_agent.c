// SPDX-License-Identifier: GPL-2.0-only
/*
 * tracenic-agent: the DMA-API calls the kernel makes for one PCI device,
 * reported through a tracenic-ledger device into the device's trace, so a
 * driver nobody changed gets a ledger (docs/agent.md).
 *
 *   insmod tracenic-agent.ko dev=0000:00:03.0
 *
 * Debian's 6.1 kernel has no CONFIG_DMA_API_DEBUG and no DMA-API
 * tracepoints, so the agent puts kprobes on the exported functions every
 * dma_map_single(), dma_map_page(), skb_frag_dma_map(), dma_map_sg(),
 * dma_map_sgtable() and dma_alloc_coherent() ends in, and reports only
 * calls for the chosen device:
 *
 *   dma_alloc_attrs     (return)  ALLOC(api DMA coherent) + EXTENT(bus)
 *   dma_free_attrs      (entry)   FREE
 *   dma_map_page_attrs  (return)  MAP_ONE(direction)
 *   dma_unmap_page_attrs(entry)   UNMAP
 *   dma_map_sg_attrs, dma_map_sgtable (return)  MAP + one EXTENT per segment
 *   dma_unmap_sg_attrs  (entry)   UNMAP
 *
 * An unmap or free is reported at the function's entry, before the
 * mapping or memory is released, as the ledger protocol asks; a map once
 * the function has returned the bus address, before the driver can give
 * it to the device.  A map that failed (DMA_MAPPING_ERROR) is not a
 * mapping and is not reported.  The agent only observes: no probe changes
 * an argument or a return value.
 *
 * It must be loaded before the device's driver binds (a mapping made
 * before would be unknown to it); it refuses otherwise, with what to do.
 */
#include <linux/atomic.h>
#include <linux/dma-mapping.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/preempt.h>
#include <linux/scatterlist.h>
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

enum tna_kind { TNA_FREE_SLOT, TNA_PAGE, TNA_SG, TNA_COHERENT };

/*
 * One live mapping or allocation, found again by what the unmap or free
 * passes: the bus address (page maps, coherent memory) or the scatterlist.
 */
struct tna_live {
	unsigned long key;
	u32 id;
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
} tna;

static unsigned int tna_slot(unsigned long key, u8 kind)
{
	return hash_long(key ^ kind, TNA_LIVE_BITS);
}

static bool tna_live_add(unsigned long key, u8 kind, u32 id)
{
	unsigned long flags;
	unsigned int i;
	bool ok = false;

	raw_spin_lock_irqsave(&tna_live_lock, flags);
	if (tna_live_count < TNA_LIVE_SLOTS - 1) {
		for (i = tna_slot(key, kind); tna_live[i].kind != TNA_FREE_SLOT;
		     i = (i + 1) & TNA_LIVE_MASK)
			;
		tna_live[i] = (struct tna_live){ .key = key, .id = id, .kind = kind };
		tna_live_count++;
		ok = true;
	}
	raw_spin_unlock_irqrestore(&tna_live_lock, flags);
	return ok;
}

/* The id @key was reported with, taken out of the table; 0 if none. */
static u32 tna_live_take(unsigned long key, u8 kind)
{
	unsigned int i, j, home;
	unsigned long flags;
	u32 id = 0;

	raw_spin_lock_irqsave(&tna_live_lock, flags);
	for (i = tna_slot(key, kind); tna_live[i].kind != TNA_FREE_SLOT;
	     i = (i + 1) & TNA_LIVE_MASK) {
		if (tna_live[i].key == key && tna_live[i].kind == kind) {
			id = tna_live[i].id;
			break;
		}
	}
	if (id) {
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
	}
	raw_spin_unlock_irqrestore(&tna_live_lock, flags);
	return id;
}

/* --- Reporting --------------------------------------------------------------- */

static bool tna_for_target(struct device *d)
{
	return tna.target && d == &tna.target->dev;
}

static u32 tna_new_id(void)
{
	u32 id;

	do {
		id = atomic_inc_return(&tna.next_id);
	} while (!id);
	return id;
}

/*
 * The caller's context, as the ledger's IRQL byte says it: a hard interrupt
 * or interrupts off is DIRQL, softirq or bottom halves off DISPATCH_LEVEL,
 * the rest PASSIVE_LEVEL.  The probes sit on function entry, so they are
 * ftrace-based (CONFIG_KPROBES_ON_FTRACE) and see the caller's interrupt
 * state; the handler itself runs with preemption off, so preemptible()
 * says nothing about the caller (measured: every call read DISPATCH).
 */
static u8 tna_irql(void)
{
	if (in_hardirq() || in_nmi() || irqs_disabled())
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

static void tna_report_unmap(unsigned long key, u8 kind, size_t size, u8 dir)
{
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_UNMAP, .length = size, .code = TN_UNMAP_DIR(dir),
	};

	e.id = tna_live_take(key, kind);
	if (!e.id) {
		atomic_inc(&tna.unknown_unmaps);
		return;
	}
	tna_send(&e);
}

/* --- The probes ---------------------------------------------------------------- */

/* What a kretprobe's entry handler keeps for its return handler. */
struct tna_call {
	struct device *dev;
	unsigned long a, b, c;	/* per function, see each entry handler */
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

	if (dma_mapping_error(c->dev, addr))
		return 0;
	e.va = (unsigned long)page_address((struct page *)c->a) + c->b;
	e.id = tna_new_id();
	if (!tna_live_add(addr, TNA_PAGE, e.id)) {
		atomic_inc(&tna.table_full);
		return 0;
	}
	tna_send(&e);
	return 0;
}

/* dma_unmap_page_attrs(dev, addr, size, dir, attrs) */
static int tna_unmap_page_pre(struct kprobe *p, struct pt_regs *regs)
{
	if (tna_for_target((struct device *)regs->di))
		tna_report_unmap(regs->si, TNA_PAGE, regs->dx, regs->cx);
	return 0;
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
static void tna_report_sg(struct scatterlist *sg, int mapped, unsigned int nents, u8 dir)
{
	struct tnm_ledger_event e = { .cmd = TN_LG_CMD_MAP, .code = dir, .ext = mapped };
	struct scatterlist *s;
	u32 id = tna_new_id();
	unsigned int i;

	if (!tna_live_add((unsigned long)sg, TNA_SG, id)) {
		atomic_inc(&tna.table_full);
		return;
	}
	e.id = id;
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
		tna_report_sg((struct scatterlist *)c->a, mapped, c->b, c->dir);
	return 0;
}

/* dma_map_sgtable(dev, sgt, dir, attrs): 0 or an error; sgt->nents mapped */
static int tna_map_sgtable_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;

	c->dev = (struct device *)regs->di;
	if (!tna_for_target(c->dev))
		return 1;
	c->a = regs->si;		/* sgt */
	c->dir = regs->dx;
	return 0;
}

static int tna_map_sgtable_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;
	struct sg_table *sgt = (struct sg_table *)c->a;

	if (regs_return_value(regs) == 0 && sgt->nents)
		tna_report_sg(sgt->sgl, sgt->nents, sgt->orig_nents, c->dir);
	return 0;
}

/* dma_unmap_sg_attrs(dev, sg, nents, dir, attrs); dma_unmap_sgtable() ends here too */
static int tna_unmap_sg_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct scatterlist *sg = (struct scatterlist *)regs->si;

	if (!tna_for_target((struct device *)regs->di))
		return 0;
	tna_report_unmap((unsigned long)sg, TNA_SG, tna_sg_length(sg, regs->dx), regs->cx);
	return 0;
}

/* dma_alloc_attrs(dev, size, dma_handle, gfp, attrs): the CPU address */
static int tna_alloc_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct tna_call *c = (struct tna_call *)ri->data;

	c->dev = (struct device *)regs->di;
	if (!tna_for_target(c->dev))
		return 1;
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

	if (!cpu)
		return 0;
	bus = *(dma_addr_t *)c->a;
	e.id = tna_new_id();
	if (!tna_live_add(bus, TNA_COHERENT, e.id)) {
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
static int tna_free_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_FREE, .va = regs->dx, .length = regs->si,
		.code = TN_FREE_API_DMA_FREE,
	};

	if (!tna_for_target((struct device *)regs->di))
		return 0;
	e.id = tna_live_take(regs->cx, TNA_COHERENT);
	if (!e.id) {
		atomic_inc(&tna.unknown_unmaps);
		return 0;
	}
	tna_send(&e);
	return 0;
}

/*
 * Instances of a kretprobe in flight at once: one per CPU in a map call is
 * enough for a NIC (maps do not nest); a miss is counted by the kernel and
 * reported at unload.
 */
#define TNA_MAXACTIVE 64

#define TNA_KRETPROBE(fn, entry, ret) {						\
	.kp.symbol_name = #fn, .entry_handler = entry, .handler = ret,		\
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

static struct kprobe tna_unmap_page_kp = {
	.symbol_name = "dma_unmap_page_attrs", .pre_handler = tna_unmap_page_pre,
};

static struct kprobe tna_unmap_sg_kp = {
	.symbol_name = "dma_unmap_sg_attrs", .pre_handler = tna_unmap_sg_pre,
};

static struct kprobe tna_free_kp = {
	.symbol_name = "dma_free_attrs", .pre_handler = tna_free_pre,
};

static struct kprobe *tna_kprobes[] = { &tna_unmap_page_kp, &tna_unmap_sg_kp, &tna_free_kp };

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
	err = register_kprobes(tna_kprobes, ARRAY_SIZE(tna_kprobes));
	if (err) {
		pr_err(TNA_NAME ": cannot probe the DMA API (register_kprobes: %d); the kernel needs CONFIG_KPROBES\n",
		       err);
		goto unregister_kretprobes;
	}
	err = bus_register_notifier(&pci_bus_type, &tna_bus_nb);
	if (err)
		goto unregister_kprobes;
	pr_info(TNA_NAME ": reporting the DMA-API calls for %s through %s\n", dev,
		pci_name(tna.ledger_dev));
	return 0;

unregister_kprobes:
	unregister_kprobes(tna_kprobes, ARRAY_SIZE(tna_kprobes));
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
	unregister_kprobes(tna_kprobes, ARRAY_SIZE(tna_kprobes));
	unregister_kretprobes(tna_kretprobes, ARRAY_SIZE(tna_kretprobes));
	for (i = 0; i < ARRAY_SIZE(tna_kretprobes); i++)
		missed += tna_kretprobes[i]->nmissed;
	for (i = 0; i < ARRAY_SIZE(tna_kprobes); i++)
		missed += tna_kprobes[i]->nmissed;
	pr_info(TNA_NAME ": unloaded: %u mappings and allocations still live, %d unmaps or frees of nothing mapped, %d maps not reported (table full), %u calls missed by the probes\n",
		tna_live_count, atomic_read(&tna.unknown_unmaps), atomic_read(&tna.table_full),
		missed);
	pci_unregister_driver(&tna_ledger_driver);
	vfree(tna_live);
	pci_dev_put(tna.target);
}

module_init(tna_init);
module_exit(tna_exit);
MODULE_DESCRIPTION("tracenic: a device's DMA-API calls reported through a tracenic-ledger device");
MODULE_LICENSE("GPL");
