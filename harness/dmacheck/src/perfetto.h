/* Chrome/Perfetto trace-event JSON: allocation lifetimes, DMA, violations. */
#ifndef DMACHECK_PERFETTO_H
#define DMACHECK_PERFETTO_H

#include <stdio.h>
#include "dmacheck.h"

struct perfetto;

struct perfetto *perfetto_open(FILE *out, uint64_t dma_max);
void perfetto_region(struct perfetto *p, const struct dc_region_info *g);
void perfetto_region_open(struct perfetto *p, const struct dc_region_info *g, uint64_t end_ns);
void perfetto_dma(struct perfetto *p, uint64_t ns, const struct tn_rec *t);
void perfetto_violation(struct perfetto *p, uint64_t ns, const char *rule);
void perfetto_close(struct perfetto *p);

#endif
