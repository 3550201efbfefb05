/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The printable name of every value of the contract's enums, written once:
 * the device (trace-events, logs), dmacheck (reports, --dump, --json), the
 * guest driver and the harness (harness/tracenic/contract.py parses these
 * tables) all name a cause, an API or a state the same way.
 *
 * Each table is indexed by the value it names; a value it does not name
 * prints as "unknown".  Names of rules live in tracenic/rules.h.
 */
#ifndef TRACENIC_NAMES_H
#define TRACENIC_NAMES_H

#include "tracenic/types.h"
#include "tracenic/trace.h"
#include "tracenic/ledger.h"

#define TN_NAME_OF(table, v) \
	((unsigned long)(v) < sizeof(table) / sizeof((table)[0]) && (table)[v] ? \
	 (table)[v] : "unknown")

/*
 * Record types (tn_rec.type), as --dump prints them.  A type the format does
 * not define prints as "?", not "unknown": dmacheck --dump prints each record
 * before it rejects the trace, and has always written an undefined type so.
 */
static inline const char *tn_rec_type_name(unsigned int type)
{
	static const char *const n[] = {
		[TN_REC_DMA_READ] = "dma-read",
		[TN_REC_DMA_WRITE] = "dma-write",
		[TN_REC_DMA_FAILED] = "dma-failed",
		[TN_REC_ALLOC] = "alloc",
		[TN_REC_EXTENT] = "extent",
		[TN_REC_FREE] = "free",
		[TN_REC_MAP] = "map",
		[TN_REC_UNMAP] = "unmap",
		[TN_REC_MARK] = "mark",
		[TN_REC_REF_TAKE] = "ref-take",
		[TN_REC_REF_DROP] = "ref-drop",
		[TN_REC_STATE] = "state",
		[TN_REC_IRQ] = "irq",
		[TN_REC_VIOLATION] = "violation",
		[TN_REC_LEDGER_ERROR] = "ledger-error",
		[TN_REC_TRUNCATED] = "truncated",
		[TN_REC_WRITE_ERROR] = "write-error",
		[TN_REC_END] = "end",
		[TN_REC_DEVICE] = "device",
		[TN_REC_ICOUNT] = "icount",
	};

	return type < sizeof(n) / sizeof(n[0]) && n[type] ? n[type] : "?";
}

/* DMA causes (kind of DMA records). */
static inline const char *tn_cause_name(unsigned int cause)
{
	static const char *const n[] = {
		[0] = "none",
		[TN_CAUSE_TX_DESC_READ] = "tx-desc-read",
		[TN_CAUSE_TX_BUF_READ] = "tx-buf-read",
		[TN_CAUSE_TX_WRITEBACK] = "tx-writeback",
		[TN_CAUSE_RX_DESC_READ] = "rx-desc-read",
		[TN_CAUSE_RX_BUF_WRITE] = "rx-buf-write",
		[TN_CAUSE_RX_WRITEBACK] = "rx-writeback",
	};

	return TN_NAME_OF(n, cause);
}

/* Why a DMA failed (dma.reason of DMA_FAILED). */
static inline const char *tn_dma_fail_name(unsigned int reason)
{
	static const char *const n[] = {
		[TN_DMA_FAIL_MEMTX] = "memtx-error",
		[TN_DMA_FAIL_BUS_MASTER] = "bus-master-off",
		[TN_DMA_FAIL_WRAP] = "wraps-address-space",
	};

	return TN_NAME_OF(n, reason);
}

/* Device references (kind of REF records). */
static inline const char *tn_ref_kind_name(unsigned int kind)
{
	static const char *const n[] = {
		[TN_REF_RING] = "ring",
		[TN_REF_PREFETCH] = "prefetched buffer",
		[TN_REF_INFLIGHT] = "in-flight transfer",
		[TN_REF_POSTED] = "posted buffer",
	};

	return TN_NAME_OF(n, kind);
}

/* DMA-state changes (kind of STATE records). */
static inline const char *tn_state_kind_name(unsigned int kind)
{
	static const char *const n[] = {
		[TN_ST_RING_ENABLE] = "ring-enable",
		[TN_ST_RING_DISABLE] = "ring-disable",
		[TN_ST_RING_IDLE] = "ring-idle",
		[TN_ST_RESET_BEGIN] = "reset-begin",
		[TN_ST_RESET_DONE] = "reset-done",
		[TN_ST_BUS_MASTER] = "bus-master",
		[TN_ST_QUIESCED] = "quiesced",
		[TN_ST_LINK] = "link",
		[TN_ST_PROP] = "prop",
		[TN_ST_TRACE_OPEN] = "trace-open",
		[TN_ST_QUIESCED_SEEN] = "quiesced-seen",
	};

	return TN_NAME_OF(n, kind);
}

/* Rings (ring fields and the idx of ring STATE records). */
static inline const char *tn_ring_name(unsigned int ring)
{
	static const char *const n[TN_RING_IDS] = {
		[TN_RING_ID_TX] = "TX", [TN_RING_ID_RX] = "RX",
		[TN_RING_ID_TX1] = "TX1", [TN_RING_ID_RX1] = "RX1",
	};

	return ring < TN_RING_IDS ? n[ring] : "-";
}

/* Run-time properties (value2 of TN_ST_PROP): the device's QOM property names. */
static inline const char *tn_prop_name(unsigned int prop)
{
	static const char *const n[] = {
		[TN_PROP_RX_DMA_DELAY_NS] = "rx-dma-delay-ns",
		[TN_PROP_TX_DMA_DELAY_NS] = "tx-dma-delay-ns",
		[TN_PROP_QUIESCE_DELAY_NS] = "quiesce-delay-ns",
		[TN_PROP_PREFETCH] = "prefetch",
		[TN_PROP_LATE_WRITEBACK] = "late-writeback",
		[TN_PROP_RESET_DELAY_NS] = "reset-delay-ns",
	};

	return TN_NAME_OF(n, prop);
}

/* Why the trace ended (kind of END). */
static inline const char *tn_end_reason_name(unsigned int reason)
{
	static const char *const n[] = {
		[TN_END_CLOSE] = "close",
		[TN_END_WRITE_ERROR] = "write-error",
	};

	return TN_NAME_OF(n, reason);
}

/* Ledger commands (TN_LG_CMD_*; kind of LEDGER_ERROR). */
static inline const char *tn_ledger_cmd_name(unsigned int cmd)
{
	static const char *const n[] = {
		[TN_LG_CMD_ALLOC] = "ALLOC",
		[TN_LG_CMD_EXTENT] = "EXTENT",
		[TN_LG_CMD_FREE] = "FREE",
		[TN_LG_CMD_MAP] = "MAP",
		[TN_LG_CMD_UNMAP] = "UNMAP",
		[TN_LG_CMD_MARK] = "MARK",
		[TN_LG_CMD_MAP_ONE] = "MAP_ONE",
	};

	return TN_NAME_OF(n, cmd);
}

/* Allocation APIs (kind of ALLOC). */
static inline const char *tn_api_name(unsigned int api)
{
	static const char *const n[] = {
		[0] = "none",
		[TN_API_POOL] = "NdisAllocateMemoryWithTagPriority",
		[TN_API_MEMORY] = "NdisAllocateMemory",
		[TN_API_SHARED] = "NdisMAllocateSharedMemory",
		[TN_API_MAP] = "DMA mapping",
		[TN_API_DMA_COHERENT] = "dma_alloc_coherent",
	};

	return TN_NAME_OF(n, api);
}

/* Free APIs (kind of FREE). */
static inline const char *tn_free_api_name(unsigned int api)
{
	static const char *const n[] = {
		[TN_FREE_API_FREE_MEMORY] = "NdisFreeMemory",
		[TN_FREE_API_FREE_SHARED] = "NdisMFreeSharedMemory",
		[TN_FREE_API_DMA_FREE] = "dma_free_coherent",
		[TN_FREE_API_PAGE_FREE] = "page freed",
	};

	return TN_NAME_OF(n, api);
}

/* DMA directions (kind of MAP). */
static inline const char *tn_dir_name(unsigned int dir)
{
	static const char *const n[] = {
		[TN_DIR_BIDIRECTIONAL] = "bidirectional",
		[TN_DIR_TO_DEVICE] = "to-device",
		[TN_DIR_FROM_DEVICE] = "from-device",
	};

	return TN_NAME_OF(n, dir);
}

/* Extent kinds (kind of EXTENT). */
static inline const char *tn_ext_kind_name(unsigned int kind)
{
	static const char *const n[] = {
		[TN_EXT_BUS] = "bus address",
		[TN_EXT_PHYS] = "CPU-physical, not device-visible",
	};

	return TN_NAME_OF(n, kind);
}

/* MARK codes (kind of MARK). */
static inline const char *tn_mark_name(unsigned int mark)
{
	static const char *const n[] = {
		[TN_MARK_INIT_BEGIN] = "init-begin",
		[TN_MARK_INIT_END] = "init-end",
		[TN_MARK_HALT_BEGIN] = "halt-begin",
		[TN_MARK_HALT_END] = "halt-end",
		[TN_MARK_RESET_BEGIN] = "reset-begin",
		[TN_MARK_RESET_END] = "reset-end",
		[TN_MARK_STEP] = "step",
		[TN_MARK_BUG_MODES] = "bug-modes",
	};

	return TN_NAME_OF(n, mark);
}

#endif /* TRACENIC_NAMES_H */
