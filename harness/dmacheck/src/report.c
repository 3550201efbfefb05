/* Human text and JSON reports of a replay's result. */
#include <inttypes.h>

#include "dmacheck.h"
#include "tracenic/ledger.h"

/* "2:163" for TN_SITE_ID(2, 163); the full address for a code site (TN_SITE_IS_CODE); else a plain number. */
static const char *site_str(char buf[static 24], uint32_t site)
{
	if (TN_SITE_IS_CODE(site))
		snprintf(buf, 24, "0x%llx", (unsigned long long)TN_SITE_CODE_ADDR(site));
	else if (TN_SITE_FILE(site))
		snprintf(buf, 24, "%u:%u", (unsigned)TN_SITE_FILE(site), (unsigned)TN_SITE_LINE(site));
	else
		snprintf(buf, 24, "%u", (unsigned)site);
	return buf;
}

/* The rings (of any device) that were active: the names of @mask's bits, or none. */
static void text_rings(FILE *o, unsigned mask)
{
	unsigned k;

	for (k = 0; k < TN_RING_IDS; k++)
		if (mask & 1u << k)
			fprintf(o, " %s", tn_ring_name(k));
	if (!mask)
		fputs(" none", o);
}

static void text_region(FILE *o, const struct dc_region_info *g, bool show_state)
{
	char site[24];
	unsigned i;

	if (g->summarised) {
		fputs("  region   summarised: freed memory of a region whose details were dropped to "
		      "bound dmacheck's memory (see the summary at the end)\n", o);
		return;
	}

	fprintf(o, "  region   id %u, %s, flags 0x%x, length %u, tag 0x%08x, VA 0x%" PRIx64 "\n",
		g->id, tn_api_name(g->api), g->flags, g->length, g->tag, g->va);
	for (i = 0; i < g->n_extents && i < DC_MAX_EXTENTS_SHOWN; i++)
		fprintf(o, "           extent %u: 0x%" PRIx64 "+%u (%s)\n", i, g->ext[i].addr,
			g->ext[i].len, tn_ext_kind_name(g->ext[i].kind));
	if (g->n_extents > DC_MAX_EXTENTS_SHOWN)
		fprintf(o, "           ... %u extents in all\n", g->n_extents);
	fprintf(o, "           allocated at %" PRIu64 " ns by site %s", g->alloc_ns,
		site_str(site, g->alloc_site));
	if (g->freed)
		fprintf(o, "; freed at %" PRIu64 " ns by site %s", g->free_ns,
			site_str(site, g->free_site));
	fputc('\n', o);
	if (g->freed && show_state) {
		fprintf(o, "  device   at the free: %s; rings active:",
			g->at_free_quiesced ? "QUIESCED" : "not quiesced");
		text_rings(o, g->at_free_rings);
		fprintf(o, "; %u device reference%s on this memory\n", g->at_free_refs,
			g->at_free_refs == 1 ? "" : "s");
	}
}

void dc_report_text(FILE *o, const struct dc_result *res)
{
	uint64_t total = 0;
	size_t i;
	unsigned r;

	/* Said first: every verdict below covers only part of the run. */
	if (res->truncated || res->write_error)
		fprintf(o, "%s: WARNING: records were dropped (%s; END counts %" PRIu64 " dropped): "
			"this trace cannot be clean, and what happened after the gap was not checked\n",
			res->path, res->truncated ? "the size cap trace-max-bytes was reached"
						  : "the host could not write the trace",
			res->end_dropped);
	if (res->unjudged_dma)
		fprintf(o, "%s: NOTE: %" PRIu64 " DMA access%s came before any ledger record and "
			"%s not judged by the allocation rules (dma-after-free, wild-dma, "
			"dma-non-dma-memory): %s\n", res->path, res->unjudged_dma,
			res->unjudged_dma == 1 ? "" : "es", res->unjudged_dma == 1 ? "was" : "were",
			res->ledger_seen ? "nothing had yet reported what memory the driver allocated"
					 : "nothing in this trace reports what memory the driver "
					   "allocates; run the driver with a ledger (its NDIS layer, or "
					   "the tracenic-ledger device) to apply them");
	if (res->stopped)
		fprintf(o, "%s: the trace ends at the stop: the device paused the VM at an online "
			"violation (on-violation=stop) and the VM was then ended, so there is no END "
			"record; checked up to record %" PRIu64 " at %" PRIu64 " ns\n", res->path,
			res->records, res->last_time_ns);
	else if (!res->complete || res->partial_tail)
		fprintf(o, "%s: WARNING: the trace has no END record%s: QEMU did not finish (the VM "
			"died or was killed); checked up to record %" PRIu64 " at %" PRIu64 " ns\n",
			res->path, res->partial_tail ? " and its last record is cut short" : "",
			res->records, res->last_time_ns);
	for (i = 0; i < res->nv; i++) {
		const struct dc_violation *v = &res->v[i];
		char site[24];

		fprintf(o, "%s: VIOLATION %s: %s\n", res->path, tn_rule_name(v->rule),
			tn_rule_info(v->rule).summary);
		fprintf(o, "  when     %" PRIu64 " ns (record %" PRIu64, v->time_ns, v->record);
		if (v->has_icount)
			fprintf(o, ", guest instruction %" PRIu64, v->icount);
		fputc(')', o);
		if (v->count > 1)
			fprintf(o, "; %" PRIu64 " occurrences", v->count);
		fputc('\n', o);
		if (v->detail[0])
			fprintf(o, "  what     %s\n", v->detail);
		if (v->has_region)
			text_region(o, &v->region, !v->has_device);
		if (v->has_hit) {
			char site[24];

			fprintf(o, "  now      the bytes belong to live region id %u, %s, length %u, "
				"allocated at %" PRIu64 " ns by site %s\n", v->hit.id,
				tn_api_name(v->hit.api), v->hit.length, v->hit.alloc_ns,
				site_str(site, v->hit.alloc_site));
		}
		if (v->has_dma)
			fprintf(o, "  DMA      %s%s %s of 0x%" PRIx64 "+%u, %s ring descriptor %u%s%s\n",
				v->dma.failed ? "failed " : "", v->dma.write ? "write" : "read",
				tn_cause_name(v->dma.cause), v->dma.addr, v->dma.len,
				tn_ring_name(v->dma.ring), v->dma.desc,
				res->n_announced ? ", by " : "",
				res->n_announced ? res->devices[v->dma.dev].name : "");
		if (v->has_free)
			fprintf(o, "  free     %s(VA 0x%" PRIx64 ", Length %u, flags 0x%x) at %s "
				"from site %s\n", tn_free_api_name(v->free.api), v->free.va, v->free.length,
				v->free.flags, tn_irql_name(v->free.irql),
				site_str(site, v->free.site));
		if (v->has_device) {
			unsigned k;

			if (v->device.at_end) {
				fputs("  device   at the end of the trace:\n", o);
			} else {
				fprintf(o, "  device   at the free: %s; rings active:",
					v->device.quiesced ? "QUIESCED" : "not quiesced");
				text_rings(o, v->device.active_rings);
				fputc('\n', o);
			}
			for (k = 0; k < v->device.n_refs && k < DC_MAX_REFS_SHOWN; k++) {
				const struct dc_ref_info *f = &v->device.refs[k];

				fprintf(o, "           holding ref %" PRIu64 ": %s, %s ring descriptor %u, "
					"0x%" PRIx64 "+%u, taken at %" PRIu64 " ns", f->id,
					tn_ref_kind_name(f->kind), tn_ring_name(f->ring), f->idx, f->addr, f->len,
					f->taken_ns);
				if (res->n_announced)
					fprintf(o, ", by %s", res->devices[f->dev].name);
				if (f->unobserved)
					fprintf(o, "; dropped by the drain at %" PRIu64 " ns, which the "
						"driver never observed (no QUIESCED read)", f->drained_ns);
				fputc('\n', o);
			}
		}
	}
	if (res->not_itemised)
		fprintf(o, "%s: %" PRIu64 " further occurrences beyond the first %d distinct violations "
			"are counted below but not itemised\n", res->path, res->not_itemised,
			DC_MAX_VIOLATIONS);
	if (res->summarised_regions)
		fprintf(o, "%s: memory: more than %" PRIu64 " freed regions were kept with their "
			"details at once, so the %" PRIu64 " oldest (freed up to %" PRIu64 " ns) were "
			"summarised per page: DMA into their memory is still dma-after-free, reported "
			"without the region (--max-freed-regions N keeps more), and a second free of "
			"one is free-unknown\n", res->path, res->max_freed_regions,
			res->summarised_regions, res->summarised_until_ns);
	for (r = TN_RULE_NONE + 1; r < TN_RULE_COUNT; r++)
		total += res->rule_count[r];
	fprintf(o, "%s: %s: %" PRIu64 " records, %zu distinct violation%s (%" PRIu64
		" occurrences)", res->path, res->nv ? "VIOLATIONS" :
		res->unjudged_dma && !res->ledger_seen ? "UNJUDGED (no ledger)" : "clean", res->records,
		res->nv, res->nv == 1 ? "" : "s", total);
	for (r = TN_RULE_NONE + 1; r < TN_RULE_COUNT; r++)
		if (res->rule_count[r])
			fprintf(o, ", %s %" PRIu64, tn_rule_name(r), res->rule_count[r]);
	fputc('\n', o);
}

/* @g as the JSON member @key ("region", or "hit_region": the live one a stale reference hit). */
static void json_region(FILE *o, const char *key, const struct dc_region_info *g)
{
	unsigned i;

	if (g->summarised) {
		fprintf(o, "\"%s\":{\"summarised\":true,\"freed\":true}", key);
		return;
	}

	fprintf(o, "\"%s\":{\"id\":%u,\"api\":\"%s\",\"flags\":%u,\"length\":%u,\"tag\":%u,"
		"\"va\":%" PRIu64 ",\"alloc_ns\":%" PRIu64 ",\"alloc_site\":%u,\"free_ns\":%" PRIu64
		",\"free_site\":%u,\"n_extents\":%u,\"extents\":[", key, g->id, tn_api_name(g->api),
		g->flags, g->length, g->tag, g->va, g->alloc_ns, g->alloc_site, g->free_ns,
		g->free_site, g->n_extents);
	for (i = 0; i < g->n_extents && i < DC_MAX_EXTENTS_SHOWN; i++)
		fprintf(o, "%s{\"addr\":%" PRIu64 ",\"len\":%u,\"device_visible\":%s}", i ? "," : "",
			g->ext[i].addr, g->ext[i].len, g->ext[i].kind == TN_EXT_BUS ? "true" : "false");
	fprintf(o, "],\"freed\":%s", g->freed ? "true" : "false");
	if (g->freed)
		fprintf(o, ",\"at_free\":{\"quiesced\":%s,\"tx_active\":%s,\"rx_active\":%s,"
			"\"refs\":%u}", g->at_free_quiesced ? "true" : "false",
			g->at_free_tx_active ? "true" : "false", g->at_free_rx_active ? "true" : "false",
			g->at_free_refs);
	fputc('}', o);
}

/* A file name as a JSON string: quotes, backslashes and control bytes escaped. */
static void json_string(FILE *o, const char *s)
{
	fputc('"', o);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(o, "\\%c", c);
		else if (c < 0x20)
			fprintf(o, "\\u%04x", c);
		else
			fputc(c, o);
	}
	fputc('"', o);
}

/* The --stats facts: bytes by region kind and cause, and the busiest regions. */
static void json_stats(FILE *o, const struct dc_stats *st)
{
	unsigned api, c, i;
	bool first = true;

	fprintf(o, "\"stats\":{\"dma_records\":%" PRIu64 ",\"failed_dma\":%" PRIu64
		",\"ledger_records\":%" PRIu64 ",\"device_violations\":%" PRIu64 ",\"bytes\":[",
		st->dma_records, st->failed_dma, st->ledger_records, st->device_violations);
	for (api = 0; api <= TN_API_MAX; api++)
		for (c = 1; c <= TN_CAUSE_MAX; c++) {
			if (!st->bytes[api][c])
				continue;
			fprintf(o, "%s{\"api\":\"%s\",\"cause\":\"%s\",\"bytes\":%" PRIu64 "}",
				first ? "" : ",", api ? tn_api_name(api) : "none", tn_cause_name(c),
				st->bytes[api][c]);
			first = false;
		}
	fputs("],\"dma_records_by_cause\":{", o);
	for (c = 1, first = true; c <= TN_CAUSE_MAX; c++) {
		fprintf(o, "%s\"%s\":%" PRIu64, first ? "" : ",", tn_cause_name(c),
			st->dma_by_cause[c]);
		first = false;
	}
	fprintf(o, "},\"refs_taken\":%" PRIu64 ",\"refs_dropped\":%" PRIu64
		",\"refs_held_at_end\":%" PRIu64, st->refs_taken, st->refs_dropped,
		st->refs_held_at_end);
	fprintf(o, ",\"freed_pieces\":%" PRIu64 ",\"freed_regions_kept\":%" PRIu64,
		st->freed_pieces, st->freed_regions_kept);
	fprintf(o, ",\"regions_with_dma\":%" PRIu64 ",\"top_regions\":[", st->regions_with_dma);
	for (i = 0; i < st->n_top; i++) {
		const struct dc_region_stat *t = &st->top[i];

		fprintf(o, "%s{\"id\":%u,\"api\":\"%s\",\"va\":%" PRIu64 ",\"length\":%u,"
			"\"freed\":%s,\"bytes\":%" PRIu64 ",\"by_cause\":{", i ? "," : "", t->info.id,
			tn_api_name(t->info.api), t->info.va, t->info.length,
			t->info.freed ? "true" : "false", t->total);
		first = true;
		for (c = 1; c <= TN_CAUSE_MAX; c++) {
			if (!t->bytes[c])
				continue;
			fprintf(o, "%s\"%s\":%" PRIu64, first ? "" : ",", tn_cause_name(c), t->bytes[c]);
			first = false;
		}
		fputs("}}", o);
	}
	fputs("]}", o);
}

void dc_report_json(FILE *o, const struct dc_result *res)
{
	size_t i;
	unsigned r;
	bool first = true;

	fputs("{\"trace\":", o);
	json_string(o, res->path);
	fprintf(o, ",\"records\":%" PRIu64 ",\"complete\":%s,\"truncated\":%s,"
		"\"write_error\":%s,\"verdict\":\"%s\",\"not_itemised\":%" PRIu64,
		res->records, res->complete ? "true" : "false", res->truncated ? "true" : "false",
		res->write_error ? "true" : "false", res->nv ? "violations" :
		res->unjudged_dma && !res->ledger_seen ? "unjudged" : "clean",
		res->not_itemised);
	if (res->summarised_regions)	/* only then, like unjudged_dma */
		fprintf(o, ",\"summarised\":{\"regions\":%" PRIu64 ",\"freed_until_ns\":%" PRIu64
			",\"max_freed_regions\":%" PRIu64 "}", res->summarised_regions,
			res->summarised_until_ns, res->max_freed_regions);
	if (res->unjudged_dma)	/* only then, so the JSON of a judged trace is unchanged */
		fprintf(o, ",\"unjudged_dma\":%" PRIu64 ",\"ledger\":%s", res->unjudged_dma,
			res->ledger_seen ? "true" : "false");
	if (res->stopped)	/* only with --stopped-on-violation, so plain --json is unchanged */
		fputs(",\"stopped_on_violation\":true", o);
	fputs(",\"rules\":{", o);
	for (r = TN_RULE_NONE + 1; r < TN_RULE_COUNT; r++) {
		if (!res->rule_count[r])
			continue;
		fprintf(o, "%s\"%s\":%" PRIu64, first ? "" : ",", tn_rule_name(r), res->rule_count[r]);
		first = false;
	}
	fputs("},\"violations\":[", o);
	for (i = 0; i < res->nv; i++) {
		const struct dc_violation *v = &res->v[i];

		fprintf(o, "%s\n{\"rule\":\"%s\",\"time_ns\":%" PRIu64 ",\"record\":%" PRIu64
			",\"count\":%" PRIu64 ",\"detail\":\"%s\"", i ? "," : "", tn_rule_name(v->rule),
			v->time_ns, v->record, v->count, v->detail);
		if (v->has_icount)
			fprintf(o, ",\"icount\":%" PRIu64, v->icount);
		if (v->has_region) {
			fputc(',', o);
			json_region(o, "region", &v->region);
		}
		if (v->has_hit) {
			fputc(',', o);
			json_region(o, "hit_region", &v->hit);
		}
		if (v->has_dma) {
			fprintf(o, ",\"dma\":{\"cause\":\"%s\",\"write\":%s,\"failed\":%s,\"ring\":\"%s\","
				"\"desc\":%u,\"addr\":%" PRIu64 ",\"len\":%u", tn_cause_name(v->dma.cause),
				v->dma.write ? "true" : "false", v->dma.failed ? "true" : "false",
				tn_ring_name(v->dma.ring), v->dma.desc, v->dma.addr, v->dma.len);
			if (res->n_announced)
				fprintf(o, ",\"device\":%u,\"device_name\":\"%s\"", v->dma.dev,
					res->devices[v->dma.dev].name);
			fputc('}', o);
		}
		if (v->has_free)
			fprintf(o, ",\"free\":{\"api\":\"%s\",\"va\":%" PRIu64 ",\"length\":%u,\"flags\":%u,"
				"\"irql\":%u,\"site\":%u}", tn_free_api_name(v->free.api), v->free.va,
				v->free.length, v->free.flags, v->free.irql, v->free.site);
		if (v->has_device) {
			unsigned k;

			fprintf(o, ",\"device\":{\"quiesced\":%s,\"tx_active\":%s,\"rx_active\":%s,"
				"\"n_refs\":%u,\"refs\":[", v->device.quiesced ? "true" : "false",
				v->device.tx_active ? "true" : "false",
				v->device.rx_active ? "true" : "false", v->device.n_refs);
			for (k = 0; k < v->device.n_refs && k < DC_MAX_REFS_SHOWN; k++) {
				const struct dc_ref_info *f = &v->device.refs[k];

				fprintf(o, "%s{\"id\":%" PRIu64 ",\"kind\":\"%s\",\"ring\":\"%s\",\"desc\":%u,"
					"\"addr\":%" PRIu64 ",\"len\":%u,\"taken_ns\":%" PRIu64
					",\"unobserved_drain_ns\":%" PRIu64, k ? "," : "", f->id,
					tn_ref_kind_name(f->kind), tn_ring_name(f->ring), f->idx, f->addr,
					f->len, f->taken_ns, f->drained_ns);
				if (res->n_announced)
					fprintf(o, ",\"device\":%u,\"device_name\":\"%s\"", f->dev,
						res->devices[f->dev].name);
				fputc('}', o);
			}
			fputs("]}", o);
		}
		fputc('}', o);
	}
	fputs("],\n", o);
	json_stats(o, &res->stats);
	fputs("}\n", o);
}

void dc_report_stats(FILE *o, const struct dc_result *res)
{
	unsigned api, c, i;

	fprintf(o, "%s: %" PRIu64 " DMA records (%" PRIu64 " failed), %" PRIu64 " ledger records, "
		"%" PRIu64 " online violations recorded by the device\n", res->path,
		res->stats.dma_records, res->stats.failed_dma, res->stats.ledger_records,
		res->stats.device_violations);
	fprintf(o, "%-36s %-14s %14s\n", "region kind", "cause", "bytes");
	for (api = 0; api <= TN_API_MAX; api++)
		for (c = 1; c <= TN_CAUSE_MAX; c++)
			if (res->stats.bytes[api][c])
				fprintf(o, "%-36s %-14s %14" PRIu64 "\n",
					api ? tn_api_name(api) : "(no live device-visible region)", tn_cause_name(c),
					res->stats.bytes[api][c]);
	fprintf(o, "%" PRIu64 " regions received DMA; the %u with the most:\n",
		res->stats.regions_with_dma, res->stats.n_top);
	for (i = 0; i < res->stats.n_top; i++) {
		const struct dc_region_stat *t = &res->stats.top[i];

		fprintf(o, "  id %u, %s, length %u, VA 0x%" PRIx64 ", %s: %" PRIu64 " bytes",
			t->info.id, tn_api_name(t->info.api), t->info.length, t->info.va,
			t->info.freed ? "freed" : "live at the end", t->total);
		for (c = 1; c <= TN_CAUSE_MAX; c++)
			if (t->bytes[c])
				fprintf(o, ", %s %" PRIu64, tn_cause_name(c), t->bytes[c]);
		fputc('\n', o);
	}
}
