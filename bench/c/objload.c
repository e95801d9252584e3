/* libbpf reference loader of the object-load benchmark: open, load, attach every
 * program (auto-attach by section), detach, close; prints one JSON line of timings.
 */
#include "common.h"

int main(int argc, char **argv)
{
	struct bpf_link *links[256];
	struct bpf_program *prog;
	struct bpf_object *obj;
	int n = 0;
	double t0 = now_s(), t1, t2, t3, c1, c2;

	if (argc != 2)
		die("usage: objload OBJ");
	libbpf_set_print(NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		die("open");
	t1 = now_s();
	c1 = cpu_s();
	if (bpf_object__load(obj))
		die("load");
	t2 = now_s();
	c2 = cpu_s();
	bpf_object__for_each_program(prog, obj) {
		if (n == 256)
			die("too many programs");
		links[n] = bpf_program__attach(prog);
		if (!links[n])
			die("attach");
		n++;
	}
	t3 = now_s();
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	printf("{\"seconds\": %.9f, \"open_seconds\": %.9f, \"load_seconds\": %.9f, "
	       "\"attach_seconds\": %.9f, \"programs\": %d, \"load_cpu_seconds\": %.9f}\n",
	       now_s() - t0, t1 - t0, t2 - t1, t3 - t2, n, c2 - c1);
	return 0;
}
