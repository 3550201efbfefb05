/*
 * tracenic kit: the online check, a consumer of the record stream
 * (tnkit-check.c).  Plain C and glib: no QEMU and no NIC registers, so any
 * device that writes tracenic records, and a host program replaying a trace,
 * can run it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef HW_NET_TNKIT_CHECK_H
#define HW_NET_TNKIT_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include "tracenic/trace.h"
#include "tracenic/rules.h"

typedef struct TNKitCheck TNKitCheck;

/*
 * A violation, as the VIOLATION record to write (kind = TN_RULE_*, time
 * unset).  Called from inside tnkit_check_record(); the callee may feed the
 * record back to the check (VIOLATION records are ignored).
 */
typedef void TNKitCheckViolationFn(void *opaque, const struct tn_rec *vio);
/* A complete sentence about the check itself (a bound reached, turned off). */
typedef void TNKitCheckWarnFn(void *opaque, const char *msg);

TNKitCheck *tnkit_check_new(TNKitCheckViolationFn *violation,
                            TNKitCheckWarnFn *warn, void *opaque);
void tnkit_check_free(TNKitCheck *c);

/* Every record of the trace, in trace order, as written (little-endian). */
void tnkit_check_record(TNKitCheck *c, const struct tn_rec *rec);

/* Stop checking for good and say why (its state cannot be trusted). */
void tnkit_check_suspend(TNKitCheck *c, const char *why);

/* The rules the check judges; dmacheck judges them (and more) too. */
#define TNKIT_CHECK_N_RULES 7
extern const uint8_t tnkit_check_rules[TNKIT_CHECK_N_RULES];

#endif
