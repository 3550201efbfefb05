/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tracenic trace file: one header, then fixed-size little-endian records
 * in the order the device saw the events.  Time is QEMU's virtual clock in
 * nanoseconds, non-decreasing from one record to the next.  Documented for
 * readers in docs/trace-format.md.
 */
#ifndef TRACENIC_TRACE_H
#define TRACENIC_TRACE_H

#include "tracenic/types.h"

#define TN_TRACE_MAGIC		"TRACENIC"	/* 8 bytes, no terminator in the file */
#define TN_TRACE_MAGIC_LEN	8
#define TN_TRACE_VERSION	1
#define TN_TRACE_HEADER_SIZE	128
#define TN_TRACE_REC_SIZE	48
#define TN_TRACE_CLOCK_VIRTUAL	1	/* QEMU_CLOCK_VIRTUAL, ns */

struct tn_trace_header {
	char magic[TN_TRACE_MAGIC_LEN];
	uint16_t version;	/* TN_TRACE_VERSION; readers reject others */
	uint16_t header_size;	/* TN_TRACE_HEADER_SIZE */
	uint16_t record_size;	/* TN_TRACE_REC_SIZE */
	uint16_t clock;		/* TN_TRACE_CLOCK_* */
	uint16_t pci_vendor;
	uint16_t pci_device;
	uint8_t pci_revision;
	uint8_t reserved0;
	uint8_t mac[6];
	uint32_t flags;		/* TN_TRACE_F_* as configured when the trace was opened */
	uint64_t start_ns;	/* virtual clock when the trace was opened */
	uint64_t wall_start_ns;	/* host CLOCK_REALTIME then, for reports only */
	uint64_t cap_bytes;	/* size cap (property trace-max-bytes); 0 = none */
	char device_id[32];	/* qdev id, NUL-padded */
	char qemu_version[24];	/* QEMU_VERSION, NUL-padded */
	uint8_t reserved[16];
};
TN_STATIC_ASSERT(sizeof(struct tn_trace_header) == TN_TRACE_HEADER_SIZE,
		 "trace header is 128 bytes");

#define TN_TRACE_F_CHECK	(1u << 0)	/* online checks were on */
#define TN_TRACE_F_STOP		(1u << 1)	/* on-violation=stop */
#define TN_TRACE_F_ICOUNT	(1u << 2)	/* QEMU counted instructions (-icount): ICOUNT records */

/* Record types (tn_rec.type). */
enum tn_rec_type {
	TN_REC_DMA_READ = 1,	/* device read guest memory */
	TN_REC_DMA_WRITE = 2,	/* device wrote guest memory */
	TN_REC_DMA_FAILED = 3,	/* a DMA access that failed or was blocked */
	TN_REC_ALLOC = 4,	/* ledger ALLOC */
	TN_REC_EXTENT = 5,	/* ledger EXTENT of an ALLOC or MAP */
	TN_REC_FREE = 6,	/* ledger FREE (before the memory is released) */
	TN_REC_MAP = 7,		/* ledger MAP */
	TN_REC_UNMAP = 8,	/* ledger UNMAP (before the mapping is torn down) */
	TN_REC_MARK = 9,	/* ledger MARK */
	TN_REC_REF_TAKE = 10,	/* device took a reference to a guest range */
	TN_REC_REF_DROP = 11,	/* device dropped it: it will not DMA there for it again */
	TN_REC_STATE = 12,	/* DMA-state change */
	TN_REC_IRQ = 13,	/* interrupt raised */
	TN_REC_VIOLATION = 14,	/* online check (check=on) found a violation */
	TN_REC_LEDGER_ERROR = 15, /* malformed ledger command, rejected */
	TN_REC_TRUNCATED = 16,	/* size cap reached: records after this one were dropped */
	TN_REC_WRITE_ERROR = 17, /* the host could not write the trace (e.g. disk full) */
	TN_REC_END = 18,	/* last record of a complete trace, with counts */
	TN_REC_DEVICE = 19,	/* a device writes into this trace from here on */
	TN_REC_ICOUNT = 20,	/* the guest instruction count of the records after it */
	TN_REC_TYPE_MAX = 20,
};

/* DMA causes (tn_rec.kind of DMA records). */
enum tn_dma_cause {
	TN_CAUSE_TX_DESC_READ = 1,
	TN_CAUSE_TX_BUF_READ = 2,
	TN_CAUSE_TX_WRITEBACK = 3,
	TN_CAUSE_RX_DESC_READ = 4,
	TN_CAUSE_RX_BUF_WRITE = 5,
	TN_CAUSE_RX_WRITEBACK = 6,
	TN_CAUSE_MAX = 6,
};

/* Why a DMA failed (dma.reason of TN_REC_DMA_FAILED). */
enum tn_dma_fail {
	TN_DMA_FAIL_MEMTX = 1,		/* the address space answered an error (unmapped, IOMMU fault) */
	TN_DMA_FAIL_BUS_MASTER = 2,	/* bus mastering was off: the device did not issue it */
	/*
	 * The range runs past the top of the 64-bit address space (a driver
	 * that posted DMA_MAPPING_ERROR, all ones, say): the device did not
	 * issue it, where the bus would have wrapped it to low addresses.
	 */
	TN_DMA_FAIL_WRAP = 3,
};

/* Device references (tn_rec.kind of REF records). */
enum tn_ref_kind {
	TN_REF_RING = 1,	/* a descriptor ring, from enable until drained */
	TN_REF_PREFETCH = 2,	/* the buffer of a fetched, not yet completed descriptor */
	TN_REF_INFLIGHT = 3,	/* a transfer under way (delayed by rx/tx-dma-delay-ns) */
	TN_REF_POSTED = 4,	/* a buffer the driver posted between head and tail, not yet fetched */
};

/*
 * A RING_ENABLE's ring occupies [value, value + value2 * TN_ST_RING_DESC_BYTES):
 * descriptors are 16 bytes (tracenic's, and the e1000/igb families').
 */
#define TN_ST_RING_DESC_BYTES	16

/* DMA-state changes (tn_rec.kind of TN_REC_STATE). value/value2 per kind. */
enum tn_state_kind {
	TN_ST_RING_ENABLE = 1,	/* idx=ring; value=base, value2=size in descriptors */
	TN_ST_RING_DISABLE = 2,	/* idx=ring; the driver cleared ENABLE (draining starts) */
	TN_ST_RING_IDLE = 3,	/* idx=ring; drained, ACTIVE cleared */
	TN_ST_RESET_BEGIN = 4,
	TN_ST_RESET_DONE = 5,
	TN_ST_BUS_MASTER = 6,	/* value = 1 on, 0 off */
	TN_ST_QUIESCED = 7,	/* value = 1 reached, 0 left */
	TN_ST_LINK = 8,		/* value = 1 up, 0 down */
	TN_ST_PROP = 9,		/* fault-injection property set: value = new value, value2 = TN_PROP_* */
	TN_ST_TRACE_OPEN = 10,	/* first record: value = device's STATUS */
	/*
	 * The driver observed that a drain finished: it read STATUS with
	 * QUIESCED (idx = 0xff, both rings), RING_STATUS with ACTIVE clear
	 * (idx = ring), or CTRL with RST clear after a reset (idx = 0xff).
	 * value: 1 STATUS, 2 RING_STATUS, 3 CTRL.  Until then, references a
	 * drain dropped still count as held: a driver that frees without looking
	 * is racing the device, even when the device happened to win this time.
	 */
	TN_ST_QUIESCED_SEEN = 11,
};

/* Rings (idx of ring state records, dma.ring/ref.ring). */
#define TN_RING_ID_TX		0
#define TN_RING_ID_RX		1
#define TN_RING_ID_TX1		2	/* a second queue pair (e1000e's queue 1) */
#define TN_RING_ID_RX1		3
#define TN_RING_ID_NONE		0xff
#define TN_RING_IDS		4	/* ring ids are 0 .. TN_RING_IDS - 1 */
TN_STATIC_ASSERT(TN_RING_ID_RX % 2 == 1 && TN_RING_ID_RX1 % 2 == 1 &&
		 TN_RING_ID_TX % 2 == 0 && TN_RING_ID_TX1 % 2 == 0,
		 "receive rings are the odd ids (tn_ring_is_rx)");

/* A receive ring: the device writes the buffers its descriptors give. */
static inline int tn_ring_is_rx(unsigned int ring)
{
	return ring < TN_RING_IDS && ring % 2 == 1;
}

/* Properties that can change at run time (value2 of TN_ST_PROP). */
enum tn_prop {
	TN_PROP_RX_DMA_DELAY_NS = 1,
	TN_PROP_TX_DMA_DELAY_NS = 2,
	TN_PROP_QUIESCE_DELAY_NS = 3,
	TN_PROP_PREFETCH = 4,
	TN_PROP_LATE_WRITEBACK = 5,
	TN_PROP_RESET_DELAY_NS = 6,
	TN_PROP_MAX = 6,
};

/* Why the trace ended (tn_rec.kind of TN_REC_END). */
enum tn_end_reason {
	TN_END_CLOSE = 1,	/* device finalised or QEMU exited normally */
	TN_END_WRITE_ERROR = 2,	/* writing stopped after TN_REC_WRITE_ERROR */
};

/*
 * One record: a 16-byte common part and a 32-byte payload whose meaning
 * depends on type.  Fields a type does not use are zero.
 */
struct tn_rec {
	uint64_t time_ns;	/* QEMU virtual clock */
	uint8_t type;		/* enum tn_rec_type */
	uint8_t kind;		/* per type: cause, api, ref kind, state kind, mark code ... */
	uint16_t idx;		/* descriptor index, extent index, or ring */
	uint32_t id;		/* allocation/mapping id, or reference id */
	union {
		struct {	/* DMA_READ, DMA_WRITE, DMA_FAILED; kind = cause, idx = descriptor */
			uint64_t addr;
			uint32_t len;
			uint32_t result;	/* MemTxResult bits for DMA_FAILED */
			uint8_t ring;		/* TN_RING_ID_* */
			uint8_t write;		/* DMA_FAILED: 1 for a write */
			uint8_t reason;		/* DMA_FAILED: enum tn_dma_fail */
			uint8_t pad0;
			uint32_t ref_hi;	/* id = the reference's id: its high half (tn_ref_id) */
			uint8_t pad[7];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} dma;
		struct {	/* ALLOC: kind = TN_API_*, id = allocation id */
			uint64_t va;
			uint32_t length;
			uint32_t flags;
			uint32_t tag;
			uint32_t site;
			uint16_t n_extents;
			uint8_t irql;
			uint8_t pad[4];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} alloc;
		struct {	/* EXTENT: kind = TN_EXT_*, id = owner id, idx = extent index */
			uint64_t addr;
			uint32_t len;
			uint8_t pad[19];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} extent;
		struct {	/* FREE: kind = TN_FREE_API_*, id = allocation id */
			uint64_t va;
			uint32_t length;	/* as passed */
			uint32_t flags;		/* as passed */
			uint32_t site;
			uint8_t irql;
			uint8_t pad[10];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} free;
		struct {	/* MAP: kind = TN_DIR_*, id = mapping id */
			uint64_t va;
			uint32_t length;
			uint32_t site;
			uint16_t n_extents;
			uint8_t irql;
			uint8_t pad[12];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} map;
		struct {	/* UNMAP: id = mapping id, kind = TN_UNMAP_DIR(dir) or 0 */
			uint32_t length;
			uint32_t site;
			uint8_t irql;
			uint8_t pad[22];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} unmap;
		struct {	/* MARK: kind = TN_MARK_* */
			uint64_t value;
			uint8_t pad[23];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} mark;
		struct {	/* REF_TAKE/REF_DROP: kind = TN_REF_*, id = reference id, idx = descriptor */
			uint64_t addr;
			uint32_t len;
			uint8_t ring;
			uint8_t drained;	/* REF_DROP: dropped by a drain or reset, which
						 * the driver learns of only from QUIESCED */
			uint16_t pad0;
			uint32_t id_hi;		/* the reference id's high half (tn_ref_id) */
			uint8_t pad[11];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} ref;
		struct {	/* STATE: kind = TN_ST_*, idx = ring or TN_RING_ID_NONE */
			uint64_t value;
			uint64_t value2;
			uint32_t status;	/* STATUS register after the change */
			uint8_t pad[11];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} state;
		struct {	/* IRQ */
			uint32_t cause;		/* ICR bits that caused it */
			uint16_t vector;	/* MSI-X vector, or 0xffff for INTx */
			uint8_t pad[25];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} irq;
		struct {	/* VIOLATION: kind = TN_RULE_* (tracenic/rules.h), id = region id (0 if none) */
			uint64_t addr;
			uint32_t len;
			uint8_t cause;		/* DMA cause, 0 for free-not-quiesced */
			uint8_t ring;
			uint16_t pad0;
			uint32_t ref_id;	/* free-not-quiesced: the reference still held, */
			uint32_t ref_id_hi;	/* ... its high half (tn_ref_id) */
			uint8_t pad[7];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} violation;
		struct {	/* LEDGER_ERROR: kind = TN_LG_CMD_* */
			uint32_t info;
			uint32_t length;
			uint8_t pad[23];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} ledger_error;
		struct {	/* TRUNCATED */
			uint64_t cap_bytes;
			uint8_t pad[23];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} truncated;
		struct {	/* WRITE_ERROR */
			int32_t error;		/* errno */
			uint8_t pad[27];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} write_error;
		struct {	/* END: kind = enum tn_end_reason */
			uint64_t records;	/* records in the file before END */
			uint64_t dropped;	/* records dropped (cap or write error) */
			uint64_t dma_bytes;	/* bytes read + written by DMA */
			uint32_t violations;	/* online violations */
			uint8_t pad[3];
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} end;
		struct {	/* DEVICE: idx = dev = the number its records carry */
			uint16_t pci_vendor;
			uint16_t pci_device;
			uint8_t pci_revision;
			uint8_t pci_bus;
			uint8_t pci_devfn;
			char type[24];		/* QOM type name ("tracenic", "e1000e"), NUL-padded */
			uint8_t dev;		/* the writer: TN_REC_DEVICE number */
		} device;
		/*
		 * ICOUNT: under -icount (record/replay), the number of guest
		 * instructions executed when the records after this one up to the
		 * next ICOUNT were written: what QMP query-replay reports and
		 * replay-break stops at.  Written only when the count changed.
		 */
		struct {
			uint64_t count;
			uint8_t pad[23];
			uint8_t dev;		/* 0: it belongs to the trace */
		} icount;
		uint8_t raw[32];
	} u;
};
TN_STATIC_ASSERT(sizeof(struct tn_rec) == TN_TRACE_REC_SIZE, "trace record is 48 bytes");

/*
 * Several devices may write into one trace (a tracenic-trace object, see
 * docs/kit.md).  Each announces itself with a DEVICE record before any other
 * record of its own, and every record carries its writer's number in the last
 * byte of the payload, the same byte for every type (tn_rec_dev()).  A trace
 * with no DEVICE record has one device, number 0, the one its header names.
 * TRUNCATED, WRITE_ERROR and END belong to the trace itself and carry 0.
 */
#define TN_REC_DEV_OFFSET	(TN_TRACE_REC_SIZE - 1)
#define TN_REC_DEV_MAX		255
#define TN_REC_ASSERT_DEV(member) \
	TN_STATIC_ASSERT(offsetof(struct tn_rec, u.member.dev) == TN_REC_DEV_OFFSET, \
			 "dev is the last byte of the " #member " payload")
TN_REC_ASSERT_DEV(dma);
TN_REC_ASSERT_DEV(alloc);
TN_REC_ASSERT_DEV(extent);
TN_REC_ASSERT_DEV(free);
TN_REC_ASSERT_DEV(map);
TN_REC_ASSERT_DEV(unmap);
TN_REC_ASSERT_DEV(mark);
TN_REC_ASSERT_DEV(ref);
TN_REC_ASSERT_DEV(state);
TN_REC_ASSERT_DEV(irq);
TN_REC_ASSERT_DEV(violation);
TN_REC_ASSERT_DEV(ledger_error);
TN_REC_ASSERT_DEV(truncated);
TN_REC_ASSERT_DEV(write_error);
TN_REC_ASSERT_DEV(end);
TN_REC_ASSERT_DEV(device);
TN_REC_ASSERT_DEV(icount);

/*
 * Reference ids are 64 bits and never reused within a trace (a sweep's trace
 * takes billions of references; a 32-bit counter would wrap onto one still
 * held, and the checkers would forget the older reference).  A record holds
 * the low half in its id and the high half in ref.id_hi (REF_TAKE,
 * REF_DROP), dma.ref_hi (a DMA made under the reference) or
 * violation.ref_id_hi; traces from before the high halves have 0 there.
 * Both halves as read from the record (little-endian converted).
 */
static inline uint64_t tn_ref_id(uint32_t lo, uint32_t hi)
{
	return ((uint64_t)hi << 32) | lo;
}

TN_STATIC_ASSERT(offsetof(struct tn_rec, u.ref.id_hi) % 4 == 0, "ref.id_hi is aligned");
TN_STATIC_ASSERT(offsetof(struct tn_rec, u.dma.ref_hi) % 4 == 0, "dma.ref_hi is aligned");
TN_STATIC_ASSERT(offsetof(struct tn_rec, u.violation.ref_id_hi) % 4 == 0,
		 "violation.ref_id_hi is aligned");

static inline uint8_t tn_rec_dev(const struct tn_rec *r)
{
	return r->u.raw[TN_REC_DEV_OFFSET - offsetof(struct tn_rec, u)];
}

#endif /* TRACENIC_TRACE_H */
