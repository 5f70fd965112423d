#!/usr/bin/env bash
# Prints docs/cli.md from the `ganglion` executable's own --help texts, so the reference cannot
# drift from the code:  scripts/cli-reference.sh build/editor-cli/ganglion > docs/cli.md
set -euo pipefail
ganglion=${1:?usage: cli-reference.sh PATH/TO/ganglion}
echo "# Command-line reference"
echo
echo "Generated from each command's \`--help\` by \`scripts/cli-reference.sh build/editor-cli/ganglion > docs/cli.md\`;"
echo "a test fails when it is out of date."
echo
echo '```'
"$ganglion" --help
echo '```'
# Every command the top-level help lists, so a new one cannot be left out.
commands=$("$ganglion" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}')
for c in $commands; do
  echo
  echo "## ganglion $c"
  echo
  echo '```'
  "$ganglion" "$c" --help
  echo '```'
done
