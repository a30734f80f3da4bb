#!/usr/bin/env bash
# Real programs nobody here wrote, run with LD_PRELOAD=libsysprim-malloc.so (suite alloc, e2e):
# each must print exactly what it prints on the C library's malloc.
# Usage: preload_programs.sh python|git|sort|sqlite
. "$SYSPRIM_SOURCE_ROOT/test/e2e/lib.sh"
LIB=${SYSPRIM_MALLOC_LIB:-}
[ -n "$LIB" ] && [ -f "$LIB" ] || skip "SYSPRIM_MALLOC_LIB not built"
which=${1:?usage: preload_programs.sh python|git|sort|sqlite}
# Work on tmpfs when there is one: the test is about the allocator, not the disk.
WORK=$E2E_TMP
if [ -d /dev/shm ] && [ -w /dev/shm ] && shm=$(mktemp -d /dev/shm/sysprim-alloc.XXXXXX 2>/dev/null); then
	WORK=$shm
	on_exit "rm -rf '$shm'"
fi
cd "$WORK" || exit 1

# same NAME SCRIPT PROBE: run SCRIPT (bash) without and with the preload; outputs and statuses must
# match. PROBE, a quick command of the same program, must show our allocator's exit statistics
# under the preload, proving the library really was in use.
same() {
	local name=$1 script=$2 probe=$3 plain rc_plain stats
	plain=$(bash -c "$script" 2>"$WORK/plain.err")
	rc_plain=$?
	[ "$rc_plain" = 0 ] || { fail "$name: fails even without the preload" "$(cat "$WORK/plain.err")"; return; }
	testing "$name" "LD_PRELOAD='$LIB' bash -c '$script'" "$plain"
	stats=$(LD_PRELOAD="$LIB" SYSPRIM_MALLOC_STATS=1 bash -c "$probe" 2>&1 >/dev/null | grep -c 'sysprim-malloc: mapped from the OS')
	if [ "$stats" -ge 1 ]; then pass "$name: ran on sysprim-malloc"; else fail "$name: no allocator stats seen"; fi
}

case $which in
python)
	need_cmd python3
	cat >work.py <<'PY'
import json, threading, queue
total = 0
for r in range(4):
    d = {i: str(i) * (i % 7) for i in range(150000)}
    l = [[j] * (j % 5) for j in range(100000)]
    total += sum(len(v) for v in d.values()) + sum(len(x) for x in l)
    s = {str(i) + "x" for i in range(50000)}
    total += len(s)
    del d, l, s
doc = json.dumps({str(i): list(range(i % 40)) for i in range(20000)}, sort_keys=True)
total += len(json.loads(doc))
q = queue.Queue()
def produce():
    for i in range(20000):
        q.put(bytearray(64 + i % 3000))
    q.put(None)
got = []
t = threading.Thread(target=produce)
t.start()
while (item := q.get()) is not None:
    got.append(len(item))
t.join()
print(total, sum(got), len(doc))
PY
	same "python3 dict/list/json churn" "python3 work.py" "python3 -c pass"
	;;
git)
	need_cmd git
	cat >work.sh <<'SH'
set -e
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
export GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' GIT_COMMITTER_DATE='2024-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 HOME=$PWD
rm -rf repo && git init -q -b main repo && cd repo
for d in $(seq 1 30); do mkdir -p dir$d; for f in $(seq 1 100); do echo "file $d/$f $((d * f))" >dir$d/f$f.txt; done; done
git add -A && git commit -q -m "first: 3000 files"
for d in $(seq 1 30 | sed -n '1~3p'); do for f in $(seq 1 100 | sed -n '1~7p'); do echo change >>dir$d/f$f.txt; done; done
git rm -q -r dir30 && git commit -q -a -m "second: changes and removals"
git log --stat --format='%H %an %s' | md5sum
git gc -q
git fsck --full 2>&1
git ls-tree -r HEAD | md5sum
git rev-list --all --objects | sort | md5sum
git diff HEAD~1 --stat | tail -1
SH
	same "git init, commit 3000 files, log, gc, fsck" "bash work.sh" "git --version"
	;;
sort)
	need_cmd sort awk
	awk 'BEGIN { x = 12345; for (i = 0; i < 600000; i++) { x = (x * 1103515245 + 12345) % 2147483648; print x, "line", i % 977 } }' >big.txt
	same "sort -n of 600k lines (2 threads)" "sort -n -k1,1 --parallel=2 -S 32M big.txt | md5sum; sort -u -k3 big.txt | wc -l" "printf 'b\\na\\n' | sort"
	;;
sqlite)
	need_cmd sqlite3
	cat >work.sql <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
INSERT INTO t SELECT x, (x * 7919) % 1000, printf('%08d-%s', x, hex(x * 31)) FROM c;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(k), max(length(v)) FROM t;
SELECT k, count(*), min(v), max(v) FROM t GROUP BY k ORDER BY count(*) DESC, k LIMIT 5;
SELECT group_concat(v, ',') IS NOT NULL, length(group_concat(v, ',')) FROM (SELECT v FROM t ORDER BY v DESC LIMIT 50000);
DELETE FROM t WHERE k % 3 = 0;
VACUUM;
SELECT count(*), total(k) FROM t;
SQL
	same "sqlite3 insert/index/group/vacuum 200k rows" "rm -f db.sqlite; sqlite3 db.sqlite <work.sql" "sqlite3 -version"
	;;
*)
	echo "unknown program: $which" >&2
	exit 2
	;;
esac
e2e_done
