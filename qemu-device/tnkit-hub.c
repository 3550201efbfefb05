/*
 * tracenic kit: the trace hub, one trace file that one or more devices write
 * into in one order.  `-object tracenic-trace,id=t0,file=FILE` is a hub of
 * its own that devices join with trace-hub=t0; a device given trace=FILE (or
 * check=on) gets a private one.  The hub owns what the devices share: the
 * writer, the online check, the END totals, the time stamp of the running
 * callback and the reference ids.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/cutils.h"
#include "qemu/log.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qom/object_interfaces.h"
#include "sysemu/sysemu.h"
#include "sysemu/cpu-timers.h"
#include "sysemu/replay.h"
#include "sysemu/runstate.h"
#include "qemu-version.h"
#include "tnkit-int.h"
#include "tracenic/rules.h"
#include "trace.h"

/* --- Records -------------------------------------------------------------- */

/*
 * Under -icount, an ICOUNT record before each record whose guest instruction
 * count differs from the last one written: record/replay's position of the
 * event (QMP query-replay, replay-break).  Not while the VM is stopped: what
 * QEMU writes at its exit does not belong to a guest instruction.
 */
static void tnkit_hub_icount(TNKitHub *h, int64_t now)
{
    struct tn_rec rec = { .type = TN_REC_ICOUNT };
    uint64_t count;

    if (!icount_enabled() || !runstate_is_running()) {
        return;
    }
    count = replay_get_current_icount();
    if (h->icount_written && count == h->last_icount) {
        return;
    }
    h->icount_written = true;
    h->last_icount = count;
    rec.time_ns = cpu_to_le64(now);
    rec.u.icount.count = cpu_to_le64(count);
    tnkit_trace_put(h->trace, &rec);
}

/* Every record goes to the trace (if any), then to the online check. */
void tnkit_hub_emit(TNKitHub *h, struct tn_rec *rec)
{
    int64_t now;

    if (h->trace) {
        if (h->record_replay && !runstate_is_running()) {
            /*
             * Under record/replay the virtual clock of a stopped VM depends
             * on when the host's main loop stopped the vCPU (measured: the
             * link-down at QEMU's exit came 344 ns later in the recording
             * than in its replays).  Records written while it is stopped
             * take the time of the last one: a replay writes the same trace.
             */
            now = h->last_ns;
        } else if (!h->callback_depth) {
            now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        } else {
            if (h->callback_time_ns < 0) {
                h->callback_time_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
            }
            now = h->callback_time_ns;
        }
        tnkit_hub_icount(h, now);
        h->last_ns = now;
        rec->time_ns = cpu_to_le64(now);
        tnkit_trace_put(h->trace, rec);
    }
    if (h->checker) {
        tnkit_check_record(h->checker, rec);
    }
}

uint64_t tnkit_hub_ref_id(TNKitHub *h)
{
    return ++h->next_ref_id;
}

void tnkit_hub_flush(TNKitHub *h)
{
    if (h->trace) {
        tnkit_trace_flush(h->trace);
    }
}

void tnkit_hub_check_suspend(TNKitHub *h, const char *why)
{
    if (h->checker) {
        tnkit_check_suspend(h->checker, why);
    }
}

/* --- The online check ----------------------------------------------------- */

/*
 * The online check found a violation: record it (its dev byte names the
 * device whose record it is about), say it, tell that device, maybe stop.
 */
static void tnkit_hub_violation(void *opaque, const struct tn_rec *vio)
{
    TNKitHub *h = opaque;
    struct tn_rec rec = *vio;
    uint64_t addr = le64_to_cpu(rec.u.violation.addr);
    uint32_t id = le32_to_cpu(rec.id), len = le32_to_cpu(rec.u.violation.len);
    TNKit *k = h->dev[tn_rec_dev(&rec)];

    tnkit_hub_emit(h, &rec);
    h->violations++;
    trace_tnkit_violation(tn_rule_name(rec.kind), id, addr, len);
    qemu_log_mask(LOG_GUEST_ERROR, "tracenic: violation %s: %s: id %u, 0x%"
                  PRIx64 "+%u%s\n", tn_rule_name(rec.kind),
                  tn_rule_info(rec.kind).summary, id, addr, len,
                  h->stop_on_violation ? "; pausing the VM" : "");
    if (k) {
        tnkit_event(k, TNKIT_EV_VIOLATION);
    }
    if (h->stop_on_violation) {
        tnkit_hub_flush(h);
        qemu_system_vmstop_request_prepare();
        qemu_system_vmstop_request(RUN_STATE_PAUSED);
    }
}

static void tnkit_hub_warn(void *opaque, const char *msg)
{
    warn_report("%s", msg);
}

/* --- The file ------------------------------------------------------------- */

static void tnkit_hub_report(void *opaque, const char *msg)
{
    error_report("%s", msg);
}

static void tnkit_hub_close(TNKitHub *h)
{
    if (h->trace) {
        tnkit_trace_close(h->trace, h->dma_bytes, h->violations);
        h->trace = NULL;
    }
}

static void tnkit_hub_exit_notify(Notifier *n, void *data)
{
    tnkit_hub_close(container_of(n, TNKitHub, exit_notifier));
}

static void tnkit_hub_vm_state_change(void *opaque, bool running,
                                      RunState state)
{
    /* A stopped VM is being looked at: make the trace on disk current. */
    if (!running) {
        tnkit_hub_flush(opaque);
    }
}

bool tnkit_parse_on_violation(const char *val, bool check, bool *stop,
                              Error **errp)
{
    if (!val || !strcmp(val, "log")) {
        *stop = false;
    } else if (!strcmp(val, "stop")) {
        *stop = true;
    } else {
        error_setg(errp, "tracenic: on-violation=%s is not valid: use 'log' "
                   "or 'stop'", val);
        return false;
    }
    if (*stop && !check) {
        error_setg(errp, "tracenic: on-violation=stop needs check=on");
        return false;
    }
    return true;
}

/* Start the check and write @hdr to the file, if there is one. */
bool tnkit_hub_open(TNKitHub *h, const struct tn_trace_header *hdr,
                    Error **errp)
{
    char *err = NULL;

    if (h->opened) {
        return true;
    }
    if (h->check) {
        h->checker = tnkit_check_new(tnkit_hub_violation, tnkit_hub_warn, h);
    }
    if (h->file) {
        h->trace = tnkit_trace_open(h->file, hdr, h->max_bytes,
                                    tnkit_hub_report, h, &err);
        if (!h->trace) {
            error_setg(errp, "tracenic: %s", err ? err : "out of memory");
            free(err);
            return false;
        }
    }
    h->vmstate_change =
        qemu_add_vm_change_state_handler(tnkit_hub_vm_state_change, h);
    h->exit_notifier.notify = tnkit_hub_exit_notify;
    qemu_add_exit_notifier(&h->exit_notifier);
    h->opened = true;
    return true;
}

/* A header with what every trace has; the opener adds the device's ids. */
static void tnkit_hub_header(TNKitHub *h, struct tn_trace_header *hdr,
                             const char *name)
{
    memset(hdr, 0, sizeof(*hdr));
    memcpy(hdr->magic, TN_TRACE_MAGIC, TN_TRACE_MAGIC_LEN);
    hdr->version = cpu_to_le16(TN_TRACE_VERSION);
    hdr->header_size = cpu_to_le16(TN_TRACE_HEADER_SIZE);
    hdr->record_size = cpu_to_le16(TN_TRACE_REC_SIZE);
    hdr->clock = cpu_to_le16(TN_TRACE_CLOCK_VIRTUAL);
    hdr->flags = cpu_to_le32((h->check ? TN_TRACE_F_CHECK : 0) |
                             (h->stop_on_violation ? TN_TRACE_F_STOP : 0) |
                             (icount_enabled() ? TN_TRACE_F_ICOUNT : 0));
    hdr->start_ns = cpu_to_le64(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    h->last_ns = le64_to_cpu(hdr->start_ns);
    /* Kept: QEMU's exit (replay_finish) sets replay_mode back to NONE. */
    h->record_replay = replay_mode != REPLAY_MODE_NONE;
    hdr->wall_start_ns = cpu_to_le64(g_get_real_time() * SCALE_US);
    hdr->cap_bytes = cpu_to_le64(h->max_bytes);
    strpadcpy(hdr->device_id, sizeof(hdr->device_id), name, 0);
    strpadcpy(hdr->qemu_version, sizeof(hdr->qemu_version), QEMU_VERSION, 0);
}

/* --- Devices -------------------------------------------------------------- */

/*
 * @k joins: it gets the next device number and its DEVICE record, and, for a
 * private hub, the trace opens with @k's PCI ids and MAC in the header.
 */
bool tnkit_hub_attach(TNKitHub *h, TNKit *k, Error **errp)
{
    const uint8_t *cfg = k->pdev->config;
    const char *type = object_get_typename(OBJECT(k->pdev));
    struct tn_rec rec = { .type = TN_REC_DEVICE };

    if (h->n_dev > TN_REC_DEV_MAX) {
        error_setg(errp, "tracenic: %d devices already write into this "
                   "trace; give this one a tracenic-trace object of its own",
                   TN_REC_DEV_MAX + 1);
        return false;
    }
    k->dev = h->n_dev++;
    h->dev[k->dev] = k;
    rec.idx = cpu_to_le16(k->dev);
    rec.u.device.dev = k->dev;
    rec.u.device.pci_vendor = cpu_to_le16(pci_get_word(cfg + PCI_VENDOR_ID));
    rec.u.device.pci_device = cpu_to_le16(pci_get_word(cfg + PCI_DEVICE_ID));
    rec.u.device.pci_revision = pci_get_byte(cfg + PCI_REVISION_ID);
    rec.u.device.pci_bus = pci_dev_bus_num(k->pdev);
    rec.u.device.pci_devfn = k->pdev->devfn;
    strpadcpy(rec.u.device.type, sizeof(rec.u.device.type), type, 0);
    tnkit_hub_emit(h, &rec);
    h->n_attached++;
    object_ref(OBJECT(h));
    return true;
}

void tnkit_hub_detach(TNKitHub *h, TNKit *k)
{
    h->dev[k->dev] = NULL;
    h->n_attached--;
    object_unref(OBJECT(h));
}

/* --- The hub as a QOM object ---------------------------------------------- */

TNKitHub *tnkit_hub_new_private(const TNKitConf *conf, Error **errp)
{
    TNKitHub *h;
    bool stop;

    if (!tnkit_parse_on_violation(conf->on_violation, conf->check, &stop,
                                  errp)) {
        return NULL;
    }
    h = TNKIT_HUB(object_new(TYPE_TNKIT_HUB));
    h->file = g_strdup(conf->trace);
    h->max_bytes = conf->trace_max_bytes;
    h->check = conf->check;
    h->stop_on_violation = stop;
    return h;
}

/* -object tracenic-trace: open the file now; devices join at realize. */
static void tnkit_hub_complete(UserCreatable *uc, Error **errp)
{
    TNKitHub *h = TNKIT_HUB(uc);
    struct tn_trace_header hdr;

    if (!h->file) {
        error_setg(errp, "tracenic-trace: file is missing: name the trace "
                   "file to write, e.g. file=run.bin");
        return;
    }
    if (!tnkit_parse_on_violation(h->on_violation, h->check,
                                  &h->stop_on_violation, errp)) {
        return;
    }
    tnkit_hub_header(h, &hdr, object_get_canonical_path_component(OBJECT(h)));
    tnkit_hub_open(h, &hdr, errp);
}

/* Devices hold a reference while attached: deleting the object waits. */
static bool tnkit_hub_can_be_deleted(UserCreatable *uc)
{
    return TNKIT_HUB(uc)->n_attached == 0;
}

static void tnkit_hub_finalize(Object *obj)
{
    TNKitHub *h = TNKIT_HUB(obj);

    tnkit_hub_close(h);
    if (h->opened) {
        qemu_del_vm_change_state_handler(h->vmstate_change);
        qemu_remove_exit_notifier(&h->exit_notifier);
    }
    if (h->checker) {
        tnkit_check_free(h->checker);
    }
    g_free(h->file);
    g_free(h->on_violation);
}

static char *tnkit_hub_get_file(Object *obj, Error **errp)
{
    return g_strdup(TNKIT_HUB(obj)->file);
}

static void tnkit_hub_set_file(Object *obj, const char *val, Error **errp)
{
    TNKitHub *h = TNKIT_HUB(obj);

    g_free(h->file);
    h->file = g_strdup(val);
}

static char *tnkit_hub_get_on_violation(Object *obj, Error **errp)
{
    return g_strdup(TNKIT_HUB(obj)->on_violation);
}

static void tnkit_hub_set_on_violation(Object *obj, const char *val,
                                       Error **errp)
{
    TNKitHub *h = TNKIT_HUB(obj);

    g_free(h->on_violation);
    h->on_violation = g_strdup(val);
}

static bool tnkit_hub_get_check(Object *obj, Error **errp)
{
    return TNKIT_HUB(obj)->check;
}

static void tnkit_hub_set_check(Object *obj, bool val, Error **errp)
{
    TNKIT_HUB(obj)->check = val;
}

static void tnkit_hub_get_max_bytes(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    visit_type_size(v, name, &TNKIT_HUB(obj)->max_bytes, errp);
}

static void tnkit_hub_set_max_bytes(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    visit_type_size(v, name, &TNKIT_HUB(obj)->max_bytes, errp);
}

static void tnkit_hub_class_init(ObjectClass *oc, void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    ucc->complete = tnkit_hub_complete;
    ucc->can_be_deleted = tnkit_hub_can_be_deleted;
    object_class_property_add_str(oc, "file", tnkit_hub_get_file,
                                  tnkit_hub_set_file);
    object_class_property_set_description(oc, "file",
        "trace file to write (docs/trace-format.md)");
    object_class_property_add(oc, "max-bytes", "size",
                              tnkit_hub_get_max_bytes,
                              tnkit_hub_set_max_bytes, NULL, NULL);
    object_class_property_set_description(oc, "max-bytes",
        "size cap of the trace file, 0 = none");
    object_class_property_add_bool(oc, "check", tnkit_hub_get_check,
                                   tnkit_hub_set_check);
    object_class_property_set_description(oc, "check",
        "online checks over every device's records");
    object_class_property_add_str(oc, "on-violation",
                                  tnkit_hub_get_on_violation,
                                  tnkit_hub_set_on_violation);
    object_class_property_set_description(oc, "on-violation",
        "log (default) or stop: pause the VM at a violation");
}

static const TypeInfo tnkit_hub_info = {
    .name = TYPE_TNKIT_HUB,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(TNKitHub),
    .instance_finalize = tnkit_hub_finalize,
    .class_init = tnkit_hub_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { }
    },
};

static void tnkit_hub_register_types(void)
{
    type_register_static(&tnkit_hub_info);
}

type_init(tnkit_hub_register_types)

/* The header of a private hub's trace: the one device it is for. */
void tnkit_hub_header_for(TNKitHub *h, struct tn_trace_header *hdr,
                          PCIDevice *pdev, const uint8_t *mac)
{
    const uint8_t *cfg = pdev->config;

    tnkit_hub_header(h, hdr, DEVICE(pdev)->id ? DEVICE(pdev)->id : "");
    hdr->pci_vendor = cpu_to_le16(pci_get_word(cfg + PCI_VENDOR_ID));
    hdr->pci_device = cpu_to_le16(pci_get_word(cfg + PCI_DEVICE_ID));
    hdr->pci_revision = pci_get_byte(cfg + PCI_REVISION_ID);
    if (mac) {
        memcpy(hdr->mac, mac, sizeof(hdr->mac));
    }
}
