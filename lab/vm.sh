#!/usr/bin/env bash
# The lab VM: runs a command inside a real Debian kernel under QEMU (TCG) — 6.12 by default, with
# vivid (two instances, one multi-planar), vgem, udmabuf, the system dma-heap and the test drivers Debian
# does not build (lab/test-drivers.sh: vim2m, vicodec, vimc, visl, vkms) present, or 6.1 (--kernel 6.1:
# vivid and vgem, no udmabuf, no dma-heaps) — and judges the kernel's health afterwards.
#
#   lab/vm.sh run [--kernel S] [options] -- CMD [ARGS...]   boot, run CMD in the guest, power off
#   lab/vm.sh headers [--kernel S] [DIR]       print the make line that builds the module in DIR
#   lab/vm.sh fetch [--kernel S]               fetch/prepare the kernel; print its KEY=value lines
#   lab/vm.sh dut [options of run]             prepare the same machine for a LAVA job (the suite's
#                                              --emit-lava-job): --out DIR gets job.env; print the kernel,
#                                              initramfs, kernel arguments and QEMU options as KEY=value
#                                              lines. The guest sets up as for run, then gives a root
#                                              shell on the console (prompt "lab# ") instead of CMD.
#
# The guest's root is this machine's own / (9p, read-only) under a tmpfs overlay: the host's
# dotnet, build outputs and NuGet cache are all there, and writes vanish at power-off. CMD runs
# as root in the current directory with stdin from /dev/null, HOME, PATH, DOTNET_ROOT and the
# DOTNET_*/NUGET_*/MSBUILD*/LANG/LC_* variables as on the host, TERM=dumb, LAB_GUEST=1, LAB_KVER
# and LAB_OUT=/lab-out (the results directory, shared read-write), and GLIBC_TUNABLES as on the host,
# or where it is not set there, one that keeps glibc's memset off `rep stosb` (why: cmd_run, where
# it writes job.env).
#
# Exit status of `run`:
#   CMD's own status   when the kernel stayed clean and CMD ran to the end
#   3                  the kernel logged WARNING:, kernel BUG at, BUG:, Oops, Kernel panic, general
#                      protection fault or "blocked for more than" (wins over every other verdict)
#   4                  the guest hung or exceeded --timeout, or CMD reported a hung op ("HANG: ...")
#                      and the guest could not end it
#   5                  lab set-up error: QEMU or the kernel missing, fetch failed, modprobe/insmod
#                      failed in the guest, or the guest never reported CMD's exit (@@LAB-EXIT)
#   130                interrupted (SIGINT/SIGTERM)
#   2                  bad usage of lab/vm.sh itself (before anything ran)
# (A CMD that itself exits 3, 4 or 5 is indistinguishable from those verdicts by status alone:
# the summary line says which.)
#
# A crash ends the run within seconds, not at --timeout:
#   - a fatal complaint (kernel BUG at, BUG:, Oops, Kernel panic, general protection fault, blocked
#     for more than): the guest's own watcher (lab/guest-init.sh) saves dmesg and powers off 1-2 s
#     later, without waiting for CMD; if the guest cannot, the host, which watches the console as
#     it streams, ends QEMU 5 s after that;
#   - a WARNING alone: the kernel usually goes on working, so CMD may go on to finish its work for
#     at most --warn-grace seconds (default 30), then the same power-off; exit 3 either way;
#   - a line "HANG: ..." from CMD (the suite's watchdog, which then exits): the guest has 10 s to
#     report CMD's exit, else QEMU is ended (a thread stuck in the kernel keeps a process from ever
#     finishing its exit) and the verdict is 4.
# Whatever the guest wrote to /lab-out before is on the host already (an uncached 9p share) and
# stays. When the guest could not save dmesg, dmesg-problems.txt holds the kernel's lines from
# the console instead, from just before the first complaint on. The summary line names the
# complaint and what CMD was running (current-sequence); a "lab: timeline from QEMU's start:"
# line before it says when the command started, when the complaint came and when QEMU exited.
#
# A kernel that dies in its own boot, before the lab's init has run (its first fatal complaint before @@LAB-INIT on the console:
# no module of the lab's or the user's loaded, nothing of CMD's run), is booted again, up to three
# boots in all, each failed boot's console kept as console-boot-N.log and named on a "lab:" line.
# Nothing under test can have caused it; under QEMU's multi-threaded TCG the one seen is "Oops:
# int3" in a static-key site the kernel is patching at late init (sched_clock marking itself stable)
# while another vCPU runs it. A third such boot is reported like any crash: exit 3.
#
# In the results directory (--out, default out/vm):
#   console.log         the whole serial console (also streamed to stdout as it happens)
#   console-boot-N.log  the console of boot N, when the kernel died in its boot and was booted again
#   exit-status         CMD's exit status, written by the guest
#   dmesg.txt           the guest's full dmesg after CMD (or at the crash); dmesg-problems.txt the
#                       suspicious lines (from the console when the guest could not save dmesg)
#   devices-before.txt, devices-after.txt   `find /dev -type c` around the --module insmods
#   current-sequence    optional: CMD may write what it is doing; named when the kernel complains
#   job.env, cmd.sh     what the guest was told to do
#   lab-error           the guest's set-up error, if any
set -euo pipefail
shopt -s extglob

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
t_begin=$EPOCHREALTIME

usage() {
	cat <<'EOF'
usage: lab/vm.sh run [options] -- CMD [ARGS...]
       lab/vm.sh headers [--kernel S] [DIR]  print `make -C KBUILD M=DIR modules` for an
                                             out-of-tree module
       lab/vm.sh fetch [--kernel S]          prepare the kernel (lab/fetch-kernel.sh); print
                                             KEY=value lines
       lab/vm.sh dut [options of run]        prepare the same machine for a LAVA job: --out DIR
                                             gets job.env (shared as /lab-out); print VMLINUZ,
                                             INITRD, KERNEL_ARGS and each QEMU_OPTION; the guest
                                             gives a root shell (prompt "lab# ") instead of CMD

Boots a Debian kernel under QEMU (TCG) with this machine's / as the guest's root (read-only,
tmpfs overlay), loads vivid and vgem (on 6.12 also the test drivers Debian does not build, and
a second, multi-planar vivid instance), mounts debugfs and runs CMD as root in the current
directory. stdout/stderr of CMD and the kernel's messages go to the console, streamed here and
saved to OUT/console.log.

kernels (--kernel SERIES, for run, headers and fetch):
  6.12   the default: linux-image-6.12.<N>+deb12-amd64 (newest N); udmabuf and the system
         dma-heap are built in
  6.1    bookworm's own: linux-image-6.1.0-<N>-amd64 (newest N); no /dev/udmabuf and no
         /dev/dma_heap (not configured)

options of run:
  --kernel SERIES      6.12 (default) or 6.1
  --out DIR            results directory, shared with the guest as /lab-out (default out/vm)
  --timeout SECONDS    kill the guest after this long (default 900)
  --warn-grace SECONDS after a kernel WARNING, let CMD go on this long before powering off
                       (default 30, or CONFORMANCE_LAB_WARN_GRACE; 0: at once). A BUG, Oops,
                       panic, GPF or hung task powers off at once, whatever this says
  --module PATH.ko     insmod this module after vivid/vgem (repeatable); new /dev char devices
                       are printed as "@@LAB-NEW-DEVICE /dev/NAME"
  --module-args ARGS   parameters for the most recent --module, e.g. "a=1 b=2"
  --no-vivid, --no-vgem  do not load vivid / vgem
  --no-test-drivers    6.12: do not build and load the kernel's test drivers that Debian leaves
                       out (lab/test-drivers.sh: v4l2-mem2mem, vim2m, vicodec, vimc, visl, vkms)
                       and vivid's second, multi-planar instance; 6.1 never has them
  --mem MB             guest memory (default 4096)
  --smp N              guest CPUs (default 2)
  --append ARGS        extra kernel command-line arguments (repeatable; the lab always boots with
                       hugepages=8, a pool of eight 2 MiB pages for hugetlb memfds, and tsc=reliable,
                       no clocksource watchdog: under TCG a busy host made it mark the TSC unstable)
  --headers            same as the headers subcommand
  -h, --help           this text

exit status of run: CMD's status when the kernel stayed clean; 3 kernel WARNING/BUG/Oops/panic/
GPF/hung task (wins over the rest); 4 guest hung or timed out, or CMD's "HANG:" and the guest could
not end it; 5 lab set-up error (QEMU or kernel missing, fetch failed, modprobe/insmod failed, no
exit reported by the guest); 130 interrupted; 2 bad usage of lab/vm.sh itself.
A BUG/Oops/panic/GPF/hung task ends the run within seconds (exit 3); a WARNING after --warn-grace.

environment: CONFORMANCE_LAB_CACHE (kernel cache, default ~/.cache/conformance-lab),
CONFORMANCE_LAB_SERIES (the series when --kernel is not given), CONFORMANCE_LAB_KVER (a release
of the series, e.g. 6.12.117+deb12-amd64 or 6.1.0-57-amd64), CONFORMANCE_LAB_REFRESH=1 (look for
a newer kernel), CONFORMANCE_LAB_WARN_GRACE (the default of --warn-grace), CONFORMANCE_LAB_TEST_DRIVERS=0
(as --no-test-drivers, also for ./run-suite.sh --target vm).
EOF
}

say() { echo "lab: $*" >&2; }
lab_fail() { say "error: $*"; exit 5; }

log() { say "$@"; }
# shellcheck source=lab/lib.sh
. "$here/lib.sh"

# The kernel's complaints (extended regexps; lab/guest-init.sh gets them through job.env). On the
# console only kernel lines count ("[   12.345678] ..."), not CMD's own output.
kernel_fatal='kernel BUG at|BUG:|Oops|Kernel panic|general protection fault|blocked for more than'
kernel_warning='WARNING:'
kernel_line='\[ *[0-9]+\.[0-9]+\] '
# Seconds the host gives the guest to power itself off after it should have, and after CMD's
# "HANG:" line, before it ends QEMU itself.
host_grace=5 hang_grace=10

# The kernel series from --kernel; empty leaves the choice to lab/fetch-kernel.sh (6.12, unless
# CONFORMANCE_LAB_SERIES or CONFORMANCE_LAB_KVER say otherwise).
series=""

# Takes --kernel's value, or exits 2 (bad usage) with one error line.
set_series() {
	case "$1" in
	6.12 | 6.1) series="$1" ;;
	*) say "error: --kernel must be 6.12 or 6.1, not '$1'"; exit 2 ;;
	esac
}

# Runs lab/fetch-kernel.sh and sets KVER, VMLINUZ, INITRD, MODULES_DIR, KBUILD, ... from it.
fetch() {
	local output key value
	output="$("$here/fetch-kernel.sh" ${series:+--kernel "$series"})" || lab_fail "lab/fetch-kernel.sh failed"
	while IFS='=' read -r key value; do
		case "$key" in
		SERIES | KVER | CACHE | KDIR | VMLINUZ | INITRD | MODULES_DIR | KBUILD | UAPI) printf -v "$key" '%s' "$value" ;;
		esac
	done <<<"$output"
	if [ -z "${KVER:-}" ] || [ ! -f "${VMLINUZ:-}" ] || [ ! -f "${INITRD:-}" ]; then
		lab_fail "lab/fetch-kernel.sh gave no usable kernel"
	fi
	FETCH_OUTPUT="$output"
}

cmd_headers() {
	local dir=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel) [ $# -ge 2 ] || { say "error: --kernel needs a value"; exit 2; }; set_series "$2"; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		-*) say "error: unknown option '$1' of headers"; exit 2 ;;
		*) [ -z "$dir" ] || { say "error: headers takes one DIR"; exit 2; }; dir="$1"; shift ;;
		esac
	done
	dir="${dir:-$PWD}"
	dir="$(cd "$dir" && pwd)" || exit 2
	fetch
	echo "make -C $KBUILD M=$dir modules"
}

# Seconds between two $EPOCHREALTIME values, one decimal.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

cmd_run() {
	local out=out/vm timeout=900 mem=4096 smp=2 vivid=1 vgem=1 test_drivers="${CONFORMANCE_LAB_TEST_DRIVERS:-1}" append=""
	local warn_grace="${CONFORMANCE_LAB_WARN_GRACE:-30}" dut=0
	local modules=() module_args=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--out | --timeout | --warn-grace | --module | --module-args | --mem | --smp | --append | --kernel)
			[ $# -ge 2 ] || { say "$1 needs a value"; exit 2; } ;;
		esac
		case "$1" in
		--kernel) set_series "$2"; shift 2 ;;
		--out) out="$2"; shift 2 ;;
		--timeout) timeout="$2"; shift 2 ;;
		--warn-grace) warn_grace="$2"; shift 2 ;;
		--module) modules+=("$2"); module_args+=(""); shift 2 ;;
		--module-args)
			[ ${#modules[@]} -gt 0 ] || { say "--module-args must follow a --module"; exit 2; }
			module_args[${#modules[@]} - 1]="$2"; shift 2 ;;
		--no-vivid) vivid=0; shift ;;
		--no-vgem) vgem=0; shift ;;
		--no-test-drivers) test_drivers=0; shift ;;
		--mem) mem="$2"; shift 2 ;;
		--smp) smp="$2"; shift 2 ;;
		--append) append="${append:+$append }$2"; shift 2 ;;
		--headers) shift; cmd_headers "$@"; return ;;
		--dut) dut=1; shift ;;
		-h | --help) usage; return 0 ;;
		--) shift; break ;;
		*) say "unknown option '$1' (the command goes after --)"; usage >&2; exit 2 ;;
		esac
	done
	[ $# -gt 0 ] || [ "$dut" = 1 ] || { say "no command given (lab/vm.sh run [options] -- CMD [ARGS...])"; exit 2; }
	for n in "$timeout" "$mem" "$smp"; do
		[[ "$n" =~ ^[1-9][0-9]*$ ]] || { say "'$n' is not a positive integer"; exit 2; }
	done
	[[ "$warn_grace" =~ ^[0-9]+$ ]] || { say "--warn-grace: '$warn_grace' is not a number of seconds"; exit 2; }

	# Modules are insmod-ed from their host path, which the guest sees through the 9p root.
	local i
	for i in "${!modules[@]}"; do
		[ -f "${modules[$i]}" ] || lab_fail "module ${modules[$i]} not found"
		modules[i]="$(realpath "${modules[$i]}")"
	done

	ensure_packages qemu-system-x86 || lab_fail "could not install qemu-system-x86"
	command -v qemu-system-x86_64 >/dev/null || lab_fail "qemu-system-x86_64 not found"
	fetch
	# The kernel's own virtual drivers of the shapes Debian's config leaves out, built once and cached.
	local drivers_dir="" drivers_order="" vivid_args=""
	if [ "$test_drivers" = 1 ] && [ "$SERIES" = 6.12 ]; then
		local td key value
		td="$("$here/test-drivers.sh" "$KVER" "$KBUILD" "$CACHE")" || lab_fail "lab/test-drivers.sh failed"
		while IFS='=' read -r key value; do
			case "$key" in
			TEST_DRIVERS) drivers_dir="$value" ;;
			TEST_DRIVERS_ORDER) drivers_order="$value" ;;
			esac
		done <<<"$td"
		# vivid's first instance stays single-planar (video0, video1), the second is multi-planar
		[ "$vivid" = 1 ] && vivid_args="n_devs=2 multiplanar=1,2"
	fi

	mkdir -p "$out"
	out="$(cd "$out" && pwd)"
	# Clear what a previous run left, so nothing stale is read as this run's result.
	rm -f "$out"/{console.log,exit-status,dmesg.txt,dmesg-problems.txt,devices-before.txt} \
		"$out"/{devices-after.txt,current-sequence,sequence-at-complaint,lab-error,job.env,cmd.sh,.console.fifo,.lab-stop} "$out"/console-boot-*.log

	# The host's dotnet, found the same way in the guest (the guest sees the same files).
	local dotnet_root=""
	if command -v dotnet >/dev/null; then dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"; fi
	local guest_path="$PATH"
	[ -n "$dotnet_root" ] && guest_path="$guest_path:$dotnet_root"

	# job.env is sourced by the guest's bash: every value quoted with %q.
	{
		echo "# written by lab/vm.sh; read by lab/guest-init.sh (stage 2)"
		printf 'LAB_KVER=%q\n' "$KVER"
		printf 'LAB_MODULES_DIR=%q\n' "$MODULES_DIR"
		printf 'LAB_VIVID=%q\nLAB_VGEM=%q\nLAB_VIVID_ARGS=%q\n' "$vivid" "$vgem" "$vivid_args"
		printf 'LAB_TEST_DRIVERS=%q\nLAB_TEST_DRIVERS_ORDER=%q\n' "$drivers_dir" "$drivers_order"
		printf 'LAB_KERNEL_FATAL=%q\nLAB_KERNEL_WARNING=%q\n' "$kernel_fatal" "$kernel_warning"
		printf 'LAB_WARN_GRACE=%q\n' "$warn_grace"
		# dut: a root shell on the console instead of CMD (a LAVA test shell drives it)
		printf 'LAB_SHELL=%q\n' "$dut"
		printf 'LAB_CWD=%q\n' "$PWD"
		printf 'LAB_HOME=%q\n' "${HOME:-/root}"
		printf 'LAB_PATH=%q\n' "$guest_path"
		printf 'LAB_DOTNET_ROOT=%q\n' "$dotnet_root"
		# The host's .NET/NuGet/MSBuild and locale settings, so CMD behaves as it does here.
		local name
		while IFS= read -r name; do
			printf 'export %s=%q\n' "$name" "${!name}"
		done < <(compgen -e | grep -E '^(DOTNET_|NUGET_|MSBUILD|UseSharedCompilation$|LANG$|LC_|TZ$|CONFORMANCE_)' || true)
		# Under TCG `rep stosb` is emulated a byte at a time, and glibc's memset takes it from 2 KB up on a CPU with
		# ERMS (as -cpu max is): in this guest a memset of 8 KB took 15.4-15.9 us that way and 0.99-1.01 us on its
		# vector path. The .NET runtime clears the memory it hands out for allocation with memset: allocating cost
		# 1.72 ns a byte, and 0.51-0.57 with the threshold raised past any size it clears (BENCHMARKS.md, "a second
		# vCPU"). A GLIBC_TUNABLES set on the host, even empty, is passed on instead, as it is.
		printf 'export GLIBC_TUNABLES=%q\n' "${GLIBC_TUNABLES-glibc.cpu.x86_rep_stosb_threshold=0x10000000}"
		printf 'LAB_MODULE_COUNT=%q\n' "${#modules[@]}"
		for i in "${!modules[@]}"; do
			printf 'LAB_MODULE_%d_PATH=%q\n' "$((i + 1))" "${modules[$i]}"
			printf 'LAB_MODULE_%d_ARGS=%q\n' "$((i + 1))" "${module_args[$i]}"
		done
	} >"$out/job.env"
	# The command, quoted word by word, so any argument survives the trip.
	{
		echo "# written by lab/vm.sh: the command to run in the guest"
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} >"$out/cmd.sh"

	# QEMU's -virtfs takes comma-separated options: a comma in a path is written twice.
	# shellcheck disable=SC2054 # the commas are QEMU's, inside single words
	# loglevel=5 lets KERN_WARNING (level 4: WARN()'s "WARNING: CPU:" line) reach the console.
	# no fbdev console on a KMS driver (vkms): the lab has no display, and drawing text under TCG is slow
	# hugepages=8: a pool of eight 2 MiB pages for hugetlb memfds under udmabuf (UDMABUF-HUGE-1, -2)
	# tsc=reliable: no clocksource watchdog on the TSC. Under TCG the TSC follows the host's clock on every vCPU, but a
	# vCPU the host holds back for half a millisecond makes the watchdog (against the HPET) mark it unstable: the guest
	# then reads every clock through the emulated HPET (slow, and the benchmark's clocks with it), and its switch of the
	# scheduler's clock patches kernel text under the running vCPUs, which TCG can get wrong: a raw C loop with a
	# sched_yield loop on the other vCPU, on a busy host, ended in "Oops: int3" in sched_clock_cpu (6.12.118, 2026-12-06),
	# a crash of the emulator's making that the lab would have blamed on the kernel under test
	local kernel_args="console=ttyS0 panic=-1 loglevel=5 drm_kms_helper.fbdev_emulation=0 hugepages=8 tsc=reliable${append:+ $append}"
	local machine=(
		-accel tcg,thread=multi -cpu max -m "$mem" -smp "$smp"
		-nographic -no-reboot -nic none
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=${out//,/,,},mount_tag=labout,security_model=none,multidevs=remap"
	)
	if [ "$dut" = 1 ]; then
		# The machine for a LAVA job (lab/vm.sh dut): its device dictionary passes these options to QEMU and the job
		# deploys the kernel and the initramfs with these arguments; the guest sets up as for run, then gives a shell.
		printf 'KVER=%s\nVMLINUZ=%s\nINITRD=%s\nKERNEL_ARGS=%s\nQEMU=qemu-system-x86_64\n' "$KVER" "$VMLINUZ" "$INITRD" "$kernel_args"
		# one line per option with its value ("-m 4096"), as a LAVA device dictionary lists them
		local word opt=""
		for word in "${machine[@]}"; do
			if [[ "$word" == -* ]]; then
				[ -z "$opt" ] || printf 'QEMU_OPTION=%s\n' "$opt"
				opt="$word"
			else
				opt="$opt $word"
			fi
		done
		printf 'QEMU_OPTION=%s\n' "$opt"
		return 0
	fi
	local qemu=(qemu-system-x86_64 "${machine[@]}" -kernel "$VMLINUZ" -initrd "$INITRD" -append "$kernel_args")

	local boot_no=1 boot_tries=3 t_init="" fatal_in_boot=0
	# One boot, or more when the kernel dies before the lab's init (see the header).
	while :; do
		local fifo="$out/.console.fifo"
		mkfifo "$fifo"
		local t_qemu=$EPOCHREALTIME t_start="" t_exit="" exit_marker="" lab_error="" interrupted=0
		t_init="" fatal_in_boot=0
		# The first fatal complaint, the first WARNING and CMD's first "HANG:" line, and when they came.
		local t_fatal="" fatal="" t_warn="" warning="" t_hang="" hang=""
		# stdin from /dev/null: QEMU must not take over the terminal (Ctrl-C stays ours).
		timeout --kill-after=10 "$timeout" "${qemu[@]}" </dev/null >"$fifo" 2>&1 &
		local qpid=$!
		trap 'interrupted=1; kill -TERM "$qpid" 2>/dev/null || true' INT TERM
		# The pending end of QEMU, if any (see schedule_stop).
		local stopper="" stop_at=""

		# Stream the console: save it, show it, and note the markers and the kernel's complaints.
		local line esc=$'\e'
		local re_fatal="$kernel_line.*($kernel_fatal)" re_warning="$kernel_line.*($kernel_warning)"
		exec 3>"$out/console.log"
		while IFS= read -r line || [ -n "$line" ]; do
			line="${line//$'\r'/}"
			# SeaBIOS clears the screen and turns off line wrap: keep terminal escapes out.
			if [[ "$line" == *"$esc"* ]]; then
				line="${line//$esc\[*([0-9;?])[A-Za-z]/}"
				line="${line//${esc}c/}"
			fi
			printf '%s\n' "$line" >&3
			printf '%s\n' "$line"
			# Markers count only at the start of a line: CMD may print these words too.
			case "$line" in
			*@@LAB-INIT*) [ -n "$t_init" ] || t_init=$EPOCHREALTIME ;;   # the kernel may print into the same line
			@@LAB-START) [ -n "$t_start" ] || t_start=$EPOCHREALTIME ;;
			@@LAB-EXIT\ +([0-9])) t_exit=$EPOCHREALTIME; exit_marker="${line#@@LAB-EXIT }" ;;
			@@LAB-ERROR\ *) [ -n "$t_start" ] || lab_error="${line#@@LAB-ERROR }" ;;
			HANG:\ *)
				if [ -z "$t_hang" ]; then
					t_hang=$EPOCHREALTIME hang="$line"
					schedule_stop "$hang_grace" "CMD reported a hung op and did not end within $hang_grace s"
				fi ;;
			esac
			# The guest's watcher powers off 1-2 s after a fatal complaint, or --warn-grace
			# seconds after a WARNING; QEMU is ended here if it has not done so host_grace s later.
			if [ -z "$t_fatal" ] && [[ "$line" =~ $re_fatal ]]; then
				t_fatal=$EPOCHREALTIME fatal="${line#*"] "}"
				[ -n "$t_init" ] || fatal_in_boot=1
				schedule_stop $((2 + host_grace)) "the guest did not power off after: $fatal"
			elif [ -z "$t_warn" ] && [[ "$line" =~ $re_warning ]]; then
				t_warn=$EPOCHREALTIME warning="${line#*"] "}"
				schedule_stop $((warn_grace + 1 + host_grace)) "the guest did not power off $warn_grace s after: $warning"
			fi
		done <"$fifo"
		exec 3>&-
		cancel_stop
		local ended_by=""
		if [ -f "$out/.lab-stop" ]; then ended_by="$(cat "$out/.lab-stop")"; rm -f "$out/.lab-stop"; fi
		local qrc=0
		wait "$qpid" || qrc=$?
		# A signal interrupts wait itself: wait again for QEMU's real end.
		while kill -0 "$qpid" 2>/dev/null; do wait "$qpid" || qrc=$?; done
		trap - INT TERM
		rm -f "$fifo"
		local t_end=$EPOCHREALTIME
		# The kernel died in its own boot, before the lab's init ran: nothing under test had run. Boot again.
		if [ "$fatal_in_boot" -eq 1 ] && [ -z "$t_start" ] && [ "$interrupted" -eq 0 ] && [ "$boot_no" -lt "$boot_tries" ]; then
			mv "$out/console.log" "$out/console-boot-$boot_no.log"
			say "boot $boot_no of at most $boot_tries: the kernel died in its own boot, before the lab's init ran ($fatal, +$(elapsed "$t_qemu" "$t_fatal") s); nothing under test had run; console in console-boot-$boot_no.log; booting again"
			rm -f "$out"/{exit-status,dmesg.txt,dmesg-problems.txt,lab-error,.lab-stop}
			boot_no=$((boot_no + 1))
			continue
		fi
		break
	done

	# A guest that could not save its dmesg (or its complaints): the kernel's lines from the console.
	if [ ! -s "$out/dmesg-problems.txt" ] && { [ -n "$t_fatal" ] || [ -n "$t_warn" ]; }; then
		console_problems "$out/console.log" >"$out/dmesg-problems.txt" || true
	fi

	# Verdicts, most specific first.
	local rc status="" kernel_problem=0
	[ -f "$out/exit-status" ] && status="$(tr -dc '0-9' <"$out/exit-status")"
	[ -n "$status" ] || status="$exit_marker"
	local timed_out=0
	# timeout(1) exits 124 after TERM, 137 if QEMU needed the KILL.
	if [ "$interrupted" -eq 0 ] && { [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; }; then timed_out=1; fi
	if report_kernel_problems "$out"; then
		rc=3 kernel_problem=1
		if [ "$timed_out" -eq 1 ]; then say "the guest also hung or timed out after $timeout s"; fi
		if [ -n "$ended_by" ]; then say "the lab ended QEMU: $ended_by"; fi
		if [ ! -s "$out/dmesg.txt" ]; then
			say "the guest could not save dmesg: dmesg-problems.txt holds the kernel's lines from the console"
		fi
	elif [ "$interrupted" -eq 1 ]; then
		rc=130
		say "interrupted"
	elif [ "$timed_out" -eq 1 ]; then
		rc=4
		say "guest hung or timed out after $timeout s; the last console lines:"
		tail -n 20 "$out/console.log" | sed 's/^/  | /' >&2
		report_progress "$out"
	elif [ -n "$t_hang" ] && [ -n "$ended_by" ] && [ -z "$status" ]; then
		rc=4
		say "$ended_by: $hang"
		report_progress "$out"
	elif [ -n "$lab_error" ] || [ -s "$out/lab-error" ]; then
		rc=5
		say "error: the guest could not be set up: ${lab_error:-$(cat "$out/lab-error")}"
	elif [ -z "$status" ]; then
		rc=5
		say "error: the guest never reported the command's exit (QEMU exit $qrc); the last console lines:"
		tail -n 20 "$out/console.log" | sed 's/^/  | /' >&2
	else
		rc="$status"
	fi

	local boot="-" run="-"
	[ -n "$t_start" ] && boot="$(elapsed "$t_qemu" "$t_start") s"
	if [ -n "$t_start" ] && [ -n "$t_exit" ]; then
		run="$(elapsed "$t_start" "$t_exit") s"
	elif [ -n "$t_start" ]; then
		run="$(elapsed "$t_start" "$t_end") s (unfinished)"
	fi
	# When something went wrong on the way: when it came and when QEMU was gone.
	local t_first="${t_fatal:-${t_warn:-$t_hang}}" first="fatal complaint"
	[ -n "$t_fatal" ] || first="WARNING"
	[ -n "$t_fatal" ] || [ -n "$t_warn" ] || first="HANG line"
	if [ -n "$t_first" ]; then
		local timeline="command never started"
		[ -z "$t_start" ] || timeline="command started +$(elapsed "$t_qemu" "$t_start") s"
		[ -z "$t_warn" ] || timeline+=", first WARNING +$(elapsed "$t_qemu" "$t_warn") s"
		[ -z "$t_fatal" ] || timeline+=", first fatal complaint +$(elapsed "$t_qemu" "$t_fatal") s"
		[ -z "$t_hang" ] || timeline+=", CMD's HANG +$(elapsed "$t_qemu" "$t_hang") s"
		timeline+=", QEMU exited +$(elapsed "$t_qemu" "$t_end") s ($(elapsed "$t_first" "$t_end") s after the first $first"
		if [ -n "$ended_by" ]; then timeline+="; ended by the lab)"; else timeline+="; the guest powered off)"; fi
		say "timeline from QEMU's start: $timeline"
	fi

	local why="" running
	running="$(running_now "$out")"
	running="${running%%: replay with *}"
	case "$rc" in
	3)
		if [ "$kernel_problem" -eq 1 ]; then
			local in_boot=""
			if [ "$fatal_in_boot" -eq 1 ] && [ -z "$t_start" ] && [ "$boot_no" -gt 1 ]; then in_boot=" in the kernel's own boot, on each of $boot_no boots"; fi
			why=" (kernel problem: $(problem_name "$out" "$fatal" "$warning")$in_boot${running:+; running: $running}${status:+; command exited $status})"
			if suite_fault "$out"; then
				why="${why%)}; the oops is in user mode in the suite's own process (RIP 0033, Comm dotnet): QEMU's TCG turns the .NET runtime's user-mode iretq, which dispatches a hardware exception such as a NullReferenceException, into a kernel page fault, so this is a suite bug, not the kernel's)"
			fi
		fi ;;
	4)
		if [ -n "$t_hang" ] && [ "$timed_out" -eq 0 ]; then why=" (hung op: ${hang#HANG: }${running:+; running: $running})"
		else why=" (timeout${running:+; running: $running})"; fi ;;
	5) why=" (lab error)" ;;
	esac
	say "kernel $KVER, boot $boot, command $run, total $(elapsed "$t_begin" "$t_end") s, exit $rc$why"
	return "$rc"
}

# Ends QEMU in SECONDS (through timeout(1), which passes the TERM on and sends KILL 10 s later)
# and writes WHY to OUT/.lab-stop, unless an earlier end is pending. Uses cmd_run's qpid, out,
# stopper and stop_at.
schedule_stop() {
	local at=$((EPOCHSECONDS + $1))
	if [ -n "$stop_at" ] && [ "$stop_at" -le "$at" ]; then return 0; fi
	cancel_stop
	stop_at=$at
	( sleep "$1"; printf '%s\n' "$2" >"$out/.lab-stop"; kill -TERM "$qpid" 2>/dev/null ) </dev/null 3>&- &
	stopper=$!
}

# Drops the pending end of QEMU: the subshell first (else it would go on once its sleep is gone).
cancel_stop() {
	[ -n "$stopper" ] || return 0
	local sleeper
	sleeper="$(pgrep -P "$stopper" || true)"
	kill "$stopper" 2>/dev/null || true
	# shellcheck disable=SC2086 # one pid per word
	[ -z "$sleeper" ] || kill $sleeper 2>/dev/null || true
	wait "$stopper" 2>/dev/null || true
	stopper=""
}

# The kernel's lines on the console ("[ seconds] ..."), from three before its first complaint to
# the end: what dmesg-problems.txt holds when the guest could not save dmesg.
console_problems() {
	re="$kernel_line.*($kernel_warning|$kernel_fatal)" awk '
		BEGIN { re = ENVIRON["re"] }
		match($0, /\[ *[0-9]+\.[0-9]+\] /) {
			k = substr($0, RSTART)
			if (!on && k ~ re) {
				on = 1
				for (i = (n > 3 ? n - 3 : 0); i < n; i++) print before[i % 3]
			}
			if (on) print k; else before[n++ % 3] = k
		}' "$1"
}

# Names the kernel's complaint for the summary: the first fatal one and the first WARNING (by
# its source line) seen on the console, else the first complaint in dmesg.txt.
problem_name() {
	local out="$1" fatal="$2" warning="$3" w="" name
	if [ -n "$warning" ]; then
		w="WARNING"
		if [[ "$warning" =~ \ at\ ([^ ]+:[0-9]+) ]]; then w="WARNING at ${BASH_REMATCH[1]}"; fi
	fi
	if [ -n "$fatal" ]; then name="$fatal${w:+, after a $w}"; else name="$w"; fi
	if [ -z "$name" ]; then
		name="$(grep -m 1 -E "$kernel_warning|$kernel_fatal" "$out/dmesg.txt" 2>/dev/null | sed -E "s/^$kernel_line//")" || true
	fi
	printf '%s\n' "${name:-see above}"
}

# True when the console's oops is a user-mode fault of the suite's .NET process (RIP in CS 0033, Comm dotnet), the way
# QEMU 7.2's TCG mis-emulates a user-mode iretq: the suite's own hardware exception, not a kernel bug.
suite_fault() {
	local out="$1"
	grep -qE "^\[ *[0-9.]+\] #PF: supervisor [a-z]+ access in user mode" "$out/console.log" 2>/dev/null &&
		grep -qE "^\[ *[0-9.]+\] RIP: 0033:" "$out/console.log" 2>/dev/null &&
		grep -qE "^\[ *[0-9.]+\] CPU: [0-9]+ UID: [0-9]+ PID: [0-9]+ Comm: dotnet" "$out/console.log" 2>/dev/null
}

# Prints the kernel's complaints (with context) from the console and dmesg; true if there were any.
report_kernel_problems() {
	local out="$1"
	local what="$kernel_warning|$kernel_fatal"
	local on_console="$kernel_line.*($what)"
	local src=""
	if grep -qE "$on_console" "$out/console.log" 2>/dev/null; then
		src="$out/console.log"
		say "the kernel reported a problem; from the console:"
		grep -nE -B 2 -A 10 "$on_console" "$src" | head -n 120 | sed 's/^/  | /' >&2
	elif grep -qE "$what" "$out/dmesg.txt" 2>/dev/null; then
		src="$out/dmesg.txt"
		say "the kernel reported a problem; from dmesg.txt:"
		grep -nE -B 2 -A 10 "$what" "$src" | head -n 120 | sed 's/^/  | /' >&2
	fi
	[ -n "$src" ] || return 1
	report_progress "$out"
	return 0
}

# Names what CMD was doing: OUT/current-sequence, else the last "# progress" console line.
report_progress() {
	local out="$1" last
	if [ -s "$out/current-sequence" ]; then
		say "sequence running at the time (current-sequence): $(running_now "$out")"
	elif last="$(grep -E '^# progress' "$out/console.log" 2>/dev/null | tail -n 1)" && [ -n "$last" ]; then
		say "last progress line: $last"
	fi
}

# What CMD was running when the kernel first complained (OUT/sequence-at-complaint, which the guest
# saves then), else the last line of OUT/current-sequence (empty if none); its replay command made
# to name the kernel: a prefix without --kernel would boot whatever series is the default then.
running_now() {
	local out="$1" now p='replay with ./run-suite.sh --target vm'
	if [ -s "$out/sequence-at-complaint" ]; then now="$(tail -n 1 "$out/sequence-at-complaint")"
	elif [ -s "$out/current-sequence" ]; then now="$(tail -n 1 "$out/current-sequence")"
	else return 0; fi
	if [[ "$now" == *"$p"* && "$now" != *" --kernel "* ]]; then now="${now/"$p"/"$p --kernel $SERIES"}"; fi
	printf '%s\n' "$now"
}

# Options of fetch: only --kernel.
cmd_fetch() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel) [ $# -ge 2 ] || { say "error: --kernel needs a value"; exit 2; }; set_series "$2"; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*) say "error: unknown argument '$1' of fetch"; exit 2 ;;
		esac
	done
	fetch
	printf '%s\n' "$FETCH_OUTPUT"
}

case "${1:-}" in
run) shift; cmd_run "$@" ;;
dut) shift; cmd_run --dut "$@" ;;
headers | --headers) shift; cmd_headers "$@" ;;
fetch) shift; cmd_fetch "$@" ;;
-h | --help | help) usage ;;
*) usage >&2; exit 2 ;;
esac
