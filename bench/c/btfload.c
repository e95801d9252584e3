/* libbpf reference of the kernel BTF benchmark: btf__load_vmlinux_btf() (parse and
 * index /sys/kernel/btf/vmlinux) plus one by-name lookup; prints one JSON line.
 */
#include "common.h"

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "task_struct";
	double t0 = now_s(), t1, t2;
	struct btf *btf = btf__load_vmlinux_btf();
	int id;

	if (!btf)
		die("btf__load_vmlinux_btf");
	t1 = now_s();
	id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
	t2 = now_s();
	if (id <= 0)
		die("type not found");
	printf("{\"seconds\": %.9f, \"load_seconds\": %.9f, \"find_seconds\": %.9f, \"types\": %u, "
	       "\"id\": %d}\n",
	       t2 - t0, t1 - t0, t2 - t1, btf__type_cnt(btf), id);
	btf__free(btf);
	return 0;
}
