/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rule vocabulary: every rule a tracenic checker judges, with its stable
 * name and one-line meaning.  dmacheck (the verdict), the device's online
 * check (check=on), the harness (scenario files name the rules they expect)
 * and docs/rules.md all use these names; docs/rules.md explains each one with
 * its source.  A VIOLATION record's kind is a TN_RULE_* value, so the online
 * check and dmacheck say the same thing in the same words.
 *
 * Numbers are part of the trace format (VIOLATION.kind): append new rules
 * before TN_RULE_COUNT, never renumber.  1..3 are the values the online
 * check's violation kinds had in trace version 1, so old traces read alike.
 */
#ifndef TRACENIC_RULES_H
#define TRACENIC_RULES_H

#include "tracenic/types.h"

enum tn_rule {
	TN_RULE_NONE = 0,
	TN_RULE_DMA_AFTER_FREE = 1,
	TN_RULE_FREE_NOT_QUIESCED = 2,
	TN_RULE_WILD_DMA = 3,
	TN_RULE_DMA_NON_DMA_MEMORY = 4,
	TN_RULE_FREE_FLAGS = 5,
	TN_RULE_FREE_LENGTH = 6,
	TN_RULE_FREE_API = 7,
	TN_RULE_FREE_IRQL = 8,
	TN_RULE_DOUBLE_FREE = 9,
	TN_RULE_FREE_UNKNOWN = 10,
	TN_RULE_FREE_INTERIOR = 11,
	TN_RULE_LEAK = 12,
	TN_RULE_MAP_LEAK = 13,
	TN_RULE_UNMAP_UNKNOWN = 14,
	TN_RULE_TRACE_INCOMPLETE = 15,
	TN_RULE_TRACE_TRUNCATED = 16,
	TN_RULE_TRACE_WRITE_ERROR = 17,
	/*
	 * The two rules that need no ledger: dmacheck applies them to what the
	 * allocation rules cannot judge (DMA before any ledger record; a trace
	 * with no ledger), docs/rules.md "No ledger".
	 */
	TN_RULE_DMA_OUTSIDE_RAM = 18,
	TN_RULE_REF_HELD_AT_END = 19,
	/* The DMA API's rules (dma-debug's checks), docs/rules.md "DMA API". */
	TN_RULE_DMA_DIRECTION = 20,
	TN_RULE_UNMAP_MISMATCH = 21,
	TN_RULE_FREE_WHILE_MAPPED = 22,
	TN_RULE_MAP_ERROR_UNCHECKED = 23,
	TN_RULE_POSTED_TWICE = 24,
	TN_RULE_COUNT
};

/*
 * Linux's DMA_MAPPING_ERROR, ~(dma_addr_t)0: what every failed dma_map_*()
 * returns (dma-direct, swiotlb and the IOMMU drivers alike).  A device
 * access at this address is map-error-unchecked.
 */
#define TN_DMA_MAPPING_ERROR	0xffffffffffffffffull

struct tn_rule_info {
	const char *name;	/* stable: scenario files, --json, VIOLATION reports */
	const char *summary;	/* one line; docs/rules.md has the full text */
};

/* The name and summary of @rule; { NULL, NULL } for a number that is none. */
static inline struct tn_rule_info tn_rule_info(unsigned int rule)
{
	static const struct tn_rule_info info[TN_RULE_COUNT] = {
		[TN_RULE_DMA_AFTER_FREE] = { "dma-after-free",
			"the device accessed memory after the driver freed or unmapped it" },
		[TN_RULE_FREE_NOT_QUIESCED] = { "free-not-quiesced",
			"memory was freed while the device still held a reference to it" },
		[TN_RULE_WILD_DMA] = { "wild-dma",
			"the device accessed memory that no live allocation or mapping covers" },
		[TN_RULE_DMA_NON_DMA_MEMORY] = { "dma-non-dma-memory",
			"the device accessed memory that was never made visible to it" },
		[TN_RULE_FREE_FLAGS] = { "free-flags",
			"the MemoryFlags (or Cached) passed to the free do not match the allocation" },
		[TN_RULE_FREE_LENGTH] = { "free-length",
			"the Length passed to the free does not match the allocation" },
		[TN_RULE_FREE_API] = { "free-api",
			"the memory was freed with the wrong function for how it was allocated" },
		[TN_RULE_FREE_IRQL] = { "free-irql",
			"the memory was freed at an IRQL its type does not allow" },
		[TN_RULE_DOUBLE_FREE] = { "double-free",
			"the memory was freed twice" },
		[TN_RULE_FREE_UNKNOWN] = { "free-unknown",
			"a free named memory that was never allocated" },
		[TN_RULE_FREE_INTERIOR] = { "free-interior",
			"a free passed an address inside an allocation, not its start" },
		[TN_RULE_LEAK] = { "leak",
			"an allocation was still live when the driver's Halt ended" },
		[TN_RULE_MAP_LEAK] = { "map-leak",
			"a DMA mapping was still live when the driver's Halt ended" },
		[TN_RULE_UNMAP_UNKNOWN] = { "unmap-unknown",
			"an unmap named a mapping that does not exist" },
		[TN_RULE_TRACE_INCOMPLETE] = { "trace-incomplete",
			"the trace has no END record: QEMU died before it finished" },
		[TN_RULE_TRACE_TRUNCATED] = { "trace-truncated",
			"the trace hit its size cap and records were dropped" },
		[TN_RULE_TRACE_WRITE_ERROR] = { "trace-write-error",
			"the host could not write the trace and records were lost" },
		[TN_RULE_DMA_OUTSIDE_RAM] = { "dma-outside-ram",
			"the device accessed a bus address where no guest memory answered" },
		[TN_RULE_REF_HELD_AT_END] = { "ref-held-at-end",
			"the trace ended with the device still holding guest memory" },
		[TN_RULE_DMA_DIRECTION] = { "dma-direction",
			"the device wrote into a to-device mapping or read a from-device one" },
		[TN_RULE_UNMAP_MISMATCH] = { "unmap-mismatch",
			"an unmap passed another size or direction than its map" },
		[TN_RULE_FREE_WHILE_MAPPED] = { "free-while-mapped",
			"pages went back to the page allocator while a DMA mapping still covered them" },
		[TN_RULE_MAP_ERROR_UNCHECKED] = { "map-error-unchecked",
			"the device used DMA_MAPPING_ERROR: a failed map's error value was posted to it" },
		[TN_RULE_POSTED_TWICE] = { "posted-twice",
			"the device held overlapping receive buffers of two descriptors at once" },
	};
	static const struct tn_rule_info none = { 0, 0 };

	return rule > TN_RULE_NONE && rule < TN_RULE_COUNT ? info[rule] : none;
}

/* The rule's stable name, or "unknown-rule" for a number that is none. */
static inline const char *tn_rule_name(unsigned int rule)
{
	const char *n = tn_rule_info(rule).name;

	return n ? n : "unknown-rule";
}

#endif /* TRACENIC_RULES_H */
