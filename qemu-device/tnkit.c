/*
 * tracenic kit: one device's trace (open, time stamps, flush, close),
 * references, STATE records and bus mastering; feeds every record to the
 * online check and turns its violations into records, logs, the device's
 * TNKIT_EV_VIOLATION and on-violation=stop.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "sysemu/sysemu.h"
#include "qemu-version.h"
#include "tnkit-int.h"
#include "tracenic/rules.h"
#include "trace.h"

const char *const tnkit_prop_help[TNKIT_N_PROPS][2] = {
    { "trace", "file to write the binary trace to (docs/trace-format.md)" },
    { "trace-max-bytes", "size cap of the trace file, 0 = none; later "
                         "records are dropped and counted" },
    { "check", "online checks: dma-after-free, free-not-quiesced, "
               "dma-non-dma-memory and wild-dma as they happen" },
    { "on-violation", "log (default) or stop: pause the VM at a violation "
                      "(needs check=on)" },
};

/* --- Records -------------------------------------------------------------- */

void tnkit_callback_begin(TNKit *k)
{
    if (!k->callback_depth++) {
        k->callback_time_ns = -1;
    }
}

void tnkit_callback_end(TNKit *k)
{
    k->callback_depth--;
}

/* Every record goes to the trace (if any), then to the online check. */
void tnkit_emit(TNKit *k, struct tn_rec *rec)
{
    int64_t now;

    if (k->trace) {
        if (!k->callback_depth) {
            now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        } else {
            if (k->callback_time_ns < 0) {
                k->callback_time_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
            }
            now = k->callback_time_ns;
        }
        rec->time_ns = cpu_to_le64(now);
        tnkit_trace_put(k->trace, rec);
    }
    if (k->checker) {
        tnkit_check_record(k->checker, rec);
    }
}

void tnkit_record_state(TNKit *k, uint8_t kind, uint8_t ring, uint64_t value,
                        uint64_t value2)
{
    struct tn_rec rec = {
        .type = TN_REC_STATE,
        .kind = kind,
        .idx = cpu_to_le16(ring),
        .u.state.value = cpu_to_le64(value),
        .u.state.value2 = cpu_to_le64(value2),
        .u.state.status = cpu_to_le32(k->ops->status(k->opaque)),
    };

    tnkit_emit(k, &rec);
}

/* --- References ----------------------------------------------------------- */

uint32_t tnkit_ref_take(TNKit *k, uint8_t kind, uint8_t ring, uint32_t slot,
                        uint64_t addr, uint32_t len)
{
    uint32_t id = ++k->next_ref_id ? k->next_ref_id : ++k->next_ref_id;
    struct tn_rec rec = {
        .type = TN_REC_REF_TAKE,
        .kind = kind,
        .idx = cpu_to_le16(slot),
        .id = cpu_to_le32(id),
        .u.ref.addr = cpu_to_le64(addr),
        .u.ref.len = cpu_to_le32(len),
        .u.ref.ring = ring,
    };

    tnkit_emit(k, &rec);
    return id;
}

static void tnkit_ref_drop_rec(TNKit *k, uint32_t *ref_id, uint8_t kind,
                               uint8_t ring, uint32_t slot, uint64_t addr,
                               uint32_t len, bool drained)
{
    struct tn_rec rec = {
        .type = TN_REC_REF_DROP,
        .kind = kind,
        .idx = cpu_to_le16(slot),
        .id = cpu_to_le32(*ref_id),
        .u.ref.addr = cpu_to_le64(addr),
        .u.ref.len = cpu_to_le32(len),
        .u.ref.ring = ring,
        .u.ref.drained = drained,
    };

    if (!*ref_id) {
        return;
    }
    tnkit_emit(k, &rec);
    *ref_id = 0;
}

void tnkit_ref_drop(TNKit *k, uint32_t *ref_id, uint8_t kind, uint8_t ring,
                    uint32_t slot, uint64_t addr, uint32_t len)
{
    tnkit_ref_drop_rec(k, ref_id, kind, ring, slot, addr, len, false);
}

void tnkit_ref_drop_drained(TNKit *k, uint32_t *ref_id, uint8_t kind,
                            uint8_t ring, uint32_t slot, uint64_t addr,
                            uint32_t len)
{
    tnkit_ref_drop_rec(k, ref_id, kind, ring, slot, addr, len, true);
}

/* --- Bus mastering -------------------------------------------------------- */

static bool tnkit_config_bus_master(const TNKit *k)
{
    return pci_get_word(k->pdev->config + PCI_COMMAND) & PCI_COMMAND_MASTER;
}

bool tnkit_bus_master(const TNKit *k)
{
    return k->bus_master;
}

void tnkit_config_written(TNKit *k)
{
    bool bm = tnkit_config_bus_master(k);

    if (bm != k->bus_master) {
        k->bus_master = bm;
        trace_tnkit_bus_master(bm);
        tnkit_record_state(k, TN_ST_BUS_MASTER, TN_RING_ID_NONE, bm, 0);
    }
}

/* --- The online check ----------------------------------------------------- */

/* The online check found a violation: record it, say it, maybe stop. */
static void tnkit_check_violation(void *opaque, const struct tn_rec *vio)
{
    TNKit *k = opaque;
    struct tn_rec rec = *vio;
    uint64_t addr = le64_to_cpu(rec.u.violation.addr);
    uint32_t id = le32_to_cpu(rec.id), len = le32_to_cpu(rec.u.violation.len);

    tnkit_emit(k, &rec);
    k->violations++;
    trace_tnkit_violation(tn_rule_name(rec.kind), id, addr, len);
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: violation %s: %s: id %u, 0x%"
                  PRIx64 "+%u%s\n", tn_rule_name(rec.kind),
                  tn_rule_info(rec.kind).summary, id, addr, len,
                  k->stop_on_violation ? "; pausing the VM" : "");
    tnkit_event(k, TNKIT_EV_VIOLATION);
    if (k->stop_on_violation) {
        if (k->trace) {
            tnkit_trace_flush(k->trace);
        }
        qemu_system_vmstop_request_prepare();
        qemu_system_vmstop_request(RUN_STATE_PAUSED);
    }
}

static void tnkit_check_warn(void *opaque, const char *msg)
{
    warn_report("%s", msg);
}

/* --- The trace file ------------------------------------------------------- */

static void tnkit_trace_report(void *opaque, const char *msg)
{
    error_report("%s", msg);
}

static void tnkit_trace_close_now(TNKit *k)
{
    if (k->trace) {
        tnkit_trace_close(k->trace, k->dma_bytes, k->violations);
        k->trace = NULL;
    }
}

static void tnkit_exit_notify(Notifier *n, void *data)
{
    tnkit_trace_close_now(container_of(n, TNKit, exit_notifier));
}

static void tnkit_vm_state_change(void *opaque, bool running, RunState state)
{
    TNKit *k = opaque;

    /* A stopped VM is being looked at: make the trace on disk current. */
    if (!running && k->trace) {
        tnkit_trace_flush(k->trace);
    }
}

bool tnkit_open_trace(TNKit *k, const uint8_t *mac, Error **errp)
{
    const uint8_t *cfg = k->pdev->config;
    struct tn_trace_header hdr = {
        .version = cpu_to_le16(TN_TRACE_VERSION),
        .header_size = cpu_to_le16(TN_TRACE_HEADER_SIZE),
        .record_size = cpu_to_le16(TN_TRACE_REC_SIZE),
        .clock = cpu_to_le16(TN_TRACE_CLOCK_VIRTUAL),
        .pci_vendor = cpu_to_le16(pci_get_word(cfg + PCI_VENDOR_ID)),
        .pci_device = cpu_to_le16(pci_get_word(cfg + PCI_DEVICE_ID)),
        .pci_revision = pci_get_byte(cfg + PCI_REVISION_ID),
        .flags = cpu_to_le32((k->conf->check ? TN_TRACE_F_CHECK : 0) |
                             (k->stop_on_violation ? TN_TRACE_F_STOP : 0)),
        .start_ns = cpu_to_le64(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL)),
        .wall_start_ns = cpu_to_le64(g_get_real_time() * SCALE_US),
        .cap_bytes = cpu_to_le64(k->conf->trace_max_bytes),
    };
    const char *id = DEVICE(k->pdev)->id ? DEVICE(k->pdev)->id : "";
    char *err = NULL;

    k->bus_master = tnkit_config_bus_master(k);
    if (!k->conf->trace) {
        return true;
    }
    memcpy(hdr.magic, TN_TRACE_MAGIC, TN_TRACE_MAGIC_LEN);
    if (mac) {
        memcpy(hdr.mac, mac, sizeof(hdr.mac));
    }
    strncpy(hdr.device_id, id, sizeof(hdr.device_id));
    strncpy(hdr.qemu_version, QEMU_VERSION, sizeof(hdr.qemu_version));
    k->trace = tnkit_trace_open(k->conf->trace, &hdr,
                                k->conf->trace_max_bytes, tnkit_trace_report,
                                k, &err);
    if (!k->trace) {
        error_setg(errp, "tracenic: %s", err ? err : "out of memory");
        free(err);
        return false;
    }
    tnkit_record_state(k, TN_ST_TRACE_OPEN, TN_RING_ID_NONE,
                       k->ops->status(k->opaque), 0);
    tnkit_record_state(k, TN_ST_BUS_MASTER, TN_RING_ID_NONE, k->bus_master, 0);
    return true;
}

/* --- Life cycle ----------------------------------------------------------- */

TNKit *tnkit_new(PCIDevice *pdev, const TNKitConf *conf, const TNKitOps *ops,
                 void *opaque, Error **errp)
{
    bool stop;
    TNKit *k;

    if (!conf->on_violation || !strcmp(conf->on_violation, "log")) {
        stop = false;
    } else if (!strcmp(conf->on_violation, "stop")) {
        stop = true;
    } else {
        error_setg(errp, "tracenic: on-violation=%s is not valid: use 'log' "
                   "or 'stop'", conf->on_violation);
        return NULL;
    }
    if (stop && !conf->check) {
        error_setg(errp, "tracenic: on-violation=stop needs check=on");
        return NULL;
    }
    k = g_new0(TNKit, 1);
    k->pdev = pdev;
    k->conf = conf;
    k->ops = ops;
    k->opaque = opaque;
    k->stop_on_violation = stop;
    if (conf->check) {
        k->checker = tnkit_check_new(tnkit_check_violation, tnkit_check_warn,
                                     k);
    }
    k->vmstate_change = qemu_add_vm_change_state_handler(tnkit_vm_state_change,
                                                         k);
    k->exit_notifier.notify = tnkit_exit_notify;
    qemu_add_exit_notifier(&k->exit_notifier);
    return k;
}

void tnkit_free(TNKit *k)
{
    if (!k) {
        return;
    }
    tnkit_trace_close_now(k);
    qemu_del_vm_change_state_handler(k->vmstate_change);
    qemu_remove_exit_notifier(&k->exit_notifier);
    if (k->checker) {
        tnkit_check_free(k->checker);
    }
    g_free(k);
}

void tnkit_reset(TNKit *k)
{
    k->bus_master = tnkit_config_bus_master(k);
    if (k->trace) {
        tnkit_trace_flush(k->trace);
    }
}

void tnkit_post_load(TNKit *k)
{
    k->bus_master = tnkit_config_bus_master(k);
    /* The online check's region map lives outside the migration stream. */
    if (k->checker) {
        tnkit_check_suspend(k->checker, "the VM was restored from a snapshot "
                            "or migrated");
    }
}

const VMStateDescription vmstate_tnkit = {
    .name = "tnkit",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_UINT32(lg_va_lo, TNKit),
        VMSTATE_UINT32(lg_va_hi, TNKit),
        VMSTATE_UINT32(lg_bus_lo, TNKit),
        VMSTATE_UINT32(lg_bus_hi, TNKit),
        VMSTATE_UINT32(lg_id, TNKit),
        VMSTATE_UINT32(lg_length, TNKit),
        VMSTATE_UINT32(lg_flags, TNKit),
        VMSTATE_UINT32(lg_tag, TNKit),
        VMSTATE_UINT32(lg_site, TNKit),
        VMSTATE_UINT32(lg_info, TNKit),
        VMSTATE_UINT32(lg_accepted, TNKit),
        VMSTATE_UINT32(lg_rejected, TNKit),
        VMSTATE_UINT32(lg_pending_id, TNKit),
        VMSTATE_UINT32(lg_pending_left, TNKit),
        VMSTATE_UINT32(lg_pending_next, TNKit),
        VMSTATE_UINT32(next_ref_id, TNKit),
        VMSTATE_END_OF_LIST()
    }
};
