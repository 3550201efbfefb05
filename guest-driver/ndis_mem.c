// SPDX-License-Identifier: GPL-2.0-only
/*
 * NDIS memory layer: real Linux memory of the type NDIS promises (pool,
 * physically contiguous, really uncached, DMA-coherent shared memory),
 * the documented free rules checked and logged, and every event reported
 * to the device's ledger before the memory goes back.
 *
 * Rule breaks are logged as one parseable line:
 *   tracenic-ndis: RULE <name> id=<n> site=<n> <details>
 * and the memory is still released according to its real type, so the
 * guest survives to report everything (unless the strict parameter is set).
 */
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <asm/set_memory.h>
#include "ndis_mem.h"
#include "tnm_irql.h"
#include "tracenic/names.h"
#include "tracenic/ndis_rules.h"

#define TNM_FILE_ID 1

struct tnm_mem {
	struct hlist_node node;
	struct list_head deferred;
	u32 id, length, flags, tag;
	u8 api;
	void *va;
	dma_addr_t pa;		/* shared memory */
	struct page **pages;	/* fragmented memory: page i backs va + i * PAGE_SIZE */
	unsigned int npages;
};

/* A per-packet mapping: one element per physically contiguous piece. */
struct tnm_map {
	void *va;
	u32 length;
	enum dma_data_direction dir;
	unsigned int nsg;
	struct tnm_sg_element sg[];
};

static void tnm_release(struct tnm_ndis *nd, struct tnm_mem *m);

static void tnm_release_work(struct work_struct *work)
{
	struct tnm_ndis *nd = container_of(work, struct tnm_ndis, release_work);
	struct tnm_mem *m;
	unsigned long f;

	for (;;) {
		spin_lock_irqsave(&nd->lock, f);
		m = list_first_entry_or_null(&nd->deferred, struct tnm_mem, deferred);
		if (m)
			list_del(&m->deferred);
		spin_unlock_irqrestore(&nd->lock, f);
		if (!m)
			return;
		tnm_release(nd, m);
	}
}

void tnm_ndis_init(struct tnm_ndis *nd, struct device *dev, struct tnm_ledger *lg, bool strict,
		  bool echo)
{
	INIT_LIST_HEAD(&nd->deferred);
	INIT_WORK(&nd->release_work, tnm_release_work);
	nd->dev = dev;
	nd->lg = lg;
	nd->strict = strict;
	nd->echo = echo;
	memset(&nd->stats, 0, sizeof(nd->stats));
	spin_lock_init(&nd->lock);
	hash_init(nd->by_va);
	xa_init_flags(&nd->maps, XA_FLAGS_ALLOC1);
	atomic_set(&nd->next_id, 0);
	nd->findings = 0;
}

/* A rule of include/tracenic/rules.h broken, or @rule_name for a guest-only one. */
static __printf(5, 6) void tnm_finding(struct tnm_ndis *nd, const char *rule_name, u32 id,
					u32 site, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_warn("tracenic-ndis: RULE %s id=%u site=0x%x %pV\n", rule_name, id, site, &vaf);
	va_end(args);
	nd->findings++;
	if (nd->strict)
		panic("tracenic-ndis: bugcheck (strict mode): %s\n", rule_name);
}

/*
 * With echo on, every ledger event also goes to the kernel log (KERN_INFO:
 * the guest boots "quiet", so the ring buffer, not the console), so a test
 * can compare what the driver did with what the device recorded.
 */
static void tnm_echo(struct tnm_ndis *nd, const struct tnm_ledger_event *e)
{
	if (nd->echo)
		dev_info(nd->dev,
			 "tracenic-ndis: LEDGER cmd=%u id=%u va=0x%llx bus=0x%llx len=%u flags=0x%x tag=0x%x site=0x%x code=%u irql=%u ext=%u\n",
			 e->cmd, e->id, e->va, e->bus, e->length, e->flags, e->tag, e->site,
			 e->code, e->irql, e->ext);
}

static void tnm_send(struct tnm_ndis *nd, const struct tnm_ledger_event *e)
{
	tnm_ledger_send(nd->lg, e);
	tnm_echo(nd, e);
}

static struct tnm_ledger_event tnm_extent_event(u32 id, u16 index, u8 kind, u64 addr, u32 len)
{
	return (struct tnm_ledger_event){ .cmd = TN_LG_CMD_EXTENT, .id = id, .bus = addr,
					 .length = len, .code = kind, .ext = index };
}

static void tnm_send_extent(struct tnm_ndis *nd, u32 id, u16 index, u8 kind, u64 addr, u32 len)
{
	struct tnm_ledger_event e = tnm_extent_event(id, index, kind, addr, len);

	tnm_send(nd, &e);
}

/* ALLOC, then one EXTENT per physically contiguous piece of @m. */
static void tnm_report_alloc(struct tnm_ndis *nd, struct tnm_mem *m, u8 ext_kind, u64 ext_addr,
			    u32 site, u8 irql)
{
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_ALLOC, .id = m->id, .va = (unsigned long)m->va,
		.length = m->length, .flags = m->flags, .tag = m->tag, .site = site,
		.code = m->api, .irql = irql, .ext = m->pages ? m->npages : 1,
	};
	unsigned int i;

	tnm_send(nd, &e);
	nd->stats.allocs++;
	if (!m->pages) {
		tnm_send_extent(nd, m->id, 0, ext_kind, ext_addr, m->length);
		return;
	}
	for (i = 0; i < m->npages; i++)
		tnm_send_extent(nd, m->id, i, ext_kind, page_to_phys(m->pages[i]),
			       min_t(u32, PAGE_SIZE, m->length - i * PAGE_SIZE));
}

static struct tnm_mem *tnm_track(struct tnm_ndis *nd, void *va, u32 length, u32 flags, u32 tag,
			       u8 api)
{
	struct tnm_mem *m = kzalloc(sizeof(*m), GFP_ATOMIC);
	unsigned long f;

	if (!m)
		return NULL;
	m->id = atomic_inc_return(&nd->next_id);
	m->va = va;
	m->length = length;
	m->flags = flags;
	m->tag = tag;
	m->api = api;
	spin_lock_irqsave(&nd->lock, f);
	hash_add(nd->by_va, &m->node, (unsigned long)va);
	spin_unlock_irqrestore(&nd->lock, f);
	return m;
}

static struct tnm_mem *tnm_untrack(struct tnm_ndis *nd, void *va)
{
	struct tnm_mem *m;
	unsigned long f;

	spin_lock_irqsave(&nd->lock, f);
	hash_for_each_possible(nd->by_va, m, node, (unsigned long)va) {
		if (m->va == va) {
			hash_del(&m->node);
			spin_unlock_irqrestore(&nd->lock, f);
			return m;
		}
	}
	spin_unlock_irqrestore(&nd->lock, f);
	return NULL;
}

void *tnm_allocate_memory_with_tag_priority(struct tnm_ndis *nd, u32 length, u32 tag,
					   enum ex_pool_priority priority, u32 site)
{
	u8 irql = tnm_current_irql();
	struct tnm_mem *m;
	void *va;

	va = kmalloc(length, irql >= TN_IRQL_DISPATCH ? GFP_ATOMIC : GFP_KERNEL);
	if (!va)
		return NULL;
	m = tnm_track(nd, va, length, 0, tag, TN_API_POOL);
	if (!m) {
		kfree(va);
		return NULL;
	}
	/* Pool memory is never device-visible: report its CPU physical address. */
	tnm_report_alloc(nd, m, TN_EXT_PHYS, virt_to_phys(va), site, irql);
	return va;
}

/*
 * NdisAllocateMemory without flags promises virtual contiguity only.  A
 * Windows machine's nonpaged pool is fragmented after some uptime, so a
 * driver that assumes more works on a fresh guest by luck.  Here no two
 * pages of such memory are ever physically adjacent: each comes from an
 * order-1 block whose second page is held back, unreported, until the free.
 */
static void *tnm_alloc_fragmented(u32 length, gfp_t gfp, struct page ***pagesp,
				 unsigned int *npagesp)
{
	unsigned int i, n = DIV_ROUND_UP(length, PAGE_SIZE);
	struct page **pages = kcalloc(n, sizeof(*pages), GFP_KERNEL);
	void *va = NULL;

	if (!pages)
		return NULL;
	for (i = 0; i < n; i++) {
		pages[i] = alloc_pages(gfp, 1);
		if (!pages[i])
			goto out;
	}
	va = vmap(pages, n, VM_MAP, PAGE_KERNEL);
out:
	if (!va) {
		while (i--)
			__free_pages(pages[i], 1);
		kfree(pages);
		return NULL;
	}
	*pagesp = pages;
	*npagesp = n;
	return va;
}

static void tnm_free_fragmented(void *va, struct page **pages, unsigned int n)
{
	vunmap(va);
	while (n--)
		__free_pages(pages[n], 1);
	kfree(pages);
}

u32 tnm_allocate_memory(struct tnm_ndis *nd, void **va, u32 length, u32 flags,
		       u64 highest_acceptable_address, u32 site)
{
	u8 irql = tnm_current_irql();
	gfp_t gfp = (irql >= TN_IRQL_DISPATCH ? GFP_ATOMIC : GFP_KERNEL) | __GFP_ZERO;
	struct page **pages = NULL;
	unsigned int npages = 0;
	struct tnm_mem *m;
	void *p;

	*va = NULL;
	if (highest_acceptable_address < 0xffffffffull + 1 && highest_acceptable_address != 0)
		gfp |= GFP_DMA32;
	if (flags & (NDIS_MEMORY_CONTIGUOUS | NDIS_MEMORY_NONCACHED)) {
		if (irql != TN_IRQL_PASSIVE) {
			/* Changing page attributes may sleep: refuse, as NDIS would fail it. */
			/* Guest-only: refused, so no trace record shows it to dmacheck. */
			tnm_finding(nd, "alloc-irql", 0, site,
				"contiguous/noncached memory requested at %s", tn_irql_name(irql));
			return NDIS_STATUS_RESOURCES;
		}
		p = alloc_pages_exact(length, gfp);
		if (p && (flags & NDIS_MEMORY_NONCACHED) &&
		    set_memory_uc((unsigned long)p, PAGE_ALIGN(length) >> PAGE_SHIFT)) {
			free_pages_exact(p, length);
			p = NULL;
		}
	} else if (length > PAGE_SIZE && irql == TN_IRQL_PASSIVE) {
		p = tnm_alloc_fragmented(length, gfp, &pages, &npages);
	} else {
		p = kzalloc(length, gfp);
	}
	if (!p)
		return NDIS_STATUS_RESOURCES;
	m = tnm_track(nd, p, length, flags, 0, TN_API_MEMORY);
	if (!m) {
		if (flags & (NDIS_MEMORY_CONTIGUOUS | NDIS_MEMORY_NONCACHED))
			free_pages_exact(p, length);
		else if (pages)
			tnm_free_fragmented(p, pages, npages);
		else
			kfree(p);
		return NDIS_STATUS_RESOURCES;
	}
	m->pages = pages;
	m->npages = npages;
	tnm_report_alloc(nd, m, TN_EXT_PHYS, pages ? 0 : virt_to_phys(p), site, irql);
	*va = p;
	return NDIS_STATUS_SUCCESS;
}

/* Release memory by its real type, whatever the caller claimed. */
static void tnm_release(struct tnm_ndis *nd, struct tnm_mem *m)
{
	if (m->api == TN_API_SHARED) {
		dma_free_coherent(nd->dev, m->length, m->va, m->pa);
	} else if (m->api == TN_API_MEMORY &&
		   (m->flags & (NDIS_MEMORY_CONTIGUOUS | NDIS_MEMORY_NONCACHED))) {
		if (m->flags & NDIS_MEMORY_NONCACHED)
			set_memory_wb((unsigned long)m->va, PAGE_ALIGN(m->length) >> PAGE_SHIFT);
		free_pages_exact(m->va, m->length);
	} else if (m->pages) {
		tnm_free_fragmented(m->va, m->pages, m->npages);
	} else {
		kfree(m->va);
	}
	kfree(m);
}

/* Releases that may sleep (page attributes, vunmap) cannot run in atomic context. */
static bool tnm_release_sleeps(const struct tnm_mem *m)
{
	return m->api == TN_API_MEMORY && ((m->flags & NDIS_MEMORY_NONCACHED) || m->pages);
}

static void tnm_report_free(struct tnm_ndis *nd, u32 id, void *va, u32 length, u32 flags,
			   u8 api, u32 site, u8 irql)
{
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_FREE, .id = id, .va = (unsigned long)va, .length = length,
		.flags = flags, .site = site, .code = api, .irql = irql,
	};

	tnm_send(nd, &e);
	nd->stats.frees++;
}

static void tnm_remember_free(struct tnm_ndis *nd, void *va, u32 id)
{
	nd->freed[nd->freed_next % ARRAY_SIZE(nd->freed)].va = va;
	nd->freed[nd->freed_next % ARRAY_SIZE(nd->freed)].id = id;
	nd->freed_next++;
}

/* The id a recently freed VA had, or 0xffffffff (never allocated). */
static u32 tnm_freed_id(struct tnm_ndis *nd, void *va)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nd->freed); i++)
		if (nd->freed[i].va == va)
			return nd->freed[i].id;
	return 0xffffffff;
}

/*
 * Log every rule of include/tracenic/ndis_rules.h this free breaks (the one
 * place the rules are coded; dmacheck judges the trace with the same function).
 */
static void tnm_free_rules(struct tnm_ndis *nd, const struct tnm_mem *m, unsigned int free_api,
			  u32 flags, u32 length, u8 irql, u32 site)
{
	const struct tn_ndis_free f = {
		.alloc_api = m->api, .alloc_flags = m->flags, .alloc_length = m->length,
		.free_api = free_api, .free_flags = flags, .free_length = length, .irql = irql,
	};
	unsigned int broken = tn_ndis_free_rules(&f);

	if (broken & TN_RULE_BIT(TN_RULE_FREE_API))
		tnm_finding(nd, tn_rule_name(TN_RULE_FREE_API), m->id, site, "%s memory freed with %s",
			tn_api_name(m->api), tn_free_api_name(free_api));
	if ((broken & TN_RULE_BIT(TN_RULE_FREE_FLAGS)) && m->api == TN_API_SHARED)
		tnm_finding(nd, tn_rule_name(TN_RULE_FREE_FLAGS), m->id, site,
			"Cached=%d, allocated with Cached=%d", !!(flags & TN_FLAG_SHARED_CACHED),
			!!(m->flags & TN_FLAG_SHARED_CACHED));
	else if (broken & TN_RULE_BIT(TN_RULE_FREE_FLAGS))
		tnm_finding(nd, tn_rule_name(TN_RULE_FREE_FLAGS), m->id, site,
			"MemoryFlags=0x%x, allocated with 0x%x", flags, m->flags);
	if (broken & TN_RULE_BIT(TN_RULE_FREE_LENGTH))
		tnm_finding(nd, tn_rule_name(TN_RULE_FREE_LENGTH), m->id, site,
			"Length=%u, allocated %u", length, m->length);
	if (broken & TN_RULE_BIT(TN_RULE_FREE_IRQL))
		tnm_finding(nd, tn_rule_name(TN_RULE_FREE_IRQL), m->id, site,
			"%s: freed at %s, allowed at most %s",
			tn_ndis_free_irql_limit(m->api, m->flags).what, tn_irql_name(irql),
			tn_irql_name(tn_ndis_free_irql_limit(m->api, m->flags).max_irql));
}

void tnm_free_memory(struct tnm_ndis *nd, void *va, u32 length, u32 flags, u32 site)
{
	u8 irql = tnm_current_irql();
	struct tnm_mem *m = tnm_untrack(nd, va);

	if (!m) {
		u32 id = tnm_freed_id(nd, va);

		/* Still reported, so the checker sees the double or unknown free. */
		tnm_report_free(nd, id, va, length, flags, TN_FREE_API_FREE_MEMORY, site, irql);
		tnm_finding(nd, tn_rule_name(id == 0xffffffff ? TN_RULE_FREE_UNKNOWN :
					     TN_RULE_DOUBLE_FREE),
			    id, site, "va=%p is not a live allocation; not freed", va);
		return;
	}
	tnm_remember_free(nd, va, m->id);
	tnm_report_free(nd, m->id, va, length, flags, TN_FREE_API_FREE_MEMORY, site, irql);
	tnm_free_rules(nd, m, TN_FREE_API_FREE_MEMORY, flags, length, irql, site);
	if (tnm_release_sleeps(m) && irql != TN_IRQL_PASSIVE) {
		/* Finish the release from a worker. */
		unsigned long f;

		spin_lock_irqsave(&nd->lock, f);
		list_add_tail(&m->deferred, &nd->deferred);
		spin_unlock_irqrestore(&nd->lock, f);
		schedule_work(&nd->release_work);
		return;
	}
	tnm_release(nd, m);
}

void tnm_m_allocate_shared_memory(struct tnm_ndis *nd, u32 length, bool cached, void **va,
				 dma_addr_t *pa, u32 site)
{
	u8 irql = tnm_current_irql();
	struct tnm_mem *m;
	void *p;

	*va = NULL;
	p = dma_alloc_coherent(nd->dev, length, pa, GFP_KERNEL);
	if (!p)
		return;
	m = tnm_track(nd, p, length, cached ? TN_FLAG_SHARED_CACHED : 0, 0, TN_API_SHARED);
	if (!m) {
		dma_free_coherent(nd->dev, length, p, *pa);
		return;
	}
	m->pa = *pa;
	tnm_report_alloc(nd, m, TN_EXT_BUS, *pa, site, irql);
	*va = p;
}

void tnm_m_free_shared_memory(struct tnm_ndis *nd, u32 length, bool cached, void *va,
			     dma_addr_t pa, u32 site)
{
	u8 irql = tnm_current_irql();
	struct tnm_mem *m = tnm_untrack(nd, va);

	if (!m) {
		tnm_report_free(nd, 0xffffffff, va, length, cached ? TN_FLAG_SHARED_CACHED : 0,
			       TN_FREE_API_FREE_SHARED, site, irql);
		tnm_finding(nd, tn_rule_name(TN_RULE_FREE_UNKNOWN), 0, site,
			    "shared va=%p is not live; not freed", va);
		return;
	}
	tnm_report_free(nd, m->id, va, length, cached ? TN_FLAG_SHARED_CACHED : 0,
		       TN_FREE_API_FREE_SHARED, site, irql);
	tnm_free_rules(nd, m, TN_FREE_API_FREE_SHARED, cached ? TN_FLAG_SHARED_CACHED : 0, length,
		      irql, site);
	tnm_release(nd, m);
}

/* A DMA-API direction as the ledger names it (TN_DIR_*). */
static u8 tnm_ledger_dir(enum dma_data_direction dir)
{
	return dir == DMA_TO_DEVICE ? TN_DIR_TO_DEVICE :
	       dir == DMA_FROM_DEVICE ? TN_DIR_FROM_DEVICE : TN_DIR_BIDIRECTIONAL;
}

static void tnm_unmap_pieces(struct tnm_ndis *nd, const struct tnm_sg_element *sg,
			    unsigned int n, enum dma_data_direction dir)
{
	while (n--)
		dma_unmap_page(nd->dev, sg[n].addr, sg[n].length, dir);
}

/*
 * Maps [va, va + length) piece by physically contiguous piece, as
 * NdisMAllocateNetBufferSGList hands a miniport a scatter/gather list.
 * Returns the number of elements written to @sg, 0 on failure.
 */
unsigned int tnm_map_buffer_sg(struct tnm_ndis *nd, void *va, u32 length,
			      enum dma_data_direction dir, u32 *map_id,
			      struct tnm_sg_element *sg, unsigned int max_sg, u32 site)
{
	struct tnm_ledger_event e;
	unsigned int i, n = 0;
	struct tnm_map *mp;
	u32 done, id;

	*map_id = 0;
	for (done = 0; done < length; n++) {
		void *p = va + done;
		u32 piece = is_vmalloc_addr(p) ?
			    min_t(u32, length - done, PAGE_SIZE - offset_in_page(p)) :
			    length - done;
		struct page *pg = is_vmalloc_addr(p) ? vmalloc_to_page(p) : virt_to_page(p);

		if (n == max_sg) {
			tnm_unmap_pieces(nd, sg, n, dir);
			return 0;
		}
		sg[n].length = piece;
		sg[n].addr = dma_map_page(nd->dev, pg, offset_in_page(p), piece, dir);
		if (dma_mapping_error(nd->dev, sg[n].addr)) {
			tnm_unmap_pieces(nd, sg, n, dir);
			return 0;
		}
		done += piece;
	}
	mp = kmalloc(struct_size(mp, sg, n), GFP_ATOMIC);
	if (!mp || xa_alloc(&nd->maps, &id, mp, XA_LIMIT(1, TN_LG_ID_COUNT_MASK), GFP_ATOMIC)) {
		kfree(mp);
		tnm_unmap_pieces(nd, sg, n, dir);
		return 0;
	}
	mp->va = va;
	mp->length = length;
	mp->dir = dir;
	mp->nsg = n;
	memcpy(mp->sg, sg, n * sizeof(*sg));
	/* Mapping ids live apart from allocation ids (and the agent's): ledger.h. */
	id |= TN_LG_ID_MAP_BIT;
	e = (struct tnm_ledger_event){
		.cmd = TN_LG_CMD_MAP, .id = id, .va = (unsigned long)va, .length = length,
		.site = site, .irql = tnm_current_irql(), .ext = n,
		.code = tnm_ledger_dir(dir),
	};
	if (nd->lg->compact && n == 1 && sg[0].length == length) {
		/* One piece: MAP_ONE records the same MAP and EXTENT, in one command. */
		e.cmd = TN_LG_CMD_MAP_ONE;
		e.bus = sg[0].addr;
		tnm_ledger_send(nd->lg, &e);
		e.cmd = TN_LG_CMD_MAP;
		tnm_echo(nd, &e);
		e = tnm_extent_event(id, 0, TN_EXT_BUS, sg[0].addr, length);
		tnm_echo(nd, &e);
	} else {
		tnm_send(nd, &e);
		for (i = 0; i < n; i++)
			tnm_send_extent(nd, id, i, TN_EXT_BUS, sg[i].addr, sg[i].length);
	}
	nd->stats.maps++;
	*map_id = id;
	return n;
}

dma_addr_t tnm_map_buffer(struct tnm_ndis *nd, void *va, u32 length,
			 enum dma_data_direction dir, u32 *map_id, u32 site)
{
	struct tnm_sg_element sg;

	return tnm_map_buffer_sg(nd, va, length, dir, map_id, &sg, 1, site) ? sg.addr :
									       DMA_MAPPING_ERROR;
}

void tnm_unmap_buffer(struct tnm_ndis *nd, u32 map_id, u32 site)
{
	struct tnm_map *mp = xa_erase(&nd->maps, map_id & TN_LG_ID_COUNT_MASK);
	struct tnm_ledger_event e = {
		.cmd = TN_LG_CMD_UNMAP, .id = map_id, .site = site, .irql = tnm_current_irql(),
	};

	if (mp) {
		e.length = mp->length;
		e.code = TN_UNMAP_DIR(tnm_ledger_dir(mp->dir));
	}
	tnm_send(nd, &e);
	nd->stats.unmaps++;
	if (!mp) {
		tnm_finding(nd, tn_rule_name(TN_RULE_UNMAP_UNKNOWN), map_id, site, "no such mapping");
		return;
	}
	tnm_unmap_pieces(nd, mp->sg, mp->nsg, mp->dir);
	kfree(mp);
}

/* The ledger id of a live allocation, 0 if @va is none. */
u32 tnm_ndis_id_of(struct tnm_ndis *nd, void *va)
{
	struct tnm_mem *m;
	unsigned long f;
	u32 id = 0;

	spin_lock_irqsave(&nd->lock, f);
	hash_for_each_possible(nd->by_va, m, node, (unsigned long)va)
		if (m->va == va)
			id = m->id;
	spin_unlock_irqrestore(&nd->lock, f);
	return id;
}

/* Wait for releases deferred from DISPATCH_LEVEL. */
void tnm_ndis_flush(struct tnm_ndis *nd)
{
	flush_work(&nd->release_work);
}

/* One line a test can set against the trace: what this layer did and what is left. */
void tnm_ndis_summary(struct tnm_ndis *nd)
{
	unsigned int live = 0, live_maps = 0;
	struct tnm_mem *m;
	struct tnm_map *mp;
	unsigned long idx;
	int bkt;

	hash_for_each(nd->by_va, bkt, m, node)
		live++;
	xa_for_each(&nd->maps, idx, mp)
		live_maps++;
	pr_info("tracenic-ndis: SUMMARY allocs=%llu frees=%llu maps=%llu unmaps=%llu live=%u live_maps=%u findings=%u\n",
		nd->stats.allocs, nd->stats.frees, nd->stats.maps,
		nd->stats.unmaps, live, live_maps, nd->findings);
}

void tnm_ndis_reclaim_leaks(struct tnm_ndis *nd)
{
	struct hlist_node *tmp;
	struct tnm_mem *m;
	struct tnm_map *mp;
	unsigned long idx;
	int bkt;

	flush_work(&nd->release_work);
	hash_for_each_safe(nd->by_va, bkt, tmp, m, node) {
		hash_del(&m->node);
		tnm_release(nd, m);
	}
	xa_for_each(&nd->maps, idx, mp) {
		tnm_unmap_pieces(nd, mp->sg, mp->nsg, mp->dir);
		kfree(mp);
	}
	xa_destroy(&nd->maps);
}
