/* Build tracenic traces in memory, for tests, the fuzz seed corpus and the benchmark. */
#ifndef DMACHECK_TRACEBUILD_H
#define DMACHECK_TRACEBUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracenic/ledger.h"
#include "tracenic/regs.h"
#include "tracenic/trace.h"

struct tb {
	uint8_t *buf;
	size_t len, cap;
	uint64_t now, nrec;
	uint8_t dev;		/* the device the next records come from (tb_device) */
	/* Written out and dropped from buf (tb_flushed): END's totals so far. */
	bool flushed;
	uint64_t flushed_dma_bytes;
	uint32_t flushed_violations;
};

static inline struct tn_rec *tb_rec(struct tb *b, uint8_t type, uint8_t kind, uint32_t id)
{
	struct tn_rec *r;

	if (b->len + sizeof(*r) > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4096;
		b->buf = realloc(b->buf, b->cap);
		if (!b->buf)
			abort();
	}
	r = (struct tn_rec *)(b->buf + b->len);
	memset(r, 0, sizeof(*r));
	r->time_ns = b->now;
	r->type = type;
	r->kind = kind;
	r->id = id;
	r->u.raw[TN_REC_DEV_OFFSET - offsetof(struct tn_rec, u)] = b->dev;
	b->len += sizeof(*r);
	b->nrec++;
	return r;
}

static inline void tb_init(struct tb *b)
{
	struct tn_trace_header *h;

	memset(b, 0, sizeof(*b));
	b->cap = 1 << 16;
	b->buf = calloc(1, b->cap);
	if (!b->buf)
		abort();
	h = (struct tn_trace_header *)b->buf;
	memcpy(h->magic, TN_TRACE_MAGIC, TN_TRACE_MAGIC_LEN);
	h->version = TN_TRACE_VERSION;
	h->header_size = TN_TRACE_HEADER_SIZE;
	h->record_size = TN_TRACE_REC_SIZE;
	h->clock = TN_TRACE_CLOCK_VIRTUAL;
	h->pci_vendor = TN_PCI_VENDOR_ID;
	h->pci_device = TN_PCI_DEVICE_ID;
	b->len = TN_TRACE_HEADER_SIZE;
}

static inline void tb_alloc(struct tb *b, uint32_t id, uint8_t api, uint64_t va, uint32_t len,
			    uint32_t flags, uint16_t n_ext)
{
	struct tn_rec *r = tb_rec(b, TN_REC_ALLOC, api, id);

	r->u.alloc.va = va;
	r->u.alloc.length = len;
	r->u.alloc.flags = flags;
	r->u.alloc.tag = 0x6e546e54;
	r->u.alloc.site = 100 + id;
	r->u.alloc.n_extents = n_ext;
}

static inline void tb_extent(struct tb *b, uint32_t id, uint16_t idx, uint64_t addr,
			     uint32_t len, uint8_t kind)
{
	struct tn_rec *r = tb_rec(b, TN_REC_EXTENT, kind, id);

	r->idx = idx;
	r->u.extent.addr = addr;
	r->u.extent.len = len;
}

/* One-extent allocation whose bus address equals its "VA" low bits. */
static inline void tb_alloc1(struct tb *b, uint32_t id, uint8_t api, uint64_t addr, uint32_t len,
			     uint32_t flags, uint8_t ext_kind)
{
	tb_alloc(b, id, api, 0xffff888000000000ull + addr, len, flags, 1);
	tb_extent(b, id, 0, addr, len, ext_kind);
}

static inline void tb_free(struct tb *b, uint32_t id, uint8_t free_api, uint64_t addr,
			   uint32_t len, uint32_t flags, uint8_t irql)
{
	struct tn_rec *r = tb_rec(b, TN_REC_FREE, free_api, id);

	r->u.free.va = 0xffff888000000000ull + addr;
	r->u.free.length = len;
	r->u.free.flags = flags;
	r->u.free.site = 200 + id;
	r->u.free.irql = irql;
}

static inline void tb_map(struct tb *b, uint32_t id, uint64_t addr, uint32_t len)
{
	struct tn_rec *r = tb_rec(b, TN_REC_MAP, TN_DIR_TO_DEVICE, id);

	r->u.map.va = 0xffff888000000000ull + addr;
	r->u.map.length = len;
	r->u.map.n_extents = 1;
	tb_extent(b, id, 0, addr, len, TN_EXT_BUS);
}

/* A mapping made for direction @dir (TN_DIR_*). */
static inline void tb_map_dir(struct tb *b, uint32_t id, uint64_t addr, uint32_t len, uint8_t dir)
{
	tb_map(b, id, addr, len);
	((struct tn_rec *)(b->buf + b->len) - 2)->kind = dir;
}

static inline void tb_unmap(struct tb *b, uint32_t id, uint32_t len)
{
	tb_rec(b, TN_REC_UNMAP, 0, id)->u.unmap.length = len;
}

/* An unmap that passed a direction (TN_DIR_*), as the DMA API's does. */
static inline void tb_unmap_dir(struct tb *b, uint32_t id, uint32_t len, uint8_t dir)
{
	tb_rec(b, TN_REC_UNMAP, TN_UNMAP_DIR(dir), id)->u.unmap.length = len;
}

static inline void tb_dma(struct tb *b, uint8_t type, uint8_t cause, uint64_t addr, uint32_t len)
{
	struct tn_rec *r = tb_rec(b, type, cause, 0);

	r->u.dma.addr = addr;
	r->u.dma.len = len;
	r->u.dma.ring = cause <= TN_CAUSE_TX_WRITEBACK ? TN_RING_ID_TX : TN_RING_ID_RX;
}

/* @id: 64 bits, the low half in the record's id, the high half in ref.id_hi. */
static inline void tb_ref(struct tb *b, int take, uint64_t id, uint8_t kind, uint64_t addr,
			  uint32_t len)
{
	struct tn_rec *r = tb_rec(b, take ? TN_REC_REF_TAKE : TN_REC_REF_DROP, kind, (uint32_t)id);

	r->u.ref.id_hi = (uint32_t)(id >> 32);
	r->u.ref.addr = addr;
	r->u.ref.len = len;
	r->u.ref.ring = TN_RING_ID_RX;
}

static inline void tb_state(struct tb *b, uint8_t kind, uint16_t ring, uint64_t value)
{
	struct tn_rec *r = tb_rec(b, TN_REC_STATE, kind, 0);

	r->idx = ring;
	r->u.state.value = value;
}

/* RING_ENABLE: the device reports the ring's base and its size in descriptors. */
static inline void tb_ring_enable(struct tb *b, uint16_t ring, uint64_t base, uint64_t size)
{
	struct tn_rec *r = tb_rec(b, TN_REC_STATE, TN_ST_RING_ENABLE, 0);

	r->idx = ring;
	r->u.state.value = base;
	r->u.state.value2 = size;
}

static inline void tb_mark(struct tb *b, uint8_t code)
{
	tb_rec(b, TN_REC_MARK, code, 0);
}

/* An ICOUNT record: the records after it were written at guest instruction @count. */
static inline void tb_icount(struct tb *b, uint64_t count)
{
	struct tn_rec *r = tb_rec(b, TN_REC_ICOUNT, 0, 0);

	r->u.icount.count = count;
	r->u.icount.dev = 0;
}

/* A DEVICE record for device @dev; the records after it come from that device. */
static inline void tb_device(struct tb *b, uint8_t dev, const char *type, uint16_t vendor,
			     uint16_t device, uint8_t devfn)
{
	struct tn_rec *r;

	b->dev = dev;
	r = tb_rec(b, TN_REC_DEVICE, 0, 0);
	r->idx = dev;
	r->u.device.pci_vendor = vendor;
	r->u.device.pci_device = device;
	r->u.device.pci_devfn = devfn;
	memcpy(r->u.device.type, type, strlen(type) < sizeof(r->u.device.type) ?
	       strlen(type) : sizeof(r->u.device.type));
}

/* Add the DMA bytes and violations of the records in buf to the flushed totals. */
static inline void tb_count(struct tb *b)
{
	size_t off = b->flushed ? 0 : TN_TRACE_HEADER_SIZE;
	const struct tn_rec *t = (const void *)(b->buf + off);
	size_t i, n = (b->len - off) / sizeof(*t);

	for (i = 0; i < n; i++) {
		if (t[i].type == TN_REC_DMA_READ || t[i].type == TN_REC_DMA_WRITE)
			b->flushed_dma_bytes += t[i].u.dma.len;
		b->flushed_violations += t[i].type == TN_REC_VIOLATION;
	}
}

/* The caller wrote buf out (a trace too big to hold): start it again, records keep counting. */
static inline void tb_flushed(struct tb *b)
{
	tb_count(b);
	b->flushed = true;
	b->len = 0;
}

/* END with the counts the device would write: records, DMA bytes, violations. */
static inline void tb_end(struct tb *b)
{
	uint64_t n = b->nrec;
	struct tn_rec *end;

	tb_count(b);
	b->dev = 0;		/* END belongs to the trace, not to a device */
	end = tb_rec(b, TN_REC_END, TN_END_CLOSE, 0);
	end->u.end.records = n;
	end->u.end.dma_bytes = b->flushed_dma_bytes;
	end->u.end.violations = b->flushed_violations;
}

#endif
