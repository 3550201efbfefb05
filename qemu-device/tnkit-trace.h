/*
 * tracenic kit: the trace writer, buffered, size-capped, and loud about
 * write errors.
 *
 * Deliberately free of QEMU dependencies (libc and include/tracenic/trace.h
 * only) so that qemu-device/bench/ can measure it on its own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_NET_TNKIT_TRACE_H
#define HW_NET_TNKIT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tracenic/trace.h"

typedef struct TNKitTraceWriter TNKitTraceWriter;

/* Called once per problem with a complete sentence; the writer never prints. */
typedef void TNKitTraceReportFn(void *opaque, const char *msg);

/*
 * Create @path (truncating it) and write @hdr.  @cap_bytes 0 means no cap;
 * otherwise it must leave room for the header and a few records.  Returns
 * NULL and sets *@errmsg (g_free-able with free()) on failure.
 */
TNKitTraceWriter *tnkit_trace_open(const char *path,
                                   const struct tn_trace_header *hdr,
                                   uint64_t cap_bytes,
                                   TNKitTraceReportFn *report, void *opaque,
                                   char **errmsg);

/* Append one record; @rec->time_ns must be set by the caller. */
void tnkit_trace_put(TNKitTraceWriter *w, const struct tn_rec *rec);

/* Push buffered records to the file (VM stop, reset, before reading it). */
void tnkit_trace_flush(TNKitTraceWriter *w);

/* Write the END record with these totals, flush and close. */
void tnkit_trace_close(TNKitTraceWriter *w, uint64_t dma_bytes,
                       uint32_t violations);

uint64_t tnkit_trace_records(const TNKitTraceWriter *w);
uint64_t tnkit_trace_dropped(const TNKitTraceWriter *w);
bool tnkit_trace_failed(const TNKitTraceWriter *w);

#endif
