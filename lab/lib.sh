# shellcheck shell=bash
# Shared by lab/fetch-kernel.sh and lab/vm.sh (sourced). The caller defines log (stderr).

# Installs the missing ones among the given Debian packages (apt-get update only if needed).
# Returns non-zero when they cannot be installed; the caller decides how to fail.
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	# Another apt run (e.g. a parallel job) may hold the dpkg lock: wait for it rather than fail.
	local apt=(apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends)
	if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" >&2; then
		apt-get update >&2 || true
		DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" >&2
	fi
}
