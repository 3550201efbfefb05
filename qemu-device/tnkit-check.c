/*
 * tracenic kit: the online check (property check=on), a consumer of the
 * record stream.
 *
 * The device already sees every DMA access and every ledger event, so it can
 * flag a DMA-after-free at the instant it happens, and with on-violation=stop
 * pause the VM there for a debugger.  dmacheck's offline replay of the trace
 * remains the verdict; this is the live view of some of the same rules,
 * under the same names (tracenic/rules.h).  Its only input is the records
 * the device writes to the trace, in trace order, so a host program can run
 * it on any trace (harness/dmacheck/tests/online_agree.c runs it on
 * dmacheck's rule corpus); it knows nothing of any NIC's registers.
 *
 * Live device-visible extents and freed ones share one array sorted by start
 * address: lookups are binary searches, and the set stays small (the
 * driver's live buffers and what it freed last).  One array, with a flag,
 * because the commonest change is a per-packet buffer at a recycled address:
 * its UNMAP flips the entry to freed and the next MAP of the same bytes flips
 * it back, where two arrays moved it out of one and into the other twice per
 * packet (460 of the 860 cycles the ledger side of the check took per TX
 * frame).
 *
 * Plain C and glib, no QEMU headers: the device and the host test both
 * compile this file.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "tracenic/ledger.h"
#include "tnkit-check.h"

/* Freed extents remembered for DMA-after-free; the oldest are forgotten. */
#define TRACENIC_CHECK_FREED_MAX  65536
/* Live extents tracked; a guest reporting more turns the checks off. */
#define TRACENIC_CHECK_LIVE_MAX   (1 << 20)
/*
 * References held, drained ones included: a guest that resets over and over
 * without ever acknowledging QUIESCED must not grow them without bound.
 */
#define TRACENIC_CHECK_REFS_MAX   65536

typedef struct TNExtent {
    uint64_t start;
    uint64_t len;
    uint64_t id;        /* a region's (32 bits) or a reference's (64 bits) */
    bool freed;         /* freed (named by @id), not live */
} TNExtent;

typedef struct TNExtentSet {
    TNExtent *v;
    size_t n, cap;
    uint64_t max_len;   /* never shrinks: bounds the backward overlap scan */
} TNExtentSet;

/*
 * A reference the device holds (tnkit_check_ref).  They are few: the rings'
 * descriptor caches bound them, so a flat array scanned in full is cheaper
 * than any index, and it is what a FREE must scan anyway.
 */
typedef struct TNRef {
    TNExtent e;         /* .id is the reference's id */
    uint8_t ring;
    uint8_t dev;        /* the device holding it (tn_rec_dev()) */
    uint8_t kind;       /* TN_REF_* */
    uint16_t idx;       /* the descriptor */
    /*
     * Dropped by a drain or reset that the driver has not yet seen (STATE
     * QUIESCED_SEEN): freeing its memory still races the device, as
     * dmacheck's replay says too.
     */
    bool drained;
    /*
     * The live device-visible region the reference was taken on (0: none),
     * and whether that region has been freed since: DMA through it is then
     * dma-after-free even where its bytes are live again (tnkit_check_stale).
     */
    uint32_t origin_id;
    bool stale;
} TNRef;

/* Ring descriptor memory, from RING_ENABLE until RING_IDLE or RESET_DONE. */
typedef struct TNRingSpan {
    bool active;
    uint64_t base, end;
} TNRingSpan;

/* One extent of a live region, chained from the region's entry in @regions. */
typedef struct TNRegionExtent {
    TNExtent e;
    uint32_t next;      /* pool index + 1 of the region's next extent, or 0 */
} TNRegionExtent;

/*
 * Every packet maps, DMAs and unmaps, so the per-event work allocates
 * nothing: extents come from a pool with a free list and references live
 * in a flat array.
 */
struct TNKitCheck {
    TNExtentSet set;        /* live device-visible (TN_EXT_BUS) and freed */
    /*
     * Live CPU-physical-only extents (TN_EXT_PHYS), apart: a large one
     * would raise @set's max_len, which every DMA's lookup pays for, and
     * only a DMA that live device-visible memory does not cover looks here.
     */
    TNExtentSet phys;
    size_t n_freed;         /* entries of @set that are freed */
    GHashTable *regions;    /* id -> pool index + 1 of its first extent */
    TNRegionExtent *pool;
    uint32_t pool_cap;
    uint32_t pool_free;     /* pool index + 1 of the first free entry, or 0 */
    uint32_t pool_used;
    TNRef *refs;
    size_t n_refs, refs_cap;
    size_t n_stale;         /* references marked stale: only then a DMA looks */
    /*
     * Each device's rings' descriptor memory while the ring is active (STATE
     * RING_ENABLE until RING_IDLE or RESET_DONE; 16-byte descriptors), a
     * reference in itself, as dmacheck counts it.  Devices 0 .. n_dev - 1
     * have written STATE records.
     */
    TNRingSpan ring[TN_REC_DEV_MAX + 1][TN_RING_IDS];
    unsigned n_dev;
    uint8_t cur_dev;        /* the device of the record being judged */
    bool ledger_seen;       /* a ledger record came: DMA can be judged */
    bool suspended;
    bool freed_full_warned;
    TNKitCheckViolationFn *violation;
    TNKitCheckWarnFn *warn;
    void *opaque;
};

static size_t tnkit_set_lower(const TNExtentSet *set, uint64_t addr)
{
    size_t lo = 0, hi = set->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (set->v[mid].start < addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void tnkit_set_insert(TNExtentSet *set, const TNExtent *e)
{
    size_t i = tnkit_set_lower(set, e->start);

    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 64;
        set->v = g_renew(TNExtent, set->v, set->cap);
    }
    memmove(&set->v[i + 1], &set->v[i], (set->n - i) * sizeof(TNExtent));
    set->v[i] = *e;
    set->n++;
    set->max_len = (set->max_len > e->len ? set->max_len : e->len);
}

static void tnkit_set_remove_at(TNExtentSet *set, size_t i)
{
    memmove(&set->v[i], &set->v[i + 1], (set->n - i - 1) * sizeof(TNExtent));
    set->n--;
}

/* First index that may overlap [a, ...). */
static size_t tnkit_set_scan_start(const TNExtentSet *set, uint64_t a)
{
    size_t i = tnkit_set_lower(set, a);

    while (i > 0 && set->v[i - 1].start + set->max_len > a) {
        i--;
    }
    return i;
}

/*
 * The end of [@start, +@len), saturated at the top of the address space: a
 * range past 2^64 (a DMA of DMA_MAPPING_ERROR, say) never wraps to low
 * addresses here.  No extent can hold the top byte (the ledger refuses one
 * ending at 2^64), so losing it to saturation changes no overlap.
 */
static uint64_t tnkit_end(uint64_t start, uint64_t len)
{
    return len > UINT64_MAX - start ? UINT64_MAX : start + len;
}

static bool tnkit_overlaps(const TNExtent *e, uint64_t a, uint64_t b)
{
    return e->start < b && tnkit_end(e->start, e->len) > a;
}

static void tnkit_violation(TNKitCheck *c, enum tn_rule rule, uint32_t id,
                            uint64_t addr, uint64_t len, uint8_t cause,
                            uint8_t ring, uint64_t ref_id)
{
    struct tn_rec rec = {
        .type = TN_REC_VIOLATION,
        .kind = rule,
        .id = htole32(id),
        .u.violation.addr = htole64(addr),
        .u.violation.len = htole32(len),
        .u.violation.cause = cause,
        .u.violation.ring = ring,
        .u.violation.ref_id = htole32((uint32_t)ref_id),
        .u.violation.ref_id_hi = htole32(ref_id >> 32),
        .u.violation.dev = c->cur_dev,  /* the device of the record judged */
    };

    c->violation(c->opaque, &rec);
}

TNKitCheck *tnkit_check_new(TNKitCheckViolationFn *violation,
                            TNKitCheckWarnFn *warn, void *opaque)
{
    TNKitCheck *c = g_new0(TNKitCheck, 1);

    c->violation = violation;
    c->warn = warn;
    c->opaque = opaque;

    c->regions = g_hash_table_new(NULL, NULL);
    return c;
}

void tnkit_check_free(TNKitCheck *c)
{
    g_free(c->set.v);
    g_free(c->phys.v);
    g_hash_table_destroy(c->regions);
    g_free(c->pool);
    g_free(c->refs);
    g_free(c);
}

static uint32_t tnkit_pool_get(TNKitCheck *c, const TNExtent *e)
{
    uint32_t i;

    if (!c->pool_free) {
        uint32_t old = c->pool_cap;

        c->pool_cap = old ? old * 2 : 64;
        c->pool = g_renew(TNRegionExtent, c->pool, c->pool_cap);
        for (i = old; i < c->pool_cap; i++) {
            c->pool[i].next = i + 1 < c->pool_cap ? i + 2 : 0;
        }
        c->pool_free = old + 1;
    }
    i = c->pool_free - 1;
    c->pool_free = c->pool[i].next;
    c->pool_used++;
    c->pool[i].e = *e;
    c->pool[i].next = 0;
    return i + 1;
}

/* Bytes that become live again are no longer "freed". */
static void tnkit_forget_freed(TNKitCheck *c, uint64_t a, uint64_t b)
{
    size_t i = tnkit_set_scan_start(&c->set, a);

    while (c->n_freed && i < c->set.n && c->set.v[i].start < b) {
        TNExtent f = c->set.v[i];

        if (!f.freed || !tnkit_overlaps(&f, a, b)) {
            i++;
            continue;
        }
        tnkit_set_remove_at(&c->set, i);
        c->n_freed--;
        if (f.start < a) {
            TNExtent left = { f.start, a - f.start, f.id, true };
            tnkit_set_insert(&c->set, &left);
            c->n_freed++;
            i++;
        }
        if (f.start + f.len > b) {
            TNExtent right = { b, f.start + f.len - b, f.id, true };
            tnkit_set_insert(&c->set, &right);
            c->n_freed++;
        }
    }
}

/* The entry for [@start, +@len) that is @freed (and named @id unless 0). */
static TNExtent *tnkit_set_find(TNExtentSet *set, uint64_t start,
                                uint64_t len, bool freed, uint32_t id)
{
    size_t i;

    for (i = tnkit_set_lower(set, start);
         i < set->n && set->v[i].start == start; i++) {
        TNExtent *e = &set->v[i];

        if (e->len == len && e->freed == freed && (!id || e->id == id)) {
            return e;
        }
    }
    return NULL;
}

/* The freed-set bound: false (and a warning, once) when it is reached. */
static bool tnkit_freed_room(TNKitCheck *c)
{
    if (c->n_freed < TRACENIC_CHECK_FREED_MAX) {
        return true;
    }
    if (!c->freed_full_warned) {
        c->freed_full_warned = true;
        c->warn(c->opaque, "tracenic: the online check remembers at most "
                G_STRINGIFY(TRACENIC_CHECK_FREED_MAX) " freed extents; later "
                "frees are not tracked for DMA-after-free (dmacheck still "
                "checks them)");
    }
    return false;
}

static void tnkit_check_extent(TNKitCheck *c, uint32_t id, uint8_t kind,
                               uint64_t addr, uint32_t len)
{
    TNExtent e = { addr, len, id, false };
    uint32_t node;

    /* The ledger refuses an extent whose end does not fit in 64 bits. */
    if (c->suspended || !len || len > UINT64_MAX - addr) {
        return;
    }
    if (c->pool_used >= TRACENIC_CHECK_LIVE_MAX) {
        tnkit_check_suspend(c, "the guest reported more than 1048576 live "
                            "extents");
        return;
    }
    /* Chained in front: a FREE releases the extents newest first. */
    node = tnkit_pool_get(c, &e);
    c->pool[node - 1].next =
        GPOINTER_TO_UINT(g_hash_table_lookup(c->regions, GUINT_TO_POINTER(id)));
    g_hash_table_insert(c->regions, GUINT_TO_POINTER(id),
                        GUINT_TO_POINTER(node));
    /* CPU-only memory is never a valid DMA target (dma-non-dma-memory). */
    if (kind != TN_EXT_BUS) {
        tnkit_set_insert(&c->phys, &e);
    } else {
        TNExtent *f = tnkit_set_find(&c->set, addr, len, true, 0);

        if (f) {
            /* The same bytes freed before (a recycled buffer): live again. */
            f->freed = false;
            f->id = id;
            c->n_freed--;
        } else {
            tnkit_set_insert(&c->set, &e);
        }
    }
    tnkit_forget_freed(c, addr, addr + len);
}

static void tnkit_check_release(TNKitCheck *c, uint32_t id)
{
    gpointer key = GUINT_TO_POINTER(id);
    uint32_t node = GPOINTER_TO_UINT(g_hash_table_lookup(c->regions, key));

    /* An unknown id has nothing live to move: dmacheck reports it. */
    while (node) {
        TNRegionExtent *x = &c->pool[node - 1];
        const TNExtent *e = &x->e;
        uint32_t next = x->next;
        TNExtent *live;
        size_t j;

        bool held = false;

        for (j = 0; !c->suspended && j < c->n_refs; j++) {
            TNRef *ref = &c->refs[j];

            if (tnkit_overlaps(&ref->e, e->start,
                               tnkit_end(e->start, e->len))) {
                if (ref->origin_id == id && !ref->stale) {
                    ref->stale = true;
                    c->n_stale++;
                }
                tnkit_violation(c, TN_RULE_FREE_NOT_QUIESCED, id, ref->e.start,
                                ref->e.len, 0, ref->ring, ref->e.id);
                held = true;
            }
        }
        for (j = 0; !c->suspended && !held &&
             j < c->n_dev * TN_RING_IDS; j++) {
            const TNRingSpan *r = &c->ring[j / TN_RING_IDS][j % TN_RING_IDS];

            if (r->active && r->base < e->start + e->len &&
                r->end > e->start) {
                tnkit_violation(c, TN_RULE_FREE_NOT_QUIESCED, id, r->base,
                                r->end - r->base, 0, j % TN_RING_IDS, 0);
            }
        }
        live = tnkit_set_find(&c->phys, e->start, e->len, false, id);
        if (live) {                     /* CPU-only memory: freed below */
            tnkit_set_remove_at(&c->phys, live - c->phys.v);
            live = NULL;
        } else {
            live = tnkit_set_find(&c->set, e->start, e->len, false, id);
        }
        if (tnkit_freed_room(c)) {
            if (live) {
                live->freed = true;     /* in place: its bytes, its id */
            } else {                    /* CPU-only memory */
                TNExtent f = { e->start, e->len, id, true };

                tnkit_set_insert(&c->set, &f);
            }
            c->n_freed++;
        } else if (live) {
            tnkit_set_remove_at(&c->set, live - c->set.v);
        }
        x->next = c->pool_free;
        c->pool_free = node;
        c->pool_used--;
        node = next;
    }
    g_hash_table_remove(c->regions, key);
}

/*
 * The parts of [@a, @b) that no entry of @set accepted by @pick covers, in
 * order, into @gaps (at most @max; the rest is reported as one last gap).
 * Entries are sorted by start: each one that begins inside the covered
 * prefix extends it, and one beginning past it leaves a gap.  Returns
 * whether any picked entry overlaps [@a, @b).
 */
typedef struct TNRange {
    uint64_t a, b;
} TNRange;

static bool tnkit_uncovered(const TNExtentSet *set,
                            bool (*pick)(const TNExtent *e), uint64_t a,
                            uint64_t b, GArray *gaps)
{
    uint64_t cur = a;
    bool any = false;
    size_t i;

    for (i = tnkit_set_scan_start(set, a); i < set->n && set->v[i].start < b;
         i++) {
        const TNExtent *e = &set->v[i];
        uint64_t end = tnkit_end(e->start, e->len);

        if (!pick(e) || end <= cur) {
            continue;
        }
        any = true;
        if (e->start > cur) {
            TNRange gap = { cur, e->start };

            g_array_append_val(gaps, gap);
        }
        cur = end;
        if (cur >= b) {
            return any;
        }
    }
    if (cur < b) {
        TNRange gap = { cur, b };

        g_array_append_val(gaps, gap);
    }
    return any;
}

static bool tnkit_pick_bus(const TNExtent *e)
{
    return !e->freed;
}

static bool tnkit_pick_freed(const TNExtent *e)
{
    return e->freed;
}

static bool tnkit_pick_any(const TNExtent *e)
{
    (void)e;
    return true;
}

/* The id of the first @pick entry overlapping [@a, @b), for the report. */
static uint32_t tnkit_first_id(const TNExtentSet *set,
                               bool (*pick)(const TNExtent *e), uint64_t a,
                               uint64_t b)
{
    size_t i;

    for (i = tnkit_set_scan_start(set, a); i < set->n && set->v[i].start < b;
         i++) {
        if (pick(&set->v[i]) && tnkit_overlaps(&set->v[i], a, b)) {
            return set->v[i].id;
        }
    }
    return 0;
}

/*
 * Every byte of a DMA is classified as dmacheck does: in a live
 * device-visible extent it is fine; else in a freed one it is
 * dma-after-free; else in a live CPU-physical one dma-non-dma-memory; else
 * wild-dma.  Bytes from 2^64 - 1 on are in no extent.  The common case, a
 * DMA inside live device-visible memory, is one pass over the extents that
 * may overlap it and allocates nothing.
 */
/* True when every byte lies in live device-visible memory. */
static bool tnkit_check_dma(TNKitCheck *c, uint8_t cause, uint8_t ring,
                            uint64_t addr, uint32_t len)
{
    const TNExtentSet *set = &c->set;
    bool past_top = len > UINT64_MAX - addr;
    uint64_t b = tnkit_end(addr, len), done = addr;
    GArray *gaps, *rest;
    bool freed = false, phys = false;
    uint32_t freed_id = 0, phys_id = 0;
    size_t i;

    if (c->suspended || !len) {
        return false;
    }
    for (i = tnkit_set_scan_start(set, addr);
         i < set->n && set->v[i].start < b; i++) {
        const TNExtent *e = &set->v[i];

        if (tnkit_pick_bus(e) && e->start <= done &&
            e->start + e->len > done) {
            done = e->start + e->len;
        }
    }
    if (done >= b && !past_top) {
        return true;
    }
    gaps = g_array_new(false, false, sizeof(TNRange));
    rest = g_array_new(false, false, sizeof(TNRange));
    tnkit_uncovered(set, tnkit_pick_bus, addr, b, gaps);
    for (i = 0; i < gaps->len; i++) {
        TNRange *g = &g_array_index(gaps, TNRange, i);

        if (tnkit_uncovered(set, tnkit_pick_freed, g->a, g->b, rest) &&
            !freed) {
            freed = true;
            freed_id = tnkit_first_id(set, tnkit_pick_freed, g->a, g->b);
        }
    }
    g_array_set_size(gaps, 0);
    for (i = 0; i < rest->len; i++) {
        TNRange *g = &g_array_index(rest, TNRange, i);

        if (tnkit_uncovered(&c->phys, tnkit_pick_any, g->a, g->b, gaps) &&
            !phys) {
            phys = true;
            phys_id = tnkit_first_id(&c->phys, tnkit_pick_any, g->a, g->b);
        }
    }
    if (freed) {
        tnkit_violation(c, TN_RULE_DMA_AFTER_FREE, freed_id, addr, len,
                        cause, ring, 0);
    }
    if (phys) {
        tnkit_violation(c, TN_RULE_DMA_NON_DMA_MEMORY, phys_id, addr, len,
                        cause, ring, 0);
    }
    if (gaps->len || past_top) {
        tnkit_violation(c, TN_RULE_WILD_DMA, 0, addr, len, cause, ring, 0);
    }
    g_array_free(gaps, true);
    g_array_free(rest, true);
    return false;
}

static TNRef *tnkit_ref_find(TNKitCheck *c, uint64_t ref_id)
{
    size_t i;

    for (i = 0; i < c->n_refs; i++) {
        if (c->refs[i].e.id == ref_id) {
            return &c->refs[i];
        }
    }
    return NULL;
}

static void tnkit_ref_remove(TNKitCheck *c, TNRef *ref)
{
    c->n_stale -= ref->stale;
    *ref = c->refs[--c->n_refs];
}

/* One past the last byte of @r, or UINT64_MAX when it reaches 2^64. */
static uint64_t tnkit_ref_end(const TNRef *r)
{
    return r->e.start + r->e.len < r->e.start ? UINT64_MAX : r->e.start + r->e.len;
}

/* A reference the device writes through: a receive ring's buffer. */
static bool tnkit_ref_writes(const TNRef *r)
{
    return r->kind != TN_REF_RING && tn_ring_is_rx(r->ring);
}

/*
 * posted-twice: @new, a buffer the device will write, overlaps one of
 * another receive descriptor that the device still holds.
 */
static void tnkit_check_posted_twice(TNKitCheck *c, const TNRef *new)
{
    size_t i;

    for (i = 0; i < c->n_refs; i++) {
        const TNRef *old = &c->refs[i];
        uint64_t lo = MAX(old->e.start, new->e.start);
        uint64_t hi = MIN(tnkit_ref_end(old), tnkit_ref_end(new));

        if (old == new || !tnkit_ref_writes(old) || old->drained || lo >= hi ||
            (old->dev == new->dev && old->ring == new->ring &&
             old->idx == new->idx)) {
            continue;
        }
        tnkit_violation(c, TN_RULE_POSTED_TWICE, 0, lo, hi - lo, 0, new->ring,
                        new->e.id);
    }
}

static void tnkit_check_ref(TNKitCheck *c, uint8_t dev, uint64_t ref_id,
                            uint8_t kind, uint8_t ring, uint16_t idx,
                            uint64_t addr, uint32_t len, bool take,
                            bool drained)
{
    TNRef *ref;

    if (take) {
        if (c->suspended) {
            return;
        }
        if (c->n_refs >= TRACENIC_CHECK_REFS_MAX) {
            tnkit_check_suspend(c, "the device holds more than 65536 "
                                "references that the driver has not seen "
                                "dropped");
            return;
        }
        if (c->n_refs == c->refs_cap) {
            c->refs_cap = c->refs_cap ? c->refs_cap * 2 : 64;
            c->refs = g_renew(TNRef, c->refs, c->refs_cap);
        }
        /* Like dmacheck: an empty reference or a held id adds nothing. */
        if (len && !tnkit_ref_find(c, ref_id) && tn_ring_is_rx(ring) &&
            kind != TN_REF_RING) {
            TNRef new = { { addr, len, ref_id, false }, ring, dev, kind, idx,
                          false, 0, false };

            tnkit_check_posted_twice(c, &new);
        }
        c->refs[c->n_refs++] = (TNRef){
            { addr, len, ref_id, false }, ring, dev, kind, idx, false,
            c->ledger_seen ? tnkit_first_id(&c->set, tnkit_pick_bus, addr,
                                            tnkit_end(addr, 1)) : 0,
            false
        };
        return;
    }
    ref = tnkit_ref_find(c, ref_id);
    if (!ref) {
        return;
    }
    if (drained) {
        ref->drained = true;
    } else {
        tnkit_ref_remove(c, ref);
    }
}

/* The driver saw device @dev's drain (of @ring, or all) end. */
static void tnkit_check_drain_seen(TNKitCheck *c, uint8_t dev, uint8_t ring)
{
    size_t i = 0;

    while (i < c->n_refs) {
        TNRef *ref = &c->refs[i];

        if (ref->drained && ref->dev == dev &&
            (ring == TN_RING_ID_NONE || ref->ring == ring)) {
            tnkit_ref_remove(c, ref);  /* the last one moves into slot i */
        } else {
            i++;
        }
    }
}

void tnkit_check_suspend(TNKitCheck *c, const char *why)
{
    char *msg;

    if (!c->suspended) {
        c->suspended = true;
        msg = g_strdup_printf("tracenic: online checks are off from here on: "
                              "%s (dmacheck's replay of the trace is "
                              "unaffected)", why);
        c->warn(c->opaque, msg);
        g_free(msg);
    }
}

const uint8_t tnkit_check_rules[TNKIT_CHECK_N_RULES] = {
    TN_RULE_DMA_AFTER_FREE, TN_RULE_FREE_NOT_QUIESCED, TN_RULE_WILD_DMA,
    TN_RULE_DMA_NON_DMA_MEMORY, TN_RULE_DMA_OUTSIDE_RAM,
    TN_RULE_MAP_ERROR_UNCHECKED, TN_RULE_POSTED_TWICE,
};

static void tnkit_check_state(TNKitCheck *c, const struct tn_rec *rec)
{
    unsigned ring = le16toh(rec->idx), dev = tn_rec_dev(rec), k;
    uint64_t base = le64toh(rec->u.state.value);
    uint64_t n = le64toh(rec->u.state.value2);
    TNRingSpan *r = c->ring[dev];

    c->n_dev = MAX(c->n_dev, dev + 1);
    switch (rec->kind) {
    case TN_ST_QUIESCED_SEEN:
        tnkit_check_drain_seen(c, dev, ring);
        break;
    case TN_ST_RING_ENABLE:     /* value = base, value2 = descriptors */
        if (ring < TN_RING_IDS) {
            r[ring].active = true;
            r[ring].base = base;
            r[ring].end = tnkit_end(base,
                n > UINT64_MAX / TN_ST_RING_DESC_BYTES ?
                UINT64_MAX : n * TN_ST_RING_DESC_BYTES);
        }
        break;
    case TN_ST_RING_IDLE:
        if (ring < TN_RING_IDS) {
            r[ring].active = false;
        }
        break;
    case TN_ST_RESET_DONE:
        for (k = 0; k < TN_RING_IDS; k++) {
            r[k].active = false;
        }
        break;
    }
}

/*
 * A DMA into live memory through a reference taken on a region freed since
 * (the memory allocated again): dma-after-free, as dmacheck's replay says.
 */
static void tnkit_check_stale(TNKitCheck *c, const struct tn_rec *rec,
                              uint64_t addr, uint32_t len)
{
    uint64_t ref_id = tn_ref_id(le32toh(rec->id), le32toh(rec->u.dma.ref_hi));
    const TNRef *ref = ref_id ? tnkit_ref_find(c, ref_id) : NULL;

    if (ref && ref->stale) {
        tnkit_violation(c, TN_RULE_DMA_AFTER_FREE, ref->origin_id, addr, len,
                        rec->kind, rec->u.dma.ring, ref_id);
    }
}

/* A DMA record: what the device did with memory. */
static void tnkit_check_dma_rec(TNKitCheck *c, const struct tn_rec *rec)
{
    uint64_t addr = le64toh(rec->u.dma.addr);
    uint32_t len = le32toh(rec->u.dma.len);
    bool failed = rec->type == TN_REC_DMA_FAILED;

    if (failed && rec->u.dma.reason == TN_DMA_FAIL_BUS_MASTER) {
        return;     /* never issued */
    }
    if (addr == TN_DMA_MAPPING_ERROR && len) {
        /* A failed map's error value, with or without a ledger. */
        tnkit_violation(c, TN_RULE_MAP_ERROR_UNCHECKED, 0, addr, len,
                        rec->kind, rec->u.dma.ring, 0);
        return;
    }
    if (failed && !c->ledger_seen && !c->suspended && len) {
        /* The one DMA rule that needs no ledger: it reached no RAM. */
        tnkit_violation(c, TN_RULE_DMA_OUTSIDE_RAM, 0, addr, len,
                        rec->kind, rec->u.dma.ring, 0);
        return;
    }
    /*
     * An IOMMU blocking DMA into freed memory is still the driver's bug, and
     * so is a descriptor pointing past the top of the address space.  Until
     * something reports through the ledger nothing says what the driver
     * allocated: judging DMA then would call all of it wild.  dmacheck says
     * so in its report (docs/rules.md, "No ledger").
     */
    if (c->ledger_seen && tnkit_check_dma(c, rec->kind, rec->u.dma.ring, addr,
                                          len) && c->n_stale) {
        tnkit_check_stale(c, rec, addr, len);
    }
}

void tnkit_check_record(TNKitCheck *c, const struct tn_rec *rec)
{
    uint64_t ref_id;

    c->cur_dev = tn_rec_dev(rec);
    switch (rec->type) {
    case TN_REC_DMA_FAILED:
    case TN_REC_DMA_READ:
    case TN_REC_DMA_WRITE:
        tnkit_check_dma_rec(c, rec);
        break;
    case TN_REC_ALLOC:
    case TN_REC_MAP:
    case TN_REC_MARK:
    case TN_REC_LEDGER_ERROR:
        c->ledger_seen = true;
        break;
    case TN_REC_EXTENT:
        c->ledger_seen = true;
        tnkit_check_extent(c, le32toh(rec->id), rec->kind,
                           le64toh(rec->u.extent.addr),
                           le32toh(rec->u.extent.len));
        break;
    case TN_REC_FREE:
    case TN_REC_UNMAP:
        c->ledger_seen = true;
        tnkit_check_release(c, le32toh(rec->id));
        break;
    case TN_REC_REF_TAKE:
    case TN_REC_REF_DROP:
        ref_id = tn_ref_id(le32toh(rec->id), le32toh(rec->u.ref.id_hi));
        if (!ref_id) {
            break;      /* no reference has id 0: dmacheck ignores it too */
        }
        tnkit_check_ref(c, tn_rec_dev(rec), ref_id, rec->kind,
                        rec->u.ref.ring, le16toh(rec->idx),
                        le64toh(rec->u.ref.addr), le32toh(rec->u.ref.len),
                        rec->type == TN_REC_REF_TAKE, rec->u.ref.drained);
        break;
    case TN_REC_STATE:
        tnkit_check_state(c, rec);
        break;
    }
}
