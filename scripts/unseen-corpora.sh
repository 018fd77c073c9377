#!/usr/bin/env bash
# Makes the texts the automatic choice was measured on besides tinyshakespeare and corpora/ (BENCHMARKS.md,
# "The rule on texts it was not made on"), from Debian's packages; they are not shipped with charnn.
#   english-2mb.txt  the first 2,000,000 bytes of the King James Bible (bible-kjv), cut at a line end
#   fortunes-en.txt  the first 2,000,000 bytes of Debian's English fortunes (fortunes, fortunes-min), all
#                    files in file-name order, cut at a line end: 112 distinct characters
#   chinese.txt      Debian's Chinese fortunes (fortunes-zh), modern Chinese prose with some English,
#                    its terminal colour codes removed
#   russian.txt      Debian's Russian fortunes (fortunes-ru), all of them in file-name order: Cyrillic
#                    prose and verse, 166 distinct characters
#   japanese.txt     Debian's Japanese manual pages (manpages-ja), their text with the roff requests
#                    and font escapes removed: Japanese with command names, 2,508 distinct characters
#   zh300.txt, zh1200.txt   chinese.txt with all but its 300 (1,200) most frequent characters replaced by
#                    '□': the same text with a vocabulary of 301 (1,201), for the rule's depth test
# (Ties in frequency keep the character seen first: sort is stable.)
# Usage: bash scripts/unseen-corpora.sh <folder>   (installs bible-kjv, fortunes, fortunes-zh, fortunes-ru and manpages-ja if missing; root)
set -euo pipefail
out=${1:?usage: bash scripts/unseen-corpora.sh <folder>}
mkdir -p "$out"
if ! command -v bible >/dev/null || [ ! -f /usr/share/games/fortunes/cookie ] || [ ! -f /usr/share/games/fortunes/chinese ] || [ ! -d /usr/share/games/fortunes/ru ] || [ ! -d /usr/share/man/ja ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bible-kjv fortunes fortunes-zh fortunes-ru manpages-ja
fi
bible -f gen1:1-rev22:21 > "$out/kjv.txt"
head -c 2000000 "$out/kjv.txt" | sed '$d' > "$out/english-2mb.txt"
rm "$out/kjv.txt"
cat $(dpkg -L fortunes fortunes-min | grep '^/usr/share/games/fortunes/[^/]*$' | grep -v '\.dat$\|\.u8$' | LC_ALL=C sort) | head -c 2000000 | sed '$d' > "$out/fortunes-en.txt"
sed 's/\x1b\[[0-9;]*m//g' /usr/share/games/fortunes/chinese > "$out/chinese.txt"
(cd /usr/share/games/fortunes/ru && for f in $(ls | grep -v '\.dat$\|\.u8$' | sort); do cat "$f"; done) > "$out/russian.txt"
for f in $(find /usr/share/man/ja -name '*.gz' | sort); do zcat "$f"; done | grep -v "^[.']" |
  sed -e 's/\\f[A-Z(]*[A-Z]*//g' -e 's/\\-/-/g' -e 's/\\(..//g' -e 's/\\&//g' -e 's/\\e/\\/g' > "$out/japanese.txt"
for k in 300 1200; do
  node -e '
    const fs = require("fs");
    const [file, k, out] = process.argv.slice(1);
    const text = [...fs.readFileSync(file, "utf8")];
    const count = new Map();
    for (const c of text) count.set(c, (count.get(c) ?? 0) + 1);
    const kept = new Set([...count].sort((a, b) => b[1] - a[1]).slice(0, Number(k)).map(([c]) => c));
    fs.writeFileSync(out, text.map((c) => (kept.has(c) ? c : "\u25a1")).join(""));
  ' "$out/chinese.txt" "$k" "$out/zh$k.txt"
done
ls -l "$out"/{english-2mb,fortunes-en,chinese,russian,japanese,zh300,zh1200}.txt
