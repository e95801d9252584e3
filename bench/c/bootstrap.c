/* libbpf C equivalent of libbpf-bootstrap's bootstrap, for the time-to-first-event
 * benchmark: open the shipped bootstrap.bpf.o, set min_duration_ns, load, attach,
 * poll the "rb" ring buffer and print events in bootstrap's format. After attaching
 * it starts /bin/true itself, so a first event is sure to come; it stops after the
 * first event and prints one JSON line: CLOCK_MONOTONIC times of attach and first
 * event (the driver subtracts its own spawn time), and the total run time.
 * usage: bootstrap OBJ
 */
#include "common.h"
#include <spawn.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127

struct event {
	int pid;
	int ppid;
	unsigned exit_code;
	unsigned long long duration_ns;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
	bool exit_event;
};

extern char **environ;
static double first_event;

static int handle_event(void *ctx, void *data, size_t data_sz)
{
	const struct event *e = data;
	struct tm *tm;
	char ts[32];
	time_t t;

	time(&t);
	tm = localtime(&t);
	strftime(ts, sizeof(ts), "%H:%M:%S", tm);
	if (e->exit_event) {
		printf("%-8s %-5s %-16s %-7d %-7d [%u]", ts, "EXIT", e->comm, e->pid, e->ppid,
		       e->exit_code);
		if (e->duration_ns)
			printf(" (%llums)", e->duration_ns / 1000000);
		printf("\n");
	} else {
		printf("%-8s %-5s %-16s %-7d %-7d %s\n", ts, "EXEC", e->comm, e->pid, e->ppid,
		       e->filename);
	}
	fflush(stdout);
	if (!first_event)
		first_event = now_s();
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[8];
	struct bpf_program *prog;
	struct ring_buffer *rb;
	struct bpf_object *obj;
	unsigned long long min_duration_ns = 0;
	char *child_argv[] = {"/bin/true", NULL};
	double t0 = now_s(), attached;
	pid_t child;
	int n = 0;

	if (argc != 2)
		die("usage: bootstrap OBJ");
	libbpf_set_print(NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		die("open");
	set_rodata(obj, "min_duration_ns", &min_duration_ns, sizeof(min_duration_ns));
	if (bpf_object__load(obj))
		die("load");
	bpf_object__for_each_program(prog, obj) {
		if (n == 8)
			die("too many programs");
		links[n] = bpf_program__attach(prog);
		if (!links[n])
			die("attach");
		n++;
	}
	rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "rb"), handle_event, NULL, NULL);
	if (!rb)
		die("ring_buffer__new");
	printf("%-8s %-5s %-16s %-7s %-7s %s\n", "TIME", "EVENT", "COMM", "PID", "PPID",
	       "FILENAME/EXIT CODE");
	attached = now_s();
	if (posix_spawn(&child, child_argv[0], NULL, NULL, child_argv, environ))
		die("posix_spawn");
	while (!first_event) {
		if (ring_buffer__poll(rb, 100) < 0)
			die("ring_buffer__poll");
	}
	waitpid(child, NULL, 0);
	ring_buffer__free(rb);
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	printf("{\"attached\": %.9f, \"first_event\": %.9f, \"start\": %.9f, \"seconds\": %.9f}\n",
	       attached, first_event, t0, now_s() - t0);
	return 0;
}
