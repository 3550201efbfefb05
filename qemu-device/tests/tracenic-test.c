/*
 * qtest for the tracenic NIC: registers, rings, real DMA through a socket
 * netdev, quiesce timing, the ledger, online checks, bus mastering, hostile
 * programming, and the trace records each of these leaves, field by field.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include "libqtest.h"
#include "hw/pci/pci_regs.h"
#include "hw/pci/pci_ids.h"
#include "qemu/bswap.h"
#include "qapi/qmp/qdict.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "tracenic/regs.h"
#include "tracenic/ledger.h"
#include "tracenic/trace.h"
#include "tracenic/rules.h"
#include "tn-qtest.h"

#define TRACENIC_DEVFN QPCI_DEVFN(4, 0)
#define TRACENIC_MAC "52:54:00:12:34:56"

/*
 * With @hub_args, the NIC writes into a tracenic-trace object t0 on the
 * trace file, which @hub_args (more QEMU arguments, %s = the file) creates.
 */
static TN *tracenic_start_hub(const char *extra, const char *hub_args)
{
    TN *t = g_new0(TN, 1);
    g_autofree char *nic_trace = NULL, *args = NULL;

    t->dir = g_dir_make_tmp("tracenic-qtest-XXXXXX", NULL);
    g_assert(t->dir);
    t->trace = g_strdup_printf("%s/trace.bin", t->dir);
    nic_trace = hub_args ? g_strdup("trace-hub=t0")
                         : g_strdup_printf("trace=%s", t->trace);
    args = hub_args ? g_strdup_printf(hub_args, t->trace) : g_strdup("");
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, t->sock), ==, 0);
    t->qts = qtest_initf("-M pc -nodefaults %s -netdev socket,fd=%d,id=n0 "
                         "-device tracenic,netdev=n0,addr=04.0,mac=" TRACENIC_MAC
                         ",%s%s%s", args, t->sock[1], nic_trace,
                         extra && *extra ? "," : "", extra ? extra : "");
    pc_alloc_init(&t->alloc, t->qts, 0);
    t->bus = qpci_new_pc(t->qts, &t->alloc);
    t->dev = qpci_device_find(t->bus, TRACENIC_DEVFN);
    g_assert(t->dev);
    qpci_device_enable(t->dev);
    t->bar = qpci_iomap(t->dev, TN_BAR_REGS, NULL);
    return t;
}

static TN *tracenic_start(const char *extra)
{
    return tracenic_start_hub(extra, NULL);
}

static void put_desc(TN *t, uint64_t ring, uint32_t slot, uint64_t addr,
                     uint16_t len, uint16_t flags)
{
    struct tn_desc d = {
        .addr = cpu_to_le64(addr),
        .len = cpu_to_le16(len),
        .flags = cpu_to_le16(flags | TN_DESC_OWN),
    };

    qtest_memwrite(t->qts, ring + slot * sizeof(d), &d, sizeof(d));
}

static struct tn_desc get_desc(TN *t, uint64_t ring, uint32_t slot)
{
    struct tn_desc d;

    qtest_memread(t->qts, ring + slot * sizeof(d), &d, sizeof(d));
    return d;
}

static void ring_setup(TN *t, uint32_t ring_reg, uint64_t base, uint32_t size)
{
    wr(t, TN_RING_REG(ring_reg, TN_RING_BASE_LO), base);
    wr(t, TN_RING_REG(ring_reg, TN_RING_BASE_HI), base >> 32);
    wr(t, TN_RING_REG(ring_reg, TN_RING_SIZE), size);
    wr(t, TN_RING_REG(ring_reg, TN_RING_CTRL), TN_RING_CTRL_ENABLE);
}

/* Let QEMU's main loop run until @slot's DONE bit is set (or time out). */
static struct tn_desc wait_done(TN *t, uint64_t ring, uint32_t slot)
{
    struct tn_desc d;
    int i;

    for (i = 0; i < 5000; i++) {
        d = get_desc(t, ring, slot);
        if (le16_to_cpu(d.flags) & TN_DESC_DONE) {
            return d;
        }
        g_usleep(1000);
    }
    g_assert_not_reached();
}

/* ------------------------------------------------------------------------ */

static void test_reset_values(void)
{
    TN *t = tracenic_start(NULL);

    g_assert_cmphex(qpci_config_readw(t->dev, PCI_VENDOR_ID), ==, TN_PCI_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(t->dev, PCI_DEVICE_ID), ==, TN_PCI_DEVICE_ID);
    g_assert_cmphex(qpci_config_readw(t->dev, PCI_CLASS_DEVICE), ==,
                    PCI_CLASS_NETWORK_ETHERNET);
    g_assert_cmphex(rd(t, TN_REG_ID), ==, TN_ID_VALUE);
    g_assert_cmphex(rd(t, TN_REG_CTRL), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_STATUS), ==, TN_STATUS_QUIESCED | TN_STATUS_LINK_UP);
    g_assert_cmphex(rd(t, TN_REG_ICR), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_IMS), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_ITR_US), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_IAM), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_ERR), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_MAC_LO), ==, 0x12005452);
    g_assert_cmphex(rd(t, TN_REG_MAC_HI), ==, 0x5634);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_SIZE)), ==, 0);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_RX_RING, TN_RING_STATUS)), ==, 0);
    g_assert_cmphex(rd(t, TN_LG_CMD), ==, 0);

    /* CTRL.RST brings changed registers back, after reset-delay-ns. */
    wr(t, TN_REG_MAC_LO, 0xdeadbeef);
    wr(t, TN_REG_IMS, TN_INT_TX);
    wr(t, TN_REG_CTRL, TN_CTRL_RST);
    g_assert_cmphex(rd(t, TN_REG_CTRL), ==, TN_CTRL_RST);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & (TN_STATUS_RESETTING | TN_STATUS_QUIESCED),
                    ==, TN_STATUS_RESETTING);
    qtest_clock_step(t->qts, 50000);
    g_assert_cmphex(rd(t, TN_REG_CTRL), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_MAC_LO), ==, 0x12005452);
    g_assert_cmphex(rd(t, TN_REG_IMS), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_STATUS), ==, TN_STATUS_QUIESCED | TN_STATUS_LINK_UP);
    g_assert_cmphex(rd(t, TN_REG_ICR) & TN_INT_RESET_DONE, ==, TN_INT_RESET_DONE);
    tracenic_stop(t);
}

static void test_ring_programming(void)
{
    TN *t = tracenic_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 64 * 16);
    Trace tr;
    ssize_t i;

    ring_setup(t, TN_TX_RING, ring, 64);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_BASE_LO)), ==, (uint32_t)ring);
    g_assert_cmpuint(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_SIZE)), ==, 64);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_STATUS)), ==,
                    TN_RING_STATUS_ACTIVE);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & (TN_STATUS_QUIESCED | TN_STATUS_TX_ACTIVE),
                    ==, TN_STATUS_TX_ACTIVE);
    g_assert_cmpuint(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_HEAD)), ==, 0);

    /* Base and size cannot move under an active ring. */
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_SIZE), 128);
    g_assert_cmpuint(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_SIZE)), ==, 64);
    g_assert_cmpuint(rd(t, TN_REG_ERR), ==, TN_ERR_RING_BUSY);

    /* Sizes that are not a power of two in range, and misaligned bases. */
    ring_setup(t, TN_RX_RING, ring, 100);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_RX_RING, TN_RING_STATUS)), ==,
                    TN_RING_STATUS_ERROR);
    g_assert_cmpuint(rd(t, TN_REG_ERR), ==, TN_ERR_RING_SIZE);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_RX_RING, TN_RING_CTRL)), ==, 0);
    ring_setup(t, TN_RX_RING, ring + 8, 64);
    g_assert_cmpuint(rd(t, TN_REG_ERR), ==, TN_ERR_RING_ALIGN);

    trace_snapshot(t, &tr);
    i = trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_ENABLE);
    g_assert_cmpint(i, >=, 0);
    g_assert_cmpuint(tr.rec[i].idx, ==, TN_RING_ID_TX);
    g_assert_cmphex(tr.rec[i].u.state.value, ==, ring);
    g_assert_cmpuint(tr.rec[i].u.state.value2, ==, 64);
    i = trace_find(&tr, 0, TN_REC_REF_TAKE, TN_REF_RING);
    g_assert_cmpint(i, >=, 0);
    g_assert_cmpint(i, <, trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_ENABLE));
    g_assert_cmphex(tr.rec[i].u.ref.addr, ==, ring);
    g_assert_cmpuint(tr.rec[i].u.ref.len, ==, 64 * 16);
    g_assert_cmpuint(trace_count(&tr, TN_REC_STATE, TN_ST_RING_ENABLE), ==, 1);
    trace_free(&tr);
    tracenic_stop(t);
}

static void test_tx(void)
{
    TN *t = tracenic_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 2048);
    uint8_t frame[1500], got[2048];
    struct tn_desc d;
    Trace tr;
    ssize_t i, take;

    fill_frame(frame, sizeof(frame), 1);
    qtest_memwrite(t->qts, buf, frame, sizeof(frame));
    wr(t, TN_REG_IMS, TN_INT_TX);
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, sizeof(frame), TN_DESC_EOP | TN_DESC_IRQ);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);

    g_assert_cmpuint(sock_recv_frame(t, got, sizeof(got)), ==, sizeof(frame));
    g_assert(memcmp(got, frame, sizeof(frame)) == 0);
    d = get_desc(t, ring, 0);
    g_assert_cmphex(le16_to_cpu(d.flags) & (TN_DESC_OWN | TN_DESC_DONE | TN_DESC_ERR),
                    ==, TN_DESC_DONE);
    g_assert_cmpuint(le16_to_cpu(d.wb_len), ==, sizeof(frame));
    g_assert_cmpuint(le16_to_cpu(d.wb_status), ==, TN_WB_OK);
    g_assert_cmpuint(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_HEAD)), ==, 1);
    g_assert_cmphex(rd(t, TN_REG_ICR) & TN_INT_TX, ==, TN_INT_TX);
    g_assert_cmpuint(rd(t, TN_REG_TX_PACKETS), ==, 1);
    g_assert_cmpuint(rd(t, TN_REG_TX_BYTES), ==, sizeof(frame));

    trace_snapshot(t, &tr);
    g_assert(!memcmp(tr.hdr->magic, TN_TRACE_MAGIC, TN_TRACE_MAGIC_LEN));
    g_assert_cmpuint(tr.hdr->version, ==, TN_TRACE_VERSION);
    g_assert_cmpuint(tr.hdr->record_size, ==, TN_TRACE_REC_SIZE);
    g_assert_cmpuint(tr.hdr->pci_device, ==, TN_PCI_DEVICE_ID);
    g_assert(!memcmp(tr.hdr->mac, "\x52\x54\x00\x12\x34\x56", 6));

    i = trace_find(&tr, 0, TN_REC_DMA_READ, TN_CAUSE_TX_DESC_READ);
    g_assert_cmpint(i, >=, 0);
    g_assert_cmphex(tr.rec[i].u.dma.addr, ==, ring);
    g_assert_cmpuint(tr.rec[i].u.dma.len, ==, 16);
    g_assert_cmpuint(tr.rec[i].u.dma.ring, ==, TN_RING_ID_TX);
    g_assert_cmpuint(tr.rec[i].idx, ==, 0);
    take = trace_find(&tr, i, TN_REC_REF_TAKE, TN_REF_PREFETCH);
    g_assert_cmpint(take, >, i);
    g_assert_cmphex(tr.rec[take].u.ref.addr, ==, buf);
    g_assert_cmpuint(tr.rec[take].u.ref.len, ==, sizeof(frame));
    i = trace_find(&tr, take, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ);
    g_assert_cmpint(i, >, take);
    g_assert_cmphex(tr.rec[i].u.dma.addr, ==, buf);
    g_assert_cmpuint(tr.rec[i].u.dma.len, ==, sizeof(frame));
    g_assert_cmpuint(tr.rec[i].id, ==, tr.rec[take].id);
    i = trace_find(&tr, i, TN_REC_REF_DROP, TN_REF_PREFETCH);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i].id, ==, tr.rec[take].id);
    i = trace_find(&tr, i, TN_REC_DMA_WRITE, TN_CAUSE_TX_WRITEBACK);
    g_assert_cmpint(i, >, 0);
    g_assert_cmphex(tr.rec[i].u.dma.addr, ==, ring + TN_DESC_WB_OFFSET);
    g_assert_cmpuint(tr.rec[i].u.dma.len, ==, TN_DESC_WB_SIZE);
    i = trace_find(&tr, i, TN_REC_IRQ, -1);
    g_assert_cmpint(i, >, 0);
    g_assert_cmphex(tr.rec[i].u.irq.cause & TN_INT_TX, ==, TN_INT_TX);
    for (i = 1; i < tr.n; i++) {
        g_assert_cmpuint(tr.rec[i].time_ns, >=, tr.rec[i - 1].time_ns);
    }
    trace_free(&tr);
    tracenic_stop(t);
}

static void test_rx(void)
{
    TN *t = tracenic_start("prefetch=4");
    uint64_t ring = guest_alloc(&t->alloc, 16 * 16);
    uint64_t bufs = guest_alloc(&t->alloc, 4 * 1024);
    uint8_t frame[1800], got[1800];
    struct tn_desc d0, d1;
    Trace tr;
    ssize_t i;
    int s;

    ring_setup(t, TN_RX_RING, ring, 16);
    for (s = 0; s < 4; s++) {
        put_desc(t, ring, s, bufs + s * 1024, 1024, 0);
    }
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_TAIL), 4);
    fill_frame(frame, sizeof(frame), 7);
    sock_send_frame(t, frame, sizeof(frame));

    /* 1800 bytes span two 1024-byte buffers; EOP marks the second. */
    d1 = wait_done(t, ring, 1);
    d0 = get_desc(t, ring, 0);
    g_assert_cmphex(le16_to_cpu(d0.flags) & (TN_DESC_DONE | TN_DESC_EOP | TN_DESC_OWN),
                    ==, TN_DESC_DONE);
    g_assert_cmpuint(le16_to_cpu(d0.wb_len), ==, 1024);
    g_assert_cmphex(le16_to_cpu(d1.flags) & (TN_DESC_DONE | TN_DESC_EOP), ==,
                    TN_DESC_DONE | TN_DESC_EOP);
    g_assert_cmpuint(le16_to_cpu(d1.wb_len), ==, sizeof(frame) - 1024);
    qtest_memread(t->qts, bufs, got, sizeof(got));
    g_assert(memcmp(got, frame, sizeof(frame)) == 0);
    g_assert_cmpuint(rd(t, TN_RING_REG(TN_RX_RING, TN_RING_HEAD)), ==, 2);
    g_assert_cmpuint(rd(t, TN_REG_RX_PACKETS), ==, 1);
    g_assert_cmphex(rd(t, TN_REG_ICR) & TN_INT_RX, ==, TN_INT_RX);

    trace_snapshot(t, &tr);
    /* Prefetch read all four descriptors on the TAIL write. */
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_READ, TN_CAUSE_RX_DESC_READ), ==, 4);
    g_assert_cmpuint(trace_count(&tr, TN_REC_REF_TAKE, TN_REF_PREFETCH), ==, 4);
    i = trace_find(&tr, 0, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE);
    g_assert_cmpint(i, >=, 0);
    g_assert_cmphex(tr.rec[i].u.dma.addr, ==, bufs);
    g_assert_cmpuint(tr.rec[i].u.dma.len, ==, 1024);
    i = trace_find(&tr, i + 1, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE);
    g_assert_cmphex(tr.rec[i].u.dma.addr, ==, bufs + 1024);
    g_assert_cmpuint(tr.rec[i].u.dma.len, ==, sizeof(frame) - 1024);
    g_assert_cmpuint(tr.rec[i].idx, ==, 1);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_WRITE, TN_CAUSE_RX_WRITEBACK), ==, 2);
    /* The two used buffers were released; the two still posted were not. */
    g_assert_cmpuint(trace_count(&tr, TN_REC_REF_DROP, TN_REF_PREFETCH), ==, 2);
    trace_free(&tr);
    tracenic_stop(t);
}

static void test_quiesce_timing(void)
{
    TN *t = tracenic_start("quiesce-delay-ns=100000,tx-dma-delay-ns=60000");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 256);
    uint8_t frame[64], got[128];
    Trace tr;
    ssize_t dis, idle, rd_buf, q, take, i;

    fill_frame(frame, sizeof(frame), 3);
    qtest_memwrite(t->qts, buf, frame, sizeof(frame));
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, sizeof(frame), TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    /* A second frame posted during the transfer is read ahead only. */
    put_desc(t, ring, 1, buf + 128, sizeof(frame), TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 2);
    /* The frame is in flight; the driver disables the ring at once. */
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_CTRL), 0);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_STATUS)), ==,
                    TN_RING_STATUS_ACTIVE);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, 0);
    g_assert(!sock_has_data(t));

    /* The in-flight transfer still happens during the drain. */
    qtest_clock_step(t->qts, 60000);
    g_assert_cmpuint(sock_recv_frame(t, got, sizeof(got)), ==, sizeof(frame));
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, 0);
    qtest_clock_step(t->qts, 39999);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, 0);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_STATUS)), ==,
                    TN_RING_STATUS_ACTIVE);
    qtest_clock_step(t->qts, 1);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, TN_STATUS_QUIESCED);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_STATUS)), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_ICR) & TN_INT_QUIESCED, ==, TN_INT_QUIESCED);

    trace_snapshot(t, &tr);
    dis = trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_DISABLE);
    rd_buf = trace_find(&tr, 0, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ);
    idle = trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_IDLE);
    q = trace_find(&tr, idle, TN_REC_STATE, TN_ST_QUIESCED);
    g_assert_cmpint(dis, >=, 0);
    g_assert_cmpint(rd_buf, >, dis);
    g_assert_cmpint(idle, >, rd_buf);
    g_assert_cmpint(q, >, idle);
    g_assert_cmpuint(tr.rec[rd_buf].time_ns - tr.rec[dis].time_ns, ==, 60000);
    g_assert_cmpuint(tr.rec[idle].time_ns - tr.rec[dis].time_ns, ==, 100000);
    g_assert_cmpuint(tr.rec[q].u.state.value, ==, 1);
    g_assert_cmpint(trace_find(&tr, 0, TN_REC_REF_TAKE, TN_REF_INFLIGHT), >=, 0);
    g_assert_cmpint(trace_find(&tr, 0, TN_REC_REF_DROP, TN_REF_RING), >, rd_buf);
    /* Descriptor 1: fetched and referenced, never sent, dropped by the drain. */
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ), ==, 1);
    take = trace_find(&tr, 0, TN_REC_REF_TAKE, TN_REF_PREFETCH);
    take = trace_find(&tr, take + 1, TN_REC_REF_TAKE, TN_REF_PREFETCH);
    g_assert_cmpint(take, >, 0);
    g_assert_cmpuint(tr.rec[take].idx, ==, 1);
    g_assert_cmphex(tr.rec[take].u.ref.addr, ==, buf + 128);
    for (i = take; (i = trace_find(&tr, i + 1, TN_REC_REF_DROP, TN_REF_PREFETCH)) >= 0;) {
        if (tr.rec[i].id == tr.rec[take].id) {
            break;
        }
    }
    g_assert_cmpint(i, >, rd_buf);     /* dropped by the drain, at its end */
    g_assert_cmpint(i, <, idle);
    g_assert_cmpuint(tr.rec[i].u.ref.drained, ==, 1);
    g_assert(!sock_has_data(t));
    trace_free(&tr);
    tracenic_stop(t);
}

static void ledger(TN *t, uint32_t cmd, uint32_t id, uint64_t va, uint64_t bus,
                   uint32_t len, uint32_t flags, uint32_t info)
{
    qpci_io_writeq(t->dev, t->bar, TN_LG_VA, va);
    qpci_io_writeq(t->dev, t->bar, TN_LG_BUS, bus);
    wr(t, TN_LG_ID, id);
    wr(t, TN_LG_LENGTH, len);
    wr(t, TN_LG_FLAGS, flags);
    wr(t, TN_LG_TAG, 0x5854746e);
    wr(t, TN_LG_SITE, 42);
    wr(t, TN_LG_INFO, info);
    wr(t, TN_LG_CMD, cmd);
}

/* Region 1: TX ring; region 2: one TX buffer.  Both shared memory. */
static void alloc_shared(TN *t, uint32_t id, uint64_t bus, uint32_t len)
{
    ledger(t, TN_LG_CMD_ALLOC, id, 0xffff888000000000ull + bus, 0, len, 0,
           TN_LG_INFO_PACK(TN_API_SHARED, 0, 1));
    ledger(t, TN_LG_CMD_EXTENT, id, 0, bus, len, 0, TN_LG_INFO_PACK(TN_EXT_BUS, 0, 0));
}

static void free_shared(TN *t, uint32_t id, uint64_t bus, uint32_t len)
{
    ledger(t, TN_LG_CMD_FREE, id, 0xffff888000000000ull + bus, 0, len, 0,
           TN_LG_INFO_PACK(TN_FREE_API_FREE_SHARED, 0, 0));
}

/*
 * Every ledger command through @t's BAR0, recorded field by field as
 * device @dev's, and malformed ones rejected.
 */
static void check_ledger_commands(TN *t, uint8_t dev)
{
    Trace tr;
    ssize_t i;

    ledger(t, TN_LG_CMD_ALLOC, 7, 0xffff888003a00000ull, 0, 8192,
           TN_NDIS_MEMORY_CONTIGUOUS, TN_LG_INFO_PACK(TN_API_MEMORY, 0, 2));
    ledger(t, TN_LG_CMD_EXTENT, 7, 0, 0x3a00000, 4096, 0,
           TN_LG_INFO_PACK(TN_EXT_BUS, 0, 0));
    ledger(t, TN_LG_CMD_EXTENT, 7, 0, 0x3c00000, 4096, 0,
           TN_LG_INFO_PACK(TN_EXT_BUS, 0, 1));
    ledger(t, TN_LG_CMD_FREE, 7, 0xffff888003a00000ull, 0, 4096, 0,
           TN_LG_INFO_PACK(TN_FREE_API_FREE_MEMORY, TN_IRQL_DISPATCH, 0));
    ledger(t, TN_LG_CMD_MAP, 9, 0xffff888004000000ull, 0, 1514, 0,
           TN_LG_INFO_PACK(TN_DIR_TO_DEVICE, TN_IRQL_DISPATCH, 1));
    ledger(t, TN_LG_CMD_EXTENT, 9, 0, 0x4000000, 1514, 0,
           TN_LG_INFO_PACK(TN_EXT_BUS, 0, 0));
    ledger(t, TN_LG_CMD_UNMAP, 9, 0, 0, 1514, 0,
           TN_LG_INFO_PACK(TN_UNMAP_DIR(TN_DIR_TO_DEVICE), TN_IRQL_DISPATCH, 0));
    ledger(t, TN_LG_CMD_MARK, 0, 3, 0, 0, 0, TN_LG_INFO_PACK(TN_MARK_STEP, 0, 0));
    /* The guest agent's coherent memory: dma_alloc_coherent, dma_free_coherent. */
    ledger(t, TN_LG_CMD_ALLOC, 11, 0xffff888005000000ull, 0, 4096, 0,
           TN_LG_INFO_PACK(TN_API_DMA_COHERENT, TN_IRQL_PASSIVE, 1));
    ledger(t, TN_LG_CMD_EXTENT, 11, 0, 0x5000000, 4096, 0,
           TN_LG_INFO_PACK(TN_EXT_BUS, 0, 0));
    ledger(t, TN_LG_CMD_FREE, 11, 0xffff888005000000ull, 0, 4096, 0,
           TN_LG_INFO_PACK(TN_FREE_API_DMA_FREE, TN_IRQL_PASSIVE, 0));
    g_assert_cmpuint(rd(t, TN_LG_CMD), ==, 11);
    g_assert_cmpuint(rd(t, TN_LG_REJECTED), ==, 0);

    /*
     * Malformed: extent with no pending ALLOC, id 0, unknown command, an
     * ALLOC of what only MAP records, a free function past the last.
     */
    ledger(t, TN_LG_CMD_EXTENT, 99, 0, 0x1000, 4096, 0, 0);
    ledger(t, TN_LG_CMD_ALLOC, 0, 0, 0, 4096, 0, TN_LG_INFO_PACK(TN_API_POOL, 0, 1));
    ledger(t, 77, 5, 0, 0, 1, 0, 0);
    ledger(t, TN_LG_CMD_ALLOC, 12, 0, 0, 4096, 0, TN_LG_INFO_PACK(TN_API_MAP, 0, 1));
    ledger(t, TN_LG_CMD_FREE, 7, 0, 0, 4096, 0,
           TN_LG_INFO_PACK(TN_FREE_API_MAX + 1, 0, 0));
    /* an UNMAP direction without its "given" bit, and one past the last */
    ledger(t, TN_LG_CMD_UNMAP, 9, 0, 0, 1514, 0,
           TN_LG_INFO_PACK(TN_DIR_TO_DEVICE, 0, 0));
    ledger(t, TN_LG_CMD_UNMAP, 9, 0, 0, 1514, 0,
           TN_LG_INFO_PACK(TN_UNMAP_DIR(TN_DIR_FROM_DEVICE + 1), 0, 0));
    g_assert_cmpuint(rd(t, TN_LG_REJECTED), ==, 7);

    trace_snapshot(t, &tr);
    i = trace_find(&tr, 0, TN_REC_ALLOC, TN_API_MEMORY);
    g_assert_cmpint(i, >=, 0);
    g_assert_cmpuint(tr.rec[i].id, ==, 7);
    g_assert_cmphex(tr.rec[i].u.alloc.va, ==, 0xffff888003a00000ull);
    g_assert_cmpuint(tr.rec[i].u.alloc.length, ==, 8192);
    g_assert_cmphex(tr.rec[i].u.alloc.flags, ==, TN_NDIS_MEMORY_CONTIGUOUS);
    g_assert_cmphex(tr.rec[i].u.alloc.tag, ==, 0x5854746e);
    g_assert_cmpuint(tr.rec[i].u.alloc.site, ==, 42);
    g_assert_cmpuint(tr.rec[i].u.alloc.n_extents, ==, 2);
    g_assert_cmpuint(tr.rec[i + 1].type, ==, TN_REC_EXTENT);
    g_assert_cmpuint(tr.rec[i + 1].idx, ==, 0);
    g_assert_cmphex(tr.rec[i + 1].u.extent.addr, ==, 0x3a00000);
    g_assert_cmpuint(tr.rec[i + 1].u.extent.len, ==, 4096);
    g_assert_cmpuint(tr.rec[i + 2].idx, ==, 1);
    g_assert_cmphex(tr.rec[i + 2].u.extent.addr, ==, 0x3c00000);
    i = trace_find(&tr, i, TN_REC_FREE, TN_FREE_API_FREE_MEMORY);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i].id, ==, 7);
    g_assert_cmpuint(tr.rec[i].u.free.length, ==, 4096);   /* as passed */
    g_assert_cmphex(tr.rec[i].u.free.flags, ==, 0);        /* as passed */
    g_assert_cmpuint(tr.rec[i].u.free.irql, ==, TN_IRQL_DISPATCH);
    i = trace_find(&tr, i, TN_REC_MAP, TN_DIR_TO_DEVICE);
    g_assert_cmpuint(tr.rec[i].u.map.n_extents, ==, 1);
    g_assert_cmpuint(tr.rec[i].u.map.length, ==, 1514);
    i = trace_find(&tr, i, TN_REC_UNMAP, -1);
    g_assert_cmpuint(tr.rec[i].id, ==, 9);
    g_assert_cmpuint(tr.rec[i].kind, ==, TN_UNMAP_DIR(TN_DIR_TO_DEVICE));
    g_assert_cmpuint(tr.rec[i].u.unmap.length, ==, 1514);
    i = trace_find(&tr, i, TN_REC_MARK, TN_MARK_STEP);
    g_assert_cmpuint(tr.rec[i].u.mark.value, ==, 3);
    i = trace_find(&tr, i, TN_REC_ALLOC, TN_API_DMA_COHERENT);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i].id, ==, 11);
    g_assert_cmpuint(tr.rec[i].u.alloc.length, ==, 4096);
    g_assert_cmpuint(tr.rec[i].u.alloc.n_extents, ==, 1);
    g_assert_cmphex(tr.rec[i + 1].u.extent.addr, ==, 0x5000000);
    i = trace_find(&tr, i, TN_REC_FREE, TN_FREE_API_DMA_FREE);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i].id, ==, 11);
    g_assert_cmpuint(tr.rec[i].u.free.length, ==, 4096);
    g_assert_cmpuint(trace_count(&tr, TN_REC_LEDGER_ERROR, -1), ==, 7);
    for (i = 0; i < tr.n; i++) {
        if (tr.rec[i].type >= TN_REC_ALLOC && tr.rec[i].type <= TN_REC_MARK) {
            g_assert_cmpuint(tn_rec_dev(&tr.rec[i]), ==, dev);
        }
    }
    trace_free(&tr);
}

static void test_ledger(void)
{
    TN *t = tracenic_start(NULL);

    check_ledger_commands(t, 0);
    g_assert_cmpuint(rd(t, TN_REG_ERR), ==, TN_ERR_LEDGER);
    tracenic_stop(t);
}

/*
 * @t's NIC and a tracenic-ledger at 05.0: @t now drives the ledger device;
 * the NIC and its BAR are returned.
 */
static QPCIDevice *ledger_device_use(TN *t, QPCIBar *nic_bar)
{
    QPCIDevice *nic = t->dev;

    *nic_bar = t->bar;
    t->dev = qpci_device_find(t->bus, QPCI_DEVFN(5, 0));
    g_assert(t->dev);
    g_assert_cmphex(qpci_config_readw(t->dev, PCI_VENDOR_ID), ==,
                    TN_PCI_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(t->dev, PCI_DEVICE_ID), ==,
                    TN_LEDGER_PCI_DEVICE_ID);
    qpci_device_enable(t->dev);
    t->bar = qpci_iomap(t->dev, TN_LEDGER_BAR, NULL);
    return nic;
}

#define HUB_ARGS "-object tracenic-trace,id=t0,file=%s,check=on " \
                 "-device tracenic-ledger,addr=05.0,trace-hub=t0"

/*
 * The ledger device decodes and checks commands exactly as the NIC does.
 * It comes first on the command line, so it is device 0 of the trace.
 */
static void test_ledger_device(void)
{
    TN *t = tracenic_start_hub(NULL, HUB_ARGS);
    QPCIBar nic_bar;
    QPCIDevice *nic = ledger_device_use(t, &nic_bar);

    check_ledger_commands(t, 0);
    /* Its own rejections are its own: the NIC's ERR stays clear. */
    g_assert_cmpuint(qpci_io_readl(nic, nic_bar, TN_REG_ERR), ==, 0);
    g_free(nic);
    tracenic_stop(t);
}

/*
 * Two devices, one trace, one order: the driver frees a TX buffer through
 * the ledger device (0), then the NIC (1) reads it.  The online check sees
 * both, the VIOLATION names the NIC, and the NIC raises its interrupt cause.
 */
static void test_two_devices_one_trace(void)
{
    TN *t = tracenic_start_hub(NULL, HUB_ARGS);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 2048);
    TN nic = *t;
    Trace tr;
    ssize_t i, a, d;

    nic.dev = ledger_device_use(t, &nic.bar);
    alloc_shared(t, 1, ring, 8 * 16);
    alloc_shared(t, 2, buf, 2048);
    free_shared(t, 2, buf, 2048);
    ring_setup(&nic, TN_TX_RING, ring, 8);
    put_desc(&nic, ring, 0, buf, 60, TN_DESC_EOP);
    wr(&nic, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    g_assert_cmphex(rd(&nic, TN_REG_ICR) & TN_INT_VIOLATION, ==,
                    TN_INT_VIOLATION);

    trace_snapshot(t, &tr);
    g_assert_cmpstr(tr.hdr->device_id, ==, "t0");
    g_assert_cmphex(tr.hdr->pci_vendor, ==, 0);     /* no one device's */
    g_assert_cmphex(tr.hdr->flags, ==, TN_TRACE_F_CHECK);
    g_assert_cmpuint(tr.rec[0].type, ==, TN_REC_DEVICE);
    g_assert_cmpuint(tr.rec[0].idx, ==, 0);
    g_assert_cmpstr(tr.rec[0].u.device.type, ==, "tracenic-ledger");
    g_assert_cmphex(tr.rec[0].u.device.pci_device, ==,
                    TN_LEDGER_PCI_DEVICE_ID);
    g_assert_cmpuint(tr.rec[0].u.device.pci_devfn, ==, QPCI_DEVFN(5, 0));
    i = trace_find(&tr, 1, TN_REC_DEVICE, -1);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i].idx, ==, 1);
    g_assert_cmpuint(tn_rec_dev(&tr.rec[i]), ==, 1);
    g_assert_cmpstr(tr.rec[i].u.device.type, ==, "tracenic");
    g_assert_cmpuint(tr.rec[i].u.device.pci_devfn, ==, TRACENIC_DEVFN);
    a = trace_find(&tr, 0, TN_REC_FREE, TN_FREE_API_FREE_SHARED);
    g_assert_cmpint(a, >, 0);
    g_assert_cmpuint(tn_rec_dev(&tr.rec[a]), ==, 0);
    d = trace_find(&tr, a, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ);
    g_assert_cmpint(d, >, a);
    g_assert_cmpuint(tn_rec_dev(&tr.rec[d]), ==, 1);
    g_assert_cmpuint(tr.rec[d + 1].type, ==, TN_REC_VIOLATION);
    g_assert_cmpuint(tr.rec[d + 1].kind, ==, TN_RULE_DMA_AFTER_FREE);
    g_assert_cmpuint(tr.rec[d + 1].id, ==, 2);
    g_assert_cmpuint(tn_rec_dev(&tr.rec[d + 1]), ==, 1);
    for (i = 1; i < tr.n; i++) {
        g_assert_cmpuint(tr.rec[i].time_ns, >=, tr.rec[i - 1].time_ns);
    }
    trace_free(&tr);
    g_free(nic.dev);
    tracenic_stop(t);
}

static void test_violations_log(void)
{
    TN *t = tracenic_start("check=on,tx-dma-delay-ns=10000");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 256);
    uint64_t wild = guest_alloc(&t->alloc, 256);
    uint8_t got[256];
    Trace tr;
    ssize_t i;

    alloc_shared(t, 1, ring, 8 * 16);
    alloc_shared(t, 2, buf, 256);
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, 64, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    /* Free the buffer while its transfer is in flight... */
    free_shared(t, 2, buf, 256);
    g_assert_cmphex(rd(t, TN_REG_ICR) & TN_INT_VIOLATION, ==, TN_INT_VIOLATION);
    /* ...and the transfer then reads freed memory. */
    qtest_clock_step(t->qts, 10000);
    sock_recv_frame(t, got, sizeof(got));
    /* A descriptor pointing at memory no allocation covers. */
    put_desc(t, ring, 1, wild, 64, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 2);
    qtest_clock_step(t->qts, 10000);
    sock_recv_frame(t, got, sizeof(got));

    trace_snapshot(t, &tr);
    g_assert(tr.hdr->flags & TN_TRACE_F_CHECK);
    i = trace_find(&tr, 0, TN_REC_VIOLATION, TN_RULE_FREE_NOT_QUIESCED);
    g_assert_cmpint(i, >, trace_find(&tr, 0, TN_REC_FREE, -1));
    g_assert_cmpuint(tr.rec[i].id, ==, 2);
    g_assert_cmphex(tr.rec[i].u.violation.addr, ==, buf);
    g_assert_cmpuint(tr.rec[i].u.violation.ref_id, !=, 0);
    i = trace_find(&tr, 0, TN_REC_VIOLATION, TN_RULE_DMA_AFTER_FREE);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i].id, ==, 2);
    g_assert_cmphex(tr.rec[i].u.violation.addr, ==, buf);
    g_assert_cmpuint(tr.rec[i].u.violation.len, ==, 64);
    g_assert_cmpuint(tr.rec[i].u.violation.cause, ==, TN_CAUSE_TX_BUF_READ);
    g_assert_cmpuint(tr.rec[i - 1].type, ==, TN_REC_DMA_READ);
    i = trace_find(&tr, 0, TN_REC_VIOLATION, TN_RULE_WILD_DMA);
    g_assert_cmpint(i, >, 0);
    g_assert_cmphex(tr.rec[i].u.violation.addr, ==, wild);
    /* The ring itself is covered by region 1: no violation for its DMA. */
    for (i = 0; i < tr.n; i++) {
        if (tr.rec[i].type == TN_REC_VIOLATION) {
            g_assert_cmphex(tr.rec[i].u.violation.addr, !=, ring);
        }
    }
    trace_free(&tr);
    tracenic_stop(t);
}

/*
 * The online check's coverage rule: a transfer is clean when live extents
 * cover every byte, however many it spans (here two regions side by side
 * and one that overlaps both), and wild as soon as one byte is uncovered.
 */
static void test_check_coverage(void)
{
    TN *t = tracenic_start("check=on");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 1024);
    uint8_t got[512];
    Trace tr;
    ssize_t i;

    alloc_shared(t, 1, ring, 8 * 16);
    alloc_shared(t, 2, buf, 256);           /* [buf, +256) */
    alloc_shared(t, 3, buf + 256, 256);     /* [+256, +512) */
    alloc_shared(t, 4, buf + 128, 256);     /* [+128, +384), overlaps both */
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf + 64, 384, TN_DESC_EOP);       /* 2, 4 and 3 */
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    sock_recv_frame(t, got, sizeof(got));
    put_desc(t, ring, 1, buf + 448, 128, TN_DESC_EOP);      /* 64 B past 3 */
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 2);
    sock_recv_frame(t, got, sizeof(got));

    trace_snapshot(t, &tr);
    i = trace_find(&tr, 0, TN_REC_VIOLATION, TN_RULE_WILD_DMA);
    g_assert_cmpint(i, >, 0);
    g_assert_cmphex(tr.rec[i].u.violation.addr, ==, buf + 448);
    g_assert_cmpuint(tr.rec[i].u.violation.len, ==, 128);
    g_assert_cmpuint(trace_count(&tr, TN_REC_VIOLATION, -1), ==, 1);
    trace_free(&tr);
    tracenic_stop(t);
}

/*
 * Descriptors at the top of the 64-bit address space, as a driver that
 * skipped dma_mapping_error() posts them (DMA_MAPPING_ERROR is all ones):
 * a range running past 2^64 is refused and recorded (the bus would wrap it
 * into low guest memory), one ending exactly at 2^64 goes to the bus and
 * fails there.  The online check calls DMA_MAPPING_ERROR itself
 * map-error-unchecked, and the others wild DMA.
 */
static void test_top_of_address_space(void)
{
    static const struct {
        uint64_t addr;
        uint8_t reason, rule;
    } tx[] = {
        /* the top byte on: DMA_MAPPING_ERROR */
        { UINT64_MAX, TN_DMA_FAIL_WRAP, TN_RULE_MAP_ERROR_UNCHECKED },
        /* ends at 2^64 */
        { UINT64_MAX - 63, TN_DMA_FAIL_MEMTX, TN_RULE_WILD_DMA },
        /* crosses 2^64 */
        { UINT64_MAX - 31, TN_DMA_FAIL_WRAP, TN_RULE_WILD_DMA },
    };
    TN *t = tracenic_start("check=on");
    uint64_t txring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t rxring = guest_alloc(&t->alloc, 8 * 16);
    uint8_t low[2048], after[2048], frame[1500];
    Trace tr;
    ssize_t i, v;
    int k;

    alloc_shared(t, 1, txring, 8 * 16);
    alloc_shared(t, 2, rxring, 8 * 16);
    /* What a wrapped RX write would overwrite. */
    qtest_memread(t->qts, 0, low, sizeof(low));

    ring_setup(t, TN_TX_RING, txring, 8);
    for (k = 0; k < ARRAY_SIZE(tx); k++) {
        put_desc(t, txring, k, tx[k].addr, 64, TN_DESC_EOP);
    }
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), ARRAY_SIZE(tx));
    wait_done(t, txring, ARRAY_SIZE(tx) - 1);
    g_assert(!sock_has_data(t));
    g_assert_cmpuint(rd(t, TN_REG_ERR), ==, TN_ERR_DMA);

    /* 1500 bytes into a buffer 1024 bytes below 2^64. */
    ring_setup(t, TN_RX_RING, rxring, 8);
    put_desc(t, rxring, 0, UINT64_MAX - 1023, 2048, 0);
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_TAIL), 1);
    fill_frame(frame, sizeof(frame), 3);
    sock_send_frame(t, frame, sizeof(frame));
    g_assert_cmpuint(le16_to_cpu(wait_done(t, rxring, 0).wb_status), ==,
                     TN_WB_DMA_ERROR);
    qtest_memread(t->qts, 0, after, sizeof(after));
    g_assert(memcmp(low, after, sizeof(low)) == 0);

    trace_snapshot(t, &tr);
    i = 0;
    for (k = 0; k < ARRAY_SIZE(tx); k++) {
        i = trace_find(&tr, i, TN_REC_DMA_FAILED, TN_CAUSE_TX_BUF_READ);
        g_assert_cmpint(i, >, 0);
        g_assert_cmphex(tr.rec[i].u.dma.addr, ==, tx[k].addr);
        g_assert_cmpuint(tr.rec[i].u.dma.len, ==, 64);
        g_assert_cmpuint(tr.rec[i].u.dma.reason, ==, tx[k].reason);
        v = trace_find(&tr, i, TN_REC_VIOLATION, tx[k].rule);
        g_assert_cmpint(v, >, i);
        g_assert_cmphex(tr.rec[v].u.violation.addr, ==, tx[k].addr);
        i = v + 1;
    }
    i = trace_find(&tr, 0, TN_REC_DMA_FAILED, TN_CAUSE_RX_BUF_WRITE);
    g_assert_cmpint(i, >, 0);
    g_assert_cmphex(tr.rec[i].u.dma.addr, ==, UINT64_MAX - 1023);
    g_assert_cmpuint(tr.rec[i].u.dma.len, ==, sizeof(frame));
    g_assert_cmpuint(tr.rec[i].u.dma.write, ==, 1);
    g_assert_cmpuint(tr.rec[i].u.dma.reason, ==, TN_DMA_FAIL_WRAP);
    g_assert_cmpint(trace_find(&tr, i, TN_REC_VIOLATION, TN_RULE_WILD_DMA), >, i);
    /* Nothing wrapped into low memory was read or written. */
    g_assert_cmpint(trace_find(&tr, 0, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ), <, 0);
    g_assert_cmpint(trace_find(&tr, 0, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE), <, 0);
    trace_free(&tr);
    tracenic_stop(t);
}

static void test_violation_stop(void)
{
    TN *t = tracenic_start("check=on,on-violation=stop");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    QDict *rsp;

    /*
     * The driver reports through the ledger (a MARK), but never reported
     * the ring: its first descriptor read is wild DMA.
     */
    ledger(t, TN_LG_CMD_MARK, 0, 1, 0, 0, 0,
           TN_LG_INFO_PACK(TN_MARK_STEP, 0, 0));
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, ring, 16, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    rsp = qtest_qmp(t->qts, "{'execute': 'query-status'}");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "return"), "status"), ==,
                    "paused");
    qobject_unref(rsp);
    qtest_qmp_assert_success(t->qts, "{'execute': 'cont'}");
    rsp = qtest_qmp(t->qts, "{'execute': 'query-status'}");
    g_assert(qdict_get_bool(qdict_get_qdict(rsp, "return"), "running"));
    qobject_unref(rsp);
    tracenic_stop(t);
}

/*
 * Twin: with nothing reported through the ledger at all, nothing says what
 * the driver allocated, so the same DMA is not judged (dmacheck says so in
 * its report): no VIOLATION, no pause.
 */
static void test_no_ledger_unjudged(void)
{
    TN *t = tracenic_start("check=on,on-violation=stop");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    QDict *rsp;
    Trace tr;

    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, ring, 16, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    rsp = qtest_qmp(t->qts, "{'execute': 'query-status'}");
    g_assert(qdict_get_bool(qdict_get_qdict(rsp, "return"), "running"));
    qobject_unref(rsp);
    trace_snapshot(t, &tr);
    g_assert_cmpint(trace_find(&tr, 0, TN_REC_DMA_READ, TN_CAUSE_TX_DESC_READ),
                    >, 0);
    g_assert_cmpuint(trace_count(&tr, TN_REC_VIOLATION, -1), ==, 0);
    trace_free(&tr);
    tracenic_stop(t);
}

static void test_bus_master_off(void)
{
    TN *t = tracenic_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    Trace tr;
    ssize_t i;

    ring_setup(t, TN_TX_RING, ring, 8);
    qpci_config_writew(t->dev, PCI_COMMAND,
                       qpci_config_readw(t->dev, PCI_COMMAND) & ~PCI_COMMAND_MASTER);
    put_desc(t, ring, 0, ring, 16, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    g_assert_cmpuint(rd(t, TN_REG_ERR), ==, TN_ERR_DMA);
    g_assert_cmpuint(rd(t, TN_REG_TX_PACKETS), ==, 0);
    g_assert(!sock_has_data(t));
    /* The device did not write back: OWN is still set. */
    g_assert_cmphex(le16_to_cpu(get_desc(t, ring, 0).flags) & TN_DESC_OWN, ==,
                    TN_DESC_OWN);

    trace_snapshot(t, &tr);
    /* on (qpci_device_enable), then off */
    i = trace_find(&tr, 0, TN_REC_STATE, TN_ST_BUS_MASTER);
    while (i >= 0 && tr.rec[i].u.state.value != 1) {
        i = trace_find(&tr, i + 1, TN_REC_STATE, TN_ST_BUS_MASTER);
    }
    i = trace_find(&tr, i + 1, TN_REC_STATE, TN_ST_BUS_MASTER);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i].u.state.value, ==, 0);
    i = trace_find(&tr, i, TN_REC_DMA_FAILED, TN_CAUSE_TX_DESC_READ);
    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(tr.rec[i].u.dma.reason, ==, TN_DMA_FAIL_BUS_MASTER);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_READ, -1), ==, 0);
    trace_free(&tr);
    tracenic_stop(t);
}

static void test_hostile(void)
{
    TN *t = tracenic_start("prefetch=32");
    uint64_t ring = guest_alloc(&t->alloc, 64 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 4096);
    uint64_t unmapped = 0xfff000000000ull;
    uint8_t frame[64];
    Trace tr;
    int s;

    /* Zero and huge sizes are refused; a zero base with size 0 too. */
    ring_setup(t, TN_TX_RING, ring, 0);
    g_assert_cmpuint(rd(t, TN_REG_ERR), ==, TN_ERR_RING_SIZE);
    ring_setup(t, TN_TX_RING, ring, 0x80000000u);
    g_assert_cmpuint(rd(t, TN_REG_ERR), ==, TN_ERR_RING_SIZE);

    /* A TX chain that never ends, and descriptors aimed at odd places. */
    ring_setup(t, TN_TX_RING, ring, 64);
    for (s = 0; s < 63; s++) {
        put_desc(t, ring, s, buf, 0xffff, 0);
    }
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 63);
    put_desc(t, ring, 63, t->bar.addr + TN_RING_REG(TN_TX_RING, TN_RING_TAIL),
             4, TN_DESC_EOP);
    put_desc(t, ring, 0, unmapped, 64, TN_DESC_EOP);
    put_desc(t, ring, 1, buf, 0, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 2);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1000);    /* out of range */

    /* RX: buffers in the device's own BAR, unmapped and zero-length. */
    ring_setup(t, TN_RX_RING, unmapped, 8);
    g_assert_cmpuint(rd(t, TN_RING_REG(TN_RX_RING, TN_RING_STATUS)), ==,
                     TN_RING_STATUS_ACTIVE);
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_TAIL), 7);
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_CTRL), 0);
    qtest_clock_step(t->qts, 100000);
    ring_setup(t, TN_RX_RING, ring + 32 * 16, 8);
    put_desc(t, ring + 32 * 16, 0, t->bar.addr + TN_REG_CTRL, 64, 0);
    put_desc(t, ring + 32 * 16, 1, buf, 0, 0);
    put_desc(t, ring + 32 * 16, 2, unmapped, 2048, 0);
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_TAIL), 3);
    fill_frame(frame, sizeof(frame), 9);
    for (s = 0; s < 3; s++) {
        sock_send_frame(t, frame, sizeof(frame));
    }
    for (s = 0; s < 50; s++) {
        rd(t, TN_REG_STATUS);
        g_usleep(1000);
    }
    /* A reset in the middle of all that, then everything again. */
    wr(t, TN_REG_CTRL, TN_CTRL_RST);
    qtest_clock_step(t->qts, 1000000);
    g_assert_cmphex(rd(t, TN_REG_ID), ==, TN_ID_VALUE);
    g_assert_cmphex(rd(t, TN_REG_CTRL), ==, 0);
    /* The device's own registers were never written by its DMA. */
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, TN_STATUS_QUIESCED);
    g_assert(qtest_probe_child(t->qts));

    trace_snapshot(t, &tr);
    g_assert_cmpuint(trace_count(&tr, TN_REC_DMA_FAILED, -1), >=, 2);
    trace_free(&tr);
    tracenic_stop(t);
}

static void test_msix(void)
{
    TN *t = tracenic_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 256);
    uint8_t got[256];

    qpci_msix_enable(t->dev);
    /* A masked vector latches its pending bit instead of signalling. */
    qpci_io_writel(t->dev, t->dev->msix_table_bar,
                   t->dev->msix_table_off + TN_MSIX_VEC_TX * 16 + 12, 1);
    g_assert(qpci_msix_masked(t->dev, TN_MSIX_VEC_TX));
    wr(t, TN_REG_IMS, TN_INT_TX);
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, 64, TN_DESC_EOP | TN_DESC_IRQ);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    sock_recv_frame(t, got, sizeof(got));
    g_assert(qpci_msix_pending(t->dev, TN_MSIX_VEC_TX));
    g_assert(!qpci_msix_pending(t->dev, TN_MSIX_VEC_RX));
    qpci_msix_disable(t->dev);
    tracenic_stop(t);
}

/*
 * MAP_ONE records exactly what MAP + EXTENT record; a pair of 32-bit
 * staging registers takes one 64-bit write.
 */
static void test_ledger_map_one(void)
{
    TN *t = tracenic_start(NULL);
    Trace tr;
    ssize_t i;

    qpci_io_writeq(t->dev, t->bar, TN_LG_VA, 0xffff888004000000ull);
    qpci_io_writeq(t->dev, t->bar, TN_LG_BUS, 0x4000040);
    qpci_io_writeq(t->dev, t->bar, TN_LG_ID, 9 | (uint64_t)1514 << 32);
    qpci_io_writeq(t->dev, t->bar, TN_LG_SITE, TN_SITE_ID(2, 500) |
                   (uint64_t)TN_LG_INFO_PACK(TN_DIR_TO_DEVICE, TN_IRQL_DISPATCH, 0) << 32);
    wr(t, TN_LG_CMD, TN_LG_CMD_MAP_ONE);
    g_assert_cmpuint(rd(t, TN_LG_LENGTH), ==, 1514);
    g_assert_cmpuint(rd(t, TN_LG_INFO), ==,
                     TN_LG_INFO_PACK(TN_DIR_TO_DEVICE, TN_IRQL_DISPATCH, 0));
    qpci_io_writeq(t->dev, t->bar, TN_LG_SITE, TN_SITE_ID(2, 600) |
                   (uint64_t)TN_LG_INFO_PACK(0, TN_IRQL_DISPATCH, 0) << 32);
    wr(t, TN_LG_CMD, TN_LG_CMD_UNMAP);
    /* An extent that wraps the address space: rejected, nothing recorded. */
    qpci_io_writeq(t->dev, t->bar, TN_LG_BUS, ~0ull - 100);
    wr(t, TN_LG_ID, 10);
    wr(t, TN_LG_CMD, TN_LG_CMD_MAP_ONE);
    g_assert_cmpuint(rd(t, TN_LG_CMD), ==, 2);
    g_assert_cmpuint(rd(t, TN_LG_REJECTED), ==, 1);

    trace_snapshot(t, &tr);
    i = trace_find(&tr, 0, TN_REC_MAP, TN_DIR_TO_DEVICE);
    g_assert_cmpint(i, >=, 0);
    g_assert_cmpuint(tr.rec[i].id, ==, 9);
    g_assert_cmphex(tr.rec[i].u.map.va, ==, 0xffff888004000000ull);
    g_assert_cmpuint(tr.rec[i].u.map.length, ==, 1514);
    g_assert_cmphex(tr.rec[i].u.map.site, ==, TN_SITE_ID(2, 500));
    g_assert_cmpuint(tr.rec[i].u.map.irql, ==, TN_IRQL_DISPATCH);
    g_assert_cmpuint(tr.rec[i].u.map.n_extents, ==, 1);
    g_assert_cmpuint(tr.rec[i + 1].type, ==, TN_REC_EXTENT);
    g_assert_cmpuint(tr.rec[i + 1].id, ==, 9);
    g_assert_cmpuint(tr.rec[i + 1].kind, ==, TN_EXT_BUS);
    g_assert_cmpuint(tr.rec[i + 1].idx, ==, 0);
    g_assert_cmphex(tr.rec[i + 1].u.extent.addr, ==, 0x4000040);
    g_assert_cmpuint(tr.rec[i + 1].u.extent.len, ==, 1514);
    g_assert_cmpuint(tr.rec[i + 2].type, ==, TN_REC_UNMAP);
    g_assert_cmphex(tr.rec[i + 2].u.unmap.site, ==, TN_SITE_ID(2, 600));
    g_assert_cmpuint(trace_count(&tr, TN_REC_MAP, -1), ==, 1);
    g_assert_cmpuint(trace_count(&tr, TN_REC_EXTENT, -1), ==, 1);
    g_assert_cmpuint(trace_count(&tr, TN_REC_LEDGER_ERROR, -1), ==, 1);
    trace_free(&tr);
    tracenic_stop(t);
}

/*
 * IAM: sending a vector's message clears and masks its causes; a cause
 * raised while masked stays latched and the IMS write re-signals it.
 */
static void test_iam(void)
{
    TN *t = tracenic_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 256);
    uint8_t got[256];
    Trace tr;

    qpci_msix_enable(t->dev);
    qpci_io_writel(t->dev, t->dev->msix_table_bar,
                   t->dev->msix_table_off + TN_MSIX_VEC_TX * 16 + 12, 1);
    wr(t, TN_REG_IAM, TN_INT_TX | 0xffff0000u);
    g_assert_cmphex(rd(t, TN_REG_IAM), ==, TN_INT_TX);
    wr(t, TN_REG_IMS, TN_INT_TX | TN_INT_RX);
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, 64, TN_DESC_EOP | TN_DESC_IRQ);
    put_desc(t, ring, 1, buf, 64, TN_DESC_EOP | TN_DESC_IRQ);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    sock_recv_frame(t, got, sizeof(got));
    g_assert_cmphex(rd(t, TN_REG_IMS), ==, TN_INT_RX);
    g_assert_cmphex(rd(t, TN_REG_ICR), ==, 0);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 2);
    sock_recv_frame(t, got, sizeof(got));
    g_assert_cmphex(rd(t, TN_REG_ICR), ==, TN_INT_TX);
    trace_snapshot(t, &tr);
    g_assert_cmpuint(trace_count(&tr, TN_REC_IRQ, -1), ==, 1);
    trace_free(&tr);
    wr(t, TN_REG_IMS, TN_INT_TX);
    trace_snapshot(t, &tr);
    g_assert_cmpuint(trace_count(&tr, TN_REC_IRQ, -1), ==, 2);
    trace_free(&tr);
    g_assert_cmphex(rd(t, TN_REG_ICR), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_IMS), ==, TN_INT_RX);
    qpci_msix_disable(t->dev);
    tracenic_stop(t);
}

/* ITR_US spaces the messages of one vector; the trace header is complete. */
static void test_itr_and_header(void)
{
    TN *t = tracenic_start("id=nic0,trace-max-bytes=1000000,check=on");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 256);
    uint8_t got[256];
    Trace tr;
    ssize_t i, j;

    qpci_msix_enable(t->dev);
    /* Masked, so the messages only latch pending bits; the trace shows them. */
    qpci_io_writel(t->dev, t->dev->msix_table_bar,
                   t->dev->msix_table_off + TN_MSIX_VEC_TX * 16 + 12, 1);
    wr(t, TN_REG_ITR_US, 10);
    g_assert_cmpuint(rd(t, TN_REG_ITR_US), ==, 10);
    wr(t, TN_REG_IMS, TN_INT_TX);
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, 64, TN_DESC_EOP | TN_DESC_IRQ);
    put_desc(t, ring, 1, buf, 64, TN_DESC_EOP | TN_DESC_IRQ);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    sock_recv_frame(t, got, sizeof(got));
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 2);
    sock_recv_frame(t, got, sizeof(got));
    qtest_clock_step(t->qts, 9999);
    trace_snapshot(t, &tr);
    g_assert_cmpuint(trace_count(&tr, TN_REC_IRQ, -1), ==, 1);
    trace_free(&tr);
    qtest_clock_step(t->qts, 1);
    trace_snapshot(t, &tr);
    g_assert_cmpuint(trace_count(&tr, TN_REC_IRQ, -1), ==, 2);
    i = trace_find(&tr, 0, TN_REC_IRQ, -1);
    j = trace_find(&tr, i + 1, TN_REC_IRQ, -1);
    g_assert_cmpuint(tr.rec[i].u.irq.vector, ==, TN_MSIX_VEC_TX);
    g_assert_cmphex(tr.rec[i].u.irq.cause, ==, TN_INT_TX);
    g_assert_cmpuint(tr.rec[j].u.irq.vector, ==, TN_MSIX_VEC_TX);
    g_assert_cmpuint(tr.rec[j].time_ns - tr.rec[i].time_ns, ==, 10000);
    g_assert(qpci_msix_pending(t->dev, TN_MSIX_VEC_TX));

    g_assert_cmpuint(tr.hdr->version, ==, TN_TRACE_VERSION);
    g_assert_cmpuint(tr.hdr->header_size, ==, TN_TRACE_HEADER_SIZE);
    g_assert_cmpuint(tr.hdr->record_size, ==, TN_TRACE_REC_SIZE);
    g_assert_cmpuint(tr.hdr->clock, ==, TN_TRACE_CLOCK_VIRTUAL);
    g_assert_cmphex(tr.hdr->pci_vendor, ==, TN_PCI_VENDOR_ID);
    g_assert_cmphex(tr.hdr->pci_device, ==, TN_PCI_DEVICE_ID);
    g_assert_cmpuint(tr.hdr->pci_revision, ==, TN_PCI_REVISION);
    g_assert_cmphex(tr.hdr->flags, ==, TN_TRACE_F_CHECK);
    g_assert_cmpuint(tr.hdr->cap_bytes, ==, 1000000);
    g_assert_cmpuint(tr.hdr->wall_start_ns, >, 1600000000ull * 1000000000ull);
    g_assert_cmpstr(tr.hdr->device_id, ==, "nic0");
    g_assert(g_str_has_prefix(tr.hdr->qemu_version, "7.2"));
    /* The device announces itself: device 0, its PCI ids and address. */
    g_assert_cmpuint(tr.rec[0].type, ==, TN_REC_DEVICE);
    g_assert_cmpuint(tr.rec[0].idx, ==, 0);
    g_assert_cmpuint(tn_rec_dev(&tr.rec[0]), ==, 0);
    g_assert_cmphex(tr.rec[0].u.device.pci_vendor, ==, TN_PCI_VENDOR_ID);
    g_assert_cmphex(tr.rec[0].u.device.pci_device, ==, TN_PCI_DEVICE_ID);
    g_assert_cmpuint(tr.rec[0].u.device.pci_revision, ==, TN_PCI_REVISION);
    g_assert_cmpuint(tr.rec[0].u.device.pci_bus, ==, 0);
    g_assert_cmpuint(tr.rec[0].u.device.pci_devfn, ==, TRACENIC_DEVFN);
    g_assert_cmpstr(tr.rec[0].u.device.type, ==, "tracenic");
    g_assert_cmpuint(tr.rec[0].time_ns, ==, tr.hdr->start_ns);
    /* Then that the trace opened, with the device's STATUS. */
    g_assert_cmpuint(tr.rec[1].type, ==, TN_REC_STATE);
    g_assert_cmpuint(tr.rec[1].kind, ==, TN_ST_TRACE_OPEN);
    g_assert_cmphex(tr.rec[1].u.state.value, ==, TN_STATUS_QUIESCED | TN_STATUS_LINK_UP);
    g_assert_cmpuint(tr.rec[1].time_ns, ==, tr.hdr->start_ns);
    trace_free(&tr);
    qpci_msix_disable(t->dev);
    tracenic_stop(t);
}

static void test_qom_set(void)
{
    TN *t = tracenic_start(NULL);
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 256);
    uint8_t got[256];
    QDict *rsp;
    Trace tr;
    ssize_t i;

    qtest_qmp_assert_success(t->qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/machine/peripheral-anon/device[0]', "
                             "'property': 'rx-dma-delay-ns', 'value': 777}}");
    qtest_qmp_assert_success(t->qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/machine/peripheral-anon/device[0]', "
                             "'property': 'late-writeback', 'value': true}}");
    trace_snapshot(t, &tr);
    i = trace_find(&tr, 0, TN_REC_STATE, TN_ST_PROP);
    g_assert_cmpint(i, >=, 0);
    g_assert_cmpuint(tr.rec[i].u.state.value, ==, 777);
    g_assert_cmpuint(tr.rec[i].u.state.value2, ==, TN_PROP_RX_DMA_DELAY_NS);
    i = trace_find(&tr, i + 1, TN_REC_STATE, TN_ST_PROP);
    g_assert_cmpuint(tr.rec[i].u.state.value, ==, 1);
    g_assert_cmpuint(tr.rec[i].u.state.value2, ==, TN_PROP_LATE_WRITEBACK);
    trace_free(&tr);

    /* Turning late-writeback off delivers what it held. */
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, 64, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    sock_recv_frame(t, got, sizeof(got));
    g_assert_cmphex(le16_to_cpu(get_desc(t, ring, 0).flags) & TN_DESC_DONE, ==, 0);
    qtest_qmp_assert_success(t->qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/machine/peripheral-anon/device[0]', "
                             "'property': 'late-writeback', 'value': false}}");
    g_assert_cmphex(le16_to_cpu(get_desc(t, ring, 0).flags) & TN_DESC_DONE, ==,
                    TN_DESC_DONE);
    /* A value the device cannot take is refused and not recorded. */
    rsp = qtest_qmp(t->qts, "{'execute': 'qom-set', 'arguments': "
                    "{'path': '/machine/peripheral-anon/device[0]', "
                    "'property': 'prefetch', 'value': 33}}");
    g_assert(qdict_haskey(rsp, "error"));
    qobject_unref(rsp);
    trace_snapshot(t, &tr);
    g_assert_cmpuint(trace_count(&tr, TN_REC_STATE, TN_ST_PROP), ==, 3);
    trace_free(&tr);
    tracenic_stop(t);
}

static void test_late_writeback(void)
{
    TN *t = tracenic_start("late-writeback=on,quiesce-delay-ns=30000");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 256);
    uint8_t got[256];
    Trace tr;
    ssize_t dis, wb;

    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, 64, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    sock_recv_frame(t, got, sizeof(got));
    g_assert_cmphex(le16_to_cpu(get_desc(t, ring, 0).flags) & TN_DESC_DONE, ==, 0);
    /* The next kick writes back what was held; the new frame's is held. */
    put_desc(t, ring, 1, buf, 64, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 2);
    sock_recv_frame(t, got, sizeof(got));
    g_assert_cmphex(le16_to_cpu(get_desc(t, ring, 0).flags) & TN_DESC_DONE, ==,
                    TN_DESC_DONE);
    g_assert_cmphex(le16_to_cpu(get_desc(t, ring, 1).flags) & TN_DESC_DONE, ==, 0);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_CTRL), 0);
    qtest_clock_step(t->qts, 29999);
    g_assert_cmphex(le16_to_cpu(get_desc(t, ring, 1).flags) & TN_DESC_DONE, ==, 0);
    qtest_clock_step(t->qts, 1);
    g_assert_cmphex(le16_to_cpu(get_desc(t, ring, 1).flags) & TN_DESC_DONE, ==,
                    TN_DESC_DONE);
    trace_snapshot(t, &tr);
    dis = trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_DISABLE);
    wb = trace_find(&tr, 0, TN_REC_DMA_WRITE, TN_CAUSE_TX_WRITEBACK);
    g_assert_cmpint(wb, <, dis);
    g_assert_cmpuint(tr.rec[wb].idx, ==, 0);
    wb = trace_find(&tr, wb + 1, TN_REC_DMA_WRITE, TN_CAUSE_TX_WRITEBACK);
    g_assert_cmpint(wb, >, dis);    /* the write-back came after the disable */
    g_assert_cmpuint(tr.rec[wb].idx, ==, 1);
    g_assert_cmpuint(tr.rec[wb].time_ns - tr.rec[dis].time_ns, ==, 30000);
    g_assert_cmpint(trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_IDLE), >, wb);
    trace_free(&tr);
    tracenic_stop(t);
}

/*
 * A drain drops the device's references, but the driver only learns that
 * from QUIESCED: until it has looked, freeing that memory is still racing
 * the device (REF_DROP.drained, STATE QUIESCED_SEEN).
 */
static void test_drain_observed(void)
{
    TN *t = tracenic_start("check=on,prefetch=2,quiesce-delay-ns=10000");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t bufs = guest_alloc(&t->alloc, 2 * 512);
    Trace tr;
    ssize_t i, seen, free2, v;
    int s;

    alloc_shared(t, 1, ring, 8 * 16);
    alloc_shared(t, 2, bufs, 512);
    alloc_shared(t, 3, bufs + 512, 512);
    ring_setup(t, TN_RX_RING, ring, 8);
    for (s = 0; s < 2; s++) {
        put_desc(t, ring, s, bufs + s * 512, 512, 0);
    }
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_TAIL), 2);
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_CTRL), 0);
    qtest_clock_step(t->qts, 10000);
    /* Drained, but nobody looked: this free still races the device. */
    free_shared(t, 2, bufs, 512);
    g_assert_cmphex(rd(t, TN_REG_ICR) & TN_INT_VIOLATION, ==, TN_INT_VIOLATION);
    wr(t, TN_REG_ICR, TN_INT_VIOLATION);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, TN_STATUS_QUIESCED);
    /* Now it has: the same kind of free is fine. */
    free_shared(t, 3, bufs + 512, 512);
    free_shared(t, 1, ring, 8 * 16);
    g_assert_cmphex(rd(t, TN_REG_ICR) & TN_INT_VIOLATION, ==, 0);

    trace_snapshot(t, &tr);
    i = trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_DISABLE);
    g_assert_cmpint(i, >=, 0);
    for (i = trace_find(&tr, i, TN_REC_REF_DROP, -1); i >= 0;
         i = trace_find(&tr, i + 1, TN_REC_REF_DROP, -1)) {
        g_assert_cmpuint(tr.rec[i].u.ref.drained, ==, 1);
        g_assert_cmpuint(tr.rec[i].u.ref.ring, ==, TN_RING_ID_RX);
    }
    g_assert_cmpuint(trace_count(&tr, TN_REC_REF_DROP, TN_REF_PREFETCH), ==, 2);
    g_assert_cmpuint(trace_count(&tr, TN_REC_REF_DROP, TN_REF_RING), ==, 1);
    v = trace_find(&tr, 0, TN_REC_VIOLATION, TN_RULE_FREE_NOT_QUIESCED);
    g_assert_cmpint(v, >, trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_IDLE));
    g_assert_cmpuint(tr.rec[v].id, ==, 2);
    g_assert_cmphex(tr.rec[v].u.violation.addr, ==, bufs);
    g_assert_cmpuint(tr.rec[v].u.violation.ring, ==, TN_RING_ID_RX);
    seen = trace_find(&tr, 0, TN_REC_STATE, TN_ST_QUIESCED_SEEN);
    g_assert_cmpint(seen, >, v);
    g_assert_cmpuint(tr.rec[seen].idx, ==, TN_RING_ID_NONE);
    g_assert_cmpuint(tr.rec[seen].u.state.value, ==, 1);
    g_assert_cmphex(tr.rec[seen].u.state.status & TN_STATUS_QUIESCED, ==,
                    TN_STATUS_QUIESCED);
    free2 = trace_find(&tr, seen, TN_REC_FREE, -1);
    g_assert_cmpint(free2, >, seen);
    g_assert_cmpuint(tr.rec[free2].id, ==, 3);
    g_assert_cmpuint(trace_count(&tr, TN_REC_VIOLATION, -1), ==, 1);
    /* Seen once is enough: a second STATUS read records nothing new. */
    rd(t, TN_REG_STATUS);
    trace_free(&tr);
    trace_snapshot(t, &tr);
    g_assert_cmpuint(trace_count(&tr, TN_REC_STATE, TN_ST_QUIESCED_SEEN), ==, 1);
    trace_free(&tr);
    tracenic_stop(t);
}

/*
 * The bug tracenic exists for: the driver disables RX and frees the buffer
 * at once; the frame already in flight lands in the freed buffer.
 */
static void test_rx_dma_after_free(void)
{
    TN *t = tracenic_start("check=on,rx-dma-delay-ns=50000,quiesce-delay-ns=20000,"
                           "prefetch=0");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 2048);
    uint8_t frame[300], got[300];
    Trace tr;
    ssize_t fr, dma, v;

    alloc_shared(t, 1, ring, 8 * 16);
    alloc_shared(t, 2, buf, 2048);
    ring_setup(t, TN_RX_RING, ring, 8);
    put_desc(t, ring, 0, buf, 2048, 0);
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_TAIL), 1);
    fill_frame(frame, sizeof(frame), 5);
    sock_send_frame(t, frame, sizeof(frame));
    /* Wait until the device accepted the frame (its transfer is delayed). */
    for (v = 0; v < 5000; v++) {
        trace_snapshot(t, &tr);
        fr = trace_find(&tr, 0, TN_REC_REF_TAKE, TN_REF_INFLIGHT);
        trace_free(&tr);
        if (fr >= 0) {
            break;
        }
        g_usleep(1000);
    }
    g_assert_cmpint(v, <, 5000);
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_CTRL), 0);
    free_shared(t, 2, buf, 2048);
    qtest_clock_step(t->qts, 49999);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, 0);
    g_assert_cmpuint(rd(t, TN_REG_RX_PACKETS), ==, 0);
    qtest_clock_step(t->qts, 1);
    /* The late transfer happened, after the free, and only then QUIESCED. */
    g_assert_cmpuint(rd(t, TN_REG_RX_PACKETS), ==, 1);
    qtest_memread(t->qts, buf, got, sizeof(got));
    g_assert(memcmp(got, frame, sizeof(frame)) == 0);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, TN_STATUS_QUIESCED);

    trace_snapshot(t, &tr);
    fr = trace_find(&tr, 0, TN_REC_FREE, -1);
    g_assert_cmpint(fr, >, trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_DISABLE));
    v = trace_find(&tr, fr, TN_REC_VIOLATION, TN_RULE_FREE_NOT_QUIESCED);
    g_assert_cmpint(v, ==, fr + 1);
    dma = trace_find(&tr, fr, TN_REC_DMA_WRITE, TN_CAUSE_RX_BUF_WRITE);
    g_assert_cmpint(dma, >, fr);
    g_assert_cmphex(tr.rec[dma].u.dma.addr, ==, buf);
    g_assert_cmpuint(tr.rec[dma].u.dma.len, ==, sizeof(frame));
    g_assert_cmpuint(tr.rec[dma].u.dma.ring, ==, TN_RING_ID_RX);
    g_assert_cmpuint(tr.rec[dma].time_ns - tr.rec[fr].time_ns, ==, 50000);
    v = trace_find(&tr, dma, TN_REC_VIOLATION, TN_RULE_DMA_AFTER_FREE);
    g_assert_cmpint(v, ==, dma + 1);
    g_assert_cmpuint(tr.rec[v].id, ==, 2);
    g_assert_cmpuint(tr.rec[v].u.violation.cause, ==, TN_CAUSE_RX_BUF_WRITE);
    g_assert_cmpuint(tr.rec[v].u.violation.ring, ==, TN_RING_ID_RX);
    g_assert_cmpint(trace_find(&tr, v, TN_REC_STATE, TN_ST_QUIESCED), >, v);
    trace_free(&tr);
    tracenic_stop(t);
}

/* CTRL.RST: in-flight DMA completes, then everything resets after the delay. */
static void test_reset_timing(void)
{
    TN *t = tracenic_start("tx-dma-delay-ns=30000,reset-delay-ns=50000");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 256);
    uint8_t got[256];
    Trace tr;
    ssize_t rb, rd_buf, rdone, seen;

    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, 64, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    wr(t, TN_REG_CTRL, TN_CTRL_RST);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & (TN_STATUS_RESETTING | TN_STATUS_QUIESCED |
                                            TN_STATUS_TX_ACTIVE), ==,
                    TN_STATUS_RESETTING | TN_STATUS_TX_ACTIVE);
    qtest_clock_step(t->qts, 30000);
    g_assert_cmpuint(sock_recv_frame(t, got, sizeof(got)), ==, 64);
    qtest_clock_step(t->qts, 19999);
    g_assert_cmphex(rd(t, TN_REG_CTRL), ==, TN_CTRL_RST);
    qtest_clock_step(t->qts, 1);
    g_assert_cmphex(rd(t, TN_REG_CTRL), ==, 0);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_SIZE)), ==, 0);
    g_assert_cmphex(rd(t, TN_RING_REG(TN_TX_RING, TN_RING_STATUS)), ==, 0);
    g_assert_cmpuint(rd(t, TN_REG_TX_PACKETS), ==, 0);   /* counters reset too */
    g_assert_cmphex(rd(t, TN_REG_STATUS), ==, TN_STATUS_QUIESCED | TN_STATUS_LINK_UP);

    trace_snapshot(t, &tr);
    /* (QEMU's own reset at machine start left a RESET_BEGIN/DONE pair too.) */
    rb = trace_find(&tr, trace_find(&tr, 0, TN_REC_STATE, TN_ST_RING_ENABLE),
                    TN_REC_STATE, TN_ST_RESET_BEGIN);
    rd_buf = trace_find(&tr, rb, TN_REC_DMA_READ, TN_CAUSE_TX_BUF_READ);
    rdone = trace_find(&tr, rb, TN_REC_STATE, TN_ST_RESET_DONE);
    g_assert_cmpint(rb, >=, 0);
    g_assert_cmpint(rd_buf, >, rb);
    g_assert_cmpint(rdone, >, rd_buf);
    g_assert_cmpuint(tr.rec[rd_buf].time_ns - tr.rec[rb].time_ns, ==, 30000);
    g_assert_cmpuint(tr.rec[rdone].time_ns - tr.rec[rb].time_ns, ==, 50000);
    g_assert_cmphex(tr.rec[rb].u.state.status & TN_STATUS_RESETTING, ==,
                    TN_STATUS_RESETTING);
    /* The CTRL read that saw RST clear is the driver observing the reset. */
    seen = trace_find(&tr, rdone, TN_REC_STATE, TN_ST_QUIESCED_SEEN);
    g_assert_cmpint(seen, >, rdone);
    g_assert_cmpuint(tr.rec[seen].u.state.value, ==, 3);
    trace_free(&tr);

    /* A drain longer than the reset delay holds the reset until it ends. */
    qtest_qmp_assert_success(t->qts, "{'execute': 'qom-set', 'arguments': "
                             "{'path': '/machine/peripheral-anon/device[0]', "
                             "'property': 'quiesce-delay-ns', 'value': 100000}}");
    ring_setup(t, TN_TX_RING, ring, 8);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_CTRL), 0);
    wr(t, TN_REG_CTRL, TN_CTRL_RST);
    qtest_clock_step(t->qts, 99999);
    g_assert_cmphex(rd(t, TN_REG_CTRL), ==, TN_CTRL_RST);
    qtest_clock_step(t->qts, 1);
    g_assert_cmphex(rd(t, TN_REG_CTRL), ==, 0);
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, TN_STATUS_QUIESCED);
    tracenic_stop(t);
}

/* Without MSI-X every cause is signalled on INTx (pin A). */
static void test_intx(void)
{
    TN *t = tracenic_start("msix=off");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 256);
    QPCIDevice *isa = qpci_device_find(t->bus, QPCI_DEVFN(1, 0));
    uint8_t got[256];
    Trace tr;
    ssize_t i;

    g_assert_cmpuint(qpci_find_capability(t->dev, PCI_CAP_ID_MSIX, 0), ==, 0);
    g_assert_cmpuint(qpci_config_readb(t->dev, PCI_INTERRUPT_PIN), ==, 1);
    /* PIIX3: route PIRQA-D (0x60-0x63) to IRQ 11, as firmware would. */
    g_assert(isa);
    qpci_config_writel(isa, 0x60, 0x0b0b0b0b);
    qtest_irq_intercept_in(t->qts, "ioapic");
    wr(t, TN_REG_IMS, TN_INT_TX);
    ring_setup(t, TN_TX_RING, ring, 8);
    g_assert(!qtest_get_irq(t->qts, 11));
    put_desc(t, ring, 0, buf, 64, TN_DESC_EOP | TN_DESC_IRQ);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);
    sock_recv_frame(t, got, sizeof(got));
    g_assert(qtest_get_irq(t->qts, 11));
    wr(t, TN_REG_ICR, TN_INT_TX);
    g_assert(!qtest_get_irq(t->qts, 11));

    trace_snapshot(t, &tr);
    i = trace_find(&tr, 0, TN_REC_IRQ, -1);
    g_assert_cmpint(i, >, trace_find(&tr, 0, TN_REC_DMA_WRITE, TN_CAUSE_TX_WRITEBACK));
    g_assert_cmpuint(tr.rec[i].u.irq.vector, ==, 0xffff);
    g_assert_cmphex(tr.rec[i].u.irq.cause, ==, TN_INT_TX);
    trace_free(&tr);
    g_free(isa);
    tracenic_stop(t);
}

/* The netdev's link state is STATUS.LINK_UP, with an interrupt and a record. */
static void test_link(void)
{
    TN *t = tracenic_start(NULL);
    Trace tr;
    ssize_t i;

    wr(t, TN_REG_IMS, TN_INT_LINK);
    qtest_qmp_assert_success(t->qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'n0', 'up': false}}");
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_LINK_UP, ==, 0);
    g_assert_cmphex(rd(t, TN_REG_ICR) & TN_INT_LINK, ==, TN_INT_LINK);
    qtest_qmp_assert_success(t->qts, "{'execute': 'set_link', 'arguments': "
                             "{'name': 'n0', 'up': true}}");
    g_assert_cmphex(rd(t, TN_REG_STATUS) & TN_STATUS_LINK_UP, ==, TN_STATUS_LINK_UP);

    trace_snapshot(t, &tr);
    i = trace_find(&tr, 0, TN_REC_STATE, TN_ST_LINK);
    g_assert_cmpint(i, >=, 0);
    g_assert_cmpuint(tr.rec[i].u.state.value, ==, 0);
    g_assert_cmphex(tr.rec[i].u.state.status & TN_STATUS_LINK_UP, ==, 0);
    i = trace_find(&tr, i + 1, TN_REC_STATE, TN_ST_LINK);
    g_assert_cmpint(i, >=, 0);
    g_assert_cmpuint(tr.rec[i].u.state.value, ==, 1);
    trace_free(&tr);
    tracenic_stop(t);
}

static void test_trace_cap(void)
{
    TN *t = tracenic_start("trace-max-bytes=656");   /* header + 11 records */
    Trace tr;
    int i;

    for (i = 0; i < 50; i++) {
        ledger(t, TN_LG_CMD_MARK, 0, i, 0, 0, 0, TN_LG_INFO_PACK(TN_MARK_STEP, 0, 0));
    }
    qtest_quit(t->qts);
    t->qts = NULL;
    trace_load(&tr, t->trace);
    g_assert_cmpuint(tr.len, <=, 656);
    g_assert_cmpuint(tr.rec[tr.n - 2].type, ==, TN_REC_TRUNCATED);
    g_assert_cmpuint(tr.rec[tr.n - 2].u.truncated.cap_bytes, ==, 656);
    g_assert_cmpuint(tr.rec[tr.n - 1].type, ==, TN_REC_END);
    g_assert_cmpuint(tr.rec[tr.n - 1].u.end.records, ==, tr.n - 1);
    g_assert_cmpuint(tr.rec[tr.n - 1].u.end.dropped, >, 40);
    trace_free(&tr);
    tracenic_stop(t);
}

/* TRACENIC_FULL_FS: a small tmpfs prepared by run-qtests.sh. */
static void test_trace_disk_full(void)
{
    const char *fs = g_getenv("TRACENIC_FULL_FS");
    g_autofree char *path = NULL, *filler = NULL, *cmd = NULL;
    QTestState *qts;
    QPCIBus *bus;
    QGuestAllocator alloc;
    QPCIDevice *dev;
    QPCIBar bar;
    Trace tr;
    int i;

    if (!fs) {
        g_test_message("TRACENIC_FULL_FS is not set: run this test through "
                       "qemu-device/run-qtests.sh, which mounts a small tmpfs");
        g_test_fail();
        return;
    }
    path = g_strdup_printf("%s/trace.bin", fs);
    filler = g_strdup_printf("%s/filler", fs);
    /* Leave 100 KiB free: the header fits, 3000 records (144 KiB) do not. */
    cmd = g_strdup_printf("rm -f %s %s; dd if=/dev/zero of=%s bs=4k count=1025 "
                          "2>/dev/null; df -k %s >/dev/null", path, filler,
                          filler, fs);
    g_assert_cmpint(system(cmd), ==, 0);
    qts = qtest_initf("-M pc -nodefaults -device tracenic,addr=04.0,trace=%s",
                      path);
    pc_alloc_init(&alloc, qts, 0);
    bus = qpci_new_pc(qts, &alloc);
    dev = qpci_device_find(bus, TRACENIC_DEVFN);
    qpci_device_enable(dev);
    bar = qpci_iomap(dev, TN_BAR_REGS, NULL);
    for (i = 0; i < 3000; i++) {
        qpci_io_writel(dev, bar, TN_LG_INFO, TN_LG_INFO_PACK(TN_MARK_STEP, 0, 0));
        qpci_io_writel(dev, bar, TN_LG_CMD, TN_LG_CMD_MARK);
    }
    qtest_qmp_assert_success(qts, "{'execute': 'stop'}");  /* flush: fails */
    g_free(dev);
    qpci_free_pc(bus);
    alloc_destroy(&alloc);
    qtest_quit(qts);

    trace_load(&tr, path);
    g_assert_cmpuint(tr.n, >=, 2);
    g_assert_cmpuint(tr.rec[tr.n - 2].type, ==, TN_REC_WRITE_ERROR);
    g_assert_cmpint(tr.rec[tr.n - 2].u.write_error.error, ==, ENOSPC);
    g_assert_cmpuint(tr.rec[tr.n - 1].type, ==, TN_REC_END);
    g_assert_cmpuint(tr.rec[tr.n - 1].kind, ==, TN_END_WRITE_ERROR);
    g_assert_cmpuint(tr.rec[tr.n - 1].u.end.dropped, >=, 3000);
    trace_free(&tr);
    unlink(path);
    unlink(filler);
}

static void test_migration(void)
{
    TN *t = tracenic_start("prefetch=2");
    uint64_t ring = guest_alloc(&t->alloc, 16 * 16);
    uint64_t bufs = guest_alloc(&t->alloc, 4 * 512);
    g_autofree char *state = g_strdup_printf("%s/state", t->dir);
    g_autofree char *trace2 = g_strdup_printf("%s/trace2.bin", t->dir);
    g_autofree char *uri = NULL;
    QTestState *dst;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;
    QDict *rsp;
    int s, sock2[2];

    ring_setup(t, TN_RX_RING, ring, 16);
    for (s = 0; s < 4; s++) {
        put_desc(t, ring, s, bufs + s * 512, 512, 0);
    }
    wr(t, TN_RING_REG(TN_RX_RING, TN_RING_TAIL), 4);
    wr(t, TN_REG_IMS, TN_INT_RX | TN_INT_LINK);
    /* A TX drain is under way: its timer must carry over. */
    ring_setup(t, TN_TX_RING, ring + 8 * 16, 8);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_CTRL), 0);
    qtest_clock_step(t->qts, 5000);
    uri = g_strdup_printf("exec:cat > %s", state);
    qtest_qmp_assert_success(t->qts, "{'execute': 'migrate', 'arguments': "
                             "{'uri': %s}}", uri);
    for (s = 0; s < 1000; s++) {
        const char *st;

        rsp = qtest_qmp(t->qts, "{'execute': 'query-migrate'}");
        st = qdict_get_try_str(qdict_get_qdict(rsp, "return"), "status");
        if (st && !strcmp(st, "completed")) {
            qobject_unref(rsp);
            break;
        }
        g_assert(!st || strcmp(st, "failed"));
        qobject_unref(rsp);
        g_usleep(10000);
    }
    g_assert_cmpint(s, <, 1000);

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sock2), ==, 0);
    dst = qtest_initf("-M pc -nodefaults -netdev socket,fd=%d,id=n0 "
                      "-device tracenic,netdev=n0,addr=04.0,mac=" TRACENIC_MAC
                      ",prefetch=2,trace=%s -incoming 'exec:cat %s'",
                      sock2[1], trace2, state);
    for (s = 0; s < 1000; s++) {
        bool running;

        rsp = qtest_qmp(dst, "{'execute': 'query-status'}");
        running = qdict_get_bool(qdict_get_qdict(rsp, "return"), "running");
        qobject_unref(rsp);
        if (running) {
            break;
        }
        g_usleep(10000);
    }
    g_assert_cmpint(s, <, 1000);
    bus = qpci_new_pc(dst, NULL);
    dev = qpci_device_find(bus, TRACENIC_DEVFN);
    bar = t->bar;   /* the migrated config space maps BAR0 at the same address */
    g_assert_cmphex(qpci_io_readl(dev, bar, TN_REG_IMS), ==, TN_INT_RX | TN_INT_LINK);
    g_assert_cmphex(qpci_io_readl(dev, bar, TN_RING_REG(TN_RX_RING, TN_RING_BASE_LO)),
                    ==, (uint32_t)ring);
    g_assert_cmpuint(qpci_io_readl(dev, bar, TN_RING_REG(TN_RX_RING, TN_RING_TAIL)),
                     ==, 4);
    g_assert_cmphex(qpci_io_readl(dev, bar, TN_RING_REG(TN_RX_RING, TN_RING_STATUS)),
                    ==, TN_RING_STATUS_ACTIVE);
    g_assert_cmphex(qpci_io_readl(dev, bar, TN_REG_STATUS) & TN_STATUS_QUIESCED, ==, 0);
    g_assert_cmphex(qpci_io_readl(dev, bar, TN_RING_REG(TN_TX_RING, TN_RING_STATUS)),
                    ==, TN_RING_STATUS_ACTIVE);
    /*
     * The drain ends at virtual time 20000.  qtest's virtual clock is not
     * migrated (the destination's starts at 0), so the deadline is reached
     * 20000 ns into the destination's run.
     */
                 qtest_clock_step(dst, 19999);
    g_assert_cmphex(qpci_io_readl(dev, bar, TN_RING_REG(TN_TX_RING, TN_RING_STATUS)),
                    ==, TN_RING_STATUS_ACTIVE);
    qtest_clock_step(dst, 1);
    g_assert_cmphex(qpci_io_readl(dev, bar, TN_RING_REG(TN_TX_RING, TN_RING_STATUS)),
                    ==, 0);
    g_free(dev);
    qpci_free_pc(bus);
    qtest_quit(dst);
    close(sock2[0]);
    close(sock2[1]);
    unlink(state);
    unlink(trace2);
    tracenic_stop(t);
}

/* A random value that is often one a register cares about. */
static uint32_t fuzz_value(uint64_t area)
{
    switch (g_test_rand_int_range(0, 8)) {
    case 0:
        return 0;
    case 1:
        return 1u << g_test_rand_int_range(0, 32);
    case 2:
        return 8u << g_test_rand_int_range(0, 11);          /* ring sizes */
    case 3:
        return area + g_test_rand_int_range(0, 4096) * 16;  /* in the area */
    case 4:
        return g_test_rand_int_range(0, 64);
    default:
        return g_test_rand_int();
    }
}

static uint64_t fuzz_addr(TN *t, uint64_t area)
{
    switch (g_test_rand_int_range(0, 6)) {
    case 0:
        return t->bar.addr + g_test_rand_int_range(0, TN_REGS_SIZE);
    case 1:
        return 0xfff000000000ull + g_test_rand_int();        /* unmapped */
    case 2:
        return ((uint64_t)g_test_rand_int() << 32) | g_test_rand_int();
    default:
        return area + g_test_rand_int_range(0, 65536);
    }
}

/*
 * Hot-unplug tears the device down while the VM runs: the kit closes the
 * trace (END, counts matching) and frees itself, the NIC core frees its
 * timers with a drain and a delayed transfer pending, and QEMU goes on.
 */
static void test_unplug(void)
{
    TN *t = tracenic_start("id=nic0,check=on,tx-dma-delay-ns=1000000000,"
                           "quiesce-delay-ns=1000000000");
    uint64_t ring = guest_alloc(&t->alloc, 8 * 16);
    uint64_t buf = guest_alloc(&t->alloc, 2048);
    Trace tr;

    ledger(t, TN_LG_CMD_ALLOC, 3, 0xffff888000200000ull, 0, 8 * 16,
           TN_NDIS_MEMORY_CONTIGUOUS, TN_LG_INFO_PACK(TN_API_MEMORY, 0, 1));
    ledger(t, TN_LG_CMD_EXTENT, 3, 0, ring, 8 * 16, 0,
           TN_LG_INFO_PACK(TN_EXT_BUS, 0, 0));
    ring_setup(t, TN_TX_RING, ring, 8);
    put_desc(t, ring, 0, buf, 60, TN_DESC_EOP);
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_TAIL), 1);   /* a transfer in flight */
    wr(t, TN_RING_REG(TN_TX_RING, TN_RING_CTRL), 0);   /* and a drain running */

    qpci_unplug_acpi_device_test(t->qts, "nic0", TRACENIC_DEVFN >> 3);
    trace_load(&tr, t->trace);
    g_assert_cmpuint(tr.rec[tr.n - 1].type, ==, TN_REC_END);
    g_assert_cmpuint(tr.rec[tr.n - 1].u.end.records, ==, tr.n - 1);
    g_assert_cmpuint(tr.rec[tr.n - 1].u.end.dropped, ==, 0);
    g_assert_cmpint(trace_find(&tr, 0, TN_REC_ALLOC, TN_API_MEMORY), >=, 0);
    trace_free(&tr);

    /* The timers went with the device: time passing fires none of them. */
    qtest_clock_step(t->qts, 3000000000ll);  /* 3 s */
    qtest_qmp_assert_success(t->qts, "{'execute': 'query-status'}");
    g_free(t->dev);
    t->dev = NULL;
    tracenic_stop(t);
}


/*
 * Random register writes, descriptors, frames, bus-master flips and clock
 * steps.  QEMU must survive, and the trace must stay consistent: valid
 * record types, non-decreasing time, every reference dropped at most once
 * and only after it was taken, every DMA under a reference that is held.
 * Reproduce a failure with the seed printed at the top (--seed).
 */
static void test_fuzz(void)
{
    TN *t = tracenic_start("check=on,prefetch=8,rx-dma-delay-ns=3000,"
                           "tx-dma-delay-ns=2000,late-writeback=on,"
                           "quiesce-delay-ns=5000,reset-delay-ns=7000");
    uint64_t area = guest_alloc(&t->alloc, 65536 + 4096);
    static const uint32_t regs[] = {
        TN_REG_ICR, TN_REG_IMS, TN_REG_IMC, TN_REG_ITR_US, TN_REG_IAM,
        TN_REG_MAC_LO, TN_REG_MAC_HI, TN_LG_VA, TN_LG_VA + 4, TN_LG_BUS,
        TN_LG_BUS + 4, TN_LG_ID, TN_LG_LENGTH, TN_LG_FLAGS, TN_LG_INFO,
        TN_LG_CMD, TN_LG_CMD,
    };
    static const uint32_t ring_regs[] = {
        TN_RING_BASE_LO, TN_RING_BASE_HI, TN_RING_SIZE, TN_RING_TAIL,
        TN_RING_TAIL, TN_RING_TAIL, TN_RING_CTRL, TN_RING_CTRL,
    };
    GHashTable *held = g_hash_table_new(NULL, NULL);
    uint8_t frame[TN_MAX_FRAME + 64], sink[65536];
    Trace tr;
    size_t i;
    int op;

    area = (area + 4095) & ~4095ull;
    alloc_shared(t, 1, area, 32768);
    for (i = 0; i < 65536; i += 16) {
        struct tn_desc d = {
            .addr = cpu_to_le64(fuzz_addr(t, area)),
            .len = cpu_to_le16(g_test_rand_int_range(0, 3) ?
                               g_test_rand_int_range(0, 2048) : g_test_rand_int()),
            .flags = cpu_to_le16(g_test_rand_int()),
        };
        qtest_memwrite(t->qts, area + i, &d, sizeof(d));
    }
    fill_frame(frame, sizeof(frame), 11);
    for (op = 0; op < 6000; op++) {
        uint32_t ring = g_test_rand_bit() ? TN_TX_RING : TN_RX_RING;
        uint32_t n, k;
        int outq = 0;

        switch (g_test_rand_int_range(0, 17)) {
        case 0 ... 2:
            k = ring_regs[g_test_rand_int_range(0, 8)];
            wr(t, TN_RING_REG(ring, k), k == TN_RING_TAIL && g_test_rand_bit() ?
               g_test_rand_int_range(0, 16) : fuzz_value(area));
            break;
        case 3 ... 4:   /* a valid ring with valid descriptors posted */
            wr(t, TN_RING_REG(ring, TN_RING_CTRL), 0);
            qtest_clock_step(t->qts, 20000);
            n = 8u << g_test_rand_int_range(0, 3);
            wr(t, TN_RING_REG(ring, TN_RING_BASE_LO),
               area + g_test_rand_int_range(0, 64) * 256);
            wr(t, TN_RING_REG(ring, TN_RING_BASE_HI), 0);
            wr(t, TN_RING_REG(ring, TN_RING_SIZE), n);
            wr(t, TN_RING_REG(ring, TN_RING_CTRL), TN_RING_CTRL_ENABLE);
            for (k = 0; k < n - 1; k++) {
                put_desc(t, rd(t, TN_RING_REG(ring, TN_RING_BASE_LO)), k,
                         area + 32768 + g_test_rand_int_range(0, 28) * 1024,
                         g_test_rand_int_range(1, 1025),
                         g_test_rand_int_range(0, 4) ? TN_DESC_EOP : 0);
            }
            wr(t, TN_RING_REG(ring, TN_RING_TAIL), g_test_rand_int_range(1, n));
            break;
        case 5:
            wr(t, regs[g_test_rand_int_range(0, ARRAY_SIZE(regs))],
               fuzz_value(area));
            break;
        case 6:
            qpci_io_writeq(t->dev, t->bar, g_test_rand_int_range(1, 1024) * 4,
                           ((uint64_t)fuzz_value(area) << 32) | fuzz_value(area));
            break;
        case 7:
            rd(t, g_test_rand_int_range(0, 1024) * 4);
            break;
        case 8 ... 9: {
            struct tn_desc d = {
                .addr = cpu_to_le64(fuzz_addr(t, area)),
                .len = cpu_to_le16(g_test_rand_int_range(0, 4096)),
                .flags = cpu_to_le16(TN_DESC_OWN |
                                     (g_test_rand_bit() ? TN_DESC_EOP : 0)),
            };
            qtest_memwrite(t->qts, area + g_test_rand_int_range(0, 4096) * 16,
                           &d, sizeof(d));
            break;
        }
        case 10 ... 11:
            g_assert_cmpint(ioctl(t->sock[0], SIOCOUTQ, &outq), ==, 0);
            if (outq < 64 * 1024) {     /* never block on a full socket */
                sock_send_frame(t, frame, g_test_rand_int_range(1, TN_MAX_FRAME + 40));
            }
            break;
        case 12:
            qtest_clock_step(t->qts, g_test_rand_int_range(0, 20000));
            break;
        case 13:
            k = g_test_rand_int_range(0, 16);
            if (k == 0) {
                uint16_t cmd = qpci_config_readw(t->dev, PCI_COMMAND);

                qpci_config_writew(t->dev, PCI_COMMAND, cmd ^ PCI_COMMAND_MASTER);
            } else if (k == 1) {
                wr(t, TN_REG_CTRL, g_test_rand_int());
            }
            break;
        case 14: {      /* throw away what the device sent */
            ssize_t len;

            do {
                len = recv(t->sock[0], sink, sizeof(sink), MSG_DONTWAIT);
            } while (len > 0);
            break;
        }
        case 15:        /* well-formed ledger traffic over the buffers */
            k = g_test_rand_int_range(2, 40);
            if (g_test_rand_bit()) {
                uint32_t m, next = g_test_rand_int_range(1, 4);
                bool map = g_test_rand_bit();

                ledger(t, map ? TN_LG_CMD_MAP : TN_LG_CMD_ALLOC, k, area, 0,
                       4096, 0, TN_LG_INFO_PACK(map ? TN_DIR_FROM_DEVICE
                                                : TN_API_SHARED, 0, next));
                for (m = 0; m < next; m++) {
                    ledger(t, TN_LG_CMD_EXTENT, k, 0,
                           area + g_test_rand_int_range(0, 65536),
                           g_test_rand_int_range(1, 8192), 0,
                           TN_LG_INFO_PACK(g_test_rand_int_range(0, 8) ?
                                           TN_EXT_BUS : TN_EXT_PHYS, 0, m));
                }
            } else {
                ledger(t, g_test_rand_bit() ? TN_LG_CMD_FREE : TN_LG_CMD_UNMAP, k,
                       area, 0, 4096, 0,
                       TN_LG_INFO_PACK(TN_FREE_API_FREE_SHARED, 0, 0));
            }
            break;
        default:
            if (g_test_rand_int_range(0, 16) == 0) {
                qtest_qmp_assert_success(t->qts, "{'execute': 'qom-set', "
                    "'arguments': {'path': '/machine/peripheral-anon/device[0]', "
                    "'property': 'prefetch', 'value': %d}}",
                                         g_test_rand_int_range(0, 33));
            }
            break;
        }
    }
    g_assert(qtest_probe_child(t->qts));
    g_assert_cmphex(rd(t, TN_REG_ID), ==, TN_ID_VALUE);

    qtest_quit(t->qts);
    t->qts = NULL;
    trace_load(&tr, t->trace);
    g_assert(!memcmp(tr.hdr->magic, TN_TRACE_MAGIC, TN_TRACE_MAGIC_LEN));
    g_assert_cmpuint(tr.n, >, 1000);
    trace_check_consistent(&tr, held);
    g_test_message("fuzz: %zu trace records (DMA %zu read, %zu written, %zu "
                   "failed; %zu violations), %u references held at exit",
                   tr.n, trace_count(&tr, TN_REC_DMA_READ, -1),
                   trace_count(&tr, TN_REC_DMA_WRITE, -1),
                   trace_count(&tr, TN_REC_DMA_FAILED, -1),
                   trace_count(&tr, TN_REC_VIOLATION, -1),
                   g_hash_table_size(held));
    trace_free(&tr);
    g_hash_table_destroy(held);
    tracenic_stop(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/tracenic/reset-values", test_reset_values);
    qtest_add_func("/tracenic/ring-programming", test_ring_programming);
    qtest_add_func("/tracenic/tx", test_tx);
    qtest_add_func("/tracenic/rx", test_rx);
    qtest_add_func("/tracenic/quiesce-timing", test_quiesce_timing);
    qtest_add_func("/tracenic/late-writeback", test_late_writeback);
    qtest_add_func("/tracenic/ledger", test_ledger);
    qtest_add_func("/tracenic/ledger-device", test_ledger_device);
    qtest_add_func("/tracenic/two-devices-one-trace",
                   test_two_devices_one_trace);
    qtest_add_func("/tracenic/ledger-map-one", test_ledger_map_one);
    qtest_add_func("/tracenic/iam", test_iam);
    qtest_add_func("/tracenic/violations-log", test_violations_log);
    qtest_add_func("/tracenic/violation-stop", test_violation_stop);
    qtest_add_func("/tracenic/no-ledger-unjudged", test_no_ledger_unjudged);
    qtest_add_func("/tracenic/check-coverage", test_check_coverage);
    qtest_add_func("/tracenic/top-of-address-space", test_top_of_address_space);
    qtest_add_func("/tracenic/bus-master-off", test_bus_master_off);
    qtest_add_func("/tracenic/hostile", test_hostile);
    qtest_add_func("/tracenic/msix", test_msix);
    qtest_add_func("/tracenic/itr-and-header", test_itr_and_header);
    qtest_add_func("/tracenic/qom-set", test_qom_set);
    qtest_add_func("/tracenic/drain-observed", test_drain_observed);
    qtest_add_func("/tracenic/rx-dma-after-free", test_rx_dma_after_free);
    qtest_add_func("/tracenic/reset-timing", test_reset_timing);
    qtest_add_func("/tracenic/intx", test_intx);
    qtest_add_func("/tracenic/link", test_link);
    qtest_add_func("/tracenic/trace-cap", test_trace_cap);
    qtest_add_func("/tracenic/trace-disk-full", test_trace_disk_full);
    qtest_add_func("/tracenic/migration", test_migration);
    qtest_add_func("/tracenic/unplug", test_unplug);
    qtest_add_func("/tracenic/fuzz", test_fuzz);
    return g_test_run();
}
