/*
 * The raw C baseline of the instruction count (./run-suite.sh --bench --instructions): the memfd mix the runner's own
 * passes make, in a plain loop. Each sequence makes a memfd of one page, then ROUNDS_A_SEQUENCE rounds of dup, F_GETFD,
 * F_GETFL and close of the dup, then closes the memfd: the calls the kernel adapter makes for the same op records.
 * Usage: memfd-loop SEQUENCES. Exits 2 (with the failing call) if a call fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ROUNDS_A_SEQUENCE 50

static void die(const char *what)
{
	fprintf(stderr, "memfd-loop: %s: %s\n", what, strerror(errno));
	exit(2);
}

int main(int argc, char **argv)
{
	long sequences = argc > 1 ? atol(argv[1]) : 0;

	if (sequences <= 0) {
		fprintf(stderr, "usage: memfd-loop SEQUENCES\n");
		return 2;
	}
	for (long s = 0; s < sequences; s++) {
		int m = memfd_create("conformance", 0);

		if (m < 0)
			die("memfd_create");
		if (ftruncate(m, 4096))
			die("ftruncate");
		for (int i = 0; i < ROUNDS_A_SEQUENCE; i++) {
			int d = dup(m);

			if (d < 0)
				die("dup");
			if (fcntl(d, F_GETFD) < 0)
				die("F_GETFD");
			if (fcntl(d, F_GETFL) < 0)
				die("F_GETFL");
			if (close(d))
				die("close");
		}
		if (close(m))
			die("close");
	}
	return 0;
}
