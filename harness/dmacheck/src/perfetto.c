/*
 * Streaming writer: regions are written when freed (or at the end), so the
 * output never needs the whole trace in memory.  Tracks (tid) are one per
 * allocation API plus one for DMA and one for violations.
 */
#include <stdlib.h>

#include "perfetto.h"

enum { TID_DMA = 10, TID_VIOLATIONS = 11 };

struct perfetto {
	FILE *out;
	uint64_t dma_max, dma_written, dma_skipped;
	bool first;
};

static void sep(struct perfetto *p)
{
	fputs(p->first ? "\n" : ",\n", p->out);
	p->first = false;
}

static double us(uint64_t ns)
{
	return ns / 1000.0;
}

struct perfetto *perfetto_open(FILE *out, uint64_t dma_max)
{
	struct perfetto *p = calloc(1, sizeof(*p));
	unsigned api;

	if (!p)
		return NULL;
	p->out = out;
	p->dma_max = dma_max;
	p->first = true;
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", out);
	for (api = TN_API_POOL; api <= TN_API_MAX; api++) {
		sep(p);
		fprintf(out, "{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\","
			"\"args\":{\"name\":\"%s\"}}", api, tn_api_name(api));
	}
	sep(p);
	fprintf(out, "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_name\","
		"\"args\":{\"name\":\"device DMA\"}}", TID_DMA);
	sep(p);
	fprintf(out, "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_name\","
		"\"args\":{\"name\":\"VIOLATIONS\"}}", TID_VIOLATIONS);
	return p;
}

void perfetto_region_open(struct perfetto *p, const struct dc_region_info *g, uint64_t end_ns)
{
	if (!p)
		return;
	sep(p);
	fprintf(p->out, "{\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,"
		"\"name\":\"id %u (%u bytes)%s\",\"args\":{\"va\":\"0x%llx\",\"flags\":\"0x%x\","
		"\"tag\":\"0x%x\",\"alloc_site\":%u,\"free_site\":%u}}",
		g->api, us(g->alloc_ns), us(end_ns - g->alloc_ns), g->id, g->length,
		g->freed ? "" : " never freed", (unsigned long long)g->va, g->flags, g->tag,
		g->alloc_site, g->free_site);
}

void perfetto_region(struct perfetto *p, const struct dc_region_info *g)
{
	perfetto_region_open(p, g, g->free_ns);
}

void perfetto_dma(struct perfetto *p, uint64_t ns, const struct tn_rec *t)
{
	if (!p)
		return;
	if (p->dma_written >= p->dma_max) {
		p->dma_skipped++;
		return;
	}
	p->dma_written++;
	sep(p);
	fprintf(p->out, "{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,"
		"\"name\":\"%s%s\",\"args\":{\"addr\":\"0x%llx\",\"len\":%u,\"desc\":%u}}",
		TID_DMA, us(ns), tn_cause_name(t->kind),
		t->type == TN_REC_DMA_FAILED ? " (failed)" : "",
		(unsigned long long)t->u.dma.addr, t->u.dma.len, t->idx);
}

void perfetto_violation(struct perfetto *p, uint64_t ns, const char *rule)
{
	if (!p)
		return;
	sep(p);
	fprintf(p->out, "{\"ph\":\"i\",\"s\":\"g\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,"
		"\"name\":\"VIOLATION %s\",\"cname\":\"terrible\"}", TID_VIOLATIONS, us(ns), rule);
}

void perfetto_close(struct perfetto *p)
{
	if (!p)
		return;
	if (p->dma_skipped) {
		sep(p);
		fprintf(p->out, "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_labels\",\"args\":"
			"{\"labels\":\"%llu DMA events beyond the first %llu are not shown\"}}",
			(unsigned long long)p->dma_skipped, (unsigned long long)p->dma_max);
	}
	fputs("\n]}\n", p->out);
	free(p);
}
