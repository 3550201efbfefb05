/*
 * Replay: walk the records in order, keep the live and freed regions and the
 * device's references, and apply the rules of docs/rules.md.
 *
 * Memory follows live state: live regions, open references, and the freed
 * set (space.h): bytes freed or unmapped that no later ALLOC/MAP covered
 * again.  Covering freed bytes shrinks the set, so DMA into memory freed at
 * any time before is named dma-after-free until the memory is reused.
 *
 * Regions, references and tree nodes come from free lists (slab.h): a
 * healthy trace makes and drops them several times per packet.
 */
#include <stdlib.h>
#include <string.h>

#include "dmacheck.h"
#include "idmap.h"
#include "itree.h"
#include "perfetto.h"
#include "slab.h"
#include "space.h"
#include "tracenic/ledger.h"
#include "tracenic/regs.h"

/* TN_LG_INFO's extent count is 16 bits wide: the device accepts up to this. */
#define DC_MAX_EXTENTS 65535

struct region {
	/* What a DMA hit touches first, next to each other (see dc_feed). */
	uint64_t dma[TN_CAUSE_MAX + 1];	/* DMA bytes into it, by cause (--stats) */
	struct dc_region_info info;
	uint16_t got_ext;
	bool is_map;
	uint16_t ext_cap;
	uint32_t pieces;		/* freed-set pieces naming this region */
	struct inode **ext;		/* got_ext live extents (space.h) while live */
	struct inode *one;		/* ext points here for a one-extent region */
	/*
	 * Freed with its details kept: its entry in the order of frees
	 * (replay.fifo), and where its pieces may lie when it has more
	 * extents than info.ext shows (summarise_region needs them all).
	 */
	bool kept;
	size_t fifo_slot;
	uint64_t serial;		/* tells regions apart that reuse an id */
	uint64_t (*spans)[2];
	uint16_t n_spans;
};

struct ref {
	struct inode node;	/* in the refs tree */
	struct dc_ref_info info;
	/*
	 * The live device-visible region the reference was taken on (its first
	 * byte), as it was then and, once freed, as it was freed: DMA through
	 * the reference after that free is dma-after-free even where the bytes
	 * belong to newer memory by then (on_dma, stale_ref).
	 */
	bool has_origin, origin_freed;
	uint64_t origin_serial;
	struct dc_region_info origin;
};

struct seen_key {
	uint64_t key;
	size_t index;
};

/*
 * One device writing into the trace: number 0 when there is no DEVICE record
 * (the device the header names), else each announced one.
 */
struct device {
	struct { uint64_t base, end; bool active; } ring[TN_RING_IDS];	/* enable .. idle */
	bool quiesced;
	bool tracenic;		/* its STATE status words are tracenic's STATUS register */
	bool wrote;		/* a record of its own came before (a DEVICE record must not) */
};

struct replay {
	uint64_t dma_bytes;	/* bytes of the successful DMA records read: END's dma_bytes */
	struct space space;	/* live extents (device-visible or CPU-only) and freed bytes */
	struct slab region_slab, ref_slab;
	struct idmap regions;	/* id -> live region */
	struct idmap freed_ids;	/* id -> remembered freed region with that id */
	struct idmap orphans;	/* id -> struct orphan: free-while-mapped, its UNMAP to come */
	struct idmap refs;	/* ref id -> ref */
	struct itree ref_tree;	/* the same refs by address */
	struct device dev[TN_REC_DEV_MAX + 1];
	unsigned ndev;			/* devices 0 .. ndev - 1 have written records */
	struct region *pending;		/* ALLOC/MAP waiting for its extents */
	bool end_only;		/* only END said records were lost (no TRUNCATED/WRITE_ERROR) */
	uint64_t now, index;
	bool has_icount;	/* an ICOUNT record was read: icount is the guest's */
	uint64_t icount;	/* instruction count of the records since */
	struct dc_result *res;
	const struct dc_options *opt;
	struct perfetto *pf;
	uint64_t top_floor;		/* --stats: the least total in a full top list */
	struct seen_key *seen;		/* merges repeats of one violation */
	size_t seen_cap, seen_used;
	/*
	 * Freed regions whose details are kept, oldest first: beyond
	 * max_freed the oldest are summarised (age_freed), their memory then
	 * named by @summary, one node per run of pages.
	 */
	struct region **fifo;		/* NULL: released since (its memory reused) */
	size_t fifo_head, fifo_n, fifo_cap;
	uint64_t detailed, max_freed;	/* kept regions; the most kept */
	uint64_t serials;		/* regions made so far (region.serial) */
	uint64_t stale_refs;		/* held references whose origin was freed */
	struct region summary;
	bool oom;
};

/* --- violations ------------------------------------------------------------ */

/* The slot of @key in the table, or the empty slot where it would go. */
static size_t seen_slot(const struct seen_key *tab, size_t cap, uint64_t key)
{
	size_t i;

	for (i = key * 0x9e3779b97f4a7c15ull >> 20 & (cap - 1); tab[i].key && tab[i].key != key;
	     i = (i + 1) & (cap - 1))
		;
	return i;
}

/* The violation already reported under @key, or NULL; inserts nothing. */
static struct dc_violation *seen_find(const struct replay *r, uint64_t key)
{
	size_t i;

	if (!r->seen_cap)
		return NULL;
	i = seen_slot(r->seen, r->seen_cap, key);
	return r->seen[i].key ? &r->res->v[r->seen[i].index] : NULL;
}

/* The violation already reported under @key, or NULL after filing @key for the next one. */
static struct dc_violation *seen_lookup(struct replay *r, uint64_t key, bool *fresh)
{
	size_t i;

	if ((r->seen_used + 1) * 2 > r->seen_cap) {
		size_t cap = r->seen_cap ? r->seen_cap * 2 : 256, j;
		struct seen_key *n = calloc(cap, sizeof(*n));

		if (!n) {
			r->oom = true;
			*fresh = true;
			return NULL;
		}
		for (j = 0; j < r->seen_cap; j++)
			if (r->seen[j].key)
				n[seen_slot(n, cap, r->seen[j].key)] = r->seen[j];
		free(r->seen);
		r->seen = n;
		r->seen_cap = cap;
	}
	i = seen_slot(r->seen, r->seen_cap, key);
	if (r->seen[i].key) {
		*fresh = false;
		return &r->res->v[r->seen[i].index];
	}
	r->seen[i].key = key;
	r->seen[i].index = r->res->nv;
	r->seen_used++;
	*fresh = true;
	return NULL;
}

/*
 * New violation, or the existing one with the same @key (rule, region,
 * cause): a driver that DMAs into one freed buffer a thousand times has one
 * bug, reported once with a count.  The rule (never 0) fills the key's top
 * six bits, so one key never merges two rules.
 */
TN_STATIC_ASSERT(TN_RING_IDS <= 8, "a ring id is a bit of dc_violation's active_rings");
TN_STATIC_ASSERT(TN_RULE_COUNT <= 64, "a rule number fits the violation key's top six bits");
static struct dc_violation *violation(struct replay *r, enum tn_rule rule, uint64_t key)
{
	struct dc_result *res = r->res;
	struct dc_violation *v;
	bool fresh = true;

	res->rule_count[rule]++;
	if (res->nv >= DC_MAX_VIOLATIONS) {
		/* Memory stays bounded on a hostile or hopeless trace: count, do not itemise. */
		v = key ? seen_find(r, key | (uint64_t)rule << 58) : NULL;
		if (v)
			v->count++;
		else
			res->not_itemised++;
		return NULL;
	}
	if (key) {
		v = seen_lookup(r, key | (uint64_t)rule << 58, &fresh);
		if (!fresh) {
			v->count++;
			return NULL;
		}
	}
	if (res->nv == res->capv) {
		size_t cap = res->capv ? res->capv * 2 : 16;
		struct dc_violation *n = realloc(res->v, cap * sizeof(*n));

		if (!n) {
			r->oom = true;
			return NULL;
		}
		res->v = n;
		res->capv = cap;
	}
	v = &res->v[res->nv++];
	memset(v, 0, sizeof(*v));
	v->rule = rule;
	v->time_ns = r->now;
	v->record = r->index;
	v->has_icount = r->has_icount;
	v->icount = r->icount;
	v->count = 1;
	if (r->pf)
		perfetto_violation(r->pf, r->now, tn_rule_name(rule));
	return v;
}

static void set_region(struct dc_violation *v, const struct region *g)
{
	if (!v || !g)
		return;
	v->has_region = true;
	v->region = g->info;
}

/* Every device QUIESCED (with one device: that one). */
static bool all_quiesced(const struct replay *r)
{
	unsigned d;

	for (d = 0; d < r->ndev; d++)
		if (!r->dev[d].quiesced)
			return false;
	return true;
}

/* Ring @k of some device is active. */
static bool any_ring_active(const struct replay *r, unsigned k)
{
	unsigned d;

	for (d = 0; d < r->ndev; d++)
		if (r->dev[d].ring[k].active)
			return true;
	return false;
}

static void set_device(struct replay *r, struct dc_violation *v)
{
	unsigned k;

	v->has_device = true;
	v->device.quiesced = all_quiesced(r);
	v->device.tx_active = any_ring_active(r, TN_RING_ID_TX);
	v->device.rx_active = any_ring_active(r, TN_RING_ID_RX);
	for (k = 0; k < TN_RING_IDS; k++)
		v->device.active_rings |= any_ring_active(r, k) << k;
}

/* --- regions ----------------------------------------------------------------- */

static void region_release(struct replay *r, struct region *g)
{
	if (g->kept) {
		r->fifo[g->fifo_slot] = NULL;
		r->detailed--;
	}
	if (g->ext != &g->one)
		free(g->ext);
	free(g->spans);
	slab_free(&r->region_slab, g);
}

static void piece_hold(void *ctx, void *owner)
{
	(void)ctx;
	((struct region *)owner)->pieces++;
}

/* The last freed byte of a region was covered again: forget the region. */
static void piece_drop(void *ctx, void *owner)
{
	struct replay *r = ctx;
	struct region *g = owner;

	if (--g->pieces || g == &r->summary)
		return;
	if (idmap_get(&r->freed_ids, g->info.id) == g)
		idmap_del(&r->freed_ids, g->info.id);
	region_release(r, g);
}

static const struct space_ops piece_ops = { piece_hold, piece_drop };

/* A region lost without a free: its extents just leave the space. */
static void unlink_live(struct replay *r, struct region *g)
{
	uint16_t i;

	for (i = 0; i < g->got_ext; i++)
		space_drop(&r->space, g->ext[i]);
	g->got_ext = 0;
}

static void on_alloc_or_map(struct replay *r, const struct tn_rec *t, bool is_map)
{
	uint16_t n = is_map ? t->u.map.n_extents : t->u.alloc.n_extents;
	struct region *g, *old;

	if (!t->id || !n)
		return;		/* the device rejects these; nothing to track */
	old = idmap_get(&r->regions, t->id);
	if (old) {
		/* An id reused while live: the old region is lost to us. */
		struct dc_violation *v = violation(r, is_map ? TN_RULE_MAP_LEAK : TN_RULE_LEAK, 0);

		set_region(v, old);
		if (v)
			snprintf(v->detail, sizeof(v->detail),
				 "id %u was reported again by a new %s before it was freed",
				 t->id, is_map ? "MAP" : "ALLOC");
	}
	g = slab_alloc(&r->region_slab);
	if (g)
		memset(g, 0, sizeof(*g));
	if (!g) {
		r->oom = true;
		return;
	}
	g->serial = ++r->serials;
	/* Extents are stored as they arrive: memory follows the records, not the claim. */
	g->ext = &g->one;
	g->ext_cap = 1;
	g->is_map = is_map;
	g->info.id = t->id;
	g->info.n_extents = n;
	g->info.alloc_ns = r->now;
	if (is_map) {
		g->info.api = TN_API_MAP;
		g->info.va = t->u.map.va;
		g->info.length = t->u.map.length;
		g->info.alloc_site = t->u.map.site;
		g->info.alloc_irql = t->u.map.irql;
		g->info.flags = t->kind;	/* direction */
	} else {
		g->info.api = t->kind;
		g->info.va = t->u.alloc.va;
		g->info.length = t->u.alloc.length;
		g->info.flags = t->u.alloc.flags;
		g->info.tag = t->u.alloc.tag;
		g->info.alloc_site = t->u.alloc.site;
		g->info.alloc_irql = t->u.alloc.irql;
	}
	if (old) {
		unlink_live(r, old);
		if (r->pending == old)
			r->pending = NULL;
		region_release(r, old);
	}
	if (idmap_put(&r->regions, t->id, g)) {
		region_release(r, g);
		r->oom = true;
		return;
	}
	r->pending = g;
}

static void on_extent(struct replay *r, const struct tn_rec *t)
{
	struct region *g = r->pending;
	struct inode *n;

	if (!g || g->info.id != t->id || t->idx != g->got_ext || !t->u.extent.len ||
	    t->u.extent.addr + t->u.extent.len < t->u.extent.addr)
		return;
	if (g->got_ext == g->ext_cap) {
		uint32_t cap = (uint32_t)g->ext_cap * 2 > g->info.n_extents ? g->info.n_extents
									  : g->ext_cap * 2u;
		struct inode **e = malloc(cap * sizeof(*e));

		if (!e) {
			r->oom = true;
			return;
		}
		memcpy(e, g->ext, g->got_ext * sizeof(*e));
		if (g->ext != &g->one)
			free(g->ext);
		g->ext = e;
		g->ext_cap = cap;
	}
	/*
	 * The device rejects other kinds; never let one grant device visibility.
	 * New memory over freed bytes ends their story as freed memory.
	 */
	n = space_add(&r->space, t->u.extent.addr, t->u.extent.addr + t->u.extent.len,
		      t->kind == TN_EXT_BUS ? SP_BUS : SP_PHYS, g);
	if (!n) {
		r->oom = true;
		return;
	}
	g->ext[g->got_ext] = n;
	if (g->got_ext < DC_MAX_EXTENTS_SHOWN) {
		g->info.ext[g->got_ext].addr = n->start;
		g->info.ext[g->got_ext].len = t->u.extent.len;
		g->info.ext[g->got_ext].kind = t->kind;
	}
	if (++g->got_ext == g->info.n_extents)
		r->pending = NULL;
}

static void bit_set(uint64_t *bits, unsigned i)
{
	bits[i / 64] |= 1ull << (i % 64);
}

static bool bit_test(const uint64_t *bits, unsigned i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

struct ref_scan {
	struct replay *r;
	const struct region *g;
	struct dc_violation *v;
	uint32_t n;
	/* bit dev * TN_RING_IDS + ring: that ring's reference was among them */
	uint64_t ring_ref[(TN_REC_DEV_MAX + 1) * TN_RING_IDS / 64];
};

static struct dc_violation *not_quiesced(struct ref_scan *c)
{
	if (!c->v) {
		c->v = violation(c->r, TN_RULE_FREE_NOT_QUIESCED, 0);
		set_region(c->v, c->g);
		if (c->v)
			set_device(c->r, c->v);
	}
	return c->v;
}

static int ref_visit(struct inode *n, void *p)
{
	struct ref_scan *c = p;
	const struct ref *f = n->owner;
	struct dc_violation *v = not_quiesced(c);

	c->n++;
	if (f->info.kind == TN_REF_RING && f->info.ring < TN_RING_IDS)
		bit_set(c->ring_ref, f->info.dev * TN_RING_IDS + f->info.ring);
	if (!v)
		return 0;
	if (v->device.n_refs < DC_MAX_REFS_SHOWN)
		v->device.refs[v->device.n_refs] = f->info;
	v->device.n_refs++;
	return 0;
}

struct origin_scan {
	struct replay *r;
	const struct region *g;
};

/* A reference taken on the region just freed learns it, for a later stale_ref report. */
static int origin_visit(struct inode *n, void *p)
{
	struct origin_scan *c = p;
	struct ref *f = n->owner;

	if (f->has_origin && f->origin_serial == c->g->serial && !f->origin_freed) {
		f->origin = c->g->info;
		f->origin_freed = true;
		c->r->stale_refs++;
	}
	return 0;
}

static bool ring_in(const struct device *d, unsigned k, const struct region *g)
{
	uint16_t i;

	if (!d->ring[k].active)
		return false;
	for (i = 0; i < g->got_ext; i++)
		if (g->ext[i]->start < d->ring[k].end && d->ring[k].base < g->ext[i]->end)
			return true;
	return false;
}

/*
 * free-not-quiesced.  The device's references name exactly the guest memory
 * it may still touch: a ring until drained, a fetched descriptor's buffer
 * until completed, a delayed transfer until done.  A ring enabled on this
 * memory that has not gone idle counts even without its reference.  The
 * buffer of a completed descriptor holds no reference, so unmapping it while
 * the ring runs is correct and not reported.  Records the device's state at
 * the free in the region, for later dma-after-free reports.
 */
static void check_device_at_free(struct replay *r, struct region *g, uint32_t site)
{
	struct ref_scan c = { .r = r, .g = g };
	const struct dc_device *named;
	unsigned d, k;
	uint16_t i;

	for (i = 0; i < g->got_ext; i++)
		itree_overlaps(&r->ref_tree, 0, g->ext[i]->start, g->ext[i]->end, ref_visit, &c);
	g->info.freed = true;
	g->info.free_ns = r->now;
	g->info.free_site = site;
	g->info.at_free_quiesced = all_quiesced(r);
	g->info.at_free_tx_active = any_ring_active(r, TN_RING_ID_TX);
	g->info.at_free_rx_active = any_ring_active(r, TN_RING_ID_RX);
	for (k = 0; k < TN_RING_IDS; k++)
		g->info.at_free_rings |= any_ring_active(r, k) << k;
	g->info.at_free_refs = c.n;
	if (c.v)
		c.v->region = g->info;
	for (i = 0; c.n && i < g->got_ext; i++)
		itree_overlaps(&r->ref_tree, 0, g->ext[i]->start, g->ext[i]->end, origin_visit,
			       &(struct origin_scan){ r, g });
	for (d = 0; d < r->ndev; d++) {
		for (k = 0; k < TN_RING_IDS; k++) {
			const struct device *dv = &r->dev[d];
			struct dc_violation *v;

			if (bit_test(c.ring_ref, d * TN_RING_IDS + k) || !ring_in(dv, k, g) ||
			    !(v = not_quiesced(&c)))
				continue;
			named = r->res->n_announced ? &r->res->devices[d] : NULL;
			snprintf(v->detail, sizeof(v->detail), "the %s ring%s%s (0x%llx-0x%llx) was "
				 "enabled on this memory and had not drained; the device was not "
				 "QUIESCED", tn_ring_name(k), named ? " of " : "",
				 named ? named->name : "", (unsigned long long)dv->ring[k].base,
				 (unsigned long long)dv->ring[k].end - 1);
			return;
		}
	}
	if (c.v)
		snprintf(c.v->detail, sizeof(c.v->detail),
			 "the device still held %u reference%s on this memory when it was freed%s",
			 c.n, c.n == 1 ? "" : "s", all_quiesced(r) ? "" : "; it was not QUIESCED");
}

struct free_ctx {
	struct replay *r;
	const struct region *g;
	const struct tn_rec *t;
};

static struct dc_violation *free_violation(struct replay *r, enum tn_rule rule,
					   const struct region *g, const struct tn_rec *t)
{
	struct dc_violation *v = violation(r, rule, 0);

	if (!v)
		return NULL;
	set_region(v, g);
	v->has_free = true;
	v->free.api = t->kind;
	v->free.irql = t->u.free.irql;
	v->free.length = t->u.free.length;
	v->free.flags = t->u.free.flags;
	v->free.site = t->u.free.site;
	v->free.va = t->u.free.va;
	if (v->has_region && !v->region.freed) {
		v->region.freed = true;
		v->region.free_ns = r->now;
		v->region.free_site = t->u.free.site;
	}
	return v;
}

/* free_args.c reports through this: a violation carrying the region and the free. */
static struct dc_violation *free_args_report(void *ctx, enum tn_rule rule)
{
	struct free_ctx *f = ctx;

	return free_violation(f->r, rule, f->g, f->t);
}

static void region_stats(struct replay *r, const struct region *g);

/* Put freed region @g last in the order of frees (age_freed). */
static void remember_freed(struct replay *r, struct region *g)
{
	if (r->fifo_head + r->fifo_n == r->fifo_cap) {
		/* Close the gap the oldest left, and the entries of regions gone since. */
		size_t i, n = 0;

		for (i = r->fifo_head; i < r->fifo_head + r->fifo_n; i++) {
			if (r->fifo[i]) {
				r->fifo[n] = r->fifo[i];
				r->fifo[n]->fifo_slot = n;
				n++;
			}
		}
		r->fifo_head = 0;
		r->fifo_n = n;
		if (n * 2 >= r->fifo_cap) {
			size_t cap = r->fifo_cap ? r->fifo_cap * 2 : 1024;
			struct region **v = realloc(r->fifo, cap * sizeof(*v));

			if (!v) {
				r->oom = true;
				return;
			}
			r->fifo = v;
			r->fifo_cap = cap;
		}
	}
	g->kept = true;
	g->fifo_slot = r->fifo_head + r->fifo_n++;
	r->fifo[g->fifo_slot] = g;
	r->detailed++;
}

/*
 * Freed memory at addresses never used again (an IOVA allocator that does
 * not recycle, one-shot buffers) would keep every region's details forever:
 * beyond max_freed freed regions the oldest is summarised.  Its pieces come
 * to name the summary region, page by page (space_summarise), its id is
 * forgotten (a second free of it is then free-unknown, not double-free), and
 * a later DMA there is still dma-after-free, reported against the summary.
 */
static void summarise_region(struct replay *r, struct region *g)
{
	uint16_t i, n = g->spans ? g->n_spans : g->info.n_extents;

	g->pieces++;
	for (i = 0; i < n && (g->spans || i < DC_MAX_EXTENTS_SHOWN); i++) {
		uint64_t a = g->spans ? g->spans[i][0] : g->info.ext[i].addr;
		uint64_t b = g->spans ? g->spans[i][1] : a + g->info.ext[i].len;

		if (space_summarise(&r->space, a, b < a ? UINT64_MAX : b, g, &r->summary))
			r->oom = true;
	}
	if (idmap_get(&r->freed_ids, g->info.id) == g)
		idmap_del(&r->freed_ids, g->info.id);
	r->res->summarised_regions++;
	if (g->info.free_ns > r->res->summarised_until_ns)
		r->res->summarised_until_ns = g->info.free_ns;
	g->kept = false;
	r->detailed--;
	piece_drop(r, g);
}

static void age_freed(struct replay *r)
{
	while (r->detailed > r->max_freed && r->fifo_n) {
		struct region *g = r->fifo[r->fifo_head];

		r->fifo_head++;
		r->fifo_n--;
		if (g)
			summarise_region(r, g);
	}
}

/* Move a region's extents from the live memory to the freed set. */
static void retire(struct replay *r, struct region *g, uint32_t site)
{
	uint16_t i;

	region_stats(r, g);
	idmap_del(&r->regions, g->info.id);
	if (r->pending == g)
		r->pending = NULL;
	g->info.free_site = site;
	if (r->pf)
		perfetto_region(r->pf, &g->info);
	if (idmap_put(&r->freed_ids, g->info.id, g))
		r->oom = true;
	/* Hold the region while its own extents may cut each other's pieces. */
	g->pieces++;
	if (g->got_ext > DC_MAX_EXTENTS_SHOWN) {
		g->spans = malloc(g->got_ext * sizeof(*g->spans));
		if (!g->spans)
			r->oom = true;
		for (i = 0; g->spans && i < g->got_ext; i++) {
			g->spans[i][0] = g->ext[i]->start;
			g->spans[i][1] = g->ext[i]->end;
		}
		g->n_spans = g->spans ? g->got_ext : 0;
	}
	for (i = 0; i < g->got_ext; i++)
		if (space_free(&r->space, g->ext[i]))
			r->oom = true;
	if (g->ext != &g->one)
		free(g->ext);
	g->ext = &g->one;	/* the nodes are freed pieces now, naming g */
	g->got_ext = 0;
	g->ext_cap = 0;
	remember_freed(r, g);
	piece_drop(r, g);
	age_freed(r);
}

/*
 * A mapping whose pages the page allocator got back (free-while-mapped): it
 * is retired then, so the device's later DMA into it is dma-after-free, and
 * what its map passed is kept for the UNMAP the driver still makes.
 */
struct orphan {
	uint32_t length, flags;
};

/*
 * free-while-mapped: a FREE of API TN_FREE_API_PAGE_FREE says the page
 * allocator got back pages (VA, LENGTH) that id's mapping still covers
 * (dma-debug cannot see it; IOMMU_DEBUG_PAGEALLOC warns of it).  The memory
 * is gone at that moment whatever the driver's later UNMAP says.
 */
static void on_page_free(struct replay *r, const struct tn_rec *t)
{
	struct region *g = idmap_get(&r->regions, t->id);
	struct dc_violation *v;
	struct orphan *o;

	if (!g && idmap_get(&r->orphans, t->id))
		return;		/* another page of a mapping already reported */
	if (!g) {
		v = free_violation(r, TN_RULE_FREE_UNKNOWN, NULL, t);
		if (v)
			snprintf(v->detail, sizeof(v->detail), "pages at VA 0x%llx were freed "
				 "while id %u covered them, but no live mapping or allocation "
				 "has that id", (unsigned long long)t->u.free.va, t->id);
		return;
	}
	v = free_violation(r, TN_RULE_FREE_WHILE_MAPPED, g, t);
	if (v)
		snprintf(v->detail, sizeof(v->detail), "the page allocator got back %u bytes at "
			 "VA 0x%llx while %s id %u (VA 0x%llx, length %u) still covered them",
			 t->u.free.length, (unsigned long long)t->u.free.va,
			 g->is_map ? "DMA mapping" : "allocation", t->id,
			 (unsigned long long)g->info.va, g->info.length);
	check_device_at_free(r, g, t->u.free.site);
	if (g->is_map) {
		o = malloc(sizeof(*o));
		if (!o || idmap_put(&r->orphans, t->id, o)) {
			free(o);
			r->oom = true;
		} else {
			*o = (struct orphan){ g->info.length, g->info.flags };
		}
	}
	retire(r, g, t->u.free.site);
}

static void on_free(struct replay *r, const struct tn_rec *t)
{
	struct region *g = idmap_get(&r->regions, t->id);
	struct dc_violation *v;

	if (t->kind == TN_FREE_API_PAGE_FREE) {
		on_page_free(r, t);
		return;
	}
	if (!g || g->is_map) {
		struct region *f = idmap_get(&r->freed_ids, t->id);

		if (g) {
			/* Same rule, but say what the id is: a mapping goes with UNMAP. */
			v = free_violation(r, TN_RULE_FREE_UNKNOWN, NULL, t);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "id %u is a live DMA mapping "
					 "(VA 0x%llx, length %u), not an allocation: a mapping is "
					 "released with UNMAP, not freed", t->id,
					 (unsigned long long)g->info.va, g->info.length);
		} else if (f && !f->is_map) {
			v = free_violation(r, TN_RULE_DOUBLE_FREE, f, t);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "id %u was already freed at %llu ns",
					 t->id, (unsigned long long)f->info.free_ns);
		} else {
			v = free_violation(r, TN_RULE_FREE_UNKNOWN, NULL, t);
			if (v)
				snprintf(v->detail, sizeof(v->detail), "no live allocation has id %u "
					 "(VA 0x%llx); if it was freed before, its memory has "
					 "been reused since", t->id, (unsigned long long)t->u.free.va);
		}
		return;
	}
	if (t->u.free.va != g->info.va) {
		bool inside = t->u.free.va > g->info.va &&
			      t->u.free.va < g->info.va + g->info.length;

		v = free_violation(r, inside ? TN_RULE_FREE_INTERIOR : TN_RULE_FREE_UNKNOWN, g, t);
		if (v)
			snprintf(v->detail, sizeof(v->detail), "VA 0x%llx passed; the allocation "
				 "starts at 0x%llx", (unsigned long long)t->u.free.va,
				 (unsigned long long)g->info.va);
	}
	check_device_at_free(r, g, t->u.free.site);
	{
		struct free_ctx f = { r, g, t };

		dc_check_free_args(&g->info, t, free_args_report, &f);
	}
	retire(r, g, t->u.free.site);
}

/*
 * unmap-mismatch (dma-debug: "device driver frees DMA memory with different
 * size" / "with different direction"): an unmap passes the size and the
 * direction of its map; LENGTH is as passed, the direction when the UNMAP
 * carries one (TN_UNMAP_DIR_GIVEN).
 */
static void check_unmap_args(struct replay *r, const struct region *g, uint32_t length,
			     uint32_t dir_mapped, const struct tn_rec *t)
{
	bool size = t->u.unmap.length != length;
	bool dir = (t->kind & TN_UNMAP_DIR_GIVEN) &&
		   (t->kind & ~TN_UNMAP_DIR_GIVEN) != dir_mapped;
	struct dc_violation *v;
	int n = 0;

	if (!size && !dir)
		return;
	v = violation(r, TN_RULE_UNMAP_MISMATCH, 0);
	if (!v)
		return;
	set_region(v, g);
	if (size)
		n = snprintf(v->detail, sizeof(v->detail), "size %u passed; mapped with %u",
			     t->u.unmap.length, length);
	if (dir)
		snprintf(v->detail + n, sizeof(v->detail) - (size_t)n, "%sdirection %s passed; "
			 "mapped %s", n ? "; " : "", tn_dir_name(t->kind & ~TN_UNMAP_DIR_GIVEN),
			 tn_dir_name(dir_mapped));
}

static void on_unmap(struct replay *r, const struct tn_rec *t)
{
	struct region *g = idmap_get(&r->regions, t->id);
	struct dc_violation *v;

	if (!g || !g->is_map) {
		struct orphan *o = g ? NULL : idmap_del(&r->orphans, t->id);
		struct region *f = g ? NULL : idmap_get(&r->freed_ids, t->id);

		if (o) {
			/* Its pages were freed before (free-while-mapped): this closes it. */
			check_unmap_args(r, f && f->is_map ? f : NULL, o->length, o->flags, t);
			free(o);
			return;
		}
		v = violation(r, TN_RULE_UNMAP_UNKNOWN, 0);
		if (!v)
			return;
		if (f && f->is_map) {
			set_region(v, f);
			snprintf(v->detail, sizeof(v->detail), "id %u was already unmapped at %llu ns: "
				 "a second unmap of one mapping", t->id,
				 (unsigned long long)f->info.free_ns);
		} else {
			snprintf(v->detail, sizeof(v->detail), "no live mapping has id %u%s", t->id,
				 g ? " (it is an allocation, released with FREE)" : "");
		}
		return;
	}
	check_unmap_args(r, g, g->info.length, g->info.flags, t);
	check_device_at_free(r, g, t->u.unmap.site);
	retire(r, g, t->u.unmap.site);
}

static void on_halt_end(struct replay *r)
{
	size_t pos = 0;
	uint64_t id;
	struct region *g;

	while ((g = idmap_next(&r->regions, &pos, &id))) {
		struct dc_violation *v = violation(r, g->is_map ? TN_RULE_MAP_LEAK : TN_RULE_LEAK,
						   (uint64_t)id << 8);

		set_region(v, g);
		if (v)
			snprintf(v->detail, sizeof(v->detail), "still live when Halt ended (the "
				 "miniport's MiniportHaltEx, or a Linux driver's remove: the device "
				 "unbound)");
	}
}

/* --- DMA ------------------------------------------------------------------------ */

static int first_node(struct inode *n, void *p)
{
	*(struct inode **)p = n;
	return 1;
}

/*
 * Wild bytes that start right where a live extent ends are an overrun of
 * that extent (or of pages wrongly taken as contiguous): say whose.
 */
static void name_overrun(struct replay *r, struct dc_violation *v, uint64_t a)
{
	struct inode *n = NULL;
	const struct region *g;
	size_t len;

	if (!a)
		return;
	space_overlaps(&r->space, SP_BUS, a - 1, a, first_node, &n);
	if (!n)
		space_overlaps(&r->space, SP_PHYS, a - 1, a, first_node, &n);
	if (!n || n->end != a)
		return;
	g = n->owner;
	len = strlen(v->detail);
	snprintf(v->detail + len, sizeof(v->detail) - len,
		 ", directly after the end of %s id %u's extent 0x%llx+%llu (%u extent%s)",
		 tn_api_name(g->info.api), g->info.id, (unsigned long long)n->start,
		 (unsigned long long)(n->end - n->start), g->info.n_extents,
		 g->info.n_extents == 1 ? "" : "s");
}

static struct dc_violation *dma_violation_key(struct replay *r, enum tn_rule rule,
					      const struct tn_rec *t, const struct region *g,
					      uint64_t a, uint64_t n, uint64_t key);

/*
 * The @n bytes from @a (n >= 1) broke @rule.  Their last byte may lie past
 * 2^64 (a DMA at the top of the address space): it is printed as a 65-bit
 * number.
 */
static struct dc_violation *dma_violation(struct replay *r, enum tn_rule rule,
					  const struct tn_rec *t, const struct region *g,
					  uint64_t a, uint64_t n)
{
	uint64_t key = g && g->info.summarised ? 1ull << 56 | t->kind :
		       g ? (uint64_t)g->info.id << 8 | t->kind : (a >> 12) << 8 | t->kind;

	return dma_violation_key(r, rule, t, g, a, n, key);
}

/* dma_violation() merging its repeats under @key (below bit 58: violation() adds the rule). */
static struct dc_violation *dma_violation_key(struct replay *r, enum tn_rule rule,
					      const struct tn_rec *t, const struct region *g,
					      uint64_t a, uint64_t n, uint64_t key)
{
	struct dc_violation *v = violation(r, rule, key);
	uint64_t last = a + (n - 1);	/* mod 2^64: below @a when it lies past 2^64 */
	char end[24];

	if (!v)
		return NULL;
	set_region(v, g);
	v->has_dma = true;
	v->dma.cause = t->kind;
	v->dma.ring = t->u.dma.ring;
	v->dma.dev = tn_rec_dev(t);
	v->dma.write = t->type == TN_REC_DMA_WRITE ||
		       (t->type == TN_REC_DMA_FAILED && t->u.dma.write);
	v->dma.failed = t->type == TN_REC_DMA_FAILED;
	v->dma.desc = t->idx;
	v->dma.addr = t->u.dma.addr;
	v->dma.len = t->u.dma.len;
	if (last < a)
		snprintf(end, sizeof(end), "0x1%016llx", (unsigned long long)last);
	else
		snprintf(end, sizeof(end), "0x%llx", (unsigned long long)last);
	snprintf(v->detail, sizeof(v->detail), "bytes 0x%llx-%s%s%s", (unsigned long long)a, end,
		 last < a || last == UINT64_MAX ? " (the top of the 64-bit address space, "
		 "where no extent reaches)" : "",
		 v->dma.failed ? " (the access failed: an IOMMU or the bus blocked it)" : "");
	if (rule == TN_RULE_WILD_DMA)
		name_overrun(r, v, a);
	return v;
}

/*
 * dma-direction (dma-debug: "device driver syncs/maps with wrong direction"):
 * a mapping is made for one direction, and the device may only write into a
 * from-device mapping and only read a to-device one; bidirectional takes
 * both, and allocations have no direction.  An access an IOMMU blocked
 * (a DMA_FAILED write into a read-only to-device mapping is what intel-iommu
 * does with one) is the same mistake and is reported too.
 */
static void check_direction(struct replay *r, const struct tn_rec *t, const struct region *g,
			    uint64_t a, uint64_t n)
{
	bool write = t->type == TN_REC_DMA_WRITE ||
		     (t->type == TN_REC_DMA_FAILED && t->u.dma.write);
	unsigned want = write ? TN_DIR_FROM_DEVICE : TN_DIR_TO_DEVICE;
	struct dc_violation *v;

	if (!g || !g->is_map || g->info.flags == TN_DIR_BIDIRECTIONAL || g->info.flags == want)
		return;
	v = dma_violation(r, TN_RULE_DMA_DIRECTION, t, g, a, n);
	if (v)
		snprintf(v->detail, sizeof(v->detail), "the device %s bytes 0x%llx-0x%llx of a "
			 "mapping the driver made %s (%s)", write ? "wrote" : "read",
			 (unsigned long long)a, (unsigned long long)(a + n - 1),
			 tn_dir_name(g->info.flags), tn_cause_name(t->kind));
}

/* --stats: @bytes of this DMA landed in @g (NULL: in no live device-visible region). */
static void count_dma(struct replay *r, const struct tn_rec *t, struct region *g, uint64_t bytes)
{
	unsigned cause = t->kind <= TN_CAUSE_MAX ? t->kind : 0;

	if (t->type == TN_REC_DMA_FAILED || !bytes)
		return;
	r->res->stats.bytes[g && g->info.api <= TN_API_MAX ? g->info.api : 0][cause] += bytes;
	if (g)
		g->dma[cause] += bytes;
}

struct dma_ctx {
	struct replay *r;
	const struct tn_rec *t;
	uint64_t covered;	/* bytes in live device-visible regions (--stats) */
	uint64_t top;		/* bytes from 2^64 - 1 on, not yet reported */
};

/*
 * A DMA range is classified byte by byte (space_classify), in this order:
 * covered by a live device-visible extent (fine); else freed and not covered
 * since (dma-after-free); else covered by a live CPU-only extent
 * (dma-non-dma-memory); else wild-dma.  Freed bytes come before CPU-only ones
 * because a per-packet mapping of pool memory leaves the pool allocation
 * live after its UNMAP: DMA there is after the unmap.
 *
 * The last byte of the address space, 2^64 - 1, and the bytes past 2^64 of a
 * range that runs over the top are wild: the device rejects an extent whose
 * end does not fit in 64 bits (so none holds that byte) and no memory lies
 * past it.  They join the wild run just below them, if any, as one report.
 */
static void dma_class(void *p, unsigned cls, struct inode *n, uint64_t a, uint64_t b)
{
	static const enum tn_rule rule[] = {
		[SP_FREED] = TN_RULE_DMA_AFTER_FREE, [SP_PHYS] = TN_RULE_DMA_NON_DMA_MEMORY,
		[SP_WILD] = TN_RULE_WILD_DMA,
	};
	struct dma_ctx *c = p;
	uint64_t top = 0;

	if (cls == SP_BUS) {
		check_direction(c->r, c->t, n->owner, a, b - a);
		count_dma(c->r, c->t, n->owner, b - a);
		c->covered += b - a;
		return;
	}
	if (cls == SP_WILD && b == UINT64_MAX) {
		top = c->top;
		c->top = 0;
	}
	dma_violation(c->r, rule[cls], c->t, n ? n->owner : NULL, a, b - a + top);
}

static int first_node_owner(struct inode *n, void *p)
{
	*(struct region **)p = n->owner;
	return 1;
}

/*
 * A DMA whose bytes all lie in live device-visible memory (@hit holds the
 * first), made through a reference the device took on a region that has
 * been freed since: the device still acts on the freed allocation (a ring
 * base, a fetched descriptor's buffer), and only reuse of the memory makes
 * the access look legitimate.  dma-after-free, naming the freed region and
 * the live one hit.  A reference taken anew on the new memory (a ring
 * programmed again after the reallocation) is not stale.
 */
static void stale_ref(struct replay *r, const struct tn_rec *t, const struct region *hit,
		      uint64_t a)
{
	uint64_t id = tn_ref_id(t->id, t->u.dma.ref_hi);
	const struct ref *f;
	struct dc_violation *v;

	if (!r->stale_refs || !id || !hit)
		return;		/* the common case: no held reference outlived its region */
	f = idmap_get(&r->refs, id);
	if (!f || !f->origin_freed)
		return;
	v = dma_violation_key(r, TN_RULE_DMA_AFTER_FREE, t, NULL, a, t->u.dma.len,
			      1ull << 55 | (uint64_t)f->origin.id << 8 | t->kind);
	if (!v)
		return;
	v->has_region = true;
	v->region = f->origin;
	v->has_hit = true;
	v->hit = hit->info;
	snprintf(v->detail, sizeof(v->detail), "through %s reference %llu (%s ring descriptor "
		 "%u, taken at %llu ns on this region, which was freed since): the bytes "
		 "0x%llx-0x%llx now belong to %s id %u, allocated at %llu ns",
		 tn_ref_kind_name(f->info.kind), (unsigned long long)f->info.id,
		 tn_ring_name(f->info.ring), f->info.idx, (unsigned long long)f->info.taken_ns,
		 (unsigned long long)a, (unsigned long long)(a + t->u.dma.len - 1),
		 tn_api_name(hit->info.api), hit->info.id, (unsigned long long)hit->info.alloc_ns);
}

static void on_dma(struct replay *r, const struct tn_rec *t)
{
	uint64_t a = t->u.dma.addr, b = a + t->u.dma.len;
	struct region *g;

	r->res->stats.dma_records++;
	r->res->stats.dma_by_cause[t->kind <= TN_CAUSE_MAX ? t->kind : 0]++;
	if (t->type != TN_REC_DMA_FAILED)
		r->dma_bytes += t->u.dma.len;
	if (t->type == TN_REC_DMA_FAILED) {
		r->res->stats.failed_dma++;
		if (t->u.dma.reason == TN_DMA_FAIL_BUS_MASTER)
			return;		/* never issued */
	}
	if (!t->u.dma.len)
		return;
	/*
	 * map-error-unchecked (dma-debug: "device driver failed to check map
	 * error"): the one address no mapping ever has.  It needs no ledger.
	 */
	if (a == TN_DMA_MAPPING_ERROR) {
		dma_violation(r, TN_RULE_MAP_ERROR_UNCHECKED, t, NULL, a, t->u.dma.len);
		return;
	}
	/*
	 * Until something reports through the ledger nothing says what the
	 * driver allocated: classifying this DMA would call it wild.  Counted,
	 * and the report says it was not judged (docs/rules.md, "No ledger").
	 */
	if (!r->res->ledger_seen) {
		r->res->unjudged_dma++;
		/*
		 * One question needs no ledger: did the access reach guest memory?
		 * A DMA the bus or an IOMMU rejected did not (bus mastering off was
		 * never issued, above).
		 */
		if (t->type == TN_REC_DMA_FAILED)
			dma_violation(r, TN_RULE_DMA_OUTSIDE_RAM, t, NULL, a, t->u.dma.len);
		return;
	}
	if (r->pf)
		perfetto_dma(r->pf, r->now, t);
	if (t->u.dma.len > UINT64_MAX - a) {
		/* It reaches byte 2^64 - 1 or past it: classify the rest, then the top. */
		struct dma_ctx c = { r, t, 0, t->u.dma.len - (a == UINT64_MAX ? 0 : UINT64_MAX - a) };

		space_classify(&r->space, a, UINT64_MAX, dma_class, &c);
		if (c.top)
			dma_violation(r, TN_RULE_WILD_DMA, t, NULL, UINT64_MAX, c.top);
		count_dma(r, t, NULL, t->u.dma.len - c.covered);
		return;
	}
	/* Most DMA hits a region a recent one hit (the ring, the current buffer). */
	g = space_find_bus(&r->space, a, b);
	if (g) {
		check_direction(r, t, g, a, t->u.dma.len);
		count_dma(r, t, g, t->u.dma.len);
	} else {
		struct dma_ctx c = { r, t, 0, 0 };

		space_classify(&r->space, a, b, dma_class, &c);
		count_dma(r, t, NULL, t->u.dma.len - c.covered);
		if (c.covered != t->u.dma.len)
			return;		/* freed or wild bytes: reported by the bytes */
		space_overlaps(&r->space, SP_BUS, a, a + 1, first_node_owner, &g);
	}
	stale_ref(r, t, g, a);
}

/* --stats: keep the DC_TOP_REGIONS regions with the most DMA, as they end. */
static void region_stats(struct replay *r, const struct region *g)
{
	struct dc_stats *st = &r->res->stats;
	struct dc_region_stat *slot = NULL;
	uint64_t total = 0;
	unsigned i;

	for (i = 0; i <= TN_CAUSE_MAX; i++)
		total += g->dma[i];
	if (!total)
		return;
	st->regions_with_dma++;
	/* Most regions (every per-packet buffer) do not make a full list: one compare. */
	if (st->n_top == DC_TOP_REGIONS && total <= r->top_floor)
		return;
	if (st->n_top < DC_TOP_REGIONS) {
		slot = &st->top[st->n_top++];
	} else {
		for (i = 0; i < DC_TOP_REGIONS; i++)
			if (!slot || st->top[i].total < slot->total)
				slot = &st->top[i];
	}
	slot->info = g->info;
	slot->total = total;
	memcpy(slot->bytes, g->dma, sizeof(slot->bytes));
	if (st->n_top == DC_TOP_REGIONS) {
		r->top_floor = st->top[0].total;
		for (i = 1; i < DC_TOP_REGIONS; i++)
			if (st->top[i].total < r->top_floor)
				r->top_floor = st->top[i].total;
	}
}

/* --- references and device state -------------------------------------------------- */

static void ref_forget(struct replay *r, struct ref *f)
{
	r->stale_refs -= f->origin_freed;
	idmap_del(&r->refs, f->info.id);
	itree_remove(&r->ref_tree, &f->node);
	slab_free(&r->ref_slab, f);
}

/* A reference the device writes through: a receive ring's buffer, not the ring itself. */
static bool writes_through(const struct dc_ref_info *f)
{
	return f->kind != TN_REF_RING && tn_ring_is_rx(f->ring);
}

struct twice_scan {
	struct replay *r;
	const struct ref *f;	/* the reference just taken */
};

/*
 * posted-twice: the device holds buffers of two receive descriptors that
 * overlap, so two frames can land in the same bytes (a refill that reused a
 * buffer the device still owns).  Found when the second reference is taken;
 * one report per pair of descriptors.
 */
static int twice_visit(struct inode *n, void *p)
{
	struct twice_scan *c = p;
	const struct dc_ref_info *a = &((const struct ref *)n->owner)->info, *b = &c->f->info;
	uint64_t lo = a->addr > b->addr ? a->addr : b->addr;
	uint64_t hi = n->end < c->f->node.end ? n->end : c->f->node.end;
	struct dc_violation *v;

	if (n == &c->f->node || !writes_through(a) || a->unobserved ||
	    (a->dev == b->dev && a->ring == b->ring && a->idx == b->idx))
		return 0;
	v = violation(c->r, TN_RULE_POSTED_TWICE,
		      1ull << 57 | (uint64_t)b->dev << 36 | (uint64_t)(a->ring & 3) << 34 |
		      (uint64_t)a->idx << 18 | (uint64_t)(b->ring & 3) << 16 | b->idx);
	if (v)
		snprintf(v->detail, sizeof(v->detail), "%s ring descriptor %u's %s "
			 "0x%llx+%u (reference %llu) and %s ring descriptor %u's 0x%llx+%u (reference "
			 "%llu, taken at %llu ns) share %llu bytes from 0x%llx", tn_ring_name(b->ring),
			 b->idx, tn_ref_kind_name(b->kind), (unsigned long long)b->addr, b->len,
			 (unsigned long long)b->id, tn_ring_name(a->ring), a->idx,
			 (unsigned long long)a->addr, a->len, (unsigned long long)a->id,
			 (unsigned long long)a->taken_ns, (unsigned long long)(hi - lo),
			 (unsigned long long)lo);
	return 0;
}

static void on_ref(struct replay *r, const struct tn_rec *t)
{
	uint64_t id = tn_ref_id(t->id, t->u.ref.id_hi);
	struct ref *f;

	if (t->type == TN_REC_REF_DROP) {
		r->res->stats.refs_dropped++;
		f = idmap_get(&r->refs, id);
		if (!f)
			return;
		if (t->u.ref.drained) {
			f->info.unobserved = true;	/* held until the driver looks */
			f->info.drained_ns = r->now;
		}
		else
			ref_forget(r, f);
		return;
	}
	r->res->stats.refs_taken++;
	if (!t->u.ref.len || !id || idmap_get(&r->refs, id))
		return;		/* empty, id 0 or a duplicate id: nothing the id map can hold */
	f = slab_alloc(&r->ref_slab);
	if (!f || idmap_put(&r->refs, id, f)) {
		slab_free(&r->ref_slab, f);
		r->oom = true;
		return;
	}
	f->info.id = id;
	f->info.kind = t->kind;
	f->info.ring = t->u.ref.ring;
	f->info.dev = tn_rec_dev(t);
	f->info.idx = t->idx;
	f->info.addr = t->u.ref.addr;
	f->info.len = t->u.ref.len;
	f->info.taken_ns = r->now;
	f->info.drained_ns = 0;
	f->info.unobserved = false;
	f->node.start = t->u.ref.addr;
	f->node.end = t->u.ref.addr + t->u.ref.len < t->u.ref.addr ? UINT64_MAX
								  : t->u.ref.addr + t->u.ref.len;
	f->node.owner = f;
	f->node.kind = 0;
	f->has_origin = f->origin_freed = false;
	if (r->res->ledger_seen) {
		struct region *g = NULL;

		space_overlaps(&r->space, SP_BUS, f->node.start, f->node.start + 1,
			       first_node_owner, &g);
		if (g) {
			f->has_origin = true;
			f->origin_serial = g->serial;
			f->origin = g->info;
		}
	}
	itree_insert(&r->ref_tree, &f->node);
	if (writes_through(&f->info)) {
		struct twice_scan c = { r, f };

		itree_overlaps(&r->ref_tree, 0, f->node.start, f->node.end, twice_visit, &c);
	}
}

/* Held references in report order: by device, ring, the ring's own first, descriptor. */
static int held_order(const void *pa, const void *pb)
{
	const struct dc_ref_info *a = *(const struct dc_ref_info *const *)pa;
	const struct dc_ref_info *b = *(const struct dc_ref_info *const *)pb;
	int ka = a->kind != TN_REF_RING, kb = b->kind != TN_REF_RING;

	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ring != b->ring)
		return a->ring < b->ring ? -1 : 1;
	if (ka != kb)
		return ka - kb;
	if (a->idx != b->idx)
		return a->idx < b->idx ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * The trace ended with references the device never dropped.  With a ledger,
 * the memory behind them is judged by leak and free-not-quiesced; without
 * one this is what says the device kept memory it was given.  One violation
 * per device and ring, listing the references.  A reference dropped by a
 * drain the driver never observed is dropped for the device's part.
 */
static void refs_held_at_end(struct replay *r)
{
	struct dc_result *res = r->res;
	const struct dc_ref_info **held;
	size_t pos = 0, n = 0, i;
	uint64_t id;
	struct ref *f;

	while ((f = idmap_next(&r->refs, &pos, &id)))
		n += !f->info.unobserved;
	res->stats.refs_held_at_end = n;
	if (!n || res->ledger_seen)
		return;
	held = malloc(n * sizeof(*held));
	if (!held) {
		r->oom = true;
		return;
	}
	pos = 0;
	n = 0;
	while ((f = idmap_next(&r->refs, &pos, &id)))
		if (!f->info.unobserved)
			held[n++] = &f->info;
	qsort(held, n, sizeof(*held), held_order);
	for (i = 0; i < n; i++) {
		uint64_t key = 1ull << 40 | (uint64_t)held[i]->dev << 8 | held[i]->ring;
		struct dc_violation *v = violation(r, TN_RULE_REF_HELD_AT_END, key);

		if (v) {
			v->has_device = true;
			v->device.at_end = true;
		} else {
			v = seen_find(r, key | (uint64_t)TN_RULE_REF_HELD_AT_END << 58);
		}
		if (!v)
			continue;
		if (v->device.n_refs < DC_MAX_REFS_SHOWN)
			v->device.refs[v->device.n_refs] = *held[i];
		v->device.n_refs++;
	}
	free(held);
	/* Each report says how much its ring held (res->v may have moved: index it). */
	for (i = 0; i < res->nv; i++) {
		struct dc_violation *v = &res->v[i];
		const struct dc_ref_info *f = &v->device.refs[0];

		if (v->rule != TN_RULE_REF_HELD_AT_END)
			continue;
		snprintf(v->detail, sizeof(v->detail), "%u reference%s on the %s ring%s%s",
			 v->device.n_refs, v->device.n_refs == 1 ? "" : "s", tn_ring_name(f->ring),
			 res->n_announced ? " of " : "",
			 res->n_announced ? res->devices[f->dev].name : "");
	}
}

/* The driver saw device @dev's drain end: the references it dropped are really gone. */
static void on_quiesced_seen(struct replay *r, unsigned dev, unsigned ring)
{
	size_t pos = 0;
	uint64_t id;
	struct ref *f;

	while ((f = idmap_next(&r->refs, &pos, &id))) {
		if (f->info.unobserved && f->info.dev == dev &&
		    (ring == TN_RING_ID_NONE || f->info.ring == ring)) {
			ref_forget(r, f);
			pos--;	/* deletion shifts a later entry into this slot */
		}
	}
}

static void on_state(struct replay *r, const struct tn_rec *t)
{
	struct device *d = &r->dev[tn_rec_dev(t)];
	unsigned ring = t->idx, k;
	uint64_t bytes;

	switch (t->kind) {
	case TN_ST_RING_ENABLE:
		if (ring >= TN_RING_IDS)
			break;
		/* value = base, value2 = descriptors of TN_ST_RING_DESC_BYTES */
		bytes = t->u.state.value2 > UINT64_MAX / TN_ST_RING_DESC_BYTES ? UINT64_MAX :
			t->u.state.value2 * TN_ST_RING_DESC_BYTES;
		d->ring[ring].active = true;
		d->ring[ring].base = t->u.state.value;
		d->ring[ring].end = t->u.state.value + bytes < t->u.state.value ? UINT64_MAX
										 : t->u.state.value + bytes;
		break;
	case TN_ST_RING_IDLE:
		if (ring < TN_RING_IDS)
			d->ring[ring].active = false;
		break;
	case TN_ST_RESET_DONE:
		for (k = 0; k < TN_RING_IDS; k++)
			d->ring[k].active = false;
		break;
	case TN_ST_QUIESCED:
		d->quiesced = t->u.state.value != 0;
		break;
	case TN_ST_TRACE_OPEN:
		/*
		 * value = the device's status word: tracenic's STATUS says which rings
		 * run (their bases are unknown until their next enable); another
		 * device's word means nothing here.
		 */
		if (!d->tracenic)
			break;
		d->quiesced = t->u.state.value & TN_STATUS_QUIESCED;
		d->ring[TN_RING_ID_TX].active = t->u.state.value & TN_STATUS_TX_ACTIVE;
		d->ring[TN_RING_ID_RX].active = t->u.state.value & TN_STATUS_RX_ACTIVE;
		break;
	case TN_ST_QUIESCED_SEEN:
		on_quiesced_seen(r, tn_rec_dev(t), t->idx);
		break;
	}
}

/*
 * A device joins the trace.  It must announce itself before its first record
 * and only once, with its own number in idx and in its dev byte.
 */
static int on_device(struct replay *r, const struct tn_rec *t, size_t off, char *err,
		     size_t errlen)
{
	struct dc_device *named = &r->res->devices[t->idx <= TN_REC_DEV_MAX ? t->idx : 0];
	char type[sizeof(t->u.device.type) + 1];
	size_t k;

	if (t->idx != tn_rec_dev(t) || named->announced || r->dev[t->idx].wrote) {
		snprintf(err, errlen, "offset %zu: DEVICE record %llu announces device %u %s; the "
			 "trace is corrupt", off, (unsigned long long)r->index, t->idx,
			 t->idx != tn_rec_dev(t) ? "but carries another device number" :
			 named->announced ? "a second time" :
			 "after that device already wrote records");
		return -1;
	}
	for (k = 0; k < sizeof(t->u.device.type) && t->u.device.type[k]; k++)
		type[k] = dc_name_char(t->u.device.type[k]);
	type[k] = 0;
	named->announced = true;
	snprintf(named->name, sizeof(named->name), "%.24s %02x:%02x.%x (device %u)",
		 type[0] ? type : "?", t->u.device.pci_bus, t->u.device.pci_devfn >> 3,
		 t->u.device.pci_devfn & 7, t->idx);
	r->res->n_announced++;
	r->dev[t->idx].quiesced = true;
	r->dev[t->idx].tracenic = t->u.device.pci_vendor == TN_PCI_VENDOR_ID &&
				  t->u.device.pci_device == TN_PCI_DEVICE_ID;
	return 0;
}

/* --- driver ----------------------------------------------------------------------------- */

int dc_check_header(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	const struct tn_trace_header *h = (const void *)data;

	if (len < TN_TRACE_HEADER_SIZE) {
		snprintf(err, errlen, "offset 0: the file has %zu bytes, fewer than the %d-byte "
			 "trace header; it is not a complete tracenic trace", len,
			 TN_TRACE_HEADER_SIZE);
		return -1;
	}
	if (memcmp(h->magic, TN_TRACE_MAGIC, TN_TRACE_MAGIC_LEN)) {
		snprintf(err, errlen, "offset 0: the magic is not \"TRACENIC\"; this is not a "
			 "tracenic trace");
		return -1;
	}
	if (h->version != TN_TRACE_VERSION) {
		snprintf(err, errlen, "offset 8: trace format version %u; this dmacheck reads "
			 "version %d only: use the dmacheck built with the QEMU that wrote it",
			 h->version, TN_TRACE_VERSION);
		return -1;
	}
	if (h->header_size != TN_TRACE_HEADER_SIZE || h->record_size != TN_TRACE_REC_SIZE) {
		snprintf(err, errlen, "offset 10: header size %u / record size %u, expected %d / %d; "
			 "the header is corrupt", h->header_size, h->record_size,
			 TN_TRACE_HEADER_SIZE, TN_TRACE_REC_SIZE);
		return -1;
	}
	return 0;
}

static void replay_free(struct replay *r)
{
	size_t pos = 0;
	uint64_t id;
	void *p;

	while ((p = idmap_next(&r->regions, &pos, &id)))
		region_release(r, p);
	pos = 0;
	while ((p = idmap_next(&r->refs, &pos, &id)))
		slab_free(&r->ref_slab, p);
	space_free_all(&r->space);	/* releases the regions only freed pieces still name */
	slab_destroy(&r->region_slab);
	slab_destroy(&r->ref_slab);
	idmap_free(&r->regions);
	idmap_free(&r->freed_ids);
	pos = 0;
	while ((p = idmap_next(&r->orphans, &pos, &id)))
		free(p);
	idmap_free(&r->orphans);
	idmap_free(&r->refs);
	free(r->seen);
	free(r->fifo);
}

static int by_total_desc(const void *a, const void *b)
{
	const struct dc_region_stat *x = a, *y = b;

	return x->total < y->total ? 1 : x->total > y->total ? -1 : 0;
}

/* Regions still live at the end count for --stats (and the Perfetto timeline). */
static void finish_live_regions(struct replay *r)
{
	size_t pos = 0;
	uint64_t id;
	struct region *g;

	while ((g = idmap_next(&r->regions, &pos, &id))) {
		region_stats(r, g);
		if (r->pf)
			perfetto_region_open(r->pf, &g->info, r->now);
	}
	qsort(r->res->stats.top, r->res->stats.n_top, sizeof(r->res->stats.top[0]), by_total_desc);
}

struct dc_replay *dc_open(const struct dc_options *opt, const struct tn_trace_header *h,
			  struct dc_result *res)
{
	struct replay *r = calloc(1, sizeof(*r));

	memset(res, 0, sizeof(*res));
	if (!r)
		return NULL;
	res->trace_flags = h->flags;
	r->res = res;
	r->opt = opt;
	r->ndev = 1;
	for (unsigned d = 0; d <= TN_REC_DEV_MAX; d++)	/* until a DEVICE record names it */
		snprintf(res->devices[d].name, sizeof(res->devices[d].name), "device %u", d);
	r->dev[0].quiesced = true;
	r->dev[0].tracenic = h->pci_vendor == TN_PCI_VENDOR_ID && h->pci_device == TN_PCI_DEVICE_ID;
	space_init(&r->space, &piece_ops, r);
	r->max_freed = opt && opt->max_freed_regions ? opt->max_freed_regions
						     : DC_MAX_FREED_REGIONS;
	res->max_freed_regions = r->max_freed;
	r->summary.info.summarised = true;
	r->summary.info.freed = true;
	r->region_slab.size = sizeof(struct region);
	r->ref_slab.size = sizeof(struct ref);
	if (opt && opt->perfetto)
		r->pf = perfetto_open(opt->perfetto, opt->perfetto_dma_max);
	return (struct dc_replay *)r;
}

/*
 * END's totals against what was read.  When nothing was lost they are equal;
 * when records were dropped at the size cap the totals also cover records
 * that are not in the file, so they can only be larger.  Anything else means
 * the file is not what the device wrote.  An END of kind WRITE_ERROR is
 * written the moment writing fails, before the totals are known: they are 0
 * there (docs/trace-format.md) and not compared.
 */
static bool end_totals_differ(struct replay *r, const struct tn_rec *t, size_t off, char *err,
			      size_t errlen)
{
	const struct dc_result *res = r->res;
	bool lost = t->u.end.dropped || res->truncated || res->write_error;
	uint64_t bytes = t->u.end.dma_bytes, vio = t->u.end.violations;
	uint64_t read_vio = res->stats.device_violations;

	if (t->kind == TN_END_WRITE_ERROR)
		return false;
	if (lost ? bytes >= r->dma_bytes && vio >= read_vio :
		   bytes == r->dma_bytes && vio == read_vio)
		return false;
	snprintf(err, errlen, "offset %zu: the END record counts %llu bytes of DMA and %llu "
		 "online violations, but the records before it hold %llu and %llu%s; the trace "
		 "is corrupt or was edited", off, (unsigned long long)bytes,
		 (unsigned long long)vio, (unsigned long long)r->dma_bytes,
		 (unsigned long long)read_vio, lost ? " (records were dropped, so END may count "
		 "more, never fewer)" : "");
	return true;
}

static int replay_record(struct replay *r, const struct tn_rec *t, char *err, size_t errlen)
{
	struct dc_result *res = r->res;
	size_t off = TN_TRACE_HEADER_SIZE + r->index * TN_TRACE_REC_SIZE;

	if (t->time_ns < r->now) {
		snprintf(err, errlen, "offset %zu: record %llu goes back in time (%llu ns after "
			 "%llu ns); the trace is corrupt", off, (unsigned long long)r->index,
			 (unsigned long long)t->time_ns, (unsigned long long)r->now);
		return -1;
	}
	if (res->complete) {
		snprintf(err, errlen, "offset %zu: record %llu follows the END record; the "
			 "trace is corrupt", off, (unsigned long long)r->index);
		return -1;
	}
	r->now = t->time_ns;
	if (r->opt && r->opt->dump)
		dc_dump_record(r->opt->dump, r->index, t);
	if (t->type == TN_REC_DEVICE)
		return on_device(r, t, off, err, errlen);
	if ((t->type >= TN_REC_ALLOC && t->type <= TN_REC_MARK) ||
	    t->type == TN_REC_LEDGER_ERROR)
		res->ledger_seen = true;
	if (!r->dev[tn_rec_dev(t)].wrote) {
		r->dev[tn_rec_dev(t)].wrote = true;
		if (tn_rec_dev(t) >= r->ndev)
			r->ndev = tn_rec_dev(t) + 1;
	}
	switch (t->type) {
	case TN_REC_DMA_READ:
	case TN_REC_DMA_WRITE:
	case TN_REC_DMA_FAILED:
		on_dma(r, t);
		break;
	case TN_REC_ALLOC:
		res->stats.ledger_records++;
		on_alloc_or_map(r, t, false);
		break;
	case TN_REC_MAP:
		res->stats.ledger_records++;
		on_alloc_or_map(r, t, true);
		break;
	case TN_REC_EXTENT:
		res->stats.ledger_records++;
		on_extent(r, t);
		break;
	case TN_REC_FREE:
		res->stats.ledger_records++;
		on_free(r, t);
		break;
	case TN_REC_UNMAP:
		res->stats.ledger_records++;
		on_unmap(r, t);
		break;
	case TN_REC_MARK:
		res->stats.ledger_records++;
		if (t->kind == TN_MARK_HALT_END)
			on_halt_end(r);
		break;
	case TN_REC_REF_TAKE:
	case TN_REC_REF_DROP:
		on_ref(r, t);
		break;
	case TN_REC_STATE:
		on_state(r, t);
		break;
	case TN_REC_VIOLATION:
		res->stats.device_violations++;
		break;
	case TN_REC_TRUNCATED:
		res->truncated = true;
		break;
	case TN_REC_WRITE_ERROR:
		res->write_error = true;
		break;
	case TN_REC_END:
		res->complete = true;
		res->end_dropped = t->u.end.dropped;
		if (t->u.end.records != r->index) {
			uint64_t n = t->u.end.records, d = n > r->index ? n - r->index : r->index - n;

			snprintf(err, errlen, "offset %zu: the END record counts %llu records but "
				 "%llu precede it; %llu %s", off, (unsigned long long)n,
				 (unsigned long long)r->index, (unsigned long long)d, n > r->index ?
				 "records were lost from the file" :
				 "more than it counts: the trace is corrupt");
			return -1;
		}
		if (end_totals_differ(r, t, off, err, errlen))
			return -1;
		/*
		 * END's counts say records were lost even when the record that says
		 * where (TRUNCATED, WRITE_ERROR) is missing: never clean.
		 */
		if (t->kind == TN_END_WRITE_ERROR && !res->write_error) {
			res->write_error = true;
			r->end_only = true;
		} else if (t->u.end.dropped && !res->truncated && !res->write_error) {
			res->truncated = true;
			r->end_only = true;
		}
		break;
	case TN_REC_ICOUNT:
		r->has_icount = true;
		r->icount = t->u.icount.count;
		break;
	case TN_REC_IRQ:
	case TN_REC_LEDGER_ERROR:
		break;
	default:
		snprintf(err, errlen, "offset %zu: record %llu has unknown type %u; the trace is "
			 "corrupt or newer than this dmacheck", off, (unsigned long long)r->index,
			 t->type);
		return -1;
	}
	return 0;
}

/*
 * DMA spread over a large live set misses the CPU caches twice: the lookup
 * cache's set, then the region's counters.  Start both loads some records
 * ahead (the set first, then, once it has arrived, the region it names), so
 * the replay does not wait for memory.  A new mapping's id misses once more,
 * in the id map, where a new id lands at random, and so may the delete of
 * an id: start those loads early too.
 * Only hints: nothing is changed.
 */
#define AHEAD_SET 16
#define AHEAD_REGION 6

static bool is_dma(const struct tn_rec *t)
{
	return t->type >= TN_REC_DMA_READ && t->type <= TN_REC_DMA_FAILED;
}

int dc_feed(struct dc_replay *dr, const struct tn_rec *rec, size_t n, char *err, size_t errlen)
{
	struct replay *r = (struct replay *)dr;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct tn_rec *t;
		const char *g;

		/* In line: GCC deletes calls to a function that only prefetches. */
		if (i + AHEAD_SET < n) {
			t = &rec[i + AHEAD_SET];
			if (is_dma(t))
				dcache_prefetch(&r->space.cache, t->u.dma.addr);
			else if (t->type >= TN_REC_ALLOC && t->type <= TN_REC_UNMAP)
				idmap_prefetch(&r->regions, t->id);
		}
		if (i + AHEAD_REGION < n && is_dma(t = &rec[i + AHEAD_REGION]) &&
		    (g = dcache_peek(&r->space.cache, t->u.dma.addr, t->u.dma.addr + t->u.dma.len))) {
			BIG_PREFETCH(g);
			BIG_PREFETCH(g + 63);
		}
		if (replay_record(r, &rec[i], err, errlen))
			return -1;
		r->index++;
		if (r->oom) {
			snprintf(err, errlen, "out of memory at record %llu",
				 (unsigned long long)r->index);
			return -1;
		}
	}
	return 0;
}

int dc_finish(struct dc_replay *dr, size_t partial_tail, bool failed)
{
	struct replay *r = (struct replay *)dr;
	struct dc_result *res = r->res;
	bool oom;

	res->records = r->index;
	res->last_time_ns = r->now;
	res->partial_tail = partial_tail;
	if (!failed) {
		/* Paused at the device's first violation, then killed: it ends at the stop. */
		res->stopped = !res->complete && !partial_tail && r->opt &&
			       r->opt->stopped_on_violation && (res->trace_flags & TN_TRACE_F_STOP) &&
			       res->stats.device_violations;
		if ((!res->complete && !res->stopped) || partial_tail) {
			struct dc_violation *v = violation(r, TN_RULE_TRACE_INCOMPLETE, 0);

			if (v)
				snprintf(v->detail, sizeof(v->detail), "%s%llu whole records checked",
					 partial_tail ? "the last record is cut short; " : "",
					 (unsigned long long)r->index);
		}
		if (res->truncated) {
			struct dc_violation *v = violation(r, TN_RULE_TRACE_TRUNCATED, 0);

			if (v && r->end_only)
				snprintf(v->detail, sizeof(v->detail), "the END record counts %llu "
					 "dropped records, but no TRUNCATED or WRITE_ERROR record "
					 "says where they were lost", (unsigned long long)res->end_dropped);
			else if (v)
				snprintf(v->detail, sizeof(v->detail), "%llu records were dropped at the "
					 "size cap; raise trace-max-bytes",
					 (unsigned long long)res->end_dropped);
		}
		if (res->write_error) {
			struct dc_violation *v = violation(r, TN_RULE_TRACE_WRITE_ERROR, 0);

			if (v && r->end_only)
				snprintf(v->detail, sizeof(v->detail), "the END record says writing "
					 "failed (reason write-error, %llu records lost), but no "
					 "WRITE_ERROR record says where", (unsigned long long)res->end_dropped);
			else if (v)
				snprintf(v->detail, sizeof(v->detail), "%llu records were lost; the "
					 "verdict covers only what was written",
					 (unsigned long long)res->end_dropped);
		}
		finish_live_regions(r);
		/* Only a whole trace says what was held at its end. */
		if (res->complete && !res->truncated && !res->write_error)
			refs_held_at_end(r);
	}
	if (r->pf)
		perfetto_close(r->pf);
	res->stats.freed_pieces = r->space.n_freed;
	res->stats.freed_regions_kept = r->detailed;
	oom = r->oom;
	replay_free(r);
	free(r);
	return failed || oom ? -1 : 0;
}

int dc_replay(const uint8_t *data, size_t len, const struct dc_options *opt,
	      struct dc_result *res, char *err, size_t errlen)
{
	struct dc_replay *r;
	size_t n;
	int ret;

	memset(res, 0, sizeof(*res));
	if (dc_check_header(data, len, err, errlen))
		return -1;
	r = dc_open(opt, (const void *)data, res);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = (len - TN_TRACE_HEADER_SIZE) / TN_TRACE_REC_SIZE;
	res->bytes = len;
	ret = dc_feed(r, (const void *)(data + TN_TRACE_HEADER_SIZE), n, err, errlen);
	return dc_finish(r, (len - TN_TRACE_HEADER_SIZE) % TN_TRACE_REC_SIZE, ret != 0) || ret ? -1 : 0;
}

void dc_result_free(struct dc_result *res)
{
	free(res->v);
	memset(res, 0, sizeof(*res));
}
