#!/bin/busybox sh
# The lab VM's init, in two stages (one file, so the initramfs and the chroot never disagree).
#
# stage 1 (no argument; PID 1 in the initramfs, busybox sh): mount proc/sys/dev, load the virtio,
#   9p and overlay modules listed in /modules/order, mount the host's / (9p "hostroot", read-only)
#   under a tmpfs overlay, mount the results share (9p "labout") at /lab-out, move the mounts into
#   the new root and chroot into it, re-running this file as stage 2 with the host's bash.
# stage 2 ("stage2"; PID 1 inside the chroot, host bash): read /lab-out/job.env (written by
#   lab/vm.sh), modprobe vivid/vgem, insmod the user's modules, run /lab-out/cmd.sh, record the exit
#   status and dmesg in /lab-out, print the @@LAB-* markers and power off. Meanwhile a watcher reads
#   the kernel's log: after a BUG/Oops/panic/GPF/hung task it saves dmesg and powers off without
#   waiting for the command (which a task stuck in the kernel may keep from ever exiting), after a
#   WARNING it does so LAB_WARN_GRACE seconds later.
#
# Console markers (parsed by lab/vm.sh): @@LAB-INIT, @@LAB-ERROR <msg>, @@LAB-NEW-DEVICE <path>, @@LAB-START,
# @@LAB-EXIT <status>.
#
# No `set -e`: this runs as PID 1, and PID 1 exiting panics the kernel, which the host would
# misreport as a kernel bug. Every failure goes through lab_die, which reports and powers off.
# The syntax stays POSIX so busybox ash (stage 1) and bash (stage 2) both parse the whole file.
set -u

# Power off now (sysrq works whatever the init system; -no-reboot makes QEMU exit).
lab_poweroff() {
	sync
	echo o >/proc/sysrq-trigger 2>/dev/null || /bin/busybox poweroff -f
	# The power-off is asynchronous: never fall off the end of PID 1 meanwhile.
	while :; do sleep 1; done
}

# Report a lab (set-up) error on the console and in /lab-out, then power off.
lab_die() {
	echo "@@LAB-ERROR $*"
	if [ -d /lab-out ] && [ -w /lab-out ]; then echo "$*" >/lab-out/lab-error; fi
	lab_poweroff
}

stage1() {
	/bin/busybox mkdir -p /proc /sys /dev /bin
	/bin/busybox --install -s /bin
	export PATH=/bin
	mount -t proc proc /proc || lab_die "stage1: mount /proc failed"
	mount -t sysfs sysfs /sys || lab_die "stage1: mount /sys failed"
	mount -t devtmpfs devtmpfs /dev || lab_die "stage1: mount /dev failed"
	# The kernel may have found no /dev/console before devtmpfs was mounted.
	exec </dev/console >/dev/console 2>&1
	# From here on, a kernel that dies is not one that died in its own boot (lab/vm.sh boots those again).
	echo "@@LAB-INIT"

	# The virtio/9p/overlay modules this kernel does not build in, in the order lab/fetch-kernel.sh
	# wrote (each needs the ones before it; 6.1 has virtio as modules, 6.12 builds it in).
	[ -r /modules/order ] || lab_die "stage1: the initramfs has no /modules/order"
	while read -r m; do
		insmod "/modules/$m.ko" || lab_die "stage1: insmod $m failed"
	done </modules/order

	mkdir -p /lower /ovl /newroot
	# cache=loose: the host tree does not change under a run, and it makes dotnet start much faster.
	mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower ||
		lab_die "stage1: mount of the 9p share hostroot failed"
	mount -t tmpfs -o mode=0755 tmpfs /ovl || lab_die "stage1: tmpfs for the overlay failed"
	mkdir -p /ovl/upper /ovl/work
	mount -t overlay overlay -o lowerdir=/lower,upperdir=/ovl/upper,workdir=/ovl/work /newroot ||
		lab_die "stage1: overlay mount failed"

	mount --move /proc /newroot/proc || lab_die "stage1: moving /proc failed"
	mount --move /sys /newroot/sys || lab_die "stage1: moving /sys failed"
	mount --move /dev /newroot/dev || lab_die "stage1: moving /dev failed"
	# The host's /run (pid files, sockets) means nothing here; give the guest an empty one.
	mount -t tmpfs -o mode=0755 tmpfs /newroot/run || lab_die "stage1: tmpfs on /run failed"
	mkdir -p /newroot/dev/pts /newroot/dev/shm /newroot/lab-out
	mount -t devpts devpts /newroot/dev/pts
	mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 labout /newroot/lab-out ||
		lab_die "stage1: mount of the 9p share labout (results) failed"

	# A LAVA job's overlay (its test runner and definitions, /lava-JOBID) is unpacked into this initramfs: the test shell
	# runs it in the new root, so it is seen there at the same path.
	for d in /lava-*; do
		[ -d "$d" ] || continue
		mkdir -p "/newroot$d" && mount --bind "$d" "/newroot$d" || lab_die "stage1: binding LAVA's overlay $d into the new root failed"
	done

	# dotnet test talks to its test host over TCP on 127.0.0.1.
	ip link set lo up
	hostname lab

	mkdir -p /newroot/run/lab
	cp /init /newroot/run/lab/guest-init.sh
	[ -x /newroot/bin/bash ] || lab_die "stage1: the host root has no /bin/bash"
	# shellcheck disable=SC2093 # reached only if the exec fails
	exec chroot /newroot /bin/bash /run/lab/guest-init.sh stage2
	lab_die "stage1: chroot failed"
}

# Save the kernel's log in /lab-out, and its complaints (with the lines that start a trace) apart.
save_dmesg() {
	dmesg >/lab-out/dmesg.txt 2>&1
	# The defaults are for a job.env from a lab/vm.sh that did not pass the patterns.
	grep -E "Call Trace|${LAB_KERNEL_WARNING:-WARNING:}|${LAB_KERNEL_FATAL:-BUG:|Oops|Kernel panic|general protection fault|blocked for more than}" \
		/lab-out/dmesg.txt >/lab-out/dmesg-problems.txt
}

# The kernel watcher: reads the complaints (LAB_KERNEL_FATAL, LAB_KERNEL_WARNING; one kmsg record
# a line, "priority,sequence,time,flags;message") on stdin. A fatal one gives the kernel a second
# or two to finish its report, a WARNING gives CMD LAB_WARN_GRACE seconds; then it saves dmesg
# and powers off. No sync: the results share is uncached 9p, the rest tmpfs or read-only, and a
# broken kernel may never finish one.
# shellcheck disable=SC3010,SC3028,SC3045 # stage 2 runs under bash ([[ =~ ]], EPOCHSECONDS, read -t)
kernel_watch() {
	deadline="" why=""
	while :; do
		if [ -z "$deadline" ]; then
			IFS= read -r line || return 0
		else
			left=$((deadline - EPOCHSECONDS))
			[ "$left" -gt 0 ] || break
			IFS= read -r -t "$left" line
			rc=$?
			# Over 128: the deadline came. Another failure: the log ended; wait the deadline out.
			if [ "$rc" -gt 128 ]; then break; fi
			if [ "$rc" -ne 0 ]; then sleep "$left"; break; fi
		fi
		line="${line#*;}"
		# No grep here: a fork costs a good part of a second on a loaded TCG guest.
		if [[ "$line" =~ $LAB_KERNEL_FATAL ]]; then
			at=$((EPOCHSECONDS + 2))
		else
			at=$((EPOCHSECONDS + LAB_WARN_GRACE))
		fi
		# what CMD was running when the kernel first complained (it goes on for the grace period, and
		# current-sequence with it): the host names this one
		if [ -z "$deadline" ] && [ -s /lab-out/current-sequence ]; then
			tail -n 1 /lab-out/current-sequence >/lab-out/sequence-at-complaint
		fi
		if [ -z "$deadline" ] || [ "$at" -lt "$deadline" ]; then deadline=$at why=$line; fi
	done
	echo "lab: the kernel complained ($why): saving dmesg and powering off"
	save_dmesg
	echo o >/proc/sysrq-trigger
}

# Print every character device under /dev, sorted (for before/after comparison).
list_devices() {
	find /dev -type c 2>/dev/null | sort
}

stage2() {
	# shellcheck disable=SC3040 # stage 2 runs under bash
	set -o pipefail
	[ -r /lab-out/job.env ] || lab_die "stage2: /lab-out/job.env missing"
	# shellcheck source=/dev/null
	. /lab-out/job.env
	# The kernel the host meant to boot, or the results would be filed under the wrong one.
	[ "$(uname -r)" = "$LAB_KVER" ] || lab_die "stage2: booted kernel $(uname -r), but the host expected $LAB_KVER"

	mount -t debugfs debugfs /sys/kernel/debug || lab_die "stage2: mounting debugfs failed"

	# The kernel watcher, from before the modules load (they may crash too). /dev/kmsg gives whole
	# records only, and bash's read takes a byte at a time: grep reads it and keeps the complaints.
	# $! is the watcher itself, the pipeline's last process.
	watch=""
	if [ -n "${LAB_KERNEL_FATAL:-}" ]; then
		grep --line-buffered -E "$LAB_KERNEL_FATAL|$LAB_KERNEL_WARNING" /dev/kmsg | kernel_watch &
		watch=$!
	fi

	export HOME="$LAB_HOME" PATH="$LAB_PATH" TERM=dumb
	export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
	if [ -n "$LAB_DOTNET_ROOT" ]; then export DOTNET_ROOT="$LAB_DOTNET_ROOT"; fi
	# Let the command know where it runs and where results go.
	export LAB_GUEST=1 LAB_OUT=/lab-out LAB_KVER LAB_MODULES_DIR

	for m in "vivid:$LAB_VIVID" "vgem:$LAB_VGEM"; do
		[ "${m#*:}" = 1 ] || continue
		m="${m%:*}"
		args=""
		[ "$m" = vivid ] && args="${LAB_VIVID_ARGS:-}"
		# shellcheck disable=SC2086 # the parameters are separate words
		msg="$(modprobe -d "$LAB_MODULES_DIR" "$m" $args 2>&1)" || lab_die "stage2: modprobe $m $args failed: $msg"
	done
	# The test drivers built by lab/test-drivers.sh, in order: first what each needs from Debian's modules.
	if [ -n "${LAB_TEST_DRIVERS:-}" ]; then
		for m in $LAB_TEST_DRIVERS_ORDER; do
			ko="$LAB_TEST_DRIVERS/$m.ko"
			deps="$(modinfo -F depends "$ko" 2>/dev/null)" || lab_die "stage2: modinfo $ko failed"
			for d in ${deps//,/ }; do
				case " $LAB_TEST_DRIVERS_ORDER " in *" $d "*) continue ;; esac
				msg="$(modprobe -d "$LAB_MODULES_DIR" "$d" 2>&1)" || lab_die "stage2: modprobe $d (for $m) failed: $msg"
			done
			msg="$(insmod "$ko" 2>&1)" || lab_die "stage2: insmod $ko failed: $msg"
		done
	fi

	if [ "$LAB_MODULE_COUNT" -gt 0 ]; then
		list_devices >/lab-out/devices-before.txt
		i=1 path="" args=""
		while [ "$i" -le "$LAB_MODULE_COUNT" ]; do
			eval "path=\$LAB_MODULE_${i}_PATH args=\$LAB_MODULE_${i}_ARGS"
			echo "lab: insmod $path${args:+ $args}"
			# The args go as one argument: insmod joins them anyway, and the kernel parses quotes.
			if [ -n "$args" ]; then
				msg="$(insmod "$path" "$args" 2>&1)" || lab_die "stage2: insmod $path $args failed: $msg"
			else
				msg="$(insmod "$path" 2>&1)" || lab_die "stage2: insmod $path failed: $msg"
			fi
			i=$((i + 1))
		done
		# devtmpfs creates nodes synchronously, but a driver may register from a work item.
		sleep 0.3
		list_devices >/lab-out/devices-after.txt
		comm -13 /lab-out/devices-before.txt /lab-out/devices-after.txt | while read -r dev; do
			echo "@@LAB-NEW-DEVICE $dev"
		done
	fi

	cd "$LAB_CWD" || lab_die "stage2: cannot cd to $LAB_CWD"
	if [ "${LAB_SHELL:-0}" = 1 ]; then
		# lab/vm.sh dut: a root shell on the console for a LAVA test shell, which waits for its prompt. The kernel watcher
		# still powers off after a BUG or an Oops (the job then ends incomplete); the shell's end powers off too.
		echo "@@LAB-START"
		export PS1='lab# '
		setsid -c -w bash --norc --noprofile -i </dev/ttyS0 >/dev/ttyS0 2>&1
		status=$?
		if [ -n "$watch" ]; then kill "$watch" 2>/dev/null; fi
		save_dmesg
		printf '\n@@LAB-EXIT %s\n' "$status"
		lab_poweroff
	fi
	echo "@@LAB-START"
	bash /lab-out/cmd.sh </dev/null
	status=$?
	# CMD ended: the power-off below is the watcher's no more.
	if [ -n "$watch" ]; then kill "$watch" 2>/dev/null; fi
	echo "$status" >/lab-out/exit-status
	save_dmesg
	# On a line of its own even if CMD's output did not end with a newline.
	printf '\n@@LAB-EXIT %s\n' "$status"
	lab_poweroff
}

case "${1:-}" in
stage2) stage2 ;;
*) stage1 ;;
esac
lab_die "init fell through"
