#!/usr/bin/env bash
# Makes the two texts the automatic choice was checked on without being tuned to them (BENCHMARKS.md,
# "The rule on texts it was not made on"), from Debian's packages; they are not shipped with charnn.
#   english-2mb.txt  the first 2,000,000 bytes of the King James Bible (bible-kjv), cut at a line end
#   chinese.txt      Debian's Chinese fortunes (fortunes-zh), modern Chinese prose with some English,
#                    its terminal colour codes removed
# Usage: bash scripts/unseen-corpora.sh <folder>   (installs bible-kjv and fortunes-zh if missing; root)
set -euo pipefail
out=${1:?usage: bash scripts/unseen-corpora.sh <folder>}
mkdir -p "$out"
if ! command -v bible >/dev/null || [ ! -f /usr/share/games/fortunes/chinese ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bible-kjv fortunes-zh
fi
bible -f gen1:1-rev22:21 > "$out/kjv.txt"
head -c 2000000 "$out/kjv.txt" | sed '$d' > "$out/english-2mb.txt"
rm "$out/kjv.txt"
sed 's/\x1b\[[0-9;]*m//g' /usr/share/games/fortunes/chinese > "$out/chinese.txt"
ls -l "$out/english-2mb.txt" "$out/chinese.txt"
