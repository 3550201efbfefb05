/*
 * What the qtests of traced devices share (tracenic-test.c,
 * e1000e-trace-test.c): a PCI device on a socket netdev writing a trace of
 * its own, its registers, the frames on the socket, and the trace read back
 * from disk.  Included after libqtest.h, libqos/pci-pc.h, libqos/malloc-pc.h
 * and tracenic/trace.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef TRACENIC_TN_QTEST_H
#define TRACENIC_TN_QTEST_H

#include <sys/socket.h>

typedef struct TN {
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;
    int sock[2];
    char *trace;
    char *dir;
} TN;

/* The trace as read back from disk. */
typedef struct Trace {
    gchar *data;
    gsize len;
    const struct tn_trace_header *hdr;
    const struct tn_rec *rec;
    size_t n;
} Trace;

static inline void tracenic_stop(TN *t)
{
    g_free(t->dev);
    qpci_free_pc(t->bus);
    alloc_destroy(&t->alloc);
    if (t->qts) {           /* NULL: the test already quit QEMU */
        qtest_quit(t->qts);
    }
    close(t->sock[0]);
    close(t->sock[1]);
    unlink(t->trace);
    rmdir(t->dir);
    g_free(t->trace);
    g_free(t->dir);
    g_free(t);
}

static inline uint32_t rd(TN *t, uint32_t reg)
{
    return qpci_io_readl(t->dev, t->bar, reg);
}

static inline void wr(TN *t, uint32_t reg, uint32_t val)
{
    qpci_io_writel(t->dev, t->bar, reg, val);
}

static inline void trace_load(Trace *tr, const char *path)
{
    g_assert(g_file_get_contents(path, &tr->data, &tr->len, NULL));
    g_assert_cmpuint(tr->len, >=, TN_TRACE_HEADER_SIZE);
    g_assert_cmpuint((tr->len - TN_TRACE_HEADER_SIZE) % TN_TRACE_REC_SIZE,
                     ==, 0);
    tr->hdr = (const void *)tr->data;
    tr->rec = (const void *)(tr->data + TN_TRACE_HEADER_SIZE);
    tr->n = (tr->len - TN_TRACE_HEADER_SIZE) / TN_TRACE_REC_SIZE;
}

/* Stopping the VM flushes the trace; read it and let the VM run again. */
static inline void trace_snapshot(TN *t, Trace *tr)
{
    qtest_qmp_assert_success(t->qts, "{'execute': 'stop'}");
    trace_load(tr, t->trace);
    qtest_qmp_assert_success(t->qts, "{'execute': 'cont'}");
}

static inline void trace_free(Trace *tr)
{
    g_free(tr->data);
}

/* The first record of @type (and @kind unless -1) at or after @from. */
static inline ssize_t trace_find(const Trace *tr, size_t from, int type,
                                 int kind)
{
    size_t i;

    for (i = from; i < tr->n; i++) {
        if (tr->rec[i].type == type && (kind < 0 || tr->rec[i].kind == kind)) {
            return i;
        }
    }
    return -1;
}

static inline size_t trace_count(const Trace *tr, int type, int kind)
{
    size_t i, n = 0;

    for (i = 0; i < tr->n; i++) {
        n += tr->rec[i].type == type && (kind < 0 || tr->rec[i].kind == kind);
    }
    return n;
}

/* Read one frame the device sent to the socket netdev. */
/*
 * What any trace a fuzz wrote must be: valid record types, time never going
 * back, every reference dropped at most once and only after it was taken,
 * every DMA under a reference that is held (or none), END last with the
 * record count.  @held ends with the references still held.
 */
static inline void trace_check_consistent(const Trace *tr, GHashTable *held)
{
    size_t i;

    for (i = 0; i < tr->n; i++) {
        const struct tn_rec *r = &tr->rec[i];
        gpointer id = GUINT_TO_POINTER(r->id);

        g_assert_cmpuint(r->type, >=, TN_REC_DMA_READ);
        g_assert_cmpuint(r->type, <=, TN_REC_TYPE_MAX);
        if (i) {
            g_assert_cmpuint(r->time_ns, >=, tr->rec[i - 1].time_ns);
        }
        switch (r->type) {
        case TN_REC_REF_TAKE:
            g_assert_cmpuint(r->id, !=, 0);
            g_assert(!g_hash_table_contains(held, id));
            g_hash_table_add(held, id);
            break;
        case TN_REC_REF_DROP:
            g_assert(g_hash_table_remove(held, id));
            break;
        case TN_REC_DMA_READ:
        case TN_REC_DMA_WRITE:
        case TN_REC_DMA_FAILED:
            g_assert(r->id == 0 || g_hash_table_contains(held, id));
            g_assert_cmpuint(r->kind, >=, TN_CAUSE_TX_DESC_READ);
            g_assert_cmpuint(r->kind, <=, TN_CAUSE_MAX);
            break;
        }
    }
    g_assert_cmpuint(tr->rec[tr->n - 1].type, ==, TN_REC_END);
    g_assert_cmpuint(tr->rec[tr->n - 1].u.end.records, ==, tr->n - 1);
}

static inline size_t sock_recv_frame(TN *t, uint8_t *buf, size_t max)
{
    uint32_t len;

    g_assert_cmpint(recv(t->sock[0], &len, sizeof(len), MSG_WAITALL), ==,
                    sizeof(len));
    len = ntohl(len);
    g_assert_cmpuint(len, <=, max);
    g_assert_cmpint(recv(t->sock[0], buf, len, MSG_WAITALL), ==, len);
    return len;
}

static inline void sock_send_frame(TN *t, const uint8_t *buf, uint32_t len)
{
    uint32_t be = htonl(len);

    g_assert_cmpint(send(t->sock[0], &be, sizeof(be), 0), ==, sizeof(be));
    g_assert_cmpint(send(t->sock[0], buf, len, 0), ==, len);
}

static inline bool sock_has_data(TN *t)
{
    uint8_t b;

    return recv(t->sock[0], &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

static inline void fill_frame(uint8_t *f, size_t len, uint8_t seed)
{
    size_t i;

    memset(f, 0xff, 6);
    memcpy(f + 6, "\x52\x54\x00\x12\x34\x56", 6);
    f[12] = 0x08;
    f[13] = 0x00;
    for (i = 14; i < len; i++) {
        f[i] = seed + i;
    }
}

#endif
