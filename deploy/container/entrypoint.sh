#!/bin/sh
# A service name runs that service's compiled JavaScript as PID 1's only child (exec: signals reach
# it directly); anything else is an sm2ca CLI command, e.g. `migrate` or `key backup`.
set -eu
case "${1:-}" in
  ra | ca | km | ocsp | crl)
    exec node --conditions=sm2ca-compiled "/opt/sm2ca/services/$1/dist/main.js"
    ;;
  *)
    exec node /opt/sm2ca/cli/bin/sm2ca.js "$@"
    ;;
esac
