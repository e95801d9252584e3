/* .kconfig externs of every type libbpf fills, compared byte for byte with libbpf.
 * CONFIG_DEFAULT_HOSTNAME comes from the kernel ("(none)" here) into arrays shorter
 * than the string: libbpf truncates and NUL-terminates. The CONFIG_PYBPF_* values are
 * given by the test (kconfig overrides / libbpf's kconfig option); CONFIG_HZ is strong. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern char CONFIG_DEFAULT_HOSTNAME[1] __kconfig;
extern char CONFIG_PYBPF_STR[4] __kconfig __weak;
extern bool CONFIG_PYBPF_BOOL __kconfig __weak;
extern enum libbpf_tristate CONFIG_PYBPF_TRI __kconfig __weak;
extern char CONFIG_PYBPF_CHAR __kconfig __weak;
extern unsigned char CONFIG_PYBPF_U8 __kconfig __weak;
extern short CONFIG_PYBPF_S16 __kconfig __weak;
extern unsigned short CONFIG_PYBPF_U16 __kconfig __weak;
extern int CONFIG_PYBPF_S32 __kconfig __weak;
extern unsigned int CONFIG_PYBPF_U32 __kconfig __weak;
extern long long CONFIG_PYBPF_S64 __kconfig __weak;
extern unsigned long long CONFIG_PYBPF_U64 __kconfig __weak;
extern int CONFIG_HZ __kconfig;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig;

u64 sink;

SEC("syscall")
int read_kconfig(void *ctx)
{
	sink = CONFIG_DEFAULT_HOSTNAME[0] + CONFIG_PYBPF_STR[0] + CONFIG_PYBPF_BOOL +
	       CONFIG_PYBPF_TRI + CONFIG_PYBPF_CHAR + CONFIG_PYBPF_U8 + CONFIG_PYBPF_S16 +
	       CONFIG_PYBPF_U16 + CONFIG_PYBPF_S32 + CONFIG_PYBPF_U32 + CONFIG_PYBPF_S64 +
	       CONFIG_PYBPF_U64 + CONFIG_HZ + LINUX_KERNEL_VERSION + LINUX_HAS_BPF_COOKIE;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
