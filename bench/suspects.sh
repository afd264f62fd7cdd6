#!/usr/bin/env bash
# bench/suspects.sh: time `lkg suspects` over a 10,000-commit range with
# over 50,000 changed files, beside `git log --stat` on the same range.
#
#   bench/suspects.sh            # build the repo once under bench/out/, then time
#   COMMITS=2000 bench/suspects.sh   # a smaller range
#   RUNS=5 bench/suspects.sh         # more timed runs (the best and all are shown)
#
# The repository is made with git fast-import from a deterministic generator
# (python3): pull requests of 4 commits merged with "Merge pull request #N",
# every third one squashed into a single "(#N)" commit instead, each commit
# editing 6 or 7 files of ~60 lines (a few dependency manifests, migrations
# and Dockerfiles among them), then repacked with deltas as a real clone is.
# Tags: good (before the range) and bad (its end).
set -euo pipefail
cd "$(dirname "$0")/.."

COMMITS=${COMMITS:-10000}
RUNS=${RUNS:-3}
OUT=bench/out
REPO=$OUT/suspects-$COMMITS-v2.git
mkdir -p "$OUT"

if [ ! -f "$REPO/.done" ]; then
	rm -rf "$REPO"
	git init -q --bare "$REPO"
	echo "--- generating $COMMITS commits into $REPO" >&2
	python3 - "$COMMITS" <<'PY' | git -C "$REPO" fast-import --quiet
import random, sys
commits = int(sys.argv[1])
rnd = random.Random(42)
out = sys.stdout
mark = [0]
def blob(data):
    mark[0] += 1
    b = data.encode()
    out.write("blob\nmark :%d\ndata %d\n" % (mark[0], len(b)))
    out.write(data)
    out.write("\n")
    return mark[0]
when = [1763640000]
def commit(ref, msg, changes, frm=None, merge=None, author="dev"):
    when[0] += 60
    mark[0] += 1
    m = mark[0]
    b = msg.encode()
    out.write("commit %s\nmark :%d\n" % (ref, m))
    out.write("author %s <%s@example.com> %d +0000\n" % (author, author, when[0]))
    out.write("committer %s <%s@example.com> %d +0000\n" % (author, author, when[0]))
    out.write("data %d\n%s\n" % (len(b), msg))
    if frm: out.write("from %s\n" % frm)
    if merge: out.write("merge %s\n" % merge)
    for path, bm in changes:
        if bm is None: out.write("D %s\n" % path)
        else: out.write("M 100644 :%d %s\n" % (bm, path))
    out.write("\n")
    return m
def text(n):
    return "".join("line %d %08x\n" % (i, rnd.getrandbits(32)) for i in range(n))
paths = ["src/pkg%02d/file%03d.go" % (d, f) for d in range(40) for f in range(50)]
paths += ["db/migrations/%04d_init.sql" % i for i in range(20)]
paths += ["package.json", "go.mod", "go.sum", "Dockerfile", ".github/workflows/ci.yml", "config/flags.yaml"]
content = {p: text(60) for p in paths}
marks = {p: blob(content[p]) for p in paths}
main = commit("refs/heads/main", "initial import", sorted(marks.items()))
out.write("reset refs/tags/good\nfrom :%d\n\n" % main)
def edit(p):
    lines = content[p].split("\n")[:-1]
    for _ in range(3):
        i = rnd.randrange(len(lines))
        lines[i] = "edit %08x" % rnd.getrandbits(32)
    if rnd.random() < 0.3:
        lines.append("added %08x" % rnd.getrandbits(32))
    content[p] = "\n".join(lines) + "\n"
    marks[p] = blob(content[p])
    return p
def change():
    ps = set(rnd.sample(paths, 6 + (rnd.random() < 0.3)))
    return [(p, marks[p]) for p in sorted(edit(p) for p in ps)]
n, pr = 0, 0
while n < commits:
    pr += 1
    if pr % 3 == 0 or commits - n < 5:
        main = commit("refs/heads/main", "Fix thing %d (#%d)\n\nSquashed." % (pr, pr), change(), frm=":%d" % main, author="dev%d" % (pr % 7))
        n += 1
        continue
    tip = main
    touched = {}
    for k in range(4):
        ch = change()
        touched.update(dict(ch))
        tip = commit("refs/heads/topic", "topic %d step %d" % (pr, k), ch, frm=":%d" % tip, author="dev%d" % (pr % 7))
    main = commit("refs/heads/main", "Merge pull request #%d from team/topic-%d\n\nTopic %d." % (pr, pr, pr),
                  sorted(touched.items()), frm=":%d" % main, merge=":%d" % tip, author="merger")
    n += 5
out.write("reset refs/tags/bad\nfrom :%d\n\n" % main)
out.write("reset refs/heads/topic\nfrom :%d\n\n" % main)
PY
	echo "--- repacking" >&2
	git -C "$REPO" repack -adq
	touch "$REPO/.done"
fi

echo "--- building lkg" >&2
go build -o "$OUT/lkg" .

commits=$(git -C "$REPO" rev-list --count good..bad)
files=$(git -C "$REPO" log --format= --numstat good..bad | wc -l)
echo "range good..bad: $commits commits, $files changed files (git log --numstat, merges excluded); $(nproc) cores"

timeit() {
	local label=$1; shift
	local all="" best=""
	for _ in $(seq "$RUNS"); do
		local s e ms
		s=$(date +%s%N)
		"$@" >/dev/null
		e=$(date +%s%N)
		ms=$(( (e - s) / 1000000 ))
		all="$all ${ms}ms"
		if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
	done
	printf '%-34s best %6d ms   runs:%s\n' "$label" "$best" "$all"
}
timeit "git log --stat good..bad" git -C "$REPO" log --stat good..bad
timeit "git log --numstat -m --first-parent" git -C "$REPO" log --numstat -m --first-parent good..bad
timeit "lkg suspects --json" "$OUT/lkg" -C "$REPO" suspects --good good --bad bad --json
timeit "lkg suspects (table)" "$OUT/lkg" -C "$REPO" suspects --good good --bad bad

# CPU time too: on a shared machine wall time depends on the neighbours.
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f 'cpu: git log --stat          %U s user %S s sys, %M KB max RSS' git -C "$REPO" log --stat good..bad >/dev/null
	/usr/bin/time -f 'cpu: lkg suspects --json     %U s user %S s sys, %M KB max RSS' "$OUT/lkg" -C "$REPO" suspects --good good --bad bad --json >/dev/null
fi
