/* An older CPU, as every library in a process sees it: CPUID answers with AVX-512 (and
 * optionally AVX-VNNI) masked out, so each library picks the kernels it would pick there.
 *
 * Loaded with LD_PRELOAD. Linux's CPUID faulting (arch_prctl ARCH_SET_CPUID, on Intel CPUs and
 * in KVM guests: the `cpuid_fault` flag) makes the CPUID instruction trap; the SIGSEGV handler
 * runs the real instruction, masks the feature bits and returns the answer. Nothing else is
 * emulated: the chosen kernels run natively at full speed, which is what makes timings under
 * the cap meaningful (unlike an instruction-set emulator).
 *
 * CPUID_CAP=AVX2 (default): AVX2 + FMA, no AVX-512, no AVX-VNNI, no AMX (Skylake client, Zen 2/3).
 * CPUID_CAP=AVX2_VNNI: the same plus AVX-VNNI (Alder Lake and later client chips).
 * The faulting state is inherited by threads and forks; execve resets it, and LD_PRELOAD
 * brings the shim back in the new program.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static int keep_avx_vnni;
static struct sigaction chained; /* the program's own SIGSEGV handler, for real faults */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static unsigned long trapped;

static void mask(unsigned leaf, unsigned sub, unsigned *a, unsigned *b, unsigned *c, unsigned *d) {
    if (leaf == 7 && sub == 0) {
        /* EBX: AVX512 F, DQ, IFMA, PF, ER, CD, BW, VL */
        *b &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
                (1u << 30) | (1u << 31));
        /* ECX: AVX512 VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */
        *c &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        /* EDX: AVX512 4VNNIW, 4FMAPS, VP2INTERSECT, AMX-BF16, AVX512-FP16, AMX-TILE, AMX-INT8 */
        *d &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) |
                (1u << 25));
    } else if (leaf == 7 && sub == 1) {
        /* EAX: AVX512-BF16, AMX-FP16, AVX-IFMA; AVX-VNNI unless kept */
        *a &= ~((1u << 5) | (1u << 21) | (1u << 23) | (keep_avx_vnni ? 0u : (1u << 4)));
        /* EDX: AVX-VNNI-INT8, AVX-NE-CONVERT, AVX10 */
        *d &= ~((1u << 4) | (1u << 5) | (1u << 19));
    } else if (leaf == 0xd && sub == 0) {
        /* XSAVE state the CPU supports: no opmask/ZMM (bits 5-7) or AMX tile (17-18) state */
        *a &= ~((1u << 5) | (1u << 6) | (1u << 7) | (1u << 17) | (1u << 18));
    }
    (void)c;
}

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    unsigned char *ip = (unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
    if (info->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) {
        unsigned leaf = (unsigned)uc->uc_mcontext.gregs[REG_RAX];
        unsigned sub = (unsigned)uc->uc_mcontext.gregs[REG_RCX];
        unsigned a, b, c, d;
        syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
        __cpuid_count(leaf, sub, a, b, c, d);
        syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
        mask(leaf, sub, &a, &b, &c, &d);
        uc->uc_mcontext.gregs[REG_RAX] = a;
        uc->uc_mcontext.gregs[REG_RBX] = b;
        uc->uc_mcontext.gregs[REG_RCX] = c;
        uc->uc_mcontext.gregs[REG_RDX] = d;
        uc->uc_mcontext.gregs[REG_RIP] += 2;
        __atomic_add_fetch(&trapped, 1, __ATOMIC_RELAXED);
        return;
    }
    /* A real fault: hand it to the program's handler, or die as it would have. */
    if (chained.sa_flags & SA_SIGINFO && chained.sa_sigaction) {
        chained.sa_sigaction(sig, info, context);
    } else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN &&
               chained.sa_handler) {
        chained.sa_handler(sig);
    } else {
        struct sigaction dfl = {0};
        dfl.sa_handler = SIG_DFL;
        real_sigaction(SIGSEGV, &dfl, NULL);
    }
}

/* Programs install their own SIGSEGV handlers later (Python's faulthandler does); they are
 * kept for real faults rather than allowed to replace the trap. */
int sigaction(int signum, const struct sigaction *act, struct sigaction *old) {
    if (!real_sigaction)
        real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    if (signum != SIGSEGV)
        return real_sigaction(signum, act, old);
    if (old)
        *old = chained;
    if (act)
        chained = *act;
    return 0;
}

static void report(void) {
    const char *verbose = getenv("CPUID_CAP_VERBOSE");
    if (verbose && *verbose == '1') {
        char line[96];
        int n = snprintf(line, sizeof line, "cpuid_cap: %lu CPUID answers masked in pid %d\n",
                         trapped, (int)getpid());
        if (n > 0)
            write(2, line, (size_t)n);
    }
}

__attribute__((constructor)) static void start(void) {
    real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    const char *cap = getenv("CPUID_CAP");
    keep_avx_vnni = cap && strcmp(cap, "AVX2_VNNI") == 0;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    real_sigaction(SIGSEGV, &sa, NULL);
    if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
        static const char msg[] = "cpuid_cap: this CPU or kernel has no CPUID faulting\n";
        write(2, msg, sizeof msg - 1);
        _exit(3);
    }
    atexit(report);
}
