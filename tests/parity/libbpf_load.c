/* Reference loader for the parity tests, linked with the system libbpf (1.1 here):
 *   libbpf_load [-k KCONFIG] [-n PROG]... [-o] [-x] OBJ
 *   libbpf_load -t SECTION...
 * -k passes KCONFIG ("CONFIG_X=v" lines) as libbpf's kconfig option, -n turns off
 * autoload of PROG, -o only opens, -x prints each loaded program's translated
 * instructions as the kernel reports them ("xlated NAME HEX"). -t prints "<prog type> <attach type>" for each
 * section name as libbpf_prog_type_by_name() reads it (or "ERR <errno>"). Prints the .kconfig map as hex (or "OK" when there
 * is none), or "ERR <errno>" when libbpf refuses; libbpf's warnings go to stderr. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	const char *kconfig = NULL, *skip[16];
	int nskip = 0, open_only = 0, xlated = 0, opt, err, i, shown = 0;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	const unsigned char *data;
	size_t size = 0, j;

	if (argc > 1 && strcmp(argv[1], "-t") == 0) {
		enum bpf_prog_type type;
		enum bpf_attach_type attach;

		libbpf_set_print(quiet);
		for (i = 2; i < argc; i++) {
			err = libbpf_prog_type_by_name(argv[i], &type, &attach);
			if (err)
				printf("ERR %d\n", -err);
			else
				printf("%d %d\n", type, attach);
		}
		return 0;
	}
	while ((opt = getopt(argc, argv, "k:n:ox")) != -1) {
		if (opt == 'k')
			kconfig = optarg;
		else if (opt == 'n' && nskip < 16)
			skip[nskip++] = optarg;
		else if (opt == 'o')
			open_only = 1;
		else if (opt == 'x')
			xlated = 1;
		else
			return 2;
	}
	if (optind >= argc)
		return 2;
	LIBBPF_OPTS(bpf_object_open_opts, opts, .kconfig = kconfig);
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[optind], &opts);
	if (!obj) {
		printf("ERR %d\n", (int)-libbpf_get_error(obj));
		return 0;
	}
	for (i = 0; i < nskip; i++) {
		prog = bpf_object__find_program_by_name(obj, skip[i]);
		if (prog)
			bpf_program__set_autoload(prog, false);
	}
	if (!open_only) {
		err = bpf_object__load(obj);
		if (err) {
			printf("ERR %d\n", -err);
			bpf_object__close(obj);
			return 0;
		}
	}
	if (xlated && !open_only) {
		bpf_object__for_each_program(prog, obj) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);
			unsigned char *buf;
			int fd = bpf_program__fd(prog);

			if (fd < 0)
				continue;
			if (bpf_obj_get_info_by_fd(fd, &info, &len))
				continue;
			buf = calloc(1, info.xlated_prog_len + 1);
			len = info.xlated_prog_len;
			memset(&info, 0, sizeof(info));
			info.xlated_prog_len = len;
			info.xlated_prog_insns = (__u64)(unsigned long)buf;
			len = sizeof(info);
			if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
				printf("xlated %s ", bpf_program__name(prog));
				for (j = 0; j < info.xlated_prog_len; j++)
					printf("%02x", buf[j]);
				printf("\n");
			}
			free(buf);
		}
	}
	bpf_object__for_each_map(map, obj) {
		if (strstr(bpf_map__name(map), ".kconfig")) {
			data = bpf_map__initial_value(map, &size);
			for (j = 0; j < size; j++)
				printf("%02x", data[j]);
			printf("\n");
			shown = 1;
		}
	}
	if (!shown)
		printf("OK\n");
	bpf_object__close(obj);
	return 0;
}
