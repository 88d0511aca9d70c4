# Puts asrkit's bin/ (launch.py, asr.sh, parse_options.sh) and the project's virtualenv on PATH.
export ASRKIT_ROOT=${ASRKIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
export PATH="${ASRKIT_ROOT}/bin:${ASRKIT_ROOT}/.venv/bin:${PATH}"
export PYTHONUNBUFFERED=1
