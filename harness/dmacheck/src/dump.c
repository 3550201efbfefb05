/* --dump: every record as one JSON object, all fields, for tests and scripts. */
#include <inttypes.h>

#include "dmacheck.h"

void dc_dump_record(FILE *o, uint64_t i, const struct tn_rec *r)
{
	size_t k;

	fprintf(o, "{\"i\":%" PRIu64 ",\"t\":%" PRIu64 ",\"type\":\"%s\",\"kind\":%u,\"idx\":%u,"
		"\"id\":%u", i, r->time_ns, tn_rec_type_name(r->type), r->kind, r->idx, r->id);
	switch (r->type) {
	case TN_REC_DMA_READ:
	case TN_REC_DMA_WRITE:
	case TN_REC_DMA_FAILED:
		fprintf(o, ",\"cause\":\"%s\",\"ref_id\":%" PRIu64 ",\"addr\":%" PRIu64 ",\"len\":%u,"
			"\"ring\":%u,\"write\":%u,\"reason\":%u,\"result\":%u", tn_cause_name(r->kind),
			tn_ref_id(r->id, r->u.dma.ref_hi), r->u.dma.addr, r->u.dma.len, r->u.dma.ring,
			r->u.dma.write, r->u.dma.reason, r->u.dma.result);
		break;
	case TN_REC_ALLOC:
		fprintf(o, ",\"api\":\"%s\",\"va\":%" PRIu64 ",\"length\":%u,\"flags\":%u,\"tag\":%u,"
			"\"site\":%u,\"n_extents\":%u,\"irql\":%u", tn_api_name(r->kind), r->u.alloc.va,
			r->u.alloc.length, r->u.alloc.flags, r->u.alloc.tag, r->u.alloc.site,
			r->u.alloc.n_extents, r->u.alloc.irql);
		break;
	case TN_REC_EXTENT:
		fprintf(o, ",\"addr\":%" PRIu64 ",\"len\":%u", r->u.extent.addr, r->u.extent.len);
		break;
	case TN_REC_FREE:
		fprintf(o, ",\"va\":%" PRIu64 ",\"length\":%u,\"flags\":%u,\"site\":%u,\"irql\":%u",
			r->u.free.va, r->u.free.length, r->u.free.flags, r->u.free.site, r->u.free.irql);
		break;
	case TN_REC_MAP:
		fprintf(o, ",\"va\":%" PRIu64 ",\"length\":%u,\"site\":%u,\"n_extents\":%u,\"irql\":%u",
			r->u.map.va, r->u.map.length, r->u.map.site, r->u.map.n_extents, r->u.map.irql);
		break;
	case TN_REC_UNMAP:
		fprintf(o, ",\"length\":%u,\"site\":%u,\"irql\":%u", r->u.unmap.length,
			r->u.unmap.site, r->u.unmap.irql);
		break;
	case TN_REC_MARK:
		fprintf(o, ",\"value\":%" PRIu64, r->u.mark.value);
		break;
	case TN_REC_REF_TAKE:
	case TN_REC_REF_DROP:
		fprintf(o, ",\"ref_id\":%" PRIu64 ",\"addr\":%" PRIu64 ",\"len\":%u,\"ring\":%u,"
			"\"drained\":%u", tn_ref_id(r->id, r->u.ref.id_hi), r->u.ref.addr, r->u.ref.len,
			r->u.ref.ring, r->u.ref.drained);
		break;
	case TN_REC_STATE:
		fprintf(o, ",\"value\":%" PRIu64 ",\"value2\":%" PRIu64 ",\"status\":%u",
			r->u.state.value, r->u.state.value2, r->u.state.status);
		break;
	case TN_REC_IRQ:
		fprintf(o, ",\"cause\":%u,\"vector\":%u", r->u.irq.cause, r->u.irq.vector);
		break;
	case TN_REC_VIOLATION:
		fprintf(o, ",\"addr\":%" PRIu64 ",\"len\":%u,\"cause\":%u,\"ring\":%u,\"ref_id\":%"
			PRIu64, r->u.violation.addr, r->u.violation.len, r->u.violation.cause,
			r->u.violation.ring, tn_ref_id(r->u.violation.ref_id, r->u.violation.ref_id_hi));
		break;
	case TN_REC_LEDGER_ERROR:
		fprintf(o, ",\"info\":%u,\"length\":%u", r->u.ledger_error.info,
			r->u.ledger_error.length);
		break;
	case TN_REC_TRUNCATED:
		fprintf(o, ",\"cap_bytes\":%" PRIu64, r->u.truncated.cap_bytes);
		break;
	case TN_REC_WRITE_ERROR:
		fprintf(o, ",\"error\":%d", r->u.write_error.error);
		break;
	case TN_REC_END:
		fprintf(o, ",\"records\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"dma_bytes\":%" PRIu64
			",\"violations\":%u", r->u.end.records, r->u.end.dropped, r->u.end.dma_bytes,
			r->u.end.violations);
		break;
	case TN_REC_ICOUNT:
		fprintf(o, ",\"count\":%" PRIu64, r->u.icount.count);
		break;
	case TN_REC_DEVICE:
		fprintf(o, ",\"pci_vendor\":%u,\"pci_device\":%u,\"pci_revision\":%u,"
			"\"pci_bus\":%u,\"pci_devfn\":%u,\"type\":\"", r->u.device.pci_vendor,
			r->u.device.pci_device, r->u.device.pci_revision, r->u.device.pci_bus,
			r->u.device.pci_devfn);
		for (k = 0; k < sizeof(r->u.device.type) && r->u.device.type[k]; k++)
			fputc(dc_name_char(r->u.device.type[k]), o);
		fputc('"', o);
		break;
	}
	if (tn_rec_dev(r))	/* 0 in every single-device trace: not printed */
		fprintf(o, ",\"dev\":%u", tn_rec_dev(r));
	fputs("}\n", o);
}
