/*
 * tracenic: a PCI Ethernet NIC that records every DMA access, every memory
 * lifecycle event its driver reports and every DMA-state change into one
 * ordered trace, to catch DMA-after-free bugs in NIC drivers.
 *
 * This file is the glue, as QEMU's hw/net/e1000e.c is for e1000e_core.c:
 * the QOM type, PCI config and MSI-X, properties, VMState and the netdev
 * callbacks, each one call into the NIC core (tracenic-core.c) or the
 * tracing kit (tnkit.h).  Layers: docs/architecture.md.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "sysemu/replay.h"
#include "tracenic-core.h"
#include "tracenic/names.h"

static uint64_t tracenic_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    return tracenic_core_mmio_read(opaque, addr, size);
}

static void tracenic_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                                unsigned size)
{
    tracenic_core_mmio_write(opaque, addr, val, size);
}

static const MemoryRegionOps tracenic_mmio_ops = {
    .read = tracenic_mmio_read,
    .write = tracenic_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
};

static void tracenic_config_write(PCIDevice *dev, uint32_t addr, uint32_t val,
                                  int len)
{
    pci_default_write_config(dev, addr, val, len);
    msix_write_config(dev, addr, val, len);
    tracenic_core_config_written(TRACENIC(dev));
}

static bool tracenic_nc_can_receive(NetClientState *nc)
{
    return tracenic_core_can_receive(qemu_get_nic_opaque(nc));
}

static ssize_t tracenic_nc_receive(NetClientState *nc, const uint8_t *buf,
                                   size_t size)
{
    return tracenic_core_receive(qemu_get_nic_opaque(nc), buf, size);
}

static void tracenic_set_link_status(NetClientState *nc)
{
    tracenic_core_set_link(qemu_get_nic_opaque(nc), !nc->link_down);
}

static NetClientInfo tracenic_net_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NICState),
    .can_receive = tracenic_nc_can_receive,
    .receive = tracenic_nc_receive,
    .link_status_changed = tracenic_set_link_status,
};

/* --- Run-time fault-injection properties ---------------------------------- */

static PropertyInfo tracenic_prop_runtime_u64;
static PropertyInfo tracenic_prop_runtime_u32;
static PropertyInfo tracenic_prop_runtime_bool;

/* A run-time property's value, whatever its width. */
static uint64_t tracenic_prop_value(Object *obj, Property *prop)
{
    void *ptr = object_field_prop_ptr(obj, prop);

    if (prop->info == &tracenic_prop_runtime_bool) {
        return *(bool *)ptr;
    }
    if (prop->info == &tracenic_prop_runtime_u32) {
        return *(uint32_t *)ptr;
    }
    return *(uint64_t *)ptr;
}

static void tracenic_prop_store(Object *obj, Property *prop, uint64_t value)
{
    void *ptr = object_field_prop_ptr(obj, prop);

    if (prop->info == &tracenic_prop_runtime_bool) {
        *(bool *)ptr = value;
    } else if (prop->info == &tracenic_prop_runtime_u32) {
        *(uint32_t *)ptr = value;
    } else {
        *(uint64_t *)ptr = value;
    }
}

static void tracenic_prop_apply(TracenicState *s, const char *name)
{
    uint8_t id;

    /* The contract's TN_PROP_* numbers are named by their QOM names. */
    for (id = TN_PROP_RX_DMA_DELAY_NS; id <= TN_PROP_MAX; id++) {
        if (!strcmp(name, tn_prop_name(id))) {
            tracenic_core_prop_changed(s, id);
        }
    }
}

static void tracenic_prop_bh(void *opaque)
{
    TracenicState *s = opaque;
    unsigned i;

    for (i = 0; i < s->n_prop_pending; i++) {
        tracenic_prop_store(OBJECT(s), s->prop_pending[i].prop,
                            s->prop_pending[i].value);
        tracenic_prop_apply(s, s->prop_pending[i].prop->name);
    }
    s->n_prop_pending = 0;
}

static void tracenic_prop_set_runtime(Object *obj, Visitor *v, const char *name,
                                      void *opaque, Error **errp)
{
    ERRP_GUARD();
    TracenicState *s = TRACENIC(obj);
    Property *prop = opaque;
    const PropertyInfo *base = prop->info == &tracenic_prop_runtime_bool ?
        &qdev_prop_bool : prop->info == &tracenic_prop_runtime_u32 ?
        &qdev_prop_uint32 : &qdev_prop_uint64;
    uint64_t old = tracenic_prop_value(obj, prop);
    unsigned i;

    base->set(obj, v, name, opaque, errp);
    if (*errp) {
        return;
    }
    if (s->prefetch > TRACENIC_PREFETCH_MAX) {
        error_setg(errp, "prefetch=%u is too large: the device reads at most "
                   "%d descriptors ahead", s->prefetch, TRACENIC_PREFETCH_MAX);
        tracenic_prop_store(obj, prop, old);
        return;
    }
    if (!DEVICE(obj)->realized) {
        return;
    }
    if (replay_mode == REPLAY_MODE_NONE) {
        tracenic_prop_apply(s, name);
        return;
    }
    /*
     * Under record/replay the monitor is not in the replay log: the change
     * takes effect in a bottom half scheduled through the log, at the same
     * point of the run in the recording and in its replays (a replay gives
     * the same command with the VM stopped where the recording stopped it:
     * tracenic-cli replay, docs/repro.md).  Measured: applied here at once,
     * a replay diverged, a received frame landing before the change in the
     * recording and after it in the replay.
     */
    for (i = 0; i < s->n_prop_pending && s->prop_pending[i].prop != prop; i++) {
        /* the last value of a property given twice wins */
    }
    if (i == ARRAY_SIZE(s->prop_pending)) {
        error_setg(errp, "tracenic: %u property changes are already waiting "
                   "to take effect; give the VM a moment", i);
        tracenic_prop_store(obj, prop, old);
        return;
    }
    s->prop_pending[i].prop = prop;
    s->prop_pending[i].value = tracenic_prop_value(obj, prop);
    s->n_prop_pending = MAX(s->n_prop_pending, i + 1);
    tracenic_prop_store(obj, prop, old);
    replay_bh_schedule_event(s->prop_bh);
}

#define DEFINE_PROP_TN_U64(_n, _f, _d) \
    DEFINE_PROP(_n, TracenicState, _f, tracenic_prop_runtime_u64, uint64_t, \
                .set_default = true, .defval.u = (_d))
#define DEFINE_PROP_TN_U32(_n, _f, _d) \
    DEFINE_PROP(_n, TracenicState, _f, tracenic_prop_runtime_u32, uint32_t, \
                .set_default = true, .defval.u = (_d))
#define DEFINE_PROP_TN_BOOL(_n, _f, _d) \
    DEFINE_PROP(_n, TracenicState, _f, tracenic_prop_runtime_bool, bool, \
                .set_default = true, .defval.u = (_d))

static Property tracenic_properties[] = {
    DEFINE_NIC_PROPERTIES(TracenicState, conf),
    DEFINE_TNKIT_PROPERTIES(TracenicState, kit_conf),
    DEFINE_PROP_BOOL("msix", TracenicState, use_msix, true),
    DEFINE_PROP_TN_U64("rx-dma-delay-ns", rx_dma_delay_ns, 0),
    DEFINE_PROP_TN_U64("tx-dma-delay-ns", tx_dma_delay_ns, 0),
    DEFINE_PROP_TN_U64("quiesce-delay-ns", quiesce_delay_ns, 20000),
    DEFINE_PROP_TN_U64("reset-delay-ns", reset_delay_ns, 50000),
    DEFINE_PROP_TN_U32("prefetch", prefetch, 4),
    DEFINE_PROP_TN_BOOL("late-writeback", late_writeback, false),
    DEFINE_PROP_END_OF_LIST(),
};

/* --- Life cycle ----------------------------------------------------------- */

static void tracenic_exit(PCIDevice *pdev)
{
    TracenicState *s = TRACENIC(pdev);

    tnkit_free(s->kit);
    s->kit = NULL;
    tracenic_core_unrealize(s);
    qemu_bh_delete(s->prop_bh);
    if (msix_present(pdev)) {
        msix_unuse_all_vectors(pdev);
        msix_uninit(pdev, &s->msix, &s->msix);
    }
    qemu_del_nic(s->nic);
}

static void tracenic_realize(PCIDevice *pdev, Error **errp)
{
    TracenicState *s = TRACENIC(pdev);
    DeviceState *dev = DEVICE(pdev);

    s->kit = tnkit_new(pdev, &s->kit_conf, &tracenic_kit_ops, s, errp);
    if (!s->kit) {
        return;
    }

    pci_config_set_interrupt_pin(pdev->config, 1);
    pci_set_word(pdev->config + PCI_SUBSYSTEM_VENDOR_ID, TN_PCI_VENDOR_ID);
    pci_set_word(pdev->config + PCI_SUBSYSTEM_ID, TN_PCI_SUBSYS_ID);

    memory_region_init_io(&s->mmio, OBJECT(s), &tracenic_mmio_ops, s,
                          "tracenic-mmio", TN_REGS_SIZE);
    pci_register_bar(pdev, TN_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->mmio);
    memory_region_init(&s->msix, OBJECT(s), "tracenic-msix", TN_MSIX_SIZE);
    pci_register_bar(pdev, TN_BAR_MSIX, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->msix);
    if (s->use_msix &&
        msix_init(pdev, TN_MSIX_VECTORS, &s->msix, TN_BAR_MSIX,
                  TN_MSIX_TABLE_OFF, &s->msix, TN_BAR_MSIX, TN_MSIX_PBA_OFF,
                  0, errp) < 0) {
        tnkit_free(s->kit);
        s->kit = NULL;
        return;
    }
    if (msix_present(pdev)) {
        int i;

        for (i = 0; i < TN_MSIX_VECTORS; i++) {
            msix_vector_use(pdev, i);
        }
    }

    qemu_macaddr_default_if_unset(&s->conf.macaddr);
    s->nic = qemu_new_nic(&tracenic_net_info, &s->conf,
                          object_get_typename(OBJECT(s)), dev->id,
                          &dev->mem_reentrancy_guard, s);
    qemu_format_nic_info_str(qemu_get_queue(s->nic), s->conf.macaddr.a);

    tracenic_core_realize(s);
    s->prop_bh = qemu_bh_new_guarded(tracenic_prop_bh, s,
                                     &dev->mem_reentrancy_guard);
    if (!tnkit_open_trace(s->kit, s->conf.macaddr.a, errp)) {
        tracenic_exit(pdev);
    }
}

static void tracenic_qdev_reset(DeviceState *dev)
{
    tracenic_core_reset(TRACENIC(dev));
}

static int tracenic_post_load(void *opaque, int version_id)
{
    return tracenic_core_post_load(opaque);
}

/*
 * Version 3: the ledger's registers moved into the kit's state (vmstate_tnkit)
 * and bus mastering is read back from PCI config space.  Version 4: the
 * rings' reference ids are 64 bits (trace.h tn_ref_id).
 */
static const VMStateDescription tracenic_vmstate = {
    .name = "tracenic",
    .version_id = 4,
    .minimum_version_id = 4,
    .post_load = tracenic_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, TracenicState),
        VMSTATE_MSIX(parent_obj, TracenicState),
        VMSTATE_UINT32(ctrl, TracenicState),
        VMSTATE_UINT32(status, TracenicState),
        VMSTATE_UINT32(icr, TracenicState),
        VMSTATE_UINT32(ims, TracenicState),
        VMSTATE_UINT32(itr_us, TracenicState),
        VMSTATE_UINT32(err, TracenicState),
        VMSTATE_UINT32(mac_lo, TracenicState),
        VMSTATE_UINT32(mac_hi, TracenicState),
        VMSTATE_UINT32(stat_rx_packets, TracenicState),
        VMSTATE_UINT32(stat_rx_bytes, TracenicState),
        VMSTATE_UINT32(stat_rx_dropped, TracenicState),
        VMSTATE_UINT32(stat_tx_packets, TracenicState),
        VMSTATE_UINT32(stat_tx_bytes, TracenicState),
        VMSTATE_UINT32(stat_tx_errors, TracenicState),
        VMSTATE_STRUCT(tx, TracenicState, 1, vmstate_tracenic_ring,
                       TracenicRing),
        VMSTATE_STRUCT(rx, TracenicState, 1, vmstate_tracenic_ring,
                       TracenicRing),
        VMSTATE_BOOL(resetting, TracenicState),
        VMSTATE_TIMER_PTR(reset_timer, TracenicState),
        VMSTATE_BOOL(intx_level, TracenicState),
        VMSTATE_UINT8(drain_unseen, TracenicState),
        VMSTATE_BOOL(reset_unseen, TracenicState),
        VMSTATE_INT64_ARRAY(last_irq_ns, TracenicState, TN_MSIX_VECTORS),
        VMSTATE_UINT32(pending_vectors, TracenicState),
        VMSTATE_TIMER_PTR(itr_timer, TracenicState),
        VMSTATE_UINT8_ARRAY(rx_frame, TracenicState, TN_MAX_FRAME),
        VMSTATE_UINT32(rx_frame_len, TracenicState),
        VMSTATE_UINT32(iam, TracenicState),
        VMSTATE_STRUCT_POINTER(kit, TracenicState, vmstate_tnkit, TNKit),
        VMSTATE_END_OF_LIST()
    }
};

/*
 * Shown by -device tracenic,help (the kit's own: tnkit_prop_help); the
 * run-time ones say so.
 */
static const char *const tracenic_prop_help[][2] = {
    { "msix", "offer MSI-X (3 vectors); off: INTx only" },
    { "rx-dma-delay-ns", "delay of every RX transfer, virtual ns "
                         "(run time: qom-set)" },
    { "tx-dma-delay-ns", "delay of every TX transfer, virtual ns "
                         "(run time: qom-set)" },
    { "quiesce-delay-ns", "minimum drain time after RING_CTRL.ENABLE is "
                          "cleared, virtual ns (run time: qom-set)" },
    { "reset-delay-ns", "duration of CTRL.RST, virtual ns "
                        "(run time: qom-set)" },
    { "prefetch", "descriptors read ahead of use, 0-32 "
                  "(run time: qom-set)" },
    { "late-writeback", "hold descriptor write-backs until the drain ends "
                        "or quiesce-delay-ns passed (run time: qom-set)" },
};

static void tracenic_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    int i;

    /* Fault injection must be adjustable on a running VM (QMP qom-set). */
    tracenic_prop_runtime_u64 = qdev_prop_uint64;
    tracenic_prop_runtime_u64.set = tracenic_prop_set_runtime;
    tracenic_prop_runtime_u64.realized_set_allowed = true;
    tracenic_prop_runtime_u32 = qdev_prop_uint32;
    tracenic_prop_runtime_u32.set = tracenic_prop_set_runtime;
    tracenic_prop_runtime_u32.realized_set_allowed = true;
    tracenic_prop_runtime_bool = qdev_prop_bool;
    tracenic_prop_runtime_bool.set = tracenic_prop_set_runtime;
    tracenic_prop_runtime_bool.realized_set_allowed = true;

    k->realize = tracenic_realize;
    k->exit = tracenic_exit;
    k->config_write = tracenic_config_write;
    k->vendor_id = TN_PCI_VENDOR_ID;
    k->device_id = TN_PCI_DEVICE_ID;
    k->revision = TN_PCI_REVISION;
    k->class_id = PCI_CLASS_NETWORK_ETHERNET;
    dc->desc = "tracenic: NIC that traces DMA and driver memory lifecycle";
    dc->reset = tracenic_qdev_reset;
    dc->vmsd = &tracenic_vmstate;
    device_class_set_props(dc, tracenic_properties);
    for (i = 0; i < ARRAY_SIZE(tracenic_prop_help); i++) {
        object_class_property_set_description(klass, tracenic_prop_help[i][0],
                                              tracenic_prop_help[i][1]);
    }
    for (i = 0; i < TNKIT_N_PROPS; i++) {
        object_class_property_set_description(klass, tnkit_prop_help[i][0],
                                              tnkit_prop_help[i][1]);
    }
    set_bit(DEVICE_CATEGORY_NETWORK, dc->categories);
}

static const TypeInfo tracenic_info = {
    .name = TYPE_TRACENIC,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(TracenicState),
    .class_init = tracenic_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void tracenic_register_types(void)
{
    type_register_static(&tracenic_info);
}

type_init(tracenic_register_types)
