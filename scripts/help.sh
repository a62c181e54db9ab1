# Sourced by the scripts in this folder first thing: `scripts/X --help` (or -h) prints the
# comment at the top of X, which says what it does and how to call it, and exits 0.
case "${1:-}" in
  -h | --help)
    sed -n '2,/^[^#]/{/^#/!q;s/^# \{0,1\}//;p}' "$0"
    exit 0
    ;;
esac
