#!/bin/sh
# t0024-deploy: deploy/ and tools/install.sh.  Every unit, and the consumer
# drop-in on an example service, installed into a DESTDIR, passes
# `systemd-analyze verify` without a word; the example config loads and
# works against a real Redis; install backs up what it replaces, and its
# rollback script brings back the tree byte for byte and mode for mode (a
# second install over a changed tree; a first install into an empty
# DESTDIR); uninstall removes what install put and nothing else; the
# Makefile's install, rollback-install and uninstall place things by
# PREFIX and DESTDIR.
# Case bodies are single-quoted and expanded by test_case.
# shellcheck disable=SC2016
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# Nothing from the caller (make passes its command-line variables on) may
# steer where install puts things.
unset DESTDIR PREFIX BINDIR SYSCONFDIR UNITDIR SYSUSERSDIR MANDIR COMPLETIONDIR \
	DOCDIR BACKUPDIR BIN MAN COMPLETION SRC FORCE

# Stand-ins for the generated man page and completion, and a build of our own.
printf '.TH XRECOVER 1\n' >"$TMP"/xrecover.1
printf '# completion\n' >"$TMP"/xrecover.bash
cp "$XR" "$TMP"/xrecover
export INSTALLER="$TOP/tools/install.sh"

# inst DESTDIR install|uninstall|rollback [DIR]: install.sh with our build
inst() {
	DESTDIR=$1 SRC=$TOP BIN=$TMP/xrecover MAN=$TMP/xrecover.1 \
		COMPLETION=$TMP/xrecover.bash sh "$INSTALLER" "$2" ${3:+"$3"}
}

# snap DIR: every path below DIR with its type, mode, size and link target,
# then every file's sha256
snap() {
	(cd "$1" && find . -printf '%y %m %s %p -> %l\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}

# The destinations of a default install (PREFIX=/usr/local), one a line.
INSTALLED='/usr/local/bin/xrecover
/usr/local/lib/systemd/system/xrecover.service
/usr/local/lib/systemd/system/xrecover.timer
/usr/local/lib/systemd/system/xrecover-report.service
/usr/local/lib/systemd/system/xrecover-report.timer
/usr/local/lib/systemd/system/xrecover-serve.service
/usr/local/lib/sysusers.d/xrecover.conf
/etc/xrecover/config.example.json
/etc/logrotate.d/xrecover
/usr/local/share/doc/xrecover/consumer-dropin.conf
/usr/local/share/man/man1/xrecover.1
/usr/local/share/bash-completion/completions/xrecover'
export INSTALLED

# verify_units DESTDIR OUTDIR: the installed units and an example consumer
# with the installed drop-in, the binary's path made DESTDIR's (verify
# checks that it exists), through systemd-analyze verify; its output in
# OUTDIR/verify.out
verify_units() {
	u=$2/units
	mkdir -p "$u/example-consumer.service.d"
	for f in "$1"/usr/local/lib/systemd/system/*; do
		sed "s|/usr/local/bin/xrecover|$1/usr/local/bin/xrecover|g" "$f" >"$u/${f##*/}"
	done
	printf '[Unit]\nDescription=a consumer\n\n[Service]\nExecStart=/bin/sleep infinity\n' \
		>"$u/example-consumer.service"
	sed "s|/usr/local/bin/xrecover|$1/usr/local/bin/xrecover|g" \
		"$1"/usr/local/share/doc/xrecover/consumer-dropin.conf \
		>"$u/example-consumer.service.d/xrecover.conf"
	# Documentation=man:xrecover(1) is looked up with man(1), in DESTDIR's
	# pages; without man(1) that check cannot be made.
	man=--man=yes
	command -v man >/dev/null 2>&1 || man=--man=no
	MANPATH=$1/usr/local/share/man systemd-analyze verify "$man" \
		"$u"/*.service "$u"/*.timer >"$2/verify.out" 2>&1 || true
}

test_case 'systemd-analyze verify: every unit and the drop-in, installed, without a word' '
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	D=$TMP/verify/root
	mkdir -p "$D"
	inst "$D" install >/dev/null
	verify_units "$D" "$TMP/verify"
	assert_lines 0 "$TMP/verify/verify.out"
	assert_eq 6 "$(ls "$TMP"/verify/units/*.service "$TMP"/verify/units/*.timer | wc -l | tr -d " ")" units
	assert_eq 7 "$(ls "$TMP"/verify/units/*.service "$TMP"/verify/units/*.timer \
		"$TMP"/verify/units/*.d/*.conf | wc -l | tr -d " ")" "units and drop-in"
'

test_case 'systemd-analyze verify speaks of a bad key, in a unit and in the drop-in' '
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	D=$TMP/verify2/root
	mkdir -p "$D"
	inst "$D" install >/dev/null
	echo "Persistant=yes" >>"$D"/usr/local/lib/systemd/system/xrecover.timer
	echo "ExecStopPre=/bin/true" >>"$D"/usr/local/share/doc/xrecover/consumer-dropin.conf
	verify_units "$D" "$TMP/verify2"
	assert_grep "xrecover.timer:.*Persistant" "$TMP/verify2/verify.out"
	assert_grep "example-consumer.service.d/xrecover.conf:.*ExecStopPre" "$TMP/verify2/verify.out"
'

test_case 'systemd-analyze security: the exposure of xrecover.service (not a pass mark)' '
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	[ -d "$TMP/verify/units" ] || skip "the verify case did not run"
	systemd-analyze security --offline=yes "$TMP/verify/units/xrecover.service" >"$TMP/security.out" 2>&1 || true
	assert_grep "Overall exposure level for xrecover.service: [0-9.]+" "$TMP/security.out"
	sed -n "s/.*Overall exposure level for xrecover.service: \([0-9.]*\).*/\1/p" \
		"$TMP/security.out" >"$TMP/exposure"
'
if [ -s "$TMP/exposure" ]; then
	echo "# systemd-analyze security: xrecover.service exposure $(cat "$TMP/exposure")"
fi

test_case 'the installed sysusers.d file makes the system user xrecover' '
	command -v systemd-sysusers >/dev/null || skip "systemd-sysusers is not installed"
	D=$TMP/su/root
	mkdir -p "$D/etc"
	inst "$D" install >/dev/null
	systemd-sysusers --root="$D" "$D"/usr/local/lib/sysusers.d/xrecover.conf >"$TMP/su.out" 2>&1
	assert_grep "^xrecover:x:[0-9]+:[0-9]+:[^:]*:/var/lib/xrecover:[^:]*nologin$" "$D/etc/passwd"
	assert_grep "^xrecover:x:[0-9]+:" "$D/etc/group"
'

test_case 'deploy/config.example.json loads; status and run --dry-run work with it' '
	start_redis
	make_stream orders billing 3
	rcli XGROUP CREATE orders shipping 0 >/dev/null
	make_stream invoices billing 2
	C=$TOP/deploy/config.example.json
	assert_exit 0 "$XR" -c "$C" -r "$REDIS_URL" --db "$DB" status
	assert_grep "orders" "$TMP/out"
	assert_grep "invoices" "$TMP/out"
	assert_exit 0 "$XR" -c "$C" -r "$REDIS_URL" --db "$DB" run --dry-run
	# The file is read: one unknown key in a copy of it is refused.
	sed "s/\"batch\"/\"batches\"/" "$C" >"$TMP/bad.json"
	assert_exit 2 "$XR" -c "$TMP/bad.json" -r "$REDIS_URL" --db "$DB" status
	assert_grep "unknown key .batches." "$TMP/err"
'

test_case 'logrotate: the snippet rotates the log files; the next run makes a new one' '
	command -v logrotate >/dev/null || skip "logrotate is not installed"
	mkdir -p "$TMP/lr/var/log/xrecover" "$TMP/lr/var/log/xrecover-orders-worker"
	# As /etc/logrotate.conf on Debian: create by default; the user xrecover
	# may not exist here: no su.
	{ echo create; sed -e "s|/var/log/|$TMP/lr/var/log/|g" -e "/^[[:space:]]*su /d" \
		"$TOP/deploy/xrecover.logrotate"; } >"$TMP/lr/conf"
	echo line >"$TMP/lr/var/log/xrecover/xrecover.log"
	echo line >"$TMP/lr/var/log/xrecover-orders-worker/xrecover.log"
	logrotate -f -s "$TMP/lr/state" "$TMP/lr/conf"
	for d in xrecover xrecover-orders-worker; do
		[ -f "$TMP/lr/var/log/$d/xrecover.log.1" ] || fail "$d: not rotated"
		[ ! -e "$TMP/lr/var/log/$d/xrecover.log" ] || fail "$d: a new log made (nocreate)"
	done
	start_redis
	make_stream lr g 1
	assert_exit 0 xr run -s lr --log-file "$TMP/lr/var/log/xrecover/xrecover.log"
	assert_grep "SUMMARY" "$TMP/lr/var/log/xrecover/xrecover.log"
'

test_case 'install, change, install again, roll back: the tree as before the second install' '
	D=$TMP/r/root
	mkdir -p "$D"
	inst "$D" install >"$TMP/i1"
	assert_grep "0 replaced, 12 new" "$TMP/i1"
	# The admin changes an installed unit and a mode, and adds files of their own.
	echo "# local change" >>"$D"/usr/local/lib/systemd/system/xrecover.timer
	chmod 0600 "$D"/etc/xrecover/config.example.json
	printf "{}\n" >"$D"/etc/xrecover/config.json
	chmod 0640 "$D"/etc/xrecover/config.json
	ln -s xrecover.1 "$D"/usr/local/share/man/man1/xr.1
	snap "$D" >"$TMP/before"
	# A new build: the binary and the man page differ.
	printf "\n" >>"$TMP/xrecover"
	printf ".SH NEW\n" >>"$TMP/xrecover.1"
	inst "$D" install >"$TMP/i2"
	assert_grep "4 replaced, 0 new" "$TMP/i2"
	bk=$(sed -n "s|^backup and rollback: \(.*\)/rollback.sh .*|\1|p" "$TMP/i2")
	[ -x "$bk/rollback.sh" ] || fail "no rollback.sh in $bk"
	LC_ALL=C sort "$bk/replaced" >"$TMP/replaced"
	printf "%s\n" /etc/xrecover/config.example.json /usr/local/bin/xrecover \
		/usr/local/lib/systemd/system/xrecover.timer \
		/usr/local/share/man/man1/xrecover.1 >"$TMP/want"
	cmp "$TMP/want" "$TMP/replaced" || fail "replaced: $(cat "$TMP/replaced")"
	assert_eq 600 "$(stat -c %a "$bk/files/etc/xrecover/config.example.json")" "backed-up mode"
	assert_grep "# local change" "$bk/files/usr/local/lib/systemd/system/xrecover.timer"
	# The install did change the tree, and left the files of the admin alone.
	snap "$D" >"$TMP/between"
	if cmp -s "$TMP/before" "$TMP/between"; then fail "the second install changed nothing"; fi
	assert_eq "{}" "$(cat "$D"/etc/xrecover/config.json)" config.json
	assert_eq 644 "$(stat -c %a "$D"/etc/xrecover/config.example.json)" "installed mode"
	if command -v shellcheck >/dev/null; then shellcheck -s sh "$bk/rollback.sh"; fi
	inst "$D" rollback "$bk" >"$TMP/rb"
	snap "$D" >"$TMP/after"
	diff "$TMP/before" "$TMP/after" >&2 || fail "the tree differs after the rollback"
	[ ! -e "$bk" ] || fail "the rolled-back backup folder is still there"
'

test_case 'a first install into an empty DESTDIR, rolled back: empty again' '
	D=$TMP/e/root
	mkdir -p "$D"
	inst "$D" install >"$TMP/i1"
	bk=$(sed -n "s|^backup and rollback: \(.*\)/rollback.sh .*|\1|p" "$TMP/i1")
	assert_eq 12 "$(wc -l <"$bk/new" | tr -d " ")" "new files"
	sh "$bk/rollback.sh" >/dev/null
	assert_eq "" "$(find "$D" -mindepth 1)" "what is left"
'

test_case 'the same install again changes nothing and makes no backup' '
	D=$TMP/s/root
	mkdir -p "$D"
	inst "$D" install >/dev/null
	snap "$D" >"$TMP/s1"
	inst "$D" install >"$TMP/i2"
	assert_grep "nothing changed, no backup made" "$TMP/i2"
	snap "$D" >"$TMP/s2"
	cmp "$TMP/s1" "$TMP/s2"
'

test_case 'rollbacks go newest first: an older one is refused while a later backup is there' '
	D=$TMP/o/root
	mkdir -p "$D"
	inst "$D" install >"$TMP/i1"
	bk1=$(sed -n "s|^backup and rollback: \(.*\)/rollback.sh .*|\1|p" "$TMP/i1")
	printf "\n\n" >>"$TMP/xrecover"
	inst "$D" install >"$TMP/i2"
	bk2=$(sed -n "s|^backup and rollback: \(.*\)/rollback.sh .*|\1|p" "$TMP/i2")
	snap "$D" >"$TMP/o1"
	assert_exit 1 sh "$bk1/rollback.sh"
	assert_grep "roll that back first" "$TMP/err"
	snap "$D" >"$TMP/o2"
	cmp "$TMP/o1" "$TMP/o2" || fail "a refused rollback changed the tree"
	sh "$bk2/rollback.sh" >/dev/null
	sh "$bk1/rollback.sh" >/dev/null
	assert_eq "" "$(find "$D" -mindepth 1)" "what is left"
'

test_case 'uninstall removes every installed file, keeps config.json, the journal and the rest' '
	D=$TMP/u/root
	mkdir -p "$D"/usr/local/bin "$D"/var/lib/xrecover "$D"/etc/xrecover
	echo other >"$D"/usr/local/bin/other-tool
	inst "$D" install >/dev/null
	printf "{}\n" >"$D"/etc/xrecover/config.json
	echo journal >"$D"/var/lib/xrecover/journal.db
	inst "$D" uninstall >"$TMP/un"
	echo "$INSTALLED" | while read -r f; do
		if [ -e "$D$f" ]; then fail "$f is still there"; fi
	done
	(cd "$D" && find . -type f ! -path "./usr/local/share/xrecover/backup/*" | LC_ALL=C sort) >"$TMP/left"
	printf "%s\n" ./etc/xrecover/config.json ./usr/local/bin/other-tool \
		./var/lib/xrecover/journal.db >"$TMP/want"
	diff "$TMP/want" "$TMP/left" >&2 || fail "uninstall left or removed the wrong files"
	assert_grep "install backups kept" "$TMP/un"
'

test_case 'make install, rollback-install and uninstall with PREFIX and DESTDIR' '
	D=$TMP/m/root
	mkdir -p "$D"
	make -s -C "$TOP" --no-print-directory SANITIZE="${XR_SANITIZE:-}" install \
		PREFIX=/usr DESTDIR="$D" >"$TMP/mi"
	[ -x "$D"/usr/bin/xrecover ] || fail "no $D/usr/bin/xrecover"
	[ -f "$D"/usr/share/man/man1/xrecover.1 ] || fail "no man page"
	[ -f "$D"/usr/share/bash-completion/completions/xrecover ] || fail "no completion"
	[ -f "$D"/usr/lib/sysusers.d/xrecover.conf ] || fail "no sysusers.d file"
	assert_grep "^ExecStart=/usr/bin/xrecover run " "$D"/usr/lib/systemd/system/xrecover.service
	assert_grep "exec /usr/bin/xrecover report " "$D"/usr/lib/systemd/system/xrecover-report.service
	assert_grep "^ExecStartPre=-/usr/bin/xrecover " "$D"/usr/share/doc/xrecover/consumer-dropin.conf
	assert_no_grep "/usr/local" "$D"/usr/lib/systemd/system/xrecover-serve.service
	bk=$(sed -n "s|^backup and rollback: \(.*\)/rollback.sh .*|\1|p" "$TMP/mi")
	case $bk in "$D"/usr/share/xrecover/backup/2*) ;; *) fail "backup in $bk" ;; esac
	make -s -C "$TOP" --no-print-directory rollback-install PREFIX=/usr DESTDIR="$D" \
		BACKUP="$bk" >/dev/null
	assert_eq "" "$(find "$D" -mindepth 1)" "after rollback-install"
	assert_exit 2 make -s -C "$TOP" --no-print-directory rollback-install DESTDIR="$D"
	# Another prefix: the units where systemd looks, /etc/systemd/system.
	make -s -C "$TOP" --no-print-directory SANITIZE="${XR_SANITIZE:-}" install \
		PREFIX=/opt/xrecover DESTDIR="$D" >/dev/null
	assert_grep "^ExecStart=/opt/xrecover/bin/xrecover run " "$D"/etc/systemd/system/xrecover.service
	[ -f "$D"/etc/sysusers.d/xrecover.conf ] || fail "no sysusers.d file in /etc"
	make -s -C "$TOP" --no-print-directory uninstall PREFIX=/opt/xrecover DESTDIR="$D" >/dev/null
	[ -z "$(find "$D" -type f ! -path "*/backup/*")" ] || fail "left: $(find "$D" -type f)"
'

test_done
