/*
 * The window of a counted run (./run-suite.sh --bench --instructions, generation alone): a run under callgrind started
 * with its instrumentation off calls count_window_start where the counted part begins (instrumentation on, counters
 * zeroed) and count_window_stop where it ends (counters dumped, as the file's part 1, and instrumentation off again).
 * What the runner warms before the window (a generator's rule tables, the code the runtime compiles) is not counted,
 * and the figure needs no difference of two runs. Built by the runner with cc as a shared library; needs valgrind's
 * header, which Debian's valgrind package installs.
 */
#include <valgrind/callgrind.h>

void count_window_start(void)
{
	CALLGRIND_START_INSTRUMENTATION;
	CALLGRIND_ZERO_STATS;
}

void count_window_stop(void)
{
	CALLGRIND_DUMP_STATS_AT("window");
	CALLGRIND_STOP_INSTRUMENTATION;
}
