#!/bin/sh
# An index page linking every report directory under $1 (for GitLab Pages or a web server).
set -eu
dir=${1:?usage: ci/report-index.sh REPORTS_DIR}
echo "<!doctype html><meta charset=utf-8><title>tracenic nightlies</title><h1>tracenic nightlies</h1><ul>"
for d in $(ls -1r "$dir"); do
	[ -f "$dir/$d/index.html" ] || continue
	summary=$(sed -n 's/.*<h1>\(.*\)<\/h1>.*/\1/p' "$dir/$d/index.html" | head -n 1)
	echo "<li><a href=\"$d/index.html\">$d</a> — $summary</li>"
done
echo "</ul>"
