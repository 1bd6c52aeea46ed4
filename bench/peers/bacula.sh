# Bacula in the peers bench (sourced by bench/peers/run.sh): Debian's
# Bacula 9.6.7 (bacula-director with its SQLite catalog, bacula-sd,
# bacula-fd, bconsole) as a site sets it up for disk: a File device whose
# volumes are files in the work dir, the SQLite catalog in the work dir
# (the tables made by Debian's script, pointed at the work dir: as shipped
# it writes into /var/lib/bacula), the three daemons on loopback ports
# away from Bacula's 9101-9103, started in the foreground (their PIDs are
# the ones the bench started) and ended by PID. The backup job is Accurate
# (the File daemon sends what was deleted, so that a restore of the
# incremental gives the tree as it is; without it deleted files come back)
# with an MD5 signature per file, as Debian's example job has; no
# compression. bconsole runs the jobs and waits for them.

bacula_setup() {
	D=$W/bacula
	rm -rf "$D"
	mkdir -p "$D/work" "$D/work-fd" "$D/volumes"
	_b=$((20000 + ($$ % 900) * 10))
	BA_DP=$_b BA_SP=$((_b + 1)) BA_FP=$((_b + 2))
	cat >"$D/bacula-dir.conf" <<EOF
Director {
  Name = peers-dir
  DIRport = $BA_DP
  DirAddress = 127.0.0.1
  QueryFile = "/etc/bacula/scripts/query.sql"
  WorkingDirectory = "$D/work"
  PidDirectory = "$D/work"
  Maximum Concurrent Jobs = 1
  Password = "peers-dir-pw"
  Messages = Daemon
}
Job {
  Name = "peers"
  Type = Backup
  Level = Full
  Client = peers-fd
  FileSet = "peers-set"
  Storage = peers-sd
  Pool = peers-pool
  Messages = Standard
  Accurate = yes
  Write Bootstrap = "$D/work/peers.bsr"
}
Job {
  Name = "peers-restore"
  Type = Restore
  Client = peers-fd
  FileSet = "peers-set"
  Storage = peers-sd
  Pool = peers-pool
  Messages = Standard
  Where = "$D/restore"
}
FileSet {
  Name = "peers-set"
  Include {
    Options {
      signature = MD5
    }
    File = "$TREE"
  }
}
Client {
  Name = peers-fd
  Address = 127.0.0.1
  FDPort = $BA_FP
  Catalog = peers-cat
  Password = "peers-fd-pw"
  AutoPrune = no
}
Storage {
  Name = peers-sd
  Address = 127.0.0.1
  SDPort = $BA_SP
  Password = "peers-sd-pw"
  Device = peers-dev
  Media Type = File
}
Catalog {
  Name = peers-cat
  dbname = "bacula"; dbuser = ""; dbpassword = ""
}
Messages {
  Name = Standard
  console = all, !skipped, !saved
  append = "$D/work/log" = all, !skipped
  catalog = all
}
Messages {
  Name = Daemon
  console = all, !skipped, !saved
  append = "$D/work/log" = all, !skipped
}
Pool {
  Name = peers-pool
  Pool Type = Backup
  Label Format = "Vol-"
  Maximum Volume Jobs = 1
  Volume Retention = 365 days
  AutoPrune = no
  Recycle = no
}
EOF
	cat >"$D/bacula-sd.conf" <<EOF
Storage {
  Name = peers-sd
  SDPort = $BA_SP
  SDAddress = 127.0.0.1
  WorkingDirectory = "$D/work"
  Pid Directory = "$D/work"
  Maximum Concurrent Jobs = 1
}
Director {
  Name = peers-dir
  Password = "peers-sd-pw"
}
Device {
  Name = peers-dev
  Media Type = File
  Archive Device = "$D/volumes"
  LabelMedia = yes
  Random Access = yes
  AutomaticMount = yes
  RemovableMedia = no
  AlwaysOpen = no
}
Messages {
  Name = Standard
  director = peers-dir = all
}
EOF
	cat >"$D/bacula-fd.conf" <<EOF
Director {
  Name = peers-dir
  Password = "peers-fd-pw"
}
FileDaemon {
  Name = peers-fd
  FDport = $BA_FP
  FDAddress = 127.0.0.1
  WorkingDirectory = "$D/work-fd"
  Pid Directory = "$D/work-fd"
  Maximum Concurrent Jobs = 1
  Plugin Directory = /usr/lib/bacula
}
Messages {
  Name = Standard
  director = peers-dir = all, !skipped, !restored
}
EOF
	cat >"$D/bconsole.conf" <<EOF
Director {
  Name = peers-dir
  DIRport = $BA_DP
  address = 127.0.0.1
  Password = "peers-dir-pw"
}
EOF
	# The catalog's tables: Debian's script, in the work dir.
	sed -e "s|^cd /var/lib/bacula|cd '$D/work'|" -e 's|^db_name=.*|db_name=bacula|' \
		/usr/share/bacula-director/make_sqlite3_tables >"$D/make_tables"
	grep -q "^cd '$D/work'" "$D/make_tables" ||
		{ echo "peers: bacula: make_sqlite3_tables not as expected" >&2; return 1; }
	sh "$D/make_tables" >/dev/null || return 1
	for c in dir sd fd; do
		bacula-$c -t -c "$D/bacula-$c.conf" >"$D/test-$c.out" 2>&1 ||
			{ echo "peers: bacula-$c's configuration:" >&2; cat "$D/test-$c.out" >&2; return 1; }
	done
	cg_spawn "$D/sd.pid" bacula-sd -f -c "$D/bacula-sd.conf"
	cg_spawn "$D/fd.pid" bacula-fd -f -c "$D/bacula-fd.conf"
	cg_spawn "$D/dir.pid" bacula-dir -f -c "$D/bacula-dir.conf"
	_i=0
	until echo "status dir" | bconsole -c "$D/bconsole.conf" 2>/dev/null |
		grep -q "Daemon started"; do
		_i=$((_i + 1))
		[ $_i -lt 100 ] || { echo "peers: bacula-dir did not answer" >&2; return 1; }
		sleep 0.2
	done
}

# bacula_job CMDS: bconsole (in the cgroup) runs CMDS, waits for the job,
# and the job must have ended OK.
bacula_job() {
	printf '%s\nwait\nmessages\nquit\n' "$1" |
		in_cg bconsole -c "$D/bconsole.conf" >"$D/job.out" 2>&1 || return 1
	cat "$D/job.out"
	grep -q "Termination: *\(Backup\|Restore\) OK" "$D/job.out"
}

bacula_full() { bacula_job "run job=peers level=Full yes"; }
bacula_incr() { bacula_job "run job=peers level=Incremental yes"; }

# bacula_restore DIR: the newest state (the full and the incremental
# after it, "select current"), all files, into DIR.
bacula_restore() {
	rm -rf "$D/restore"
	bacula_job "restore client=peers-fd fileset=peers-set where=$D/restore select current all done yes" ||
		return 1
	mv "$D/restore$TREE" "$1"
}

bacula_tape() { tape_bytes "$D/volumes"; }

bacula_teardown() {
	for c in dir fd sd; do
		[ -f "$D/$c.pid" ] && kill "$(cat "$D/$c.pid")" 2>/dev/null || true
	done
	sleep 1
	rm -rf "$D"
}
