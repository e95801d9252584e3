/* libbpf reference of the many-objects benchmark: open, load and close each object
 * given on the command line, one after the other, in one process; prints one JSON line.
 * usage: manyobj OBJ...
 */
#include "common.h"

int main(int argc, char **argv)
{
	double t0 = now_s();

	libbpf_set_print(NULL);
	for (int i = 1; i < argc; i++) {
		struct bpf_object *obj = bpf_object__open_file(argv[i], NULL);

		if (!obj)
			die("open");
		if (bpf_object__load(obj))
			die("load");
		bpf_object__close(obj);
	}
	printf("{\"seconds\": %.9f, \"objects\": %d}\n", now_s() - t0, argc - 1);
	return 0;
}
