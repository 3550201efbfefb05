/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LD_PRELOAD shim for qemu-fuzz-x86_64 (fuzz-device.sh): pthread_kill() on a
 * thread that does not exist in this process returns ESRCH, as it did before
 * glibc 2.34.
 *
 * generic-fuzz runs every input in a fork() of the fuzzer; the child has no
 * vCPU thread.  When a device's MSI reaches the APIC with a delivery mode that
 * interrupts the CPU at once (NMI, SMI, INIT), QEMU kicks the vCPU thread:
 * cpus_kick_thread() calls pthread_kill() and exits QEMU on any error but
 * ESRCH.  Debian 12's glibc (2.36) clears the thread ids of the threads a
 * fork() left behind and pthread_kill() then fails with EINVAL (tgkill of
 * tid 0), so every such input ended the child with "qemu:cpus_kick_thread:
 * Invalid argument" and libFuzzer reported a crash that is the fuzzing
 * harness's and not the device's.  Seen in the first 7-minute run, after
 * 8700 inputs, in a fixed-mode MSI of the NIC (apic_update_irq kicks the CPU
 * for any interrupt); the input alone does not reproduce it, since the kick
 * is skipped while the parent's vCPU thread still has one pending at fork().
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int pthread_kill(pthread_t thread, int sig)
{
    static int (*real)(pthread_t, int);
    int err;

    if (!real) {
        real = (int (*)(pthread_t, int))dlsym(RTLD_NEXT, "pthread_kill");
        if (!real) {
            fprintf(stderr, "fork-kick: no pthread_kill to wrap: %s\n",
                    dlerror());
            abort();
        }
    }
    err = real(thread, sig);
    /* A valid signal, refused: the thread is not in this process. */
    if (err == EINVAL && sig > 0 && sig < NSIG) {
        err = ESRCH;
    }
    return err;
}
