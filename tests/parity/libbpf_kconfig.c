/* Reference for the kconfig parity test: open OBJ with libbpf's kconfig option
 * (argv[2], "CONFIG_X=v" lines), load it and print the .kconfig map as hex, or
 * "ERR <errno>" when libbpf refuses. Built by the test with gcc -lbpf. */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .kconfig = argc > 2 ? argv[2] : NULL);
	struct bpf_object *obj;
	struct bpf_map *map;
	const unsigned char *data;
	size_t size = 0, i;
	int err;

	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], &opts);
	if (!obj) {
		printf("ERR open\n");
		return 0;
	}
	err = bpf_object__load(obj);
	if (err) {
		printf("ERR %d\n", -err);
		bpf_object__close(obj);
		return 0;
	}
	bpf_object__for_each_map(map, obj) {
		if (strstr(bpf_map__name(map), ".kconfig")) {
			data = bpf_map__initial_value(map, &size);
			for (i = 0; i < size; i++)
				printf("%02x", data[i]);
			printf("\n");
		}
	}
	bpf_object__close(obj);
	return 0;
}
