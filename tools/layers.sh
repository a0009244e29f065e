#!/bin/sh
# layers.sh RULE [BUILD]: checks that the source tree keeps its layers.
#
#   cmd/  ->  core/  ->  stream/, store/, notify/  ->  lib/
#
# A file may use its own layer and the layers below it; stream/, store/ and
# notify/ sit side by side and never use each other.  A "unit" is a .c file
# with its .h (core/pass.c and core/pass.h are core/pass).
#
# RULE is one of
#   includes        no #include "..." of a header of a layer above or beside
#   links           no object needs a symbol that an object of a layer above
#                   or beside its own defines (BUILD/obj/*/*.o, read with nm):
#                   so libxr.a links without cmd/, and an extern declaration
#                   cannot go round the includes
#   cycles          no two units use each other (through the symbols their
#                   objects define and need), directly or round a loop
#
# Every violation is printed on its own line; a violation listed in KNOWN
# below is printed as "known:" and tolerated, and a KNOWN entry that no
# longer happens fails too, so the list can only shrink.  Run from anywhere;
# BUILD defaults to build/rel.  Exit 0 when nothing new was found.
set -u
cd "$(dirname "$0")/.." || exit 2
rule=${1:?usage: layers.sh includes|links|cycles [BUILD]}
build=${2:-build/rel}

# Violations tolerated for now, one per line, "RULE: violation" as the check
# prints it (without the details in brackets).  Remove a line when its
# violation is gone.
KNOWN="
"

LAYERS="lib stream store notify core cmd"

# "FILE HEADER" for every #include "..." of the layers' files, the header's
# path resolved from the tree's top.
include_edges() {
	for d in $LAYERS; do
		[ -d "$d" ] || continue
		for f in "$d"/*.c "$d"/*.h; do
			[ -f "$f" ] || continue
			sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
				while read -r inc; do echo "$f $d/$inc"; done
		done
	done | awk '{
		# resolve the "../" of the included path
		n = split($2, p, "/"); m = 0
		for (i = 1; i <= n; i++) {
			if (p[i] == "..") m--
			else if (p[i] != ".") q[++m] = p[i]
		}
		s = q[1]; for (i = 2; i <= m; i++) s = s "/" q[i]
		print $1, s
	}'
}

# "FROM TO SYMBOL" for every global symbol an object needs and another defines.
link_edges() {
	objs=""
	for d in $LAYERS; do
		for o in "$build/obj/$d"/*.o; do
			# an object whose source is gone is left over from an older tree
			src=${o#"$build/obj/"}
			[ -f "$o" ] && [ -f "${src%.o}.c" ] && objs="$objs $o"
		done
	done
	if [ -z "$objs" ]; then
		echo "layers.sh: no objects under $build/obj: build first" >&2
		exit 2
	fi
	# shellcheck disable=SC2086 # one word per object
	nm -A $objs | awk -v b="$build/obj/" '
		{
			f = $1; sub(/:.*/, "", f); sub(b, "", f); sub(/\.o$/, "", f)
			if ($(NF - 1) == "U") { need[++n] = f; sym[n] = $NF }
			else if ($(NF - 1) ~ /^[TDBRCVWG]$/) def[$NF] = f
		}
		END {
			for (i = 1; i <= n; i++)
				if ((sym[i] in def) && def[sym[i]] != need[i])
					print need[i], def[sym[i]], sym[i]
		}'
}

# Layer rule over "FROM TO [WHY]" lines: prints "FROM -> TO" when TO's layer
# is above FROM's or beside it.
layer_check() {
	awk -v layers="$LAYERS" '
		BEGIN {
			n = split(layers, l, " ")
			for (i = 1; i <= n; i++) rank[l[i]] = i
			# stream, store and notify share a rank
			rank["store"] = rank["stream"]; rank["notify"] = rank["stream"]
		}
		{
			a = $1; sub(/\/.*/, "", a); b = $2; sub(/\/.*/, "", b)
			if (!(b in rank) || a == b) next
			if (rank[b] > rank[a] || rank[b] == rank[a]) {
				k = $1 " -> " $2
				if (!(k in seen)) { seen[k] = 1; out[++m] = k; why[k] = $3 }
				else if ($3 != "") why[k] = why[k] "," $3
			}
		}
		END { for (i = 1; i <= m; i++) print out[i] (why[out[i]] != "" ? " (" why[out[i]] ")" : "") }'
}

# Cycle rule over "FROM TO SYMBOL" lines: every set of units that reach
# each other (a loop of two or more) is one line "A <-> B <-> ...", followed
# by the direct uses inside it, indented, with the symbols each one needs.
cycle_check() {
	awk '
		$1 != $2 {
			e[$1, $2] = 1; u[$1] = 1; u[$2] = 1
			if (!(($1, $2) in d)) { d[$1, $2] = $3; de[++m] = $1 SUBSEP $2 }
			else d[$1, $2] = d[$1, $2] " " $3
		}
		END {
			n = 0; for (x in u) v[++n] = x
			for (a = 1; a <= n; a++) for (b = a + 1; b <= n; b++)
				if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
			for (k = 1; k <= n; k++)
				for (i = 1; i <= n; i++) {
					if (!((v[i], v[k]) in e)) continue
					for (j = 1; j <= n; j++)
						if ((v[k], v[j]) in e) e[v[i], v[j]] = 1
				}
			for (i = 1; i <= n; i++) {
				if (v[i] in done) continue
				cnt = 1; grp[v[i]] = v[i]
				for (j = 1; j <= n; j++)
					if (j != i && ((v[i], v[j]) in e) && ((v[j], v[i]) in e)) {
						done[v[j]] = 1; grp[v[j]] = v[i]; cnt++
					}
				if (cnt > 1) leader[v[i]] = 1
			}
			for (i = 1; i <= n; i++) {
				if (!(v[i] in leader)) continue
				l = v[i]; line = ""; nm = 0
				for (j = 1; j <= n; j++) if (grp[v[j]] == l) mem[++nm] = v[j]
				for (a = 1; a <= nm; a++) line = line (a > 1 ? " <-> " : "") mem[a]
				print line
				for (k = 1; k <= m; k++) {
					split(de[k], p, SUBSEP)
					if (grp[p[1]] == l && grp[p[2]] == l)
						print "    " p[1] " -> " p[2] (d[de[k]] != "" ? ": " d[de[k]] : "")
				}
			}
		}'
}

case $rule in
includes) found=$(include_edges | layer_check) ;;
links) found=$(link_edges | layer_check) ;;
cycles) found=$(link_edges | cycle_check) ;;
*) echo "layers.sh: no rule $rule" >&2; exit 2 ;;
esac

# The violations are the unindented lines; indented ones are their details.
new=0
while IFS= read -r v; do
	case $v in
	'') continue ;;
	' '*) echo "$v"; continue ;;
	esac
	key=${v%% (*}
	if printf '%s\n' "$KNOWN" | grep -qxF "$rule: $key"; then
		echo "known: $rule: $v"
	else
		echo "$rule: $v"
		new=$((new + 1))
	fi
done <<EOF
$found
EOF
# A known violation that no longer happens: the list must shrink with it.
stale=0
while IFS= read -r k; do
	case $k in "$rule: "*) ;; *) continue ;; esac
	if ! printf '%s\n' "$found" | sed 's/ (.*//' | grep -qxF "${k#"$rule: "}"; then
		echo "stale: $k is listed in tools/layers.sh KNOWN but no longer happens"
		stale=$((stale + 1))
	fi
done <<EOF
$KNOWN
EOF
[ $new -eq 0 ] && [ $stale -eq 0 ]
