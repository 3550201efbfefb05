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
#include <asm/set_memory.h>
#include "ndis_mem.h"
#include "tn_irql.h"

#define TN_FILE_ID 1

struct tn_mem {
	struct hlist_node node;
	struct list_head deferred;
	u32 id, length, flags, tag;
	u8 api;
	void *va;
	dma_addr_t pa;		/* shared memory */
};

struct tn_map {
	void *va;
	u32 length;
	dma_addr_t bus;
	enum dma_data_direction dir;
};

static void tn_release(struct tn_ndis *nd, struct tn_mem *m);

static void tn_release_work(struct work_struct *work)
{
	struct tn_ndis *nd = container_of(work, struct tn_ndis, release_work);
	struct tn_mem *m;
	unsigned long f;

	for (;;) {
		spin_lock_irqsave(&nd->lock, f);
		m = list_first_entry_or_null(&nd->deferred, struct tn_mem, deferred);
		if (m)
			list_del(&m->deferred);
		spin_unlock_irqrestore(&nd->lock, f);
		if (!m)
			return;
		tn_release(nd, m);
	}
}

void tn_ndis_init(struct tn_ndis *nd, struct device *dev, struct tn_ledger *lg, bool strict)
{
	INIT_LIST_HEAD(&nd->deferred);
	INIT_WORK(&nd->release_work, tn_release_work);
	nd->dev = dev;
	nd->lg = lg;
	nd->strict = strict;
	spin_lock_init(&nd->lock);
	hash_init(nd->by_va);
	xa_init_flags(&nd->maps, XA_FLAGS_ALLOC1);
	atomic_set(&nd->next_id, 0);
	nd->findings = 0;
}

static void tn_rule(struct tn_ndis *nd, const char *rule, u32 id, u32 site, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_warn("tracenic-ndis: RULE %s id=%u site=0x%x %pV\n", rule, id, site, &vaf);
	va_end(args);
	nd->findings++;
	if (nd->strict)
		panic("tracenic-ndis: bugcheck (strict mode): %s\n", rule);
}

static void tn_report_alloc(struct tn_ndis *nd, struct tn_mem *m, u8 ext_kind, u64 ext_addr,
			    u32 site, u8 irql)
{
	struct tn_ledger_event e = {
		.cmd = TN_LG_CMD_ALLOC, .id = m->id, .va = (unsigned long)m->va,
		.length = m->length, .flags = m->flags, .tag = m->tag, .site = site,
		.code = m->api, .irql = irql, .ext = 1,
	};

	tn_ledger_send(nd->lg, &e);
	e = (struct tn_ledger_event){ .cmd = TN_LG_CMD_EXTENT, .id = m->id, .bus = ext_addr,
				      .length = m->length, .code = ext_kind };
	tn_ledger_send(nd->lg, &e);
}

static struct tn_mem *tn_track(struct tn_ndis *nd, void *va, u32 length, u32 flags, u32 tag,
			       u8 api)
{
	struct tn_mem *m = kzalloc(sizeof(*m), GFP_ATOMIC);
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

static struct tn_mem *tn_untrack(struct tn_ndis *nd, void *va)
{
	struct tn_mem *m;
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

void *tn_allocate_memory_with_tag_priority(struct tn_ndis *nd, u32 length, u32 tag,
					   enum ex_pool_priority priority, u32 site)
{
	u8 irql = tn_current_irql();
	struct tn_mem *m;
	void *va;

	va = kmalloc(length, irql >= TN_IRQL_DISPATCH ? GFP_ATOMIC : GFP_KERNEL);
	if (!va)
		return NULL;
	m = tn_track(nd, va, length, 0, tag, TN_API_POOL);
	if (!m) {
		kfree(va);
		return NULL;
	}
	/* Pool memory is never device-visible: report its CPU physical address. */
	tn_report_alloc(nd, m, TN_EXT_PHYS, virt_to_phys(va), site, irql);
	return va;
}

u32 tn_allocate_memory(struct tn_ndis *nd, void **va, u32 length, u32 flags,
		       u64 highest_acceptable_address, u32 site)
{
	u8 irql = tn_current_irql();
	gfp_t gfp = (irql >= TN_IRQL_DISPATCH ? GFP_ATOMIC : GFP_KERNEL) | __GFP_ZERO;
	struct tn_mem *m;
	void *p;

	*va = NULL;
	if (highest_acceptable_address < 0xffffffffull + 1 && highest_acceptable_address != 0)
		gfp |= GFP_DMA32;
	if (flags & (NDIS_MEMORY_CONTIGUOUS | NDIS_MEMORY_NONCACHED)) {
		if (irql != TN_IRQL_PASSIVE) {
			/* Changing page attributes may sleep: refuse, as NDIS would fail it. */
			tn_rule(nd, "alloc-irql", 0, site, "contiguous/noncached memory requested "
				"at %s", tn_irql_name(irql));
			return NDIS_STATUS_RESOURCES;
		}
		p = alloc_pages_exact(length, gfp);
		if (p && (flags & NDIS_MEMORY_NONCACHED) &&
		    set_memory_uc((unsigned long)p, PAGE_ALIGN(length) >> PAGE_SHIFT)) {
			free_pages_exact(p, length);
			p = NULL;
		}
	} else {
		p = kzalloc(length, irql >= TN_IRQL_DISPATCH ? GFP_ATOMIC : GFP_KERNEL);
	}
	if (!p)
		return NDIS_STATUS_RESOURCES;
	m = tn_track(nd, p, length, flags, 0, TN_API_MEMORY);
	if (!m) {
		if (flags & (NDIS_MEMORY_CONTIGUOUS | NDIS_MEMORY_NONCACHED))
			free_pages_exact(p, length);
		else
			kfree(p);
		return NDIS_STATUS_RESOURCES;
	}
	tn_report_alloc(nd, m, TN_EXT_PHYS, virt_to_phys(p), site, irql);
	*va = p;
	return NDIS_STATUS_SUCCESS;
}

/* Release memory by its real type, whatever the caller claimed. */
static void tn_release(struct tn_ndis *nd, struct tn_mem *m)
{
	if (m->api == TN_API_SHARED) {
		dma_free_coherent(nd->dev, m->length, m->va, m->pa);
	} else if (m->api == TN_API_MEMORY &&
		   (m->flags & (NDIS_MEMORY_CONTIGUOUS | NDIS_MEMORY_NONCACHED))) {
		if (m->flags & NDIS_MEMORY_NONCACHED)
			set_memory_wb((unsigned long)m->va, PAGE_ALIGN(m->length) >> PAGE_SHIFT);
		free_pages_exact(m->va, m->length);
	} else {
		kfree(m->va);
	}
	kfree(m);
}

static void tn_report_free(struct tn_ndis *nd, u32 id, void *va, u32 length, u32 flags,
			   u8 api, u32 site, u8 irql)
{
	struct tn_ledger_event e = {
		.cmd = TN_LG_CMD_FREE, .id = id, .va = (unsigned long)va, .length = length,
		.flags = flags, .site = site, .code = api, .irql = irql,
	};

	tn_ledger_send(nd->lg, &e);
}

static void tn_remember_free(struct tn_ndis *nd, void *va, u32 id)
{
	nd->freed[nd->freed_next % ARRAY_SIZE(nd->freed)].va = va;
	nd->freed[nd->freed_next % ARRAY_SIZE(nd->freed)].id = id;
	nd->freed_next++;
}

/* The id a recently freed VA had, or 0xffffffff (never allocated). */
static u32 tn_freed_id(struct tn_ndis *nd, void *va)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nd->freed); i++)
		if (nd->freed[i].va == va)
			return nd->freed[i].id;
	return 0xffffffff;
}

void tn_free_memory(struct tn_ndis *nd, void *va, u32 length, u32 flags, u32 site)
{
	u8 irql = tn_current_irql();
	struct tn_mem *m = tn_untrack(nd, va);

	if (!m) {
		u32 id = tn_freed_id(nd, va);

		/* Still reported, so the checker sees the double or unknown free. */
		tn_report_free(nd, id, va, length, flags, TN_FREE_API_FREE_MEMORY, site, irql);
		tn_rule(nd, id == 0xffffffff ? "free-unknown" : "double-free", id, site,
			"va=%px is not a live allocation; not freed", va);
		return;
	}
	tn_remember_free(nd, va, m->id);
	tn_report_free(nd, m->id, va, length, flags, TN_FREE_API_FREE_MEMORY, site, irql);
	if (m->api == TN_API_SHARED)
		tn_rule(nd, "free-api", m->id, site, "shared memory freed with NdisFreeMemory");
	if (m->api == TN_API_POOL && flags)
		tn_rule(nd, "free-flags", m->id, site, "MemoryFlags=0x%x for pool memory "
			"(must be 0)", flags);
	if (m->api == TN_API_MEMORY && flags != m->flags)
		tn_rule(nd, "free-flags", m->id, site, "MemoryFlags=0x%x, allocated with 0x%x",
			flags, m->flags);
	if (m->api == TN_API_MEMORY && flags && length != m->length)
		tn_rule(nd, "free-length", m->id, site, "Length=%u, allocated %u", length, m->length);
	if (m->api == TN_API_MEMORY && (m->flags & NDIS_MEMORY_CONTIGUOUS) &&
	    irql != TN_IRQL_PASSIVE)
		tn_rule(nd, "free-irql", m->id, site, "contiguous memory freed at %s",
			tn_irql_name(irql));
	else if (m->api == TN_API_MEMORY && (m->flags & NDIS_MEMORY_NONCACHED) &&
		 irql >= TN_IRQL_DISPATCH)
		tn_rule(nd, "free-irql", m->id, site, "noncached memory freed at %s",
			tn_irql_name(irql));
	else if (irql > TN_IRQL_DISPATCH)
		tn_rule(nd, "free-irql", m->id, site, "memory freed at %s", tn_irql_name(irql));
	if (m->api == TN_API_MEMORY && (m->flags & NDIS_MEMORY_NONCACHED) &&
	    irql != TN_IRQL_PASSIVE) {
		/* Restoring write-back may sleep: finish the release from a worker. */
		unsigned long f;

		spin_lock_irqsave(&nd->lock, f);
		list_add_tail(&m->deferred, &nd->deferred);
		spin_unlock_irqrestore(&nd->lock, f);
		schedule_work(&nd->release_work);
		return;
	}
	tn_release(nd, m);
}

void tn_m_allocate_shared_memory(struct tn_ndis *nd, u32 length, bool cached, void **va,
				 dma_addr_t *pa, u32 site)
{
	u8 irql = tn_current_irql();
	struct tn_mem *m;
	void *p;

	*va = NULL;
	p = dma_alloc_coherent(nd->dev, length, pa, GFP_KERNEL);
	if (!p)
		return;
	m = tn_track(nd, p, length, cached ? TN_FLAG_SHARED_CACHED : 0, 0, TN_API_SHARED);
	if (!m) {
		dma_free_coherent(nd->dev, length, p, *pa);
		return;
	}
	m->pa = *pa;
	tn_report_alloc(nd, m, TN_EXT_BUS, *pa, site, irql);
	*va = p;
}

void tn_m_free_shared_memory(struct tn_ndis *nd, u32 length, bool cached, void *va,
			     dma_addr_t pa, u32 site)
{
	u8 irql = tn_current_irql();
	struct tn_mem *m = tn_untrack(nd, va);

	if (!m) {
		tn_report_free(nd, 0xffffffff, va, length, cached ? TN_FLAG_SHARED_CACHED : 0,
			       TN_FREE_API_FREE_SHARED, site, irql);
		tn_rule(nd, "free-unknown", 0, site, "shared va=%px is not live; not freed", va);
		return;
	}
	tn_report_free(nd, m->id, va, length, cached ? TN_FLAG_SHARED_CACHED : 0,
		       TN_FREE_API_FREE_SHARED, site, irql);
	if (length != m->length)
		tn_rule(nd, "free-length", m->id, site, "Length=%u, allocated %u", length, m->length);
	if (!!cached != !!(m->flags & TN_FLAG_SHARED_CACHED))
		tn_rule(nd, "free-flags", m->id, site, "Cached=%d differs from the allocation", cached);
	if (irql != TN_IRQL_PASSIVE)
		tn_rule(nd, "free-irql", m->id, site, "NdisMFreeSharedMemory at %s",
			tn_irql_name(irql));
	tn_release(nd, m);
}

dma_addr_t tn_map_buffer(struct tn_ndis *nd, void *va, u32 length,
			 enum dma_data_direction dir, u32 *map_id, u32 site)
{
	struct tn_ledger_event e;
	struct tn_map *mp;
	dma_addr_t bus;
	u32 id;

	*map_id = 0;
	bus = dma_map_single(nd->dev, va, length, dir);
	if (dma_mapping_error(nd->dev, bus))
		return DMA_MAPPING_ERROR;
	mp = kmalloc(sizeof(*mp), GFP_ATOMIC);
	if (!mp || xa_alloc(&nd->maps, &id, mp, xa_limit_31b, GFP_ATOMIC)) {
		kfree(mp);
		dma_unmap_single(nd->dev, bus, length, dir);
		return DMA_MAPPING_ERROR;
	}
	*mp = (struct tn_map){ va, length, bus, dir };
	/* Mapping ids live above allocation ids' range so the two never collide. */
	id |= 0x80000000u;
	e = (struct tn_ledger_event){
		.cmd = TN_LG_CMD_MAP, .id = id, .va = (unsigned long)va, .length = length,
		.site = site, .irql = tn_current_irql(), .ext = 1,
		.code = dir == DMA_TO_DEVICE ? TN_DIR_TO_DEVICE :
			dir == DMA_FROM_DEVICE ? TN_DIR_FROM_DEVICE : TN_DIR_BIDIRECTIONAL,
	};
	tn_ledger_send(nd->lg, &e);
	e = (struct tn_ledger_event){ .cmd = TN_LG_CMD_EXTENT, .id = id, .bus = bus,
				      .length = length, .code = TN_EXT_BUS };
	tn_ledger_send(nd->lg, &e);
	*map_id = id;
	return bus;
}

void tn_unmap_buffer(struct tn_ndis *nd, u32 map_id, u32 site)
{
	struct tn_map *mp = xa_erase(&nd->maps, map_id & 0x7fffffffu);
	struct tn_ledger_event e = {
		.cmd = TN_LG_CMD_UNMAP, .id = map_id, .site = site, .irql = tn_current_irql(),
	};

	if (mp)
		e.length = mp->length;
	tn_ledger_send(nd->lg, &e);
	if (!mp) {
		tn_rule(nd, "unmap-unknown", map_id, site, "no such mapping");
		return;
	}
	dma_unmap_single(nd->dev, mp->bus, mp->length, mp->dir);
	kfree(mp);
}

void tn_ndis_reclaim_leaks(struct tn_ndis *nd)
{
	struct hlist_node *tmp;
	struct tn_mem *m;
	struct tn_map *mp;
	unsigned long idx;
	int bkt;

	flush_work(&nd->release_work);
	hash_for_each_safe(nd->by_va, bkt, tmp, m, node) {
		hash_del(&m->node);
		tn_release(nd, m);
	}
	xa_for_each(&nd->maps, idx, mp) {
		dma_unmap_single(nd->dev, mp->bus, mp->length, mp->dir);
		kfree(mp);
	}
	xa_destroy(&nd->maps);
}
