#!/bin/sh
# Every C file of the tree formatted as .clang-format says (tables are fenced
# with "clang-format off/on"). Prints each file that differs; fails if any does.
# Debian 12's clang-format is version 14; other versions format differently.
cd "$(dirname "$0")/.." || exit 2
fmt=$(command -v clang-format-14 || command -v clang-format) || {
	echo "check-format: clang-format not installed (scripts/deps.sh installs it)"
	exit 1
}
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h')
else
	files=$(find cpu mmu chipset firmware frontend testsuite -name '*.[ch]')
fi
bad=0
for f in $files; do
	[ -f "$f" ] || continue
	if ! "$fmt" --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
echo "check-format: $(echo "$files" | wc -w) files, $bad not formatted"
[ "$bad" -eq 0 ]
