#!/bin/sh
# install.sh: installs, uninstalls, and rolls back an install of xrecover.
#
#   sh tools/install.sh install      (make install)
#   sh tools/install.sh uninstall    (make uninstall)
#   sh tools/install.sh rollback DIR (make rollback-install BACKUP=DIR)
#
# Where things go comes from the environment, as the Makefile passes it:
# DESTDIR (default empty), PREFIX (/usr/local), BINDIR, UNITDIR, SYSCONFDIR,
# MANDIR, COMPLETIONDIR, SYSUSERSDIR, DOCDIR, BACKUPDIR; and what to install
# from BIN, MAN, COMPLETION (the built files) and SRC (the source tree).
#
# Install backs up every file it replaces (only those that exist and differ,
# in content or mode) into BACKUPDIR/YYYYMMDDTHHMMSSZ/files/, at their paths
# below DESTDIR and with their modes, records in "new" the files and in
# "new-dirs" the directories that did not exist, and writes rollback.sh
# there: run, it puts back the replaced files, removes the new files, its own
# backup folder and the new directories left empty: the tree as it was.
# Everything is written before the first file is replaced, so an install
# that stops half way is rolled back the same way.
#
# Install never writes config.json, and uninstall never removes it nor the
# journal: only the files install puts, and the directories left empty.
set -eu

die() {
	echo "install.sh: $*" >&2
	exit 1
}

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINDIR=${BINDIR:-$PREFIX/bin}
SYSCONFDIR=${SYSCONFDIR:-/etc}
MANDIR=${MANDIR:-$PREFIX/share/man}
COMPLETIONDIR=${COMPLETIONDIR:-$PREFIX/share/bash-completion/completions}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/xrecover}
BACKUPDIR=${BACKUPDIR:-$PREFIX/share/xrecover/backup}
case $PREFIX in
/usr | /usr/local)
	UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
	SYSUSERSDIR=${SYSUSERSDIR:-$PREFIX/lib/sysusers.d} ;;
*)
	UNITDIR=${UNITDIR:-$SYSCONFDIR/systemd/system}
	SYSUSERSDIR=${SYSUSERSDIR:-$SYSCONFDIR/sysusers.d} ;;
esac
case $DESTDIR in "" | /*) ;; *) DESTDIR=$(pwd)/$DESTDIR ;; esac
SRC=${SRC:-.}
BIN=${BIN:-$SRC/xrecover}
MAN=${MAN:-}
COMPLETION=${COMPLETION:-}

nl='
'
tab=$(printf '\t')
for v in "$DESTDIR" "$PREFIX" "$BINDIR" "$UNITDIR" "$SYSCONFDIR" "$MANDIR" \
	"$COMPLETIONDIR" "$SYSUSERSDIR" "$DOCDIR" "$BACKUPDIR" "$SRC" "$BIN" "$MAN" \
	"$COMPLETION"; do
	case $v in *"$nl"* | *"$tab"*) die "a path with a newline or a tab in it: refused" ;; esac
done

for v in "$PREFIX" "$BINDIR" "$UNITDIR" "$SYSCONFDIR" "$MANDIR" "$COMPLETIONDIR" \
	"$SYSUSERSDIR" "$DOCDIR" "$BACKUPDIR"; do
	case $v in /*) ;; *) die "'$v' is not an absolute path" ;; esac
done
# The units name the binary as it is, unquoted, and one inside sh -c '...'.
case $BINDIR in *[!A-Za-z0-9/._+-]*)
	die "BINDIR '$BINDIR': the units name the binary; use letters, digits and / . _ + - only" ;;
esac

# The files install puts, one a line: MODE, SOURCE, DESTINATION (below
# DESTDIR), separated by tabs.  SOURCE "unit:FILE" is deploy/FILE with the
# binary's installed path in it.
manifest() {
	printf '%s\t%s\t%s\n' 0755 "$BIN" "$BINDIR/xrecover"
	for u in xrecover.service xrecover.timer xrecover-report.service \
		xrecover-report.timer xrecover-serve.service; do
		printf '%s\t%s\t%s\n' 0644 "unit:$u" "$UNITDIR/$u"
	done
	printf '%s\t%s\t%s\n' 0644 "$SRC/deploy/xrecover.sysusers" "$SYSUSERSDIR/xrecover.conf"
	printf '%s\t%s\t%s\n' 0644 "$SRC/deploy/config.example.json" "$SYSCONFDIR/xrecover/config.example.json"
	printf '%s\t%s\t%s\n' 0644 "$SRC/deploy/xrecover.logrotate" "$SYSCONFDIR/logrotate.d/xrecover"
	printf '%s\t%s\t%s\n' 0644 "unit:consumer-dropin.conf" "$DOCDIR/consumer-dropin.conf"
	[ -z "$MAN" ] || printf '%s\t%s\t%s\n' 0644 "$MAN" "$MANDIR/man1/xrecover.1"
	[ -z "$COMPLETION" ] || printf '%s\t%s\t%s\n' 0644 "$COMPLETION" "$COMPLETIONDIR/xrecover"
}

# quote STRING: STRING as one shell word
quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# sed_escape STRING: STRING as the right-hand side of s|...|...|
sed_escape() {
	printf '%s' "$1" | sed 's/[\\|&]/\\&/g'
}

# render SOURCE OUT: the file to install, made in OUT
render() {
	case $1 in
	unit:*)
		sed "s|/usr/local/bin/xrecover|$(sed_escape "$BINDIR")/xrecover|g" \
			"$SRC/deploy/${1#unit:}" >"$2" ;;
	*)
		[ -f "$1" ] || die "'$1' is missing: build it first (make)"
		cat "$1" >"$2" ;;
	esac
}

# mode_of FILE: its permission bits, as 0755
mode_of() {
	printf '0%s\n' "$(stat -c %a "$1")"
}

# missing_dirs DIR: DIR and its parents that do not exist, the outermost first
missing_dirs() {
	d=$1
	out=""
	while [ -n "$d" ] && [ "$d" != / ] && [ ! -e "$DESTDIR$d" ]; do
		out="$d$nl$out"
		d=$(dirname "$d")
	done
	printf '%s' "$out"
}

do_install() {
	stage=$(mktemp -d "${TMPDIR:-/tmp}/xrecover-install.XXXXXX")
	trap 'rm -rf "$stage"' EXIT
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
	bk=$BACKUPDIR/$stamp
	i=1
	while [ -e "$DESTDIR$bk" ]; do
		bk=$BACKUPDIR/$stamp.$i
		i=$((i + 1))
	done

	# The plan: which files are new, which differ, which directories to make.
	: >"$stage/new"
	: >"$stage/replaced"
	: >"$stage/dirs"
	missing_dirs "$bk" >>"$stage/dirs"
	n=0
	manifest >"$stage/manifest"
	while IFS=$tab read -r mode src dst; do
		n=$((n + 1))
		render "$src" "$stage/$n"
		chmod "$mode" "$stage/$n"
		missing_dirs "$(dirname "$dst")" >>"$stage/dirs"
		if [ -d "$DESTDIR$dst" ] && [ ! -L "$DESTDIR$dst" ]; then
			die "'$DESTDIR$dst' is a directory"
		elif [ ! -e "$DESTDIR$dst" ] && [ ! -L "$DESTDIR$dst" ]; then
			echo "$dst" >>"$stage/new"
		elif [ -L "$DESTDIR$dst" ] || ! cmp -s "$stage/$n" "$DESTDIR$dst" ||
			[ "$(mode_of "$DESTDIR$dst")" != "$mode" ]; then
			echo "$dst" >>"$stage/replaced"
		fi
	done <"$stage/manifest"
	# A directory two files need is made once.
	awk '!seen[$0]++' "$stage/dirs" >"$stage/new-dirs"
	if [ ! -s "$stage/new" ] && [ ! -s "$stage/replaced" ]; then
		echo "every file is installed already: nothing changed, no backup made"
		return 0
	fi

	# The backup, complete before anything is replaced.
	mkdir -p "$DESTDIR$bk/files"
	cp "$stage/new" "$stage/new-dirs" "$stage/replaced" "$DESTDIR$bk/"
	while IFS= read -r dst; do
		mkdir -p "$DESTDIR$bk/files$(dirname "$dst")"
		cp -P -p "$DESTDIR$dst" "$DESTDIR$bk/files$dst"
	done <"$stage/replaced"
	write_rollback "$DESTDIR$bk/rollback.sh" "$bk"

	# The files, each replaced in one rename.
	n=0
	while IFS=$tab read -r mode src dst; do
		n=$((n + 1))
		grep -qxF "$dst" "$stage/new" "$stage/replaced" || continue
		mkdir -p "$DESTDIR$(dirname "$dst")"
		cp -p "$stage/$n" "$DESTDIR$dst.xrecover-new"
		mv -f "$DESTDIR$dst.xrecover-new" "$DESTDIR$dst"
		echo "  INSTALL	$DESTDIR$dst"
	done <"$stage/manifest"
	echo "backup and rollback: $DESTDIR$bk/rollback.sh" \
		"($(wc -l <"$stage/replaced" | tr -d ' ') replaced, $(wc -l <"$stage/new" | tr -d ' ') new)"

	if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ]; then
		if command -v systemd-sysusers >/dev/null 2>&1; then
			systemd-sysusers "$SYSUSERSDIR/xrecover.conf"
		fi
		if [ -d /run/systemd/system ]; then
			systemctl daemon-reload
		fi
	fi
}

# write_rollback FILE BACKUP: the script that undoes this install
write_rollback() {
	cat >"$1" <<EOF
#!/bin/sh
# rollback.sh: undoes the install that wrote it: puts back the files it
# replaced (files/, with their modes), removes the files it added (new),
# this folder, and the directories it made (new-dirs) that are empty.
set -eu
root=$(quote "$DESTDIR")
here=$(quote "$2")
EOF
	cat >>"$1" <<'EOF'
cd "$root$here"
# Rolled back out of order, an older install would bring back files from
# before a later one, and the later one's rollback could not undo it.
newest=$(cd .. && for b in *; do [ ! -f "$b/rollback.sh" ] || echo "$b"; done |
	LC_ALL=C sort | tail -n 1)
if [ "$newest" != "$(basename "$here")" ] && [ -z "${FORCE:-}" ]; then
	echo "rollback.sh: a later install's backup is there, $root$(dirname "$here")/$newest: roll that back first (or FORCE=1)" >&2
	exit 1
fi
while IFS= read -r f; do
	cp -P -p "files$f" "$root$f.xrecover-old"
	mv -f "$root$f.xrecover-old" "$root$f"
	echo "  RESTORE	$root$f"
done <replaced
while IFS= read -r f; do
	rm -f "$root$f"
	echo "  REMOVE	$root$f"
done <new
dirs=$(cat new-dirs)
cd /
rm -rf "$root$here"
# The deepest first; a directory someone put files in stays.
printf '%s\n' "$dirs" | LC_ALL=C sort -r | while IFS= read -r d; do
	[ -z "$d" ] || rmdir "$root$d" 2>/dev/null || true
done
echo "rolled back: $root$here"
EOF
	chmod 0755 "$1"
}

do_uninstall() {
	manifest | while IFS=$tab read -r mode src dst; do
		: "$mode" "$src"
		if [ -e "$DESTDIR$dst" ] || [ -L "$DESTDIR$dst" ]; then
			rm -f "$DESTDIR$dst"
			echo "  REMOVE	$DESTDIR$dst"
		fi
	done
	# Its own directories, when nothing else is in them.
	for d in "$DOCDIR" "$SYSCONFDIR/xrecover"; do
		rmdir "$DESTDIR$d" 2>/dev/null || true
	done
	if [ -d "$DESTDIR$BACKUPDIR" ]; then
		echo "install backups kept: $DESTDIR$BACKUPDIR (rm -r it when they are no longer wanted)"
	fi
}

case ${1:-} in
install) do_install ;;
uninstall) do_uninstall ;;
rollback)
	[ -n "${2:-}" ] || die "usage: install.sh rollback BACKUP_DIR"
	[ -f "$2/rollback.sh" ] || die "'$2/rollback.sh' not found"
	sh "$2/rollback.sh" ;;
*)
	die "usage: install.sh install|uninstall|rollback BACKUP_DIR" ;;
esac
