#!/usr/bin/env bash
# Runs the official IIIF Image API validator (github.com/IIIF/image-validator) at level 2 against a Jacket started
# here on a fresh data folder, with the validator's test image uploaded as a cover.
#
#   git clone https://github.com/IIIF/image-validator /tmp/image-validator    # outside this repository
#   apt-get install python3-lxml python3-pil python3-bottle python3-magic      # its dependencies, from Debian
#   scripts/iiif-validate.sh /tmp/image-validator
#
# The exit status is the validator's: the number of failed tests (0 when all pass).
set -euo pipefail
validator=${1:?usage: scripts/iiif-validate.sh PATH-TO-image-validator}
cd "$(dirname "$0")/.."
port=${PORT:-18425}
data=$(mktemp -d)
token=validator-run
PORT=$port JACKET_DATA_DIR=$data JACKET_ADMIN_TOKEN=$token LOG_LEVEL=warn node_modules/.bin/node src/main.ts serve &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
# The validator checks the colours of a 10×10 grid of squares in this 1000×1000 image.
id=$(curl -fs -H "Authorization: Bearer $token" -F "data=@$validator/html/67352ccc-d1b0-11e1-89ae-279075081939.png;type=image/png" \
  "http://127.0.0.1:$port/b/upload2" | sed -E 's/.*"id": ?([0-9]+).*/\1/')
cd "$validator"
PYTHONPATH=. /usr/bin/python3 iiif-validate.py -s "127.0.0.1:$port" -p iiif/3 -i "cover-$id" --version=3.0 --level 2 "${@:2}"
