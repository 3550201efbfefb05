/*
 * qtest for QEMU's e1000e traced through the tracenic kit (docs/e1000e.md):
 * TX and RX with real DMA through a socket netdev, each record checked field
 * by field (cause, address, length, ring, slot, reference), the references
 * taken at the tail write and dropped at write-back, ring disable and reset;
 * hostile programming with tracing on; seeded random programming; dmacheck
 * on every trace; and e1000e without a trace.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qapi/qmp/qdict.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "hw/net/e1000_regs.h"
#include "hw/pci/pci_regs.h"
#include "tracenic/trace.h"
#include "tn-qtest.h"

#define E1000E_DEVFN QPCI_DEVFN(3, 0)

/*
 * What an RX buffer's reference covers without RCTL.LPE: the longest frame
 * the model accepts (1522 bytes) and its FCS, however large RCTL.BSIZE
 * says the buffer is (Linux maps 1522 bytes of a 2 KiB buffer).
 */
#define RX_REACH (1522 + 4)

/*
 * e1000e at 03.0, writing a trace of its own, on a socket netdev (or on
 * slirp, @user: it answers some frames from within the TX call).
 */
static TN *e1000e_start_on(bool user, const char *extra)
{
    TN *t = g_new0(TN, 1);
    g_autofree char *netdev = NULL;

    t->dir = g_dir_make_tmp("e1000e-trace-qtest-XXXXXX", NULL);
    g_assert(t->dir);
    t->trace = g_strdup_printf("%s/trace.bin", t->dir);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, t->sock), ==, 0);
    netdev = user ? g_strdup("user,id=n0,restrict=on") :
             g_strdup_printf("socket,fd=%d,id=n0", t->sock[1]);
    t->qts = qtest_initf("-M pc -nodefaults -netdev %s "
                         "-device e1000e,netdev=n0,addr=03.0,trace=%s%s%s",
                         netdev, t->trace, extra ? "," : "",
                         extra ? extra : "");
    pc_alloc_init(&t->alloc, t->qts, 0);
    t->bus = qpci_new_pc(t->qts, &t->alloc);
    t->dev = qpci_device_find(t->bus, E1000E_DEVFN);
    g_assert(t->dev);
    qpci_device_enable(t->dev);
    t->bar = qpci_iomap(t->dev, 0, NULL);
    wr(t, E1000_CTRL, rd(t, E1000_CTRL) | E1000_CTRL_RST | E1000_CTRL_SLU);
    g_assert_cmphex(rd(t, E1000_STATUS) & E1000_STATUS_LU, ==, E1000_STATUS_LU);
    return t;
}

static TN *e1000e_start(const char *extra)
{
    return e1000e_start_on(false, extra);
}

/* xDBAL, xDBAH, xDLEN, xDH, xDT of one ring, from its xDBAL. */
static void e1000e_ring(TN *t, uint32_t bal, uint64_t base, uint32_t descs)
{
    wr(t, bal, base);
    wr(t, bal + 4, base >> 32);
    wr(t, bal + 8, descs * 16);
    wr(t, bal + 0x10, 0);
    wr(t, bal + 0x18, 0);
}

/* A frame of @len bytes (pattern @seed) with the local experimental EtherType 0x88b5. */
static void local_frame(uint8_t *frame, size_t len, uint8_t seed)
{
    fill_frame(frame, len, seed);
    frame[12] = 0x88;
    frame[13] = 0xb5;
}

static void put_desc(TN *t, uint64_t ring, uint32_t slot, uint64_t addr,
                     uint32_t lower, uint32_t upper)
{
    uint64_t d[2] = {
        cpu_to_le64(addr),
        cpu_to_le64(lower | (uint64_t)upper << 32),
    };

    qtest_memwrite(t->qts, ring + slot * 16, d, sizeof(d));
}

/* Quit QEMU: the trace ends with END and is complete on disk. */
static void e1000e_quit(TN *t, Trace *tr)
{
    qtest_quit(t->qts);
    t->qts = NULL;
    trace_load(tr, t->trace);
    g_assert_cmpuint(tr->rec[tr->n - 1].type, ==, TN_REC_END);
    g_assert_cmpuint(tr->rec[tr->n - 1].u.end.records, ==, tr->n - 1);
    g_assert_cmpuint(tr->rec[tr->n - 1].u.end.dropped, ==, 0);
}

/*
 * What Linux's e1000e_remove() does to the device (e1000e_down(), then the
 * reset): receive and transmit off, then CTRL.RST.  The device then holds
 * nothing, so a test that ends this way leaves no reference held at the
 * end.  QEMU 7.2's CTRL.RST resets the MAC address only (e1000e_set_ctrl)
 * and leaves the rings on in the model; the trace takes them off at the
 * reset, as the 82574 does (test_soft_reset).
 */
static void e1000e_remove(TN *t)
{
    wr(t, E1000_RCTL, rd(t, E1000_RCTL) & ~E1000_RCTL_EN);
    wr(t, E1000_TCTL, rd(t, E1000_TCTL) & ~E1000_TCTL_EN);
    wr(t, E1000_CTRL, rd(t, E1000_CTRL) | E1000_CTRL_RST);
}

/*
 * dmacheck on a complete trace: it reads it (exit 2 is a trace it cannot
 * read) and says it judged no allocation (its NOTE: nothing reported one).
 * Returns the names of the rules it reported; *status is its exit status.
 */
static GHashTable *dmacheck_rules(TN *t, int *status)
{
    const char *bin = g_getenv("TRACENIC_DMACHECK");
    g_autofree char *out = NULL, *err = NULL;
    g_auto(GStrv) lines = NULL;
    char *argv[] = { (char *)bin, t->trace, NULL };
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                             NULL);
    int i, st;

    if (!bin) {
        g_error("TRACENIC_DMACHECK is not set: run the qtests with "
                "qemu-device/run-qtests.sh, which builds dmacheck and sets it");
    }
    g_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                          &out, &err, &st, NULL));
    g_test_message("dmacheck %s: %s%s", t->trace, out, err);
    g_assert(WIFEXITED(st));
    *status = WEXITSTATUS(st);
    g_assert(strstr(out, "DMA accesses came before any ledger record") ||
             strstr(out, "DMA access came before any ledger record"));
    g_assert(*status != 0 || strstr(out, "UNJUDGED (no ledger)"));
    lines = g_strsplit(out, "\n", -1);
    for (i = 0; lines[i]; i++) {
        const char *v = strstr(lines[i], ": VIOLATION ");

        if (v) {
            v += strlen(": VIOLATION ");
            g_hash_table_add(seen, g_strndup(v, strcspn(v, ":")));
        }
    }
    g_assert_cmpint(*status, ==, g_hash_table_size(seen) ? 1 : 0);
    return seen;
}

/*
 * dmacheck reports exactly the rules in @rules (space-separated names of
 * rules that need no ledger; "" for none: "UNJUDGED (no ledger)").
 */
static void dmacheck(TN *t, const char *rules)
{
    g_auto(GStrv) want = g_strsplit(rules, " ", -1);
    int status, i, n_want = 0;
    GHashTable *seen = dmacheck_rules(t, &status);

    for (i = 0; want[i]; i++) {
        if (*want[i]) {
            g_assert(g_hash_table_contains(seen, want[i]));
            n_want++;
        }
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, n_want);
    g_hash_table_destroy(seen);
}

/*
 * How a test ends: the driver's teardown (e1000e_remove), QEMU quit with the
 * trace complete, dmacheck reporting exactly @rules.
 */
static void e1000e_finish(TN *t, const char *rules)
{
    Trace tr;

    e1000e_remove(t);
    e1000e_quit(t, &tr);
    trace_free(&tr);
    dmacheck(t, rules);
    tracenic_stop(t);
}

/* The record at @i has these fields (DMA). */
static void check_dma(const Trace *tr, ssize_t i, int type, int cause,
                      int ring, uint32_t slot, uint64_t addr, uint32_t len)
{
    g_assert_cmpint(i, >=, 0);
    g_assert_cmpuint(tr->rec[i].type, ==, type);
    g_assert_cmpuint(tr->rec[i].kind, ==, cause);
    g_assert_cmpuint(tr->rec[i].u.dma.ring, ==, ring);
    g_assert_cmpuint(tr->rec[i].idx, ==, slot);
    g_assert_cmphex(tr->rec[i].u.dma.addr, ==, addr);
    g_assert_cmpuint(tr->rec[i].u.dma.len, ==, len);
}

/* ... (a reference) */
static void check_ref(const Trace *tr, ssize_t i, int type, int kind,
                      int ring, uint32_t slot, uint64_t addr, uint32_t len)
{
    g_assert_cmpint(i, >=, 0);
    g_assert_cmpuint(tr->rec[i].type, ==, type);
    g_assert_cmpuint(tr->rec[i].kind, ==, kind);
    g_assert_cmpuint(tr->rec[i].u.ref.ring, ==, ring);
    g_assert_cmpuint(tr->rec[i].idx, ==, slot);
    g_assert_cmphex(tr->rec[i].u.ref.addr, ==, addr);
    g_assert_cmpuint(tr->rec[i].u.ref.len, ==, len);
    g_assert_cmpuint(tr->rec[i].u.ref.drained, ==, 0);
}

/* The ring's enable, its reference, and nothing posted before @from. */
static ssize_t check_enable(const Trace *tr, int ring, uint64_t base,
                            uint32_t descs)
{
    ssize_t i = trace_find(tr, 0, TN_REC_STATE, TN_ST_RING_ENABLE);

    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr->rec[i].idx, ==, ring);
    g_assert_cmphex(tr->rec[i].u.state.value, ==, base);
    g_assert_cmpuint(tr->rec[i].u.state.value2, ==, descs);
    check_ref(tr, i + 1, TN_REC_REF_TAKE, TN_REF_RING, ring, 0, base,
              descs * 16);
    return i + 1;
}

/*
 * Ring disable at or after @from: RING_DISABLE, its @posted references, the
 * ring's, RING_IDLE.
 */
static void check_disable(const Trace *tr, size_t from, int ring,
                          uint64_t base, uint32_t descs, size_t posted)
{
    ssize_t i = trace_find(tr, from, TN_REC_STATE, TN_ST_RING_DISABLE);
    size_t k;

    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr->rec[i].idx, ==, ring);
    for (k = 1; k <= posted; k++) {
        g_assert_cmpuint(tr->rec[i + k].type, ==, TN_REC_REF_DROP);
        g_assert_cmpuint(tr->rec[i + k].kind, ==, TN_REF_POSTED);
        g_assert_cmpuint(tr->rec[i + k].u.ref.drained, ==, 0);
    }
    check_ref(tr, i + k, TN_REC_REF_DROP, TN_REF_RING, ring, 0, base,
              descs * 16);
    g_assert_cmpuint(tr->rec[i + k + 1].type, ==, TN_REC_STATE);
    g_assert_cmpuint(tr->rec[i + k + 1].kind, ==, TN_ST_RING_IDLE);
    g_assert_cmpuint(tr->rec[i + k + 1].idx, ==, ring);
}

/* TX: one legacy descriptor; every access, its cause and its reference. */
static void test_tx_legacy(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 2048);
    uint8_t frame[200], got[2048];
    Trace tr;
    ssize_t i, take, rd_desc, rd_buf, wb, drop;

    fill_frame(frame, sizeof(frame), 3);
    frame[12] = 0x88;       /* experimental ethertype: e1000e parses an IPv4 */
    frame[13] = 0xb5;       /* header and drops a malformed one */
    qtest_memwrite(t->qts, buf, frame, sizeof(frame));
    e1000e_ring(t, E1000_TDBAL, ring, 8);
    wr(t, E1000_TCTL, E1000_TCTL_EN);
    put_desc(t, ring, 0, buf, sizeof(frame) | E1000_TXD_CMD_EOP |
             E1000_TXD_CMD_RS, 0);
    wr(t, E1000_TDT, 1);
    g_assert_cmpuint(sock_recv_frame(t, got, sizeof(got)), ==, sizeof(frame));
    g_assert(memcmp(got, frame, sizeof(frame)) == 0);
    g_assert_cmpuint(rd(t, E1000_TDH), ==, 1);

    trace_snapshot(t, &tr);
    g_assert_cmpuint(tr.rec[0].type, ==, TN_REC_DEVICE);
    g_assert_cmpstr(tr.rec[0].u.device.type, ==, "e1000e");
    g_assert_cmpuint(tr.rec[0].u.device.pci_devfn, ==, E1000E_DEVFN);
    i = check_enable(&tr, TN_RING_ID_TX, ring, 8);
    /* At the tail write, before the device's DMA */
    take = i + 1;
    check_ref(&tr, take, TN_REC_REF_TAKE, TN_REF_POSTED, TN_RING_ID_TX, 0,
              buf, sizeof(frame));
    rd_desc = take + 1;
    check_dma(&tr, rd_desc, TN_REC_DMA_READ, TN_CAUSE_TX_DESC_READ,
              TN_RING_ID_TX, 0, ring, 16);
    g_assert_cmpuint(tr.rec[rd_desc].id, ==, tr.rec[i].id);   /* the ring's */
    rd_buf = rd_desc + 1;
    check_dma(&tr, rd_buf, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ,
              TN_RING_ID_TX, 0, buf, sizeof(frame));
    g_assert_cmpuint(tr.rec[rd_buf].id, ==, tr.rec[take].id);
    wb = rd_buf + 1;        /* the status dword: upper, at offset 12 */
    check_dma(&tr, wb, TN_REC_DMA_WRITE, TN_CAUSE_TX_WRITEBACK,
              TN_RING_ID_TX, 0, ring + 12, 4);
    g_assert_cmpuint(tr.rec[wb].id, ==, tr.rec[i].id);
    drop = wb + 1;
    check_ref(&tr, drop, TN_REC_REF_DROP, TN_REF_POSTED, TN_RING_ID_TX, 0,
              buf, sizeof(frame));
    g_assert_cmpuint(tr.rec[drop].id, ==, tr.rec[take].id);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_READ, -1), ==, 2);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_WRITE, -1), ==, 1);
    trace_free(&tr);

    /* Disabling TX ends the ring's reference; nothing was posted. */
    wr(t, E1000_TCTL, 0);
    trace_snapshot(t, &tr);
    check_disable(&tr, 0, TN_RING_ID_TX, ring, 8, 0);
    trace_free(&tr);
    e1000e_finish(t, "");
}

/*
 * TX as Linux's e1000e sends: a context descriptor, then a packet in two
 * data descriptors, the first posted (and fetched) before the second.  The
 * model maps the first buffer at once and reads it when the EOP descriptor
 * comes, so its reference lasts until then.
 */
static void test_tx_context_data(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t b1 = guest_alloc(&t->alloc, 2048);
    uint64_t b2 = guest_alloc(&t->alloc, 2048);
    const uint32_t dext = E1000_TXD_CMD_DEXT | E1000_TXD_DTYP_D;
    uint8_t frame[300], got[2048];
    Trace tr;
    ssize_t i, t1, t2, r1, r2, wb;

    local_frame(frame, sizeof(frame), 5);
    qtest_memwrite(t->qts, b1, frame, 100);
    qtest_memwrite(t->qts, b2, frame + 100, 200);
    e1000e_ring(t, E1000_TDBAL, ring, 8);
    wr(t, E1000_TCTL, E1000_TCTL_EN);
    put_desc(t, ring, 0, 0, E1000_TXD_CMD_DEXT, 0);     /* context */
    put_desc(t, ring, 1, b1, 100 | dext, 0);
    put_desc(t, ring, 2, b2, 200 | dext | E1000_TXD_CMD_EOP |
             E1000_TXD_CMD_RS, 0);
    wr(t, E1000_TDT, 2);
    g_assert_cmpuint(rd(t, E1000_TDH), ==, 2);
    g_assert(!sock_has_data(t));
    trace_snapshot(t, &tr);
    i = check_enable(&tr, TN_RING_ID_TX, ring, 8);
    /* No reference for the context descriptor: it has no buffer. */
    t1 = i + 1;
    check_ref(&tr, t1, TN_REC_REF_TAKE, TN_REF_POSTED, TN_RING_ID_TX, 1,
              b1, 100);
    check_dma(&tr, t1 + 1, TN_REC_DMA_READ, TN_CAUSE_TX_DESC_READ,
              TN_RING_ID_TX, 0, ring, 16);
    check_dma(&tr, t1 + 2, TN_REC_DMA_READ, TN_CAUSE_TX_DESC_READ,
              TN_RING_ID_TX, 1, ring + 16, 16);
    r1 = t1 + 3;
    check_dma(&tr, r1, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ,
              TN_RING_ID_TX, 1, b1, 100);
    g_assert_cmpuint(tr.rec[r1].id, ==, tr.rec[t1].id);
    g_assert_cmpuint(r1 + 1, ==, tr.n);     /* no write-back, no drop yet */
    trace_free(&tr);

    wr(t, E1000_TDT, 3);
    g_assert_cmpuint(sock_recv_frame(t, got, sizeof(got)), ==, sizeof(frame));
    g_assert(memcmp(got, frame, sizeof(frame)) == 0);
    trace_snapshot(t, &tr);
    t2 = r1 + 1;
    check_ref(&tr, t2, TN_REC_REF_TAKE, TN_REF_POSTED, TN_RING_ID_TX, 2,
              b2, 200);
    check_dma(&tr, t2 + 1, TN_REC_DMA_READ, TN_CAUSE_TX_DESC_READ,
              TN_RING_ID_TX, 2, ring + 32, 16);
    r2 = t2 + 2;
    check_dma(&tr, r2, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ,
              TN_RING_ID_TX, 2, b2, 200);
    g_assert_cmpuint(tr.rec[r2].id, ==, tr.rec[t2].id);
    wb = r2 + 1;
    check_dma(&tr, wb, TN_REC_DMA_WRITE, TN_CAUSE_TX_WRITEBACK,
              TN_RING_ID_TX, 2, ring + 32 + 12, 4);
    /* The packet is sent: both of its buffers are released. */
    check_ref(&tr, wb + 1, TN_REC_REF_DROP, TN_REF_POSTED, TN_RING_ID_TX, 1,
              b1, 100);
    g_assert_cmpuint(tr.rec[wb + 1].id, ==, tr.rec[t1].id);
    check_ref(&tr, wb + 2, TN_REC_REF_DROP, TN_REF_POSTED, TN_RING_ID_TX, 2,
              b2, 200);
    g_assert_cmpuint(tr.rec[wb + 2].id, ==, tr.rec[t2].id);
    g_assert_cmpuint(wb + 3, ==, tr.n);
    trace_free(&tr);
    e1000e_finish(t, "");
}

/*
 * Queue 1: a frame sent on ring TX1; ring RX1 on with RCTL.EN and its
 * length, buffers posted at RDT1, all dropped when RCTL.EN goes off.
 */
static void test_queue1(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t rxring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 2048);
    /* RX buffers a frame's reach (RX_REACH) apart: no two overlap (posted-twice). */
    uint64_t rxbufs = guest_alloc(&t->alloc, 3 * 2048);
    uint8_t frame[64], got[2048];
    Trace tr;
    ssize_t i;
    uint32_t k;

    local_frame(frame, sizeof(frame), 7);
    qtest_memwrite(t->qts, buf, frame, sizeof(frame));
    e1000e_ring(t, E1000_TDBAL1, ring, 8);
    wr(t, E1000_TCTL, E1000_TCTL_EN);
    put_desc(t, ring, 0, buf, sizeof(frame) | E1000_TXD_CMD_EOP |
             E1000_TXD_CMD_RS, 0);
    wr(t, E1000_TDT1, 1);
    g_assert_cmpuint(sock_recv_frame(t, got, sizeof(got)), ==, sizeof(frame));
    trace_snapshot(t, &tr);
    i = check_enable(&tr, TN_RING_ID_TX1, ring, 8);
    check_ref(&tr, i + 1, TN_REC_REF_TAKE, TN_REF_POSTED, TN_RING_ID_TX1, 0,
              buf, sizeof(frame));
    check_dma(&tr, i + 2, TN_REC_DMA_READ, TN_CAUSE_TX_DESC_READ,
              TN_RING_ID_TX1, 0, ring, 16);
    check_dma(&tr, i + 3, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ,
              TN_RING_ID_TX1, 0, buf, sizeof(frame));
    check_dma(&tr, i + 4, TN_REC_DMA_WRITE, TN_CAUSE_TX_WRITEBACK,
              TN_RING_ID_TX1, 0, ring + 12, 4);
    check_ref(&tr, i + 5, TN_REC_REF_DROP, TN_REF_POSTED, TN_RING_ID_TX1, 0,
              buf, sizeof(frame));
    trace_free(&tr);

    e1000e_ring(t, E1000_RDBAL1, rxring, 8);
    wr(t, E1000_RCTL, E1000_RCTL_EN);
    for (k = 0; k < 3; k++) {
        put_desc(t, rxring, k, rxbufs + 2048 * k, 0, 0);
    }
    wr(t, E1000_RDT1, 3);
    wr(t, E1000_RCTL, 0);
    trace_snapshot(t, &tr);
    i = trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_ENABLE);
    i = trace_find(&tr, i + 1, TN_REC_STATE, TN_ST_RING_ENABLE);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i].idx, ==, TN_RING_ID_RX1);
    g_assert_cmphex(tr.rec[i].u.state.value, ==, rxring);
    g_assert_cmpuint(tr.rec[i].u.state.value2, ==, 8);
    check_ref(&tr, i + 1, TN_REC_REF_TAKE, TN_REF_RING, TN_RING_ID_RX1, 0,
              rxring, 8 * 16);
    for (k = 0; k < 3; k++) {
        check_ref(&tr, i + 2 + k, TN_REC_REF_TAKE, TN_REF_POSTED,
                  TN_RING_ID_RX1, k, rxbufs + 2048 * k, RX_REACH);
    }
    check_disable(&tr, i, TN_RING_ID_RX1, rxring, 8, 3);
    trace_free(&tr);
    e1000e_finish(t, "");
}

/* Send @len bytes of a frame into the socket netdev; wait for RDH to move. */
static uint32_t rx_frame(TN *t, const uint8_t *frame, uint32_t len)
{
    int k;

    sock_send_frame(t, frame, len);
    for (k = 0; k < 1000 && rd(t, E1000_RDH) == 0; k++) {
        qtest_clock_step(t->qts, 10000);
    }
    return rd(t, E1000_RDH);
}

/*
 * RX, extended descriptors (as Linux's e1000e posts them): four buffers
 * posted at the tail write, the frame written into the first, write-backs,
 * and a reset drops every reference left.
 */
static void test_rx_extended(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t bufs = guest_alloc(&t->alloc, 4 * 2048);
    uint8_t frame[300], got[300];
    uint32_t used, k;
    Trace tr;
    ssize_t i, d, w, wb;

    e1000e_ring(t, E1000_RDBAL, ring, 8);
    wr(t, E1000_RFCTL, E1000_RFCTL_EXTEN);
    /* Long frames on: the buffers' 2 KiB (RCTL.BSIZE) are the reach. */
    wr(t, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
       E1000_RCTL_BAM | E1000_RCTL_LPE);
    for (k = 0; k < 4; k++) {
        put_desc(t, ring, k, bufs + k * 2048, 0, 0);
    }
    wr(t, E1000_RDT, 4);
    local_frame(frame, sizeof(frame), 9);
    /* QEMU's model puts the 4-byte FCS into the next descriptor. */
    used = rx_frame(t, frame, sizeof(frame));
    g_assert_cmpuint(used, >=, 1);
    qtest_memread(t->qts, bufs, got, sizeof(got));
    g_assert(memcmp(got, frame, sizeof(frame)) == 0);

    trace_snapshot(t, &tr);
    i = check_enable(&tr, TN_RING_ID_RX, ring, 8);
    /* Four buffers posted at the tail write, 2 KiB each (RCTL.BSIZE). */
    for (k = 0; k < 4; k++) {
        check_ref(&tr, i + 1 + k, TN_REC_REF_TAKE, TN_REF_POSTED,
                  TN_RING_ID_RX, k, bufs + k * 2048, 2048);
    }
    d = i + 5;
    check_dma(&tr, d, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ, TN_RING_ID_RX,
              0, ring, 16);
    g_assert_cmpuint(tr.rec[d].id, ==, tr.rec[i].id);
    w = d + 1;
    check_dma(&tr, w, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, TN_RING_ID_RX,
              0, bufs, sizeof(frame));
    g_assert_cmpuint(tr.rec[w].id, ==, tr.rec[i + 1].id);
    /* The descriptor with DD clear, then its status dword with DD. */
    wb = trace_find(&tr, w, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK);
    check_dma(&tr, wb, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK, TN_RING_ID_RX,
              0, ring, 16);
    check_dma(&tr, wb + 1, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK,
              TN_RING_ID_RX, 0, ring + 8, 4);
    check_ref(&tr, wb + 2, TN_REC_REF_DROP, TN_REF_POSTED, TN_RING_ID_RX, 0,
              bufs, 2048);
    g_assert_cmpuint(tr.rec[wb + 2].id, ==, tr.rec[i + 1].id);
    /* Each descriptor written back releases its buffer; the rest stay. */
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ),
                     ==, used);
    g_assert_cmpuint(trace_count(&tr, TN_REC_REF_DROP, TN_REF_POSTED), ==,
                     used);
    trace_free(&tr);

    /* A reset drops everything: the posted buffers left, then the ring. */
    qtest_qmp_assert_success(t->qts, "{'execute': 'system_reset'}");
    trace_snapshot(t, &tr);
    i = trace_find(&tr, check_enable(&tr, TN_RING_ID_RX, ring, 8),
                   TN_REC_STATE, TN_ST_RESET_BEGIN);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i + 1].kind, ==, TN_ST_RING_DISABLE);
    check_disable(&tr, i, TN_RING_ID_RX, ring, 8, 4 - used);
    g_assert_cmpuint(trace_count(&tr, TN_REC_REF_DROP, TN_REF_POSTED), ==, 4);
    g_assert_cmpint(trace_find(&tr, i, TN_REC_STATE, TN_ST_RESET_DONE), >, i);
    trace_free(&tr);
    e1000e_finish(t, "");
}

/* RX, legacy descriptors; RCTL.EN off drops what is still posted. */
static void test_rx_legacy(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t bufs = guest_alloc(&t->alloc, 3 * 2048);
    uint8_t frame[100], got[100];
    uint32_t used, k;
    Trace tr;
    ssize_t i, w, wb;

    e1000e_ring(t, E1000_RDBAL, ring, 8);
    wr(t, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
       E1000_RCTL_BAM);
    for (k = 0; k < 3; k++) {
        put_desc(t, ring, k, bufs + k * 2048, 0, 0);
    }
    wr(t, E1000_RDT, 3);
    local_frame(frame, sizeof(frame), 11);
    used = rx_frame(t, frame, sizeof(frame));
    g_assert_cmpuint(used, >=, 1);
    qtest_memread(t->qts, bufs, got, sizeof(got));
    g_assert(memcmp(got, frame, sizeof(frame)) == 0);
    wr(t, E1000_RCTL, 0);

    trace_snapshot(t, &tr);
    i = check_enable(&tr, TN_RING_ID_RX, ring, 8);
    for (k = 0; k < 3; k++) {
        check_ref(&tr, i + 1 + k, TN_REC_REF_TAKE, TN_REF_POSTED,
                  TN_RING_ID_RX, k, bufs + k * 2048, RX_REACH);
    }
    check_dma(&tr, i + 4, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ,
              TN_RING_ID_RX, 0, ring, 16);
    w = i + 5;
    check_dma(&tr, w, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, TN_RING_ID_RX,
              0, bufs, sizeof(frame));
    g_assert_cmpuint(tr.rec[w].id, ==, tr.rec[i + 1].id);
    /* Legacy: the descriptor, then its status byte at offset 12. */
    wb = trace_find(&tr, w, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK);
    check_dma(&tr, wb, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK, TN_RING_ID_RX,
              0, ring, 16);
    check_dma(&tr, wb + 1, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK,
              TN_RING_ID_RX, 0, ring + 12, 1);
    check_ref(&tr, wb + 2, TN_REC_REF_DROP, TN_REF_POSTED, TN_RING_ID_RX, 0,
              bufs, RX_REACH);
    check_disable(&tr, 0, TN_RING_ID_RX, ring, 8, 3 - used);
    trace_free(&tr);
    e1000e_finish(t, "");
}

/*
 * RX, packet-split descriptors (32 bytes, two slots each): a reference per
 * buffer PSRCTL gives a size, a frame that is not split fills buffer 0 and
 * goes on in buffer 1, each write under its buffer's reference.
 */
static void test_rx_packet_split(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t bufs = guest_alloc(&t->alloc, 4 * 2048);
    uint8_t frame[300], got[300];
    uint64_t d[4];
    uint32_t k;
    Trace tr;
    ssize_t i, w;

    e1000e_ring(t, E1000_RDBAL, ring, 8);
    /* Buffer 0: 2 * 128 bytes, buffer 1: 1 KiB, buffers 2 and 3: none. */
    wr(t, E1000_PSRCTL, 2 << E1000_PSRCTL_BSIZE0_SHIFT |
       1 << E1000_PSRCTL_BSIZE1_SHIFT);
    wr(t, E1000_RFCTL, E1000_RFCTL_EXTEN);
    wr(t, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
       E1000_RCTL_BAM | E1000_RCTL_DTYP_PS);
    for (k = 0; k < 2; k++) {
        d[0] = cpu_to_le64(bufs + k * 4096);
        d[1] = cpu_to_le64(bufs + k * 4096 + 1024);
        d[2] = cpu_to_le64(bufs + k * 4096 + 2048);
        d[3] = cpu_to_le64(bufs + k * 4096 + 3072);
        qtest_memwrite(t->qts, ring + k * 32, d, sizeof(d));
    }
    wr(t, E1000_RDT, 4);                /* two 32-byte descriptors */
    local_frame(frame, sizeof(frame), 13);
    g_assert_cmpuint(rx_frame(t, frame, sizeof(frame)), >=, 2);
    qtest_memread(t->qts, bufs, got, 256);
    qtest_memread(t->qts, bufs + 1024, got + 256, sizeof(frame) - 256);
    g_assert(memcmp(got, frame, sizeof(frame)) == 0);

    trace_snapshot(t, &tr);
    i = check_enable(&tr, TN_RING_ID_RX, ring, 8);
    check_ref(&tr, i + 1, TN_REC_REF_TAKE, TN_REF_POSTED, TN_RING_ID_RX, 0,
              bufs, 256);
    check_ref(&tr, i + 2, TN_REC_REF_TAKE, TN_REF_POSTED, TN_RING_ID_RX, 0,
              bufs + 1024, 1024);
    check_ref(&tr, i + 3, TN_REC_REF_TAKE, TN_REF_POSTED, TN_RING_ID_RX, 2,
              bufs + 4096, 256);
    check_ref(&tr, i + 4, TN_REC_REF_TAKE, TN_REF_POSTED, TN_RING_ID_RX, 2,
              bufs + 4096 + 1024, 1024);
    check_dma(&tr, i + 5, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ,
              TN_RING_ID_RX, 0, ring, 32);
    w = i + 6;
    check_dma(&tr, w, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE, TN_RING_ID_RX,
              0, bufs, 256);
    g_assert_cmpuint(tr.rec[w].id, ==, tr.rec[i + 1].id);
    check_dma(&tr, w + 1, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE,
              TN_RING_ID_RX, 0, bufs + 1024, sizeof(frame) - 256);
    g_assert_cmpuint(tr.rec[w + 1].id, ==, tr.rec[i + 2].id);
    w = trace_find(&tr, w, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK);
    check_dma(&tr, w, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK, TN_RING_ID_RX,
              0, ring, 32);
    check_dma(&tr, w + 1, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK,
              TN_RING_ID_RX, 0, ring + 8, 4);
    check_ref(&tr, w + 2, TN_REC_REF_DROP, TN_REF_POSTED, TN_RING_ID_RX, 0,
              bufs, 256);
    check_ref(&tr, w + 3, TN_REC_REF_DROP, TN_REF_POSTED, TN_RING_ID_RX, 0,
              bufs + 1024, 1024);
    trace_free(&tr);
    e1000e_finish(t, "");
}

/*
 * CTRL.RST: the 82574 clears the ring registers, QEMU 7.2's model keeps
 * them.  Linux's e1000e sets RCTL.EN (e1000_setup_rctl) before it programs
 * the new ring (e1000_configure_rx), so with the stale registers the trace
 * would take the old ring's descriptors as posted, and read them: through an
 * IOMMU, a DMAR fault in the guest at every ethtool -G and MTU change.  The
 * trace takes the rings off at the reset and on again only once base and
 * length have been written.
 */
static void test_soft_reset(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t ring2 = guest_alloc(&t->alloc, 8 * 16);
    uint64_t bufs = guest_alloc(&t->alloc, 3 * 2048);
    uint32_t rctl = E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
                    E1000_RCTL_BAM;
    uint8_t frame[100];
    Trace tr;
    ssize_t i;
    uint32_t k;

    e1000e_ring(t, E1000_RDBAL, ring, 8);
    wr(t, E1000_RCTL, rctl);
    for (k = 0; k < 3; k++) {
        put_desc(t, ring, k, bufs + k * 2048, 0, 0);
    }
    wr(t, E1000_RDT, 3);
    wr(t, E1000_CTRL, rd(t, E1000_CTRL) | E1000_CTRL_RST);
    /* RX on again over the stale registers: nothing is posted. */
    wr(t, E1000_RCTL, 0);
    wr(t, E1000_RCTL, rctl);
    wr(t, E1000_RDT, 5);
    /* The base alone is not enough; with the length the new ring is on. */
    wr(t, E1000_RCTL, 0);
    wr(t, E1000_RDBAL, ring2);
    wr(t, E1000_RCTL, rctl);
    trace_snapshot(t, &tr);
    g_assert_cmpuint(trace_count(&tr, TN_REC_STATE, TN_ST_RING_ENABLE), ==, 1);
    trace_free(&tr);
    wr(t, E1000_RCTL, 0);
    wr(t, E1000_RDLEN, 8 * 16);       /* RDLEN counts 128-byte units */
    wr(t, E1000_RDH, 0);
    wr(t, E1000_RDT, 0);
    wr(t, E1000_RCTL, rctl);

    trace_snapshot(t, &tr);
    i = check_enable(&tr, TN_RING_ID_RX, ring, 8);
    check_disable(&tr, i, TN_RING_ID_RX, ring, 8, 3);
    g_assert_cmpuint(trace_count(&tr, TN_REC_REF_TAKE, TN_REF_POSTED), ==, 3);
    g_assert_cmpuint(trace_count(&tr, TN_REC_STATE, TN_ST_RING_ENABLE), ==, 2);
    i = trace_find(&tr, i, TN_REC_STATE, TN_ST_RING_ENABLE);
    g_assert_cmphex(tr.rec[i].u.state.value, ==, ring2);
    g_assert_cmpuint(tr.rec[i].u.state.value2, ==, 8);
    trace_free(&tr);
    /* The new ring works. */
    put_desc(t, ring2, 0, bufs, 0, 0);
    wr(t, E1000_RDT, 1);
    local_frame(frame, sizeof(frame), 19);
    g_assert_cmpuint(rx_frame(t, frame, sizeof(frame)), ==, 1);
    e1000e_remove(t);
    e1000e_finish(t, "");
}

/*
 * Packet-split descriptors are two 16-byte slots, and QEMU 7.2 steps its
 * head and tail by two (e1000e_ring_advance) while Linux writes RDT in
 * descriptors: from an odd head the walk reaches the last slot, whose 32
 * bytes would run past the ring.  The trace posts nothing there (it read
 * the page after the ring before: a DMAR fault in an IOMMU guest).
 */
static void test_ring_end(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 16 * 16);
    uint64_t bufs = guest_alloc(&t->alloc, 8 * 4096);
    uint8_t frame[300];
    uint64_t d[2];
    Trace tr;
    uint32_t k;

    e1000e_ring(t, E1000_RDBAL, ring, 8);
    wr(t, E1000_RDH, 1);
    wr(t, E1000_RDT, 1);
    for (k = 0; k < 9; k++) {            /* slot 8 is past the ring */
        d[0] = cpu_to_le64(bufs + k * 4096);
        d[1] = cpu_to_le64(bufs + k * 4096 + 2048);
        qtest_memwrite(t->qts, ring + k * 16, d, sizeof(d));
    }
    wr(t, E1000_PSRCTL, 2 << E1000_PSRCTL_BSIZE0_SHIFT |
       1 << E1000_PSRCTL_BSIZE1_SHIFT);
    wr(t, E1000_RFCTL, E1000_RFCTL_EXTEN);
    wr(t, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
       E1000_RCTL_BAM | E1000_RCTL_DTYP_PS);
    wr(t, E1000_RDT, 0);                /* from 1 by two: 1, 3, 5, 7, ... */
    local_frame(frame, sizeof(frame), 17);
    rx_frame(t, frame, sizeof(frame));

    trace_snapshot(t, &tr);
    for (k = 0; k < tr.n; k++) {
        if (tr.rec[k].type == TN_REC_REF_TAKE &&
            tr.rec[k].kind == TN_REF_POSTED) {
            g_assert_cmpuint(tr.rec[k].idx, <, 7);
        }
    }
    g_assert_cmpuint(trace_count(&tr, TN_REC_REF_TAKE, TN_REF_POSTED), >, 0);
    trace_free(&tr);
    e1000e_remove(t);
    e1000e_finish(t, "");
}

/*
 * Hostile programming with tracing on: rings in unmapped memory, zero and
 * huge lengths, tails outside the ring, an endless TX chain without EOP,
 * frames into an RX ring that starts in the last page of the address space
 * (the model wraps past 2^64 into low guest RAM, as the trace shows).  QEMU
 * stays up, the trace ends with END and matching counts, and dmacheck reads
 * it.  Without a ledger it judges only what needs none: the failed DMA
 * reached no RAM (dma-outside-ram), the 65528-slot RX ring in unwritten
 * memory posts buffers that overlap (posted-twice), and the test ends with
 * the last TX ring on and 8 descriptors posted, never reset
 * (ref-held-at-end).
 */
static void test_hostile(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 64);
    uint8_t frame[64];
    Trace tr;
    int k;

    e1000e_ring(t, E1000_TDBAL, 0xfffffff000000000ull, 8);
    wr(t, E1000_TCTL, E1000_TCTL_EN);
    wr(t, E1000_TDT, 3);
    wr(t, E1000_TDLEN, 0);
    wr(t, E1000_TDLEN, 0xfff80);
    wr(t, E1000_TDT, 0xffff);
    e1000e_ring(t, E1000_TDBAL, ring, 8);
    for (k = 0; k < 8; k++) {           /* no EOP anywhere: a chain round */
        put_desc(t, ring, k, buf, 64, 0);
    }
    for (k = 1; k <= 40; k++) {
        wr(t, E1000_TDT, k % 8);
    }
    g_assert(!sock_has_data(t));

    fill_frame(frame, sizeof(frame), 1);
    wr(t, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
       E1000_RCTL_BAM);
    e1000e_ring(t, E1000_RDBAL, 0xfffffffffffff000ull, 8);
    wr(t, E1000_RDT, 5);
    sock_send_frame(t, frame, sizeof(frame));
    qtest_clock_step(t->qts, 1000000);
    wr(t, E1000_RDLEN, 0);
    wr(t, E1000_RDT, 7);
    wr(t, E1000_RDLEN, 0xfff80);         /* RDLEN's largest: 65528 slots */
    wr(t, E1000_RDT, 0xfff0);
    sock_send_frame(t, frame, sizeof(frame));
    qtest_clock_step(t->qts, 1000000);
    wr(t, E1000_RDT, 0xffff);
    wr(t, E1000_RCTL, 0);

    trace_snapshot(t, &tr);
    /* Every ring that went on went off, but the last TX one. */
    g_assert_cmpuint(trace_count(&tr, TN_REC_STATE, TN_ST_RING_ENABLE), ==,
                     trace_count(&tr, TN_REC_STATE, TN_ST_RING_DISABLE) + 1);
    g_assert_cmpuint(trace_count(&tr, TN_REC_REF_TAKE, -1), ==,
                     trace_count(&tr, TN_REC_REF_DROP, -1) + 1 + 8);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_FAILED,
                                 TN_CAUSE_TX_DESC_READ), >, 0);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_FAILED,
                                 TN_CAUSE_RX_DESC_READ), >, 0);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_FAILED,
                                 TN_CAUSE_RX_WRITEBACK), >, 0);
    trace_free(&tr);
    e1000e_quit(t, &tr);
    trace_free(&tr);
    dmacheck(t, "dma-outside-ram posted-twice ref-held-at-end");
    tracenic_stop(t);
}

/*
 * An IPv4/UDP frame of @len bytes (header split applies to it: the
 * headers go to buffer 0, the payload to buffers 1..3).
 */
static void udp_frame(uint8_t *f, size_t len)
{
    fill_frame(f, len, 5);
    f[12] = 0x08;
    f[13] = 0x00;
    memset(f + 14, 0, 28);
    f[14] = 0x45;                       /* IPv4, 20-byte header */
    f[16] = (len - 14) >> 8;
    f[17] = (len - 14) & 0xff;
    f[22] = 64;                         /* TTL */
    f[23] = 17;                         /* UDP */
    f[34 + 4] = (len - 34) >> 8;        /* UDP length */
    f[34 + 5] = (len - 34) & 0xff;
}

/*
 * A frame that posted RX descriptors cannot take, with a tail the head can
 * never reach.  Packet split with PSRCTL's BSIZE1..3 all 0 leaves a
 * descriptor room for the headers only; 32-byte descriptors move the head
 * two slots at a time, so an odd tail is never met.  Debian's model goes
 * round the ring for ever in e1000e_write_packet_to_guest() (QEMU at 100 %
 * CPU, found by /e1000e-trace/fuzz).  Traced, the kit stops it after one
 * lap of the ring: the frame is dropped, a guest error is logged, QEMU
 * answers, and the trace shows one lap of descriptor fetches and
 * write-backs, no more.
 */
static void test_rx_lap(void)
{
    TN *t = e1000e_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t bufs = guest_alloc(&t->alloc, 4 * 1024);
    uint64_t d[4];
    uint8_t frame[600];
    Trace tr;
    uint32_t k;

    e1000e_ring(t, E1000_RDBAL, ring, 8);
    wr(t, E1000_PSRCTL, 2 << E1000_PSRCTL_BSIZE0_SHIFT);
    wr(t, E1000_RFCTL, E1000_RFCTL_EXTEN);
    wr(t, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
       E1000_RCTL_BAM | E1000_RCTL_DTYP_PS);
    for (k = 0; k < 4; k++) {
        d[0] = cpu_to_le64(bufs + k * 1024);
        d[1] = d[2] = d[3] = 0;
        qtest_memwrite(t->qts, ring + k * 32, d, sizeof(d));
    }
    wr(t, E1000_RDT, 7);
    udp_frame(frame, sizeof(frame));
    sock_send_frame(t, frame, sizeof(frame));
    qtest_clock_step(t->qts, 1000000);
    g_assert(qtest_probe_child(t->qts));
    g_assert_cmpuint(rd(t, E1000_RDT), ==, 7);

    trace_snapshot(t, &tr);
    /* One lap: each of the 4 descriptors fetched and written back once. */
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ),
                     ==, 4);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK),
                     >=, 4);
    trace_free(&tr);
    e1000e_finish(t, "");
}

/*
 * MSI-X turned off while an interrupt throttling timer of a vector runs,
 * and on while the MSI/INTx one runs.  Debian's model asserts in both
 * timers that MSI-X is as it was, so a guest aborts QEMU (found by make
 * fuzz-device; QEMU 8.0 removed the assertions).  Traced, QEMU goes on:
 * the late MSI-X interrupt only sets its pending bit.
 */
static void test_msix_throttle(void)
{
    TN *t = e1000e_start(NULL);
    Trace tr;

    /* RX queue 0's cause on vector 0, at most one per 256 us. */
    qpci_msix_enable(t->dev);
    wr(t, E1000_IVAR, E1000_IVAR_INT_ALLOC_VALID << E1000_IVAR_RXQ0_SHIFT);
    wr(t, E1000_EITR, 1000);
    wr(t, E1000_IMS, E1000_ICR_RXQ0);
    wr(t, E1000_ICS, E1000_ICR_RXQ0);    /* sent, and the timer armed */
    qpci_msix_disable(t->dev);
    qtest_clock_step(t->qts, 1000000);
    g_assert(qtest_probe_child(t->qts));

    /* The same with MSI-X turned on under the throttled INTx. */
    wr(t, E1000_ICR, 0xffffffff);
    wr(t, E1000_ITR, 1000);
    wr(t, E1000_IMS, E1000_ICR_TXDW);
    wr(t, E1000_ICS, E1000_ICR_TXDW);
    qpci_msix_enable(t->dev);
    qtest_clock_step(t->qts, 1000000);
    g_assert(qtest_probe_child(t->qts));
    g_assert_cmphex(rd(t, E1000_STATUS) & E1000_STATUS_LU, ==,
                    E1000_STATUS_LU);
    qpci_msix_disable(t->dev);
    e1000e_remove(t);
    e1000e_quit(t, &tr);
    trace_free(&tr);
    tracenic_stop(t);
}

/*
 * A frame received inside a transmit: slirp answers an ARP request for its
 * gateway from within the TX call, so the RX descriptor is fetched, filled
 * and written back between the TX descriptor's buffer read and its
 * write-back.  The TX write-back is still the TX ring's, under the TX
 * ring's reference, and the TX buffer's reference drops at it (found by
 * the e1000e-agent scenario: the write-back was put on the RX ring and the
 * buffer stayed referenced after Linux unmapped it).
 */
static void test_rx_inside_tx(void)
{
    TN *t = e1000e_start_on(true, NULL);
    uint64_t txr = guest_alloc(&t->alloc, 8 * 16);
    uint64_t rxr = guest_alloc(&t->alloc, 8 * 16);
    uint64_t txb = guest_alloc(&t->alloc, 64);
    uint64_t rxb = guest_alloc(&t->alloc, 2048);
    static const uint8_t arp[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
        0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15,
        0, 0, 0, 0, 0, 0, 10, 0, 2, 2,
    };
    Trace tr;
    ssize_t take, w, d;

    e1000e_ring(t, E1000_RDBAL, rxr, 8);
    put_desc(t, rxr, 0, rxb, 0, 0);
    wr(t, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
       E1000_RCTL_BAM);
    wr(t, E1000_RDT, 1);
    e1000e_ring(t, E1000_TDBAL, txr, 8);
    qtest_memwrite(t->qts, txb, arp, sizeof(arp));
    put_desc(t, txr, 0, txb, sizeof(arp) | E1000_TXD_CMD_EOP |
             E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS, 0);
    wr(t, E1000_TCTL, E1000_TCTL_EN);
    wr(t, E1000_TDT, 1);
    g_assert_cmpuint(rd(t, E1000_RDH), ==, 1);     /* the reply came in */

    trace_snapshot(t, &tr);
    take = trace_find(&tr, 0, TN_REC_REF_TAKE, TN_REF_POSTED);
    while (take >= 0 && tr.rec[take].u.ref.ring != TN_RING_ID_TX) {
        take = trace_find(&tr, take + 1, TN_REC_REF_TAKE, TN_REF_POSTED);
    }
    g_assert_cmpint(take, >=, 0);
    g_assert_cmphex(tr.rec[take].u.ref.addr, ==, txb);
    /* The RX work sits between the TX buffer read and the TX write-back. */
    g_assert_cmpint(trace_find(&tr, take, TN_REC_DMA_WRITE,
                               TN_CAUSE_RX_WRITEBACK), >, take);
    w = trace_find(&tr, take, TN_REC_DMA_WRITE, TN_CAUSE_TX_WRITEBACK);
    g_assert_cmpint(w, >, trace_find(&tr, take, TN_REC_DMA_WRITE,
                                     TN_CAUSE_RX_WRITEBACK));
    g_assert_cmpuint(tr.rec[w].u.dma.ring, ==, TN_RING_ID_TX);
    g_assert_cmpuint(tr.rec[w].idx, ==, 0);
    d = trace_find(&tr, w, TN_REC_REF_DROP, TN_REF_POSTED);
    g_assert_cmpint(d, ==, w + 1);
    g_assert_cmpuint(tr.rec[d].id, ==, tr.rec[take].id);
    trace_free(&tr);
    e1000e_finish(t, "");
}

/* Without trace=, e1000e is Debian's: no kit, and the property is there. */
static void test_untraced(void)
{
    QTestState *qts = qtest_init("-M pc -nodefaults -device e1000e,addr=03.0");
    QDict *rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': '/machine/peripheral-anon/device[0]', "
                           "'property': 'trace'}}");

    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    qtest_quit(qts);
}

/* A random value that is often one an e1000e register cares about. */
static uint32_t fuzz_value(uint64_t area)
{
    switch (g_test_rand_int_range(0, 8)) {
    case 0:
        return 0;
    case 1:
        return 1u << g_test_rand_int_range(0, 32);
    case 2:
        return 128u << g_test_rand_int_range(0, 6);         /* ring lengths */
    case 3:
        return area + g_test_rand_int_range(0, 4096) * 16;  /* in the area */
    case 4:
        return g_test_rand_int_range(0, 256);               /* heads, tails */
    default:
        return g_test_rand_int();
    }
}

/* A buffer address: mostly in the area, sometimes nowhere in guest RAM. */
static uint64_t fuzz_addr(uint64_t area)
{
    switch (g_test_rand_int_range(0, 8)) {
    case 0:
        return 0xfff000000000ull + g_test_rand_int();        /* unmapped */
    case 1:
        return ((uint64_t)g_test_rand_int() << 32) | g_test_rand_int();
    default:
        return area + g_test_rand_int_range(0, 65536);
    }
}

/*
 * An RX ring as a driver posts one: @n descriptors at @ring, the tail one
 * short of the end.  Every 8-byte word of the ring's 4 KiB holds a buffer
 * address, so legacy, extended and packet-split descriptors find buffers
 * wherever head and tail point; one word in 16 is 0 (a write-back leaves
 * one behind, and the model skips such a descriptor).
 */
static void fuzz_rx_ring(TN *t, uint32_t bal, uint64_t ring, uint32_t n,
                         uint64_t bufs)
{
    uint64_t w[512];
    size_t i;

    wr(t, bal + 0x18, 0);
    for (i = 0; i < ARRAY_SIZE(w); i++) {
        w[i] = g_test_rand_int_range(0, 16) ? cpu_to_le64(bufs +
               g_test_rand_int_range(0, 28) * 1024) : 0;
    }
    qtest_memwrite(t->qts, ring, w, sizeof(w));
    e1000e_ring(t, bal, ring, n);
    wr(t, bal + 0x18, g_test_rand_int_range(1, n));
}

/*
 * Seeded random programming of the traced e1000e, as the tracenic NIC's
 * /tracenic/fuzz does: ring registers of both queues, the descriptor
 * formats (legacy, extended and packet-split RX; legacy, context, data TX),
 * valid rings with valid descriptors posted, random descriptors, frames
 * from the socket, interrupts, bus mastering off, CTRL.RST and clock steps.
 * QEMU must survive and the trace must stay consistent: valid record
 * types, non-decreasing time, every reference dropped at most once and only
 * after it was taken, every DMA under a reference that is held.  At the end
 * the driver's teardown (e1000e_remove) must leave nothing held, and
 * dmacheck must read the trace and report at most dma-outside-ram and
 * posted-twice (the random addresses).  Reproduce a failure with the seed printed at the top
 * (--seed).
 */
static void test_fuzz(void)
{
    /* The cap keeps a runaway seed from filling the disk; it must not hit. */
    TN *t = e1000e_start("trace-max-bytes=536870912");
    uint64_t area = guest_alloc(&t->alloc, 65536 + 4096);
    uint64_t rxa = guest_alloc(&t->alloc, 2 * 4096);
    static const uint32_t bals[] = {
        E1000_TDBAL, E1000_TDBAL1, E1000_RDBAL, E1000_RDBAL1,
    };
    static const uint32_t regs[] = {
        E1000_TCTL, E1000_RXCSUM, E1000_MRQC, E1000_IMS, E1000_IMC, E1000_ICR,
        E1000_ITR, E1000_IVAR, E1000_CTRL_EXT, E1000_RDTR, E1000_RADV, E1000_TIDV,
        E1000_TADV, E1000_RXDCTL, E1000_TXDCTL, E1000_PSRCTL, E1000_RFCTL,
    };
    GHashTable *held = g_hash_table_new(NULL, NULL);
    uint8_t frame[1600], udp[1600], sink[65536];
    GHashTable *rules;
    Trace tr;
    size_t i;
    int op, status;

    area = (area + 4095) & ~4095ull;
    for (i = 0; i < 65536; i += 16) {
        put_desc(t, area, i / 16, fuzz_addr(area),
                 g_test_rand_int_range(0, 3) ? g_test_rand_int_range(0, 2048) |
                 E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS : g_test_rand_int(),
                 g_test_rand_int());
    }
    fill_frame(frame, sizeof(frame), 7);
    wr(t, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
       E1000_RCTL_BAM);
    fuzz_rx_ring(t, E1000_RDBAL, rxa, 8, area + 32768);
    wr(t, E1000_TCTL, E1000_TCTL_EN);
    for (op = 0; op < 4000; op++) {
        uint32_t bal = bals[g_test_rand_int_range(0, ARRAY_SIZE(bals))];
        bool tx = bal == E1000_TDBAL || bal == E1000_TDBAL1;
        uint32_t n, k;
        int outq = 0;

        switch (g_test_rand_int_range(0, 16)) {
        case 0 ... 2:       /* a ring register: base, length, head, tail */
            k = g_test_rand_int_range(0, 5);
            /*
             * A length: mostly a ring of up to 256 descriptors.  Any length
             * is legal, but a tail write into a 65528-slot ring moves
             * megabytes of trace (measured: 4000 such steps filled 68 GB);
             * /e1000e-trace/hostile covers the huge ones.
             */
            wr(t, bal + (k == 3 ? 0x10 : k == 4 ? 0x18 : 4 * k),
               k == 4 && g_test_rand_bit() ? g_test_rand_int_range(0, 64) :
               k == 2 && g_test_rand_int_range(0, 50) ?
               128u << g_test_rand_int_range(0, 6) : fuzz_value(area));
            break;
        case 3 ... 4:       /* a valid ring with valid descriptors posted */
            n = 8u << g_test_rand_int_range(0, 3);
            if (!tx) {
                fuzz_rx_ring(t, bal, rxa + (bal == E1000_RDBAL ? 0 : 4096), n,
                             area + 32768);
                break;
            }
            e1000e_ring(t, bal, area + g_test_rand_int_range(0, 64) * 256, n);
            for (k = 0; k + 1 < n; k++) {
                uint64_t ring = rd(t, bal);
                uint64_t buf = area + 32768 +
                               g_test_rand_int_range(0, 28) * 1024;

                if (g_test_rand_int_range(0, 4) == 0) {
                    /* a context descriptor (DEXT, DTYP 0): no buffer */
                    put_desc(t, ring, k, 0, E1000_TXD_CMD_DEXT, 0);
                } else {
                    put_desc(t, ring, k, buf, g_test_rand_int_range(1, 1025) |
                             E1000_TXD_CMD_RS | (g_test_rand_int_range(0, 4) ?
                             E1000_TXD_CMD_EOP : 0) |
                             (g_test_rand_bit() ? E1000_TXD_CMD_DEXT |
                              E1000_TXD_DTYP_D : 0), 0);
                }
            }
            wr(t, bal + 0x18, g_test_rand_int_range(1, n));
            break;
        case 5 ... 6:
            wr(t, regs[g_test_rand_int_range(0, ARRAY_SIZE(regs))],
               fuzz_value(area));
            break;
        case 7:             /* receive and transmit on, in some format */
            /*
             * Legacy, extended or packet-split RX descriptors; packet split
             * with buffer sizes that often leave buffers 1..3 empty (the
             * RX loop then goes round the ring, and tracing stops it after
             * one lap: /e1000e-trace/rx-lap).
             */
            k = g_test_rand_int_range(0, 3);
            wr(t, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_UPE | E1000_RCTL_MPE |
               E1000_RCTL_BAM | (g_test_rand_bit() ? E1000_RCTL_LPE : 0) |
               (k == 2 ? E1000_RCTL_DTYP_PS : 0));
            wr(t, E1000_RFCTL, k ? E1000_RFCTL_EXTEN : 0);
            if (k == 2) {
                wr(t, E1000_PSRCTL, g_test_rand_int_range(1, 4) |
                   g_test_rand_int_range(0, 3) << 8 |
                   g_test_rand_int_range(0, 2) << 16 |
                   g_test_rand_int_range(0, 2) << 24);
            }
            /* A new descriptor size: post the RX rings again, as a driver */
            fuzz_rx_ring(t, E1000_RDBAL, rxa, 8u << g_test_rand_int_range(0, 3),
                         area + 32768);
            fuzz_rx_ring(t, E1000_RDBAL1, rxa + 4096,
                         8u << g_test_rand_int_range(0, 3), area + 32768);
            wr(t, E1000_TCTL, E1000_TCTL_EN);
            break;
        case 8 ... 9:       /* a random descriptor somewhere in TX's area */
            put_desc(t, area, g_test_rand_int_range(0, 4096), fuzz_addr(area),
                     g_test_rand_int(), g_test_rand_int());
            break;
        case 10 ... 11:
            g_assert_cmpint(ioctl(t->sock[0], SIOCOUTQ, &outq), ==, 0);
            if (outq < 64 * 1024) {     /* never block on a full socket */
                n = g_test_rand_int_range(1, 1600);
                if (n >= 64 && g_test_rand_bit()) {
                    udp_frame(udp, n);  /* one header split applies to */
                    sock_send_frame(t, udp, n);
                } else {
                    sock_send_frame(t, frame, n);
                }
            }
            break;
        case 12:
            qtest_clock_step(t->qts, g_test_rand_int_range(0, 200000));
            break;
        case 13: {          /* throw away what the device sent */
            ssize_t len;

            do {
                len = recv(t->sock[0], sink, sizeof(sink), MSG_DONTWAIT);
            } while (len > 0);
            break;
        }
        default:
            k = g_test_rand_int_range(0, 32);
            if (k == 0) {   /* bus mastering off for a tail write, a frame */
                uint16_t cmd = qpci_config_readw(t->dev, PCI_COMMAND);

                qpci_config_writew(t->dev, PCI_COMMAND,
                                   cmd & ~PCI_COMMAND_MASTER);
                wr(t, E1000_TDT, g_test_rand_int_range(0, 64));
                sock_send_frame(t, frame, 60);
                qpci_config_writew(t->dev, PCI_COMMAND, cmd);
            } else if (k == 1) {
                wr(t, E1000_CTRL, rd(t, E1000_CTRL) | E1000_CTRL_RST);
            } else {
                rd(t, g_test_rand_int_range(0, 0x8000) * 4);
            }
            break;
        }
    }
    g_assert(qtest_probe_child(t->qts));
    qpci_device_enable(t->dev);
    e1000e_remove(t);
    qtest_quit(t->qts);
    t->qts = NULL;

    trace_load(&tr, t->trace);
    g_assert_cmpuint(tr.n, >, 1000);
    trace_check_consistent(&tr, held);
    g_assert_cmpuint(tr.rec[tr.n - 1].u.end.dropped, ==, 0);
    g_test_message("fuzz: %zu trace records (DMA %zu read, %zu written, %zu "
                   "failed), %u references held at exit",
                   tr.n, trace_count(&tr, TN_REC_DMA_READ, -1),
                   trace_count(&tr, TN_REC_DMA_WRITE, -1),
                   trace_count(&tr, TN_REC_DMA_FAILED, -1),
                   g_hash_table_size(held));
    /* The teardown released everything: no reference outlives the trace. */
    g_assert_cmpuint(g_hash_table_size(held), ==, 0);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ),
                     >, 0);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ),
                     >, 0);
    trace_free(&tr);
    rules = dmacheck_rules(t, &status);
    g_hash_table_remove(rules, "dma-outside-ram");
    g_hash_table_remove(rules, "posted-twice");
    g_assert_cmpuint(g_hash_table_size(rules), ==, 0);
    g_hash_table_destroy(rules);
    g_hash_table_destroy(held);
    tracenic_stop(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/e1000e-trace/tx-legacy", test_tx_legacy);
    qtest_add_func("/e1000e-trace/tx-context-data", test_tx_context_data);
    qtest_add_func("/e1000e-trace/queue1", test_queue1);
    qtest_add_func("/e1000e-trace/rx-extended", test_rx_extended);
    qtest_add_func("/e1000e-trace/rx-legacy", test_rx_legacy);
    qtest_add_func("/e1000e-trace/rx-packet-split", test_rx_packet_split);
    qtest_add_func("/e1000e-trace/hostile", test_hostile);
    qtest_add_func("/e1000e-trace/soft-reset", test_soft_reset);
    qtest_add_func("/e1000e-trace/ring-end", test_ring_end);
    qtest_add_func("/e1000e-trace/rx-lap", test_rx_lap);
    qtest_add_func("/e1000e-trace/msix-throttle", test_msix_throttle);
    qtest_add_func("/e1000e-trace/rx-inside-tx", test_rx_inside_tx);
    qtest_add_func("/e1000e-trace/untraced", test_untraced);
    qtest_add_func("/e1000e-trace/fuzz", test_fuzz);
    return g_test_run();
}
