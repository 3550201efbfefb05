/* dmacheck: replay a tracenic trace and check every memory rule. */
#ifndef DMACHECK_H
#define DMACHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tracenic/ledger.h"
#include "tracenic/names.h"
#include "tracenic/rules.h"
#include "tracenic/trace.h"

#define DC_MAX_EXTENTS_SHOWN 4
#define DC_MAX_REFS_SHOWN 8
#define DC_MAX_VIOLATIONS 100000	/* distinct violations itemised; the rest are counted */
/*
 * Freed regions whose details (sites, times, extents: about 400 bytes each)
 * are kept before the oldest are summarised per page (--max-freed-regions):
 * about 50 MiB.  Memory freed and recycled does not count; only freed
 * memory no later allocation covered does.
 */
#define DC_MAX_FREED_REGIONS (1u << 17)

/* A region as the report shows it (allocation or mapping). */
struct dc_region_info {
	uint32_t id;
	uint8_t api;			/* TN_API_* */
	uint8_t alloc_irql;
	uint16_t n_extents;
	uint32_t flags, length, tag, alloc_site, free_site;
	uint64_t va, alloc_ns, free_ns;
	struct { uint64_t addr; uint32_t len; uint8_t kind; } ext[DC_MAX_EXTENTS_SHOWN];
	bool freed;			/* free_ns, free_site and the state below are valid */
	bool at_free_quiesced, at_free_tx_active, at_free_rx_active;
	uint8_t at_free_rings;		/* bit k: ring id k of some device was active */
	uint32_t at_free_refs;		/* device references overlapping it at the free */
	/*
	 * Not one region: freed memory whose regions' details were summarised
	 * (dc_result.summarised_regions); the other fields say nothing.
	 */
	bool summarised;
};

struct dc_ref_info {
	uint64_t id;		/* trace.h tn_ref_id */
	uint8_t kind, ring, dev;
	uint16_t idx;
	uint64_t addr, taken_ns;
	uint64_t drained_ns;	/* when a drain dropped it (if unobserved) */
	bool unobserved;	/* dropped by a drain the driver never observed */
	uint32_t len;
};

struct dc_violation {
	enum tn_rule rule;
	uint64_t time_ns, record;	/* first occurrence */
	uint64_t count;			/* occurrences merged into this one */
	bool has_icount;		/* the trace counts instructions (TN_REC_ICOUNT) */
	uint64_t icount;		/* guest instructions executed at the first occurrence */
	bool has_region;
	struct dc_region_info region;
	/*
	 * dma-after-free through a stale reference: the live region the bytes
	 * belong to now (region is the freed one the reference was taken on).
	 */
	bool has_hit;
	struct dc_region_info hit;
	bool has_dma;
	struct {
		uint8_t cause, ring, write, failed, dev;
		uint16_t desc;
		uint64_t addr;
		uint32_t len;
	} dma;
	bool has_free;
	struct { uint8_t api, irql; uint32_t length, flags, site; uint64_t va; } free;
	bool has_device;		/* device state at the free, or at the end */
	struct {
		bool at_end;		/* ref-held-at-end: the references held at the end */
		bool quiesced, tx_active, rx_active;
		uint8_t active_rings;	/* bit k: ring id k of some device was active */
		uint32_t n_refs;	/* overlapping references (up to DC_MAX_REFS_SHOWN kept) */
		struct dc_ref_info refs[DC_MAX_REFS_SHOWN];
	} device;
	char detail[256];
};

#define DC_TOP_REGIONS 16

/* DMA bytes one region received, by cause. */
struct dc_region_stat {
	struct dc_region_info info;
	uint64_t total, bytes[TN_CAUSE_MAX + 1];
};

struct dc_stats {
	uint64_t bytes[TN_API_MAX + 1][TN_CAUSE_MAX + 1];	/* [api, 0 = no region][cause] */
	uint64_t dma_records, failed_dma, ledger_records, device_violations;
	uint64_t dma_by_cause[TN_CAUSE_MAX + 1];	/* DMA records (any kind), by cause */
	uint64_t refs_taken, refs_dropped, refs_held_at_end;
	uint64_t regions_with_dma;
	/* At the end: pieces of freed memory, freed regions kept with their details. */
	uint64_t freed_pieces, freed_regions_kept;
	struct dc_region_stat top[DC_TOP_REGIONS];	/* the regions with the most DMA */
	unsigned n_top;
};

/* A byte of a name read from a trace, safe in text and JSON: [A-Za-z0-9._-] or '?'. */
static inline char dc_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' ? c : '?';
}

/* A device that announced itself with a DEVICE record, for the reports. */
struct dc_device {
	bool announced;
	char name[48];		/* "e1000e 00:03.0 (device 1)" */
};

struct dc_result {
	const char *path;
	unsigned n_announced;	/* DEVICE records: reports then name the device of a DMA */
	struct dc_device devices[TN_REC_DEV_MAX + 1];
	uint64_t records, bytes;
	bool complete, truncated, write_error;
	bool stopped;			/* no END, but it ends at an on-violation=stop pause */
	bool ledger_seen;		/* a ledger record (ALLOC, MAP, EXTENT, FREE, ...) came */
	uint64_t unjudged_dma;		/* DMA before any ledger record: not classified */
	uint32_t trace_flags;		/* the header's TN_TRACE_F_* */
	uint64_t end_dropped;
	size_t partial_tail;		/* bytes of a final incomplete record */
	uint64_t rule_count[TN_RULE_COUNT];
	struct dc_violation *v;
	size_t nv, capv;
	uint64_t not_itemised;		/* occurrences beyond DC_MAX_VIOLATIONS distinct ones */
	struct dc_stats stats;
	uint64_t last_time_ns;
	/* Freed regions summarised per page beyond max_freed_regions (replay.c age_freed). */
	uint64_t summarised_regions, summarised_until_ns, max_freed_regions;
};

struct dc_options {
	FILE *dump;		/* --dump: one JSON object per record */
	FILE *perfetto;		/* --perfetto FILE */
	uint64_t perfetto_dma_max;
	/*
	 * --stopped-on-violation: the VM was paused by on-violation=stop and then
	 * killed, so no END is expected: a trace without one is not
	 * trace-incomplete if its header has TN_TRACE_F_STOP and it holds a
	 * VIOLATION record (the pause happened).
	 */
	bool stopped_on_violation;
	uint64_t max_freed_regions;	/* --max-freed-regions; 0: DC_MAX_FREED_REGIONS */
};

/* Validate the header; on error write a sentence to err and return -1. */
int dc_check_header(const uint8_t *data, size_t len, char *err, size_t errlen);
/* Streaming replay: open, feed whole records in order, finish (which adds the
 * trace-level verdicts and frees the replay state; @failed skips them). */
struct dc_replay;
struct dc_replay *dc_open(const struct dc_options *opt, const struct tn_trace_header *h,
			  struct dc_result *res);
int dc_feed(struct dc_replay *r, const struct tn_rec *rec, size_t n, char *err, size_t errlen);
int dc_finish(struct dc_replay *r, size_t partial_tail, bool failed);
/* Replay a whole trace held in memory; returns -1 on invalid input (err set). */
int dc_replay(const uint8_t *data, size_t len, const struct dc_options *opt,
	      struct dc_result *res, char *err, size_t errlen);
void dc_result_free(struct dc_result *res);

/* The free-argument rules (free-flags, free-length, free-api, free-irql) of one FREE
 * of @g; @report makes the violation (with region and free facts) for the detail. */
typedef struct dc_violation *(*dc_free_report)(void *ctx, enum tn_rule rule);
void dc_check_free_args(const struct dc_region_info *g, const struct tn_rec *t,
			dc_free_report report, void *ctx);

void dc_report_text(FILE *out, const struct dc_result *res);
void dc_report_json(FILE *out, const struct dc_result *res);
void dc_report_stats(FILE *out, const struct dc_result *res);
void dc_dump_record(FILE *out, uint64_t index, const struct tn_rec *r);

#endif
