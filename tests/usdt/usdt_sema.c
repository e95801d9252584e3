/* The USDT tests' probe with a semaphore (sdt.h takes semaphores per translation unit). */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

/* counted up by the kernel while a uprobe with this ref_ctr_offset is attached */
unsigned short pybpf_sema_semaphore __attribute__((unused, section(".probes")));

/* fires only while attached; its first argument is the semaphore itself */
__attribute__((noinline)) void fire_sema(long seed)
{
	if (pybpf_sema_semaphore)
		STAP_PROBE2(pybpf, sema, pybpf_sema_semaphore, seed);
}
