# Kaldi-style option parsing for recipe scripts (cf. Kaldi's utils/parse_options.sh).
#
# Source it after setting the defaults (and, optionally, help_message):
#     nj=4
#     use_gpu=false
#     . parse_options.sh
# It consumes leading options from "$@" and stops at the first non-option:
#   --foo-bar VALUE   sets the existing variable foo_bar (dashes become
#                     underscores); an option with no such variable is an error,
#                     and a variable whose default is true/false takes only true/false
#   --config FILE     sources FILE (var=value lines) before the other options,
#                     so that the command line wins over the file
#   --help, -h        prints $help_message and exits 0
# Errors exit the sourcing script with status 1.  Works under set -eu.
# All helper variables start with __po_ and are unset at the end.

# Sources every --config first, whatever its position among the options.
__po_i=1
while [ "$__po_i" -le $# ] && [[ ${!__po_i} == --* ]]; do
  if [ "${!__po_i}" = --config ]; then
    __po_file=$((__po_i + 1))
    __po_file=${!__po_file:-}
    if [ ! -r "$__po_file" ]; then
      echo "parse_options.sh: cannot read config file '$__po_file'" >&2
      exit 1
    fi
    . "$__po_file"
  fi
  __po_i=$((__po_i + 2))
done

while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      printf '%b\n' "${help_message:-No help found.}"
      exit 0 ;;
    --*=*)
      echo "parse_options.sh: options take the form --name value, got '$1'" >&2
      exit 1 ;;
    --*)
      if [ $# -lt 2 ]; then
        echo "parse_options.sh: option $1 needs a value" >&2
        exit 1
      fi
      if [ "$1" != --config ]; then
        __po_name=${1#--}
        __po_name=${__po_name//-/_}
        if ! [[ $__po_name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!__po_name+set}" ]; then
          echo "parse_options.sh: invalid option $1" >&2
          exit 1
        fi
        # A true/false default marks a boolean: catch --use-gpu yes early.
        if [[ ${!__po_name} == true || ${!__po_name} == false ]] && [[ $2 != true && $2 != false ]]; then
          echo "parse_options.sh: option $1 takes true or false, got '$2'" >&2
          exit 1
        fi
        printf -v "$__po_name" '%s' "$2"
      fi
      shift 2 ;;
    *)
      break ;;
  esac
done

unset __po_i __po_file __po_name
