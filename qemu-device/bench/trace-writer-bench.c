/*
 * Trace-writer throughput: how many records/s tnkit_trace_put() sustains,
 * including the writes to a real file.  The baseline in the same run is a
 * plain memcpy into a buffer of the same size, so the ratio says how close
 * the writer is to the cost of copying the bytes at all.
 *
 * The trace is written twice and the second pass is the figure.  The first
 * pass is also printed: it puts the file into pages of the page cache that
 * may not have been touched for a while, and in a virtual machine that hands
 * free memory back to its host (virtio-balloon free page reporting), the
 * first touch of such memory ran at 270-400 MB/s here against 1-1.3 GB/s
 * right after, so a cold pass measures the host, not the writer.
 *
 * Usage: trace-writer-bench [records] [file]
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tnkit-trace.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(void *opaque, const char *msg)
{
    (void)opaque;
    fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 10000000;
    const char *path = argc > 2 ? argv[2] : "trace-writer-bench.bin";
    struct tn_trace_header hdr;
    static uint8_t sink[1 << 20];
    struct tn_rec rec;
    TNKitTraceWriter *w;
    char *err;
    double t0, t_copy, t_write, t_pass[2];
    uint64_t i;
    int pass;

    memset(&hdr, 0, sizeof(hdr));
    memcpy(hdr.magic, TN_TRACE_MAGIC, TN_TRACE_MAGIC_LEN);
    hdr.version = TN_TRACE_VERSION;
    hdr.header_size = TN_TRACE_HEADER_SIZE;
    hdr.record_size = TN_TRACE_REC_SIZE;
    memset(&rec, 0, sizeof(rec));
    rec.type = TN_REC_DMA_WRITE;
    rec.kind = TN_CAUSE_RX_BUF_WRITE;
    rec.u.dma.len = 1514;

    /* Baseline: copying the same bytes into a cache-sized ring buffer. */
    t0 = now_s();
    for (i = 0; i < n; i++) {
        rec.time_ns = i;
        memcpy(sink + (i % (sizeof(sink) / sizeof(rec))) * sizeof(rec), &rec,
               sizeof(rec));
    }
    t_copy = now_s() - t0;

    for (pass = 0; pass < 2; pass++) {
        w = tnkit_trace_open(path, &hdr, 0, report, NULL, &err);
        if (!w) {
            fprintf(stderr, "trace-writer-bench: %s\n",
                    err ? err : "out of memory");
            return 1;
        }
        t0 = now_s();
        for (i = 0; i < n; i++) {
            rec.time_ns = i;
            rec.u.dma.addr = i * 2048;
            tnkit_trace_put(w, &rec);
        }
        tnkit_trace_close(w, 0, 0);
        t_pass[pass] = now_s() - t0;
        unlink(path);
    }
    t_write = t_pass[1];

    printf("trace writer: %llu records in %.3f s = %.1f M records/s, %.0f MB/s "
           "(memcpy baseline %.1f M records/s, writer/baseline time ratio %.2f; "
           "first, cold pass %.1f M records/s)\n",
           (unsigned long long)n, t_write, n / t_write / 1e6,
           n * (double)TN_TRACE_REC_SIZE / t_write / 1e6, n / t_copy / 1e6,
           t_write / t_copy, n / t_pass[0] / 1e6);
    return t_write > 0 && n / t_write >= 5e6 ? 0 : 2;
}
