/*
 * tracenic kit: the trace writer.
 *
 * Records are appended to a large buffer and written with pwrite() when it
 * fills, so a record costs a 48-byte copy.  Disk space is reserved ahead of
 * the write position (fallocate, KEEP_SIZE): when the disk fills up, the
 * reservation still holds a WRITE_ERROR and an END record, so the trace
 * itself says that it is incomplete instead of just stopping.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tnkit-trace.h"

/* 768 KiB */
#define TNKIT_TRACE_BUF_SIZE     (1024 * TN_TRACE_REC_SIZE * 16)
#define TNKIT_TRACE_RESERVE_STEP (8u << 20)
/* Always keep space for TRUNCATED/WRITE_ERROR + END. */
#define TNKIT_TRACE_TAIL_RECS    2

struct TNKitTraceWriter {
    int fd;
    char *path;
    uint8_t *buf;
    size_t used;
    uint64_t pos;           /* file offset of buf[0] */
    uint64_t reserved_end;  /* file space allocated up to here */
    bool can_reserve;
    uint64_t records;       /* records accepted into the file */
    uint64_t dropped;
    uint64_t max_records;   /* from the cap; UINT64_MAX if none */
    bool truncated;
    bool failed;            /* a write error stopped tracing */
    uint64_t cap_bytes;
    uint64_t last_time_ns;  /* little-endian, as in the records */
    TNKitTraceReportFn *report;
    void *opaque;
};

static void wr_report(TNKitTraceWriter *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void wr_report(TNKitTraceWriter *w, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (w->report) {
        w->report(w->opaque, msg);
    }
}

static int tnkit_pwrite_all(int fd, const void *data, size_t len,
                            uint64_t off)
{
    const uint8_t *p = data;

    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            return -ENOSPC;
        }
        p += n;
        len -= n;
        off += n;
    }
    return 0;
}

/* Make sure [pos, pos + len + tail) is allocated on disk. */
static int tnkit_reserve(TNKitTraceWriter *w, uint64_t len)
{
    uint64_t need = w->pos + len + TNKIT_TRACE_TAIL_RECS * TN_TRACE_REC_SIZE;
    uint64_t grow;
    int ret;

    if (!w->can_reserve || need <= w->reserved_end) {
        return 0;
    }
    grow = need - w->reserved_end;
    if (grow < TNKIT_TRACE_RESERVE_STEP) {
        grow = TNKIT_TRACE_RESERVE_STEP;
    }
    ret = fallocate(w->fd, FALLOC_FL_KEEP_SIZE, w->reserved_end, grow);
    if (ret < 0 && errno == ENOSPC && need > w->reserved_end) {
        /* Not enough for a whole step: try exactly what this write needs. */
        grow = need - w->reserved_end;
        ret = fallocate(w->fd, FALLOC_FL_KEEP_SIZE, w->reserved_end, grow);
    }
    if (ret < 0) {
        if (errno == EOPNOTSUPP || errno == ENOSYS) {
            w->can_reserve = false;
            return 0;
        }
        return -errno;
    }
    w->reserved_end += grow;
    return 0;
}

/*
 * Writing failed: the records in the buffer are lost.  Say so on stderr and,
 * using the space reserved earlier, in the trace itself, then stop tracing.
 */
static void tnkit_fail(TNKitTraceWriter *w, int err)
{
    struct tn_rec tail[TNKIT_TRACE_TAIL_RECS];
    uint64_t lost = w->used / TN_TRACE_REC_SIZE;

    w->failed = true;
    w->records -= lost;
    w->dropped += lost;
    w->used = 0;
    wr_report(w, "tracenic: cannot write trace file '%s': %s; tracing stopped "
              "after %llu records and %llu records were lost. Free space on "
              "that filesystem (or set trace-max-bytes) and run again.",
              w->path, strerror(-err), (unsigned long long)w->records,
              (unsigned long long)w->dropped);

    memset(tail, 0, sizeof(tail));
    tail[0].time_ns = w->last_time_ns;
    tail[0].type = TN_REC_WRITE_ERROR;
    tail[0].u.write_error.error = (int32_t)htole32(-err);
    tail[1].time_ns = w->last_time_ns;
    tail[1].type = TN_REC_END;
    tail[1].kind = TN_END_WRITE_ERROR;
    tail[1].u.end.records = htole64(w->records + 1);
    tail[1].u.end.dropped = htole64(w->dropped);
    if (tnkit_pwrite_all(w->fd, tail, sizeof(tail), w->pos) == 0) {
        w->pos += sizeof(tail);
    } else {
        wr_report(w, "tracenic: could not even record the write error in '%s'; "
                  "the trace ends without an END record.", w->path);
    }
}

static void tnkit_write_buffer(TNKitTraceWriter *w)
{
    int ret;

    if (!w->used || w->failed) {
        return;
    }
    ret = tnkit_reserve(w, w->used);
    if (ret == 0) {
        ret = tnkit_pwrite_all(w->fd, w->buf, w->used, w->pos);
    }
    if (ret < 0) {
        tnkit_fail(w, ret);
        return;
    }
    w->pos += w->used;
    w->used = 0;
}

TNKitTraceWriter *tnkit_trace_open(const char *path,
                                   const struct tn_trace_header *hdr,
                                   uint64_t cap_bytes,
                                   TNKitTraceReportFn *report, void *opaque,
                                   char **errmsg)
{
    uint64_t min_cap = TN_TRACE_HEADER_SIZE +
                       (TNKIT_TRACE_TAIL_RECS + 1) * TN_TRACE_REC_SIZE;
    TNKitTraceWriter *w;
    int ret;

    *errmsg = NULL;
    if (cap_bytes && cap_bytes < min_cap) {
        if (asprintf(errmsg, "trace-max-bytes=%llu is too small: it must be at "
                     "least %llu bytes (header and three records)",
                     (unsigned long long)cap_bytes,
                     (unsigned long long)min_cap) < 0) {
            *errmsg = NULL;
        }
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        return NULL;
    }
    w->buf = malloc(TNKIT_TRACE_BUF_SIZE);
    w->path = strdup(path);
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0 || !w->buf || !w->path) {
        if (asprintf(errmsg, "cannot create trace file '%s': %s", path,
                     strerror(errno)) < 0) {
            *errmsg = NULL;
        }
        goto fail;
    }
    w->can_reserve = true;
    w->report = report;
    w->opaque = opaque;
    w->cap_bytes = cap_bytes;
    w->max_records = cap_bytes ?
        (cap_bytes - TN_TRACE_HEADER_SIZE) / TN_TRACE_REC_SIZE -
        TNKIT_TRACE_TAIL_RECS :
        UINT64_MAX;
    ret = tnkit_reserve(w, TN_TRACE_HEADER_SIZE);
    if (ret == 0) {
        ret = tnkit_pwrite_all(w->fd, hdr, sizeof(*hdr), 0);
    }
    if (ret < 0) {
        if (asprintf(errmsg, "cannot write the header of trace file '%s': %s",
                     path, strerror(-ret)) < 0) {
            *errmsg = NULL;
        }
        goto fail;
    }
    w->pos = TN_TRACE_HEADER_SIZE;
    return w;

fail:
    if (w->fd >= 0) {
        close(w->fd);
    }
    free(w->buf);
    free(w->path);
    free(w);
    return NULL;
}

static void tnkit_append(TNKitTraceWriter *w, const struct tn_rec *rec)
{
    memcpy(w->buf + w->used, rec, TN_TRACE_REC_SIZE);
    w->used += TN_TRACE_REC_SIZE;
    w->records++;
    w->last_time_ns = rec->time_ns;
    if (w->used == TNKIT_TRACE_BUF_SIZE) {
        tnkit_write_buffer(w);
    }
}

void tnkit_trace_put(TNKitTraceWriter *w, const struct tn_rec *rec)
{
    if (__builtin_expect(w->failed || w->truncated, 0)) {
        w->dropped++;
        return;
    }
    if (__builtin_expect(w->records >= w->max_records, 0)) {
        struct tn_rec t;

        memset(&t, 0, sizeof(t));
        t.time_ns = rec->time_ns;
        t.type = TN_REC_TRUNCATED;
        t.u.truncated.cap_bytes = htole64(w->cap_bytes);
        w->truncated = true;
        tnkit_append(w, &t);
        w->dropped++;
        wr_report(w, "tracenic: trace file '%s' reached trace-max-bytes=%llu; "
                  "later records are dropped and counted in the END record.",
                  w->path, (unsigned long long)w->cap_bytes);
        return;
    }
    tnkit_append(w, rec);
}

void tnkit_trace_flush(TNKitTraceWriter *w)
{
    tnkit_write_buffer(w);
}

void tnkit_trace_close(TNKitTraceWriter *w, uint64_t dma_bytes,
                       uint32_t violations)
{
    if (!w->failed) {
        struct tn_rec end;

        memset(&end, 0, sizeof(end));
        end.time_ns = w->last_time_ns;
        end.type = TN_REC_END;
        end.kind = TN_END_CLOSE;
        end.u.end.records = htole64(w->records);
        end.u.end.dropped = htole64(w->dropped);
        end.u.end.dma_bytes = htole64(dma_bytes);
        end.u.end.violations = htole32(violations);
        tnkit_append(w, &end);
        tnkit_write_buffer(w);
    }
    if (close(w->fd) < 0 && !w->failed) {
        wr_report(w, "tracenic: closing trace file '%s' failed: %s; the trace "
                  "may be incomplete.", w->path, strerror(errno));
    }
    free(w->buf);
    free(w->path);
    free(w);
}

uint64_t tnkit_trace_records(const TNKitTraceWriter *w)
{
    return w->records;
}

uint64_t tnkit_trace_dropped(const TNKitTraceWriter *w)
{
    return w->dropped;
}

bool tnkit_trace_failed(const TNKitTraceWriter *w)
{
    return w->failed;
}
