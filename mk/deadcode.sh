#!/usr/bin/env bash
# deadcode.sh DEADCODE ALLOWLIST: fails when a function of this module is
# reached by none of our binaries on any OS we ship, unless the allowlist
# keeps it on purpose; fails too when an allowlist entry matches nothing.
#
# golang.org/x/tools/cmd/deadcode walks the call graph from every main
# package (tests are not roots: API only tests call is dead). Its answer
# holds for one GOOS and tag set, so it runs once per OS, and a function is
# dead only when it is dead on all of them that compile its file. Calls through reflection keep
# all exported methods of a type alive; deadcode cannot see those.
#
# Allowlist lines: PATTERN  # why. PATTERN is PKG.FUNC (PKG relative to the
# module, a method as PKG.Type.Method) or PKG/... for a whole package and
# its subpackages.
set -euo pipefail
deadcode=$1
allow=$2
module=$(go list -m)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fmt='{{range .Funcs}}{{$.Path}}.{{.Name}} {{.Position.File}}{{"\n"}}{{end}}'
files='{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .CgoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}'
configs=()
run() { # name, env, tags
	local name=$1 env=$2 tags=$3
	configs+=("$name")
	echo "== deadcode $name ($env${tags:+ -tags $tags})"
	# Functions dead in this configuration, as "PKG.FUNC FILE".
	env $env "$deadcode" ${tags:+-tags $tags} -f "$fmt" ./... | sed "s|^$module/||" | sort -u >"$tmp/$name.dead"
	# The files this configuration compiles.
	env $env go list ${tags:+-tags $tags} -f "$files" ./... | sed "s|^$PWD/||" | sort -u >"$tmp/$name.files"
}
run linux "GOOS=linux CGO_ENABLED=1" gui
run windows "GOOS=windows CGO_ENABLED=0" ""
run darwin "GOOS=darwin CGO_ENABLED=0" ""

# Dead: dead in every configuration that compiles its file.
for c in "${configs[@]}"; do
	awk -v c="$c" '{ print "F", c, $1 }' "$tmp/$c.files"
	awk -v c="$c" '{ print "D", c, $1, $2 }' "$tmp/$c.dead"
done | awk -v list="${configs[*]}" '
	BEGIN { nc = split(list, cs, " ") }
	$1 == "F" { compiled[$2, $3] = 1; next }
	{ dead[$2, $3 " " $4] = 1; file[$3 " " $4] = $4 }
	END {
		# A function and its file: per-OS variants of one name are apart.
		for (k in file) {
			live = 0
			for (i = 1; i <= nc; i++) if (compiled[cs[i], file[k]] && !dead[cs[i], k]) live = 1
			if (!live) { split(k, w, " "); print w[1] }
		}
	}
' | sort -u >"$tmp/dead"

# Patterns, without comments and blank lines.
sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$allow" >"$tmp/patterns"

awk '
	function matches(p, f) {
		if (p ~ /\/\.\.\.$/) {
			pkg = substr(p, 1, length(p) - 4)
			# f is PKG.FUNC; its package is PKG or below it.
			return index(f, pkg ".") == 1 || index(f, pkg "/") == 1
		}
		return f == p
	}
	FILENAME == ARGV[1] { pat[++np] = $1; next }
	{
		kept = 0
		for (i = 1; i <= np; i++) if (matches(pat[i], $0)) { used[i] = 1; kept = 1 }
		if (!kept) { print "deadcode: " $0 " is reached by no binary on linux, windows or darwin"; bad = 1 }
	}
	END {
		for (i = 1; i <= np; i++) if (!used[i]) { print "deadcode: allowlist entry " pat[i] " matches no dead function: remove it"; bad = 1 }
		exit bad
	}
' "$tmp/patterns" "$tmp/dead" || {
	echo "deadcode: delete the code, move a test-only helper into a _test.go file, or add it to $allow with the reason"
	exit 1
}
echo "deadcode: $(wc -l <"$tmp/dead") functions dead on every OS, all in $allow"
