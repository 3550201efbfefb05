/*
 * tracenic kit: one device's side of tracing: joining a trace (its own or a
 * tracenic-trace object's, tnkit-hub.c), its records (stamped with its device
 * number), references, STATE records and bus mastering.
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
    { "trace-hub", "a tracenic-trace object to write into, shared with other "
                   "devices (instead of trace=)" },
    { "trace-max-bytes", "size cap of the trace file, 0 = none; later "
                         "records are dropped and counted" },
    { "check", "online checks: dma-after-free, free-not-quiesced, "
               "dma-non-dma-memory, wild-dma (and without a ledger "
               "dma-outside-ram) as they happen" },
    { "on-violation", "log (default) or stop: pause the VM at a violation "
                      "(needs check=on)" },
};

/* --- Records -------------------------------------------------------------- */

void tnkit_callback_begin(TNKit *k)
{
    if (k->hub && !k->hub->callback_depth++) {
        k->hub->callback_time_ns = -1;
    }
}

void tnkit_callback_end(TNKit *k)
{
    if (k->hub) {
        k->hub->callback_depth--;
    }
}

/* Stamp @rec as this device's and hand it to the trace and the check. */
void tnkit_emit(TNKit *k, struct tn_rec *rec)
{
    if (!k->hub) {
        return;
    }
    rec->u.raw[TN_REC_DEV_OFFSET - offsetof(struct tn_rec, u)] = k->dev;
    tnkit_hub_emit(k->hub, rec);
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

uint64_t tnkit_ref_take(TNKit *k, uint8_t kind, uint8_t ring, uint32_t slot,
                        uint64_t addr, uint32_t len)
{
    uint64_t id = k->hub ? tnkit_hub_ref_id(k->hub) : 1;
    struct tn_rec rec = {
        .type = TN_REC_REF_TAKE,
        .kind = kind,
        .idx = cpu_to_le16(slot),
        .id = cpu_to_le32((uint32_t)id),
        .u.ref.id_hi = cpu_to_le32(id >> 32),
        .u.ref.addr = cpu_to_le64(addr),
        .u.ref.len = cpu_to_le32(len),
        .u.ref.ring = ring,
    };

    tnkit_emit(k, &rec);
    return id;
}

static void tnkit_ref_drop_rec(TNKit *k, uint64_t *ref_id, uint8_t kind,
                               uint8_t ring, uint32_t slot, uint64_t addr,
                               uint32_t len, bool drained)
{
    struct tn_rec rec = {
        .type = TN_REC_REF_DROP,
        .kind = kind,
        .idx = cpu_to_le16(slot),
        .id = cpu_to_le32((uint32_t)*ref_id),
        .u.ref.id_hi = cpu_to_le32(*ref_id >> 32),
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

void tnkit_ref_drop(TNKit *k, uint64_t *ref_id, uint8_t kind, uint8_t ring,
                    uint32_t slot, uint64_t addr, uint32_t len)
{
    tnkit_ref_drop_rec(k, ref_id, kind, ring, slot, addr, len, false);
}

void tnkit_ref_drop_drained(TNKit *k, uint64_t *ref_id, uint8_t kind,
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

/* --- Life cycle ----------------------------------------------------------- */

TNKit *tnkit_new(PCIDevice *pdev, const TNKitConf *conf, const TNKitOps *ops,
                 void *opaque, Error **errp)
{
    TNKitHub *hub = NULL;
    TNKit *k;

    if (conf->hub && (conf->trace || conf->check || conf->on_violation ||
                      conf->trace_max_bytes)) {
        error_setg(errp, "tracenic: trace-hub=%s and this device's trace, "
                   "trace-max-bytes, check or on-violation exclude each "
                   "other: set them on the tracenic-trace object",
                   object_get_canonical_path_component(OBJECT(conf->hub)));
        return NULL;
    }
    if (conf->hub) {
        hub = conf->hub;
    } else if (conf->trace || conf->check) {
        hub = tnkit_hub_new_private(conf, errp);
        if (!hub) {
            return NULL;
        }
    } else if (!tnkit_parse_on_violation(conf->on_violation, false,
                                         &(bool){ false }, errp)) {
        return NULL;
    }
    k = g_new0(TNKit, 1);
    k->hub = hub;
    k->pdev = pdev;
    k->conf = conf;
    k->ops = ops;
    k->opaque = opaque;
    return k;
}

void tnkit_free(TNKit *k)
{
    if (!k) {
        return;
    }
    if (k->hub && k->hub->opened && k->hub->dev[k->dev] == k) {
        tnkit_hub_detach(k->hub, k);
    } else if (k->hub && !k->conf->hub) {
        object_unref(OBJECT(k->hub));   /* a private hub never attached */
    }
    g_free(k);
}

/*
 * Join the trace: a private hub's file opens now with this device in its
 * header; then the DEVICE record, the device's status and bus mastering.
 */
bool tnkit_open_trace(TNKit *k, const uint8_t *mac, Error **errp)
{
    struct tn_trace_header hdr;
    TNKitHub *h = k->hub;

    k->bus_master = tnkit_config_bus_master(k);
    if (!h) {
        return true;
    }
    if (!h->opened) {
        tnkit_hub_header_for(h, &hdr, k->pdev, mac);
        if (!tnkit_hub_open(h, &hdr, errp)) {
            return false;
        }
    }
    if (!tnkit_hub_attach(h, k, errp)) {
        return false;
    }
    if (!k->conf->hub) {
        object_unref(OBJECT(h));        /* the device's reference is enough */
    }
    tnkit_record_state(k, TN_ST_TRACE_OPEN, TN_RING_ID_NONE,
                       k->ops->status(k->opaque), 0);
    tnkit_record_state(k, TN_ST_BUS_MASTER, TN_RING_ID_NONE, k->bus_master, 0);
    return true;
}

void tnkit_reset(TNKit *k)
{
    k->bus_master = tnkit_config_bus_master(k);
    if (k->hub) {
        tnkit_hub_flush(k->hub);
    }
}

void tnkit_post_load(TNKit *k)
{
    k->bus_master = tnkit_config_bus_master(k);
    /* The online check's region map lives outside the migration stream. */
    if (k->hub) {
        tnkit_hub_check_suspend(k->hub, "the VM was restored from a snapshot "
                                "or migrated");
    }
}

const VMStateDescription vmstate_tnkit = {
    .name = "tnkit",
    .version_id = 2,
    .minimum_version_id = 2,
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
        VMSTATE_END_OF_LIST()
    }
};
