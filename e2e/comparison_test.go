//go:build e2e

package e2e

// Side by side with the shell script: the pushed state is loaded into two fresh emulators (fakeartifactory
// --fixture); artprune prunes one, the skopeo#2497 script the other; the real clients check both; every folder is
// compared and each difference explained. docs/comparison.md is generated from the result: the test fails when the
// committed file differs (E2E_UPDATE=1 rewrites it).

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/prune"
)

// Difference classes.
const (
	classSame        = ""
	classBreaks      = "script breaks"
	classCannotFree  = "script cannot free"
	classArtpruneBad = "artprune differs" // a failure of artprune; the test fails
)

// row is one folder of the comparison.
type row struct {
	f                *folder
	script, artprune string // cells
	class, cause     string
}

func TestScriptComparison(t *testing.T) {
	if d, tried := sharedDir(); d == "" {
		t.Skipf("the shared folder with %s is not beside the clone (tried %s): set ARTPRUNE_SHARED to compare with the script", seedFile, strings.Join(tried, ", "))
	}
	w := sharedWorld(t)
	dir := suiteTemp(t, "comparison")
	a := startEmulator(t, "artprune", t.Cleanup, "--fixture", w.fixturePath)
	s0 := startEmulator(t, "script-as-written", t.Cleanup, "--fixture", w.fixturePath)
	s := startEmulator(t, "script", t.Cleanup, "--fixture", w.fixturePath)
	for _, e := range []*emulator{a, s0, s} {
		if d := diffSnapshots(w.fixture, e.snapshot(t)); !d.empty() {
			t.Fatalf("emulator %s loaded with --fixture %s differs from it: removed %v, added %v, changed %v", e.name, w.fixturePath, d.removed, d.added, d.changed)
		}
	}

	// artprune, with its defaults.
	rep := runArtprune(t, a, dir, "side-by-side", true)
	checkAgainstOracle(t, w, rep, "artprune")
	aStates, aStray := w.folderStates(w.fixture, a.snapshot(t))
	for _, x := range aStray {
		t.Errorf("artprune: outside the folders it deleted: %s", x)
	}

	// The script as written: it aborts on this repository (see asWritten below).
	run0, err0 := runScript(t, s0, "as-written", "")
	aw := checkAsWritten(t, w, s0, run0, err0)

	// The script with GNU parallel's quoting of {} off (PARALLEL), its code unchanged: what its logic does.
	run, err := runScript(t, s, "unquoted", parallelNoQuote)
	if err != nil {
		t.Fatalf("the skopeo#2497 script with PARALLEL=%s on %s: %v\nstdout:\n%s\nstderr:\n%s", parallelNoQuote, pruneRepo, err, run.stdout, run.stderr)
	}
	t.Logf("the skopeo#2497 script (PARALLEL=%s) ran in %s: %d deletes, %d keeps, %d requests through the proxy",
		parallelNoQuote, run.took.Round(time.Millisecond), len(run.deletes), len(run.keeps), run.proxied)
	sStates, sStray := w.folderStates(w.fixture, s.snapshot(t))
	for _, x := range sStray {
		t.Errorf("the script changed something outside the scenarios' manifest folders: %s", x)
	}
	checkScriptOutput(t, w, run, sStates)

	// The real clients on both.
	aProblems := (&verifier{w: w, e: a, c: newClients(t, a, filepath.Join(dir, "clients-artprune"))}).verifyLive(t)
	for _, p := range aProblems {
		t.Errorf("after artprune: %s", p)
	}
	sProblems := (&verifier{w: w, e: s, c: newClients(t, s, filepath.Join(dir, "clients-script"))}).verifyLive(t)
	for _, p := range sProblems {
		t.Logf("after the script: %s", p)
	}

	rows := compareFolders(t, w, rep, aStates, sStates, sProblems)
	doc := renderComparison(w, rows, aw, aProblems, sProblems)
	checkDoc(t, filepath.Join(repoRoot, "docs", "comparison.md"), doc)
}

// asWritten is the outcome of the script as published.
type asWritten struct {
	exit   int               // its exit status
	states map[string]string // folder states after it
}

// checkAsWritten checks how the script as published fares on the pushed state. GNU parallel shell-quotes {} when it
// holds a ':', and the script puts {} inside double quotes, so for every index in a digest folder `jf rt curl` asks
// for "<repo>/'<image>/sha256:<hex>/list.manifest.json'", quotes included: a 404 error document, on which jq fails;
// --halt now,fail=1 stops parallel and set -euo pipefail the script, before it deletes anything.
func checkAsWritten(t *testing.T, w *world, e *emulator, run *scriptRun, err error) asWritten {
	t.Helper()
	aw := asWritten{}
	var states map[string]string
	var stray []string
	states, stray = w.folderStates(w.fixture, e.snapshot(t))
	aw.states = states
	for _, x := range stray {
		t.Errorf("the script as written changed something outside the scenarios' manifest folders: %s", x)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		t.Errorf("the skopeo#2497 script as written ran through on %s, though it used to abort on the indexes in digest folders "+
			"(GNU parallel quoting {}): docs/comparison.md must be revisited\nstdout:\n%s\nstderr:\n%s", pruneRepo, run.stdout, run.stderr)
	case !errors.As(err, &exitErr):
		t.Fatalf("the skopeo#2497 script as written: %v\nstderr:\n%s", err, run.stderr)
	default:
		aw.exit = exitErr.ExitCode()
		if !strings.Contains(run.stderr, `curl "`+pruneRepo+`/'`) || !strings.Contains(run.stderr, "/sha256:") {
			t.Errorf("the skopeo#2497 script as written failed (exit %d), but not on a quoted digest-folder path as expected:\nstdout:\n%s\nstderr:\n%s",
				aw.exit, run.stdout, run.stderr)
		}
		if len(run.deletes) > 0 {
			t.Errorf("the skopeo#2497 script as written deleted %v before it aborted", run.deletes)
		}
		t.Logf("the skopeo#2497 script as written aborted (exit %d) in %s:\n%s", aw.exit, run.took.Round(time.Millisecond), lastLines(run.stderr, 4))
	}
	return aw
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// checkScriptOutput checks that the script's own account matches what happened: every "Delete dandling image" is a
// digest folder gone, and every folder gone is one of them or a tag with the same digest.
func checkScriptOutput(t *testing.T, w *world, run *scriptRun, states map[string]string) {
	t.Helper()
	said := map[string]bool{} // "image/sha256:..."
	for _, d := range run.deletes {
		image, dg, ok := strings.Cut(d, "@")
		if !ok {
			t.Errorf("the script printed Delete dandling image %q", d)
			continue
		}
		said[image+"/"+dg] = true
	}
	for _, f := range w.folders {
		st := states[f.Sym]
		if strings.HasPrefix(st, "damaged") {
			t.Errorf("the script left %s (%s) %s", f.key(), f.Sym, st)
			continue
		}
		if f.Repo != pruneRepo || st != "deleted" {
			if said[f.path()] && f.Repo == pruneRepo {
				t.Errorf("the script said it deleted %s (%s), but it is %s", f.path(), f.Sym, st)
			}
			continue
		}
		if !f.isTag() && !said[f.path()] {
			t.Errorf("%s (%s) is gone, but the script did not say it deleted it", f.key(), f.Sym)
		}
		if f.isTag() && !said[f.Image+"/"+f.Digest] {
			t.Errorf("the tag folder %s (%s) is gone, but the script deleted no digest folder of its digest", f.key(), f.Sym)
		}
	}
}

// compareFolders compares, folder by folder, what the script and artprune did, and explains every difference from
// the structure of the pushed state. An unexplained difference, a live folder artprune lost, or a dangling folder
// the script freed and artprune kept fails the test.
func compareFolders(t *testing.T, w *world, rep *prune.Report, aStates, sStates map[string]string, sProblems []problem) []row {
	t.Helper()
	// Which index folders list each digest, from the documents of the pushed state.
	listedBy := map[string][]*folder{} // "repo|digest"
	files := w.fixture.manifests()
	for _, f := range w.folders {
		m := files[f.key()]
		var doc struct {
			Manifests []descriptor `json:"manifests"`
		}
		if json.Unmarshal(m.Content, &doc) != nil {
			continue
		}
		for _, d := range doc.Manifests {
			listedBy[f.Repo+"|"+d.Digest] = append(listedBy[f.Repo+"|"+d.Digest], f)
		}
	}
	tagsWith := func(f *folder) []string {
		var out []string
		for _, g := range w.folders {
			if g.isTag() && g.Repo == f.Repo && g.Image == f.Image && g.Digest == f.Digest {
				out = append(out, code(g.Sym))
			}
		}
		return out
	}
	observed := map[string]bool{}
	for _, p := range sProblems {
		observed[p.Sym] = true
	}
	reasons := keptReasons(rep)
	refBySym := map[string]*referrer{}
	for _, r := range w.referrers {
		refBySym[r.Sym] = r
	}

	var rows []row
	for _, f := range w.folders {
		r := row{f: f}
		sDel, aDel := sStates[f.Sym] == "deleted", aStates[f.Sym] == "deleted"
		switch {
		case f.Repo != pruneRepo:
			r.script, r.artprune = "untouched", "untouched"
			if sStates[f.Sym] != "kept" || aStates[f.Sym] != "kept" {
				t.Errorf("%s (%s) in %s, which neither tool prunes: script %s, artprune %s", f.key(), f.Sym, f.Repo, sStates[f.Sym], aStates[f.Sym])
			}
			rows = append(rows, r)
			continue
		case sDel:
			r.script = "deleted"
		default:
			r.script = "kept"
		}
		switch {
		case aDel:
			r.artprune = "deleted"
		case f.isTag():
			r.artprune = "kept"
		default:
			r.artprune = "kept (" + reasons[f.key()] + ")"
		}

		switch {
		case f.Keep && aDel, !f.Keep && sDel && !aDel:
			r.class = classArtpruneBad
			r.cause = "artprune deleted a live folder, or kept a dangling one the script frees"
			t.Errorf("%s (%s): artprune %s, the script %s, must keep: %t (%s)", f.key(), f.Sym, r.artprune, r.script, f.Keep, f.Why)
		case sDel == aDel:
		case f.Keep && sDel:
			r.class = classBreaks
			var witnesses []string // what the clients must have noticed
			switch tags := tagsWith(f); {
			case f.isTag():
				for _, g := range w.folders {
					if !g.isTag() && g.Repo == f.Repo && g.Image == f.Image && g.Digest == f.Digest && sStates[g.Sym] == "deleted" {
						r.cause = "tag lost: the script's `skopeo delete` of " + code(g.Sym) + " (the same digest) deleted this tag too"
					}
				}
				witnesses = []string{f.Sym}
			case f.Kind == kindReferrer:
				r.cause = "referrer lost: no index lists it, so the script deletes it, though its subject " + code(refBySym[f.Sym].Subject) + " is live"
				witnesses = []string{f.Sym}
			case len(tags) > 0:
				r.cause = "no index lists it, so the script deletes it; `skopeo delete` by digest also deletes the tag " + strings.Join(tags, ", ")
				for _, g := range w.folders {
					if g.isTag() && g.Image == f.Image && g.Digest == f.Digest {
						witnesses = append(witnesses, g.Sym)
					}
				}
			}
			if r.cause == "" {
				t.Errorf("%s (%s): the script deleted it, though live (%s), for no reason the comparison knows", f.key(), f.Sym, f.Why)
				r.cause = "unexplained"
			}
			if len(witnesses) > 0 && !slices.ContainsFunc(witnesses, func(s string) bool { return observed[s] }) {
				t.Errorf("%s (%s): the script deleted it, yet the clients noticed nothing on %v", f.key(), f.Sym, witnesses)
			}
		case !f.Keep && aDel && !sDel:
			r.class = classCannotFree
			var sameImage, otherImage []string
			for _, l := range listedBy[f.Repo+"|"+f.Digest] {
				switch {
				case l.Image == f.Image && !l.Keep:
					sameImage = append(sameImage, code(l.Sym))
				case l.Image != f.Image:
					otherImage = append(otherImage, code(l.Sym))
				}
			}
			switch {
			case f.Kind == kindIndex:
				r.cause = "a dangling index: the script deletes only `manifest.json` folders, and counts every `list.manifest.json`, dangling or not, as a root"
			case len(sameImage) > 0:
				r.cause = "pinned by the dangling index " + strings.Join(sameImage, ", ") + ", which the script counts as a root"
			case len(otherImage) > 0:
				r.cause = "its digest is listed by " + strings.Join(otherImage, ", ") + " of another image: the script matches digests across the whole repository, not per image"
			default:
				t.Errorf("%s (%s): the script kept it, though it dangles (%s), for no reason the comparison knows", f.key(), f.Sym, f.Why)
				r.cause = "unexplained"
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func code(s string) string { return "`" + s + "`" }

// renderComparison writes docs/comparison.md. It holds no digest, time, size or port: only the scenarios' symbolic
// names, so that every run renders the same file.
func renderComparison(w *world, rows []row, aw asWritten, aProblems, sProblems []problem) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# artprune and the skopeo#2497 script, folder by folder\n\n")
	p("<!-- Generated by e2e/comparison_test.go (TestScriptComparison). Do not edit: regenerate with\n")
	p("     `E2E_UPDATE=1 make e2e`. `make e2e` fails when this file and what the test observes differ. -->\n\n")
	p("`make e2e` pushes the scenarios below into the Artifactory emulator with the real clients (crane, regctl, skopeo), ")
	p("moves the emulator's clock 48 hours, pushes the young index, and snapshots it. The snapshot is loaded into fresh ")
	p("emulators. On one, `artprune prune --repo %s --delete` runs with its defaults (`--min-age 24h`). On others, the ", pruneRepo)
	p("script proposed in [skopeo#2497](https://github.com/containers/skopeo/issues/2497) runs on `%s`, its code unchanged, ", pruneRepo)
	p("with its own 10-minute grace period; `jq`, GNU `parallel` and `skopeo delete` are the real programs (see ")
	p("[How the script runs](#how-the-script-runs)). Then crane, regctl and skopeo pull every tag, and list and fetch every ")
	p("referrer of a live image, on each, and the test compares every manifest folder.\n\n")
	p("Digests are random on every run, so folders go by symbolic names: `<image>@<role>` for a digest folder ")
	p("(`<image>/sha256:<hex>/`), `<image>:<tag>` for a tag folder.\n\n")

	p("## Scenarios\n\n")
	for _, s := range w.scenarios {
		p("%s\n", s)
	}

	// Summary.
	count := func(pred func(r row) bool) int {
		n := 0
		for _, r := range rows {
			if pred(r) {
				n++
			}
		}
		return n
	}
	inRepo := func(r row) bool { return r.f.Repo == pruneRepo }
	brokenTags := func(ps []problem) int {
		set := map[string]bool{}
		for _, x := range ps {
			if f := w.bySym[x.Sym]; f != nil && f.isTag() {
				set[x.Sym] = true
			}
		}
		return len(set)
	}
	lostReferrers := func(ps []problem) int {
		set := map[string]bool{}
		for _, x := range ps {
			if f := w.bySym[x.Sym]; f != nil && f.Kind == kindReferrer {
				set[x.Sym] = true
			}
		}
		return len(set)
	}
	var digestIndexes []string
	for _, f := range w.folders {
		if f.Repo == pruneRepo && f.Kind == kindIndex {
			digestIndexes = append(digestIndexes, code(f.Sym))
		}
	}
	awDeleted := 0
	for _, f := range w.folders {
		if aw.states[f.Sym] == "deleted" {
			awDeleted++
		}
	}
	p("\n## The script as written aborts\n\n")
	p("On this repository the script as published stops (exit status %d) before it deletes anything (%d folders deleted). ", aw.exit, awDeleted)
	p("GNU parallel shell-quotes a replacement string that holds a `:`, and the script writes `{}` inside double quotes, ")
	p("so for every index in a digest folder (here %s) `jf rt curl` asks for ", strings.Join(digestIndexes, ", "))
	p("`%s/'<image>/sha256:<hex>/list.manifest.json'`, quotes included: no such path, so a 404 error document, ", pruneRepo)
	p("`jq '.manifests[]'` fails on it, `--halt now,fail=1` stops parallel, and `set -euo pipefail` ends the script. Any ")
	p("repository holding a nested index or an index pushed by digest does this.\n\n")
	p("To compare what the script's logic does, the test runs it a second time with the environment variable ")
	p("`PARALLEL=\"%s\"`, which makes parallel insert `{}` unquoted; its code is unchanged. The columns *the script* ", parallelNoQuote)
	p("below are that run.\n")

	p("\n## Summary\n\n")
	p("| in `%s` | the script as written | the script, `{}` unquoted | artprune |\n| --- | --- | --- | --- |\n", pruneRepo)
	awCount := func(pred func(f *folder) bool) int {
		n := 0
		for _, f := range w.folders {
			if f.Repo == pruneRepo && pred(f) {
				n++
			}
		}
		return n
	}
	p("| exit status | %d | 0 | 0 |\n", aw.exit)
	p("| digest folders deleted | %d | %d | %d |\n",
		awCount(func(f *folder) bool { return !f.isTag() && aw.states[f.Sym] == "deleted" }),
		count(func(r row) bool { return inRepo(r) && !r.f.isTag() && r.script == "deleted" }),
		count(func(r row) bool { return inRepo(r) && !r.f.isTag() && r.artprune == "deleted" }))
	p("| live folders deleted (tag folders included) | %d | %d | %d |\n",
		awCount(func(f *folder) bool { return f.Keep && aw.states[f.Sym] == "deleted" }),
		count(func(r row) bool { return inRepo(r) && r.f.Keep && r.script == "deleted" }),
		count(func(r row) bool { return inRepo(r) && r.f.Keep && r.artprune == "deleted" }))
	p("| dangling folders left behind | %d | %d | %d |\n",
		awCount(func(f *folder) bool { return !f.Keep && aw.states[f.Sym] != "deleted" }),
		count(func(r row) bool { return inRepo(r) && !r.f.Keep && r.script != "deleted" }),
		count(func(r row) bool { return inRepo(r) && !r.f.Keep && r.artprune != "deleted" }))
	p("| tags that no longer pull | %d | %d | %d |\n", awCount(func(f *folder) bool { return f.isTag() && aw.states[f.Sym] != "kept" }),
		brokenTags(sProblems), brokenTags(aProblems))
	p("| referrers of live images lost | %d | %d | %d |\n", awCount(func(f *folder) bool { return f.Kind == kindReferrer && f.Keep && aw.states[f.Sym] != "kept" }),
		lostReferrers(sProblems), lostReferrers(aProblems))
	p("| folders changed in `%s` (not pruned) | %d | %d | %d |\n", otherRepo,
		count(func(r row) bool { return r.f.Repo != pruneRepo && aw.states[r.f.Sym] != "kept" }),
		count(func(r row) bool { return r.f.Repo != pruneRepo && r.script != "untouched" }),
		count(func(r row) bool { return r.f.Repo != pruneRepo && r.artprune != "untouched" }))
	p("\nThe script as written changes nothing, so every tag and referrer it leaves is as pushed; the other two columns ")
	p("count what the real clients report after each run.\n")

	// Differences.
	p("\n## Differences (the script with `{}` unquoted, and artprune)\n\n### What the script breaks\n\n")
	n := 0
	for _, r := range rows {
		if r.class == classBreaks {
			p("- %s (scenario %d): %s.\n", code(r.f.Sym), r.f.Scenario, r.cause)
			n++
		}
	}
	if n == 0 {
		p("Nothing.\n")
	}
	if len(sProblems) > 0 {
		p("\nWhat the real clients then report on the script's emulator (on artprune's, they report nothing):\n\n")
		bySym := map[string][]string{}
		for _, x := range sProblems {
			if !slices.Contains(bySym[x.Sym], x.Check) {
				bySym[x.Sym] = append(bySym[x.Sym], x.Check)
			}
		}
		for _, sym := range slices.Sorted(maps.Keys(bySym)) {
			checks := bySym[sym]
			slices.Sort(checks)
			what := "no longer pulls"
			if f := w.bySym[sym]; f != nil && f.Kind == kindReferrer {
				what = "is no longer listed or fetchable"
			}
			p("- %s %s: %s fail.\n", code(sym), what, strings.Join(checks, ", "))
		}
	}
	p("\n### What the script cannot free\n\n")
	n = 0
	for _, r := range rows {
		if r.class == classCannotFree {
			p("- %s (scenario %d): %s.\n", code(r.f.Sym), r.f.Scenario, r.cause)
			n++
		}
	}
	if n == 0 {
		p("Nothing.\n")
	}
	p("\nartprune frees every dangling folder (each scenario's oracle names them), and every folder the script frees safely.\n")

	// The table.
	p("\n## Folder by folder\n\n")
	p("*must keep* is the oracle the test holds both tools to: what tags, nested indexes, referrers of live images and ")
	p("the grace period keep alive. artprune's kept folders carry the reason its report gives.\n\n")
	p("| # | folder | kind | must keep? | the script | artprune | difference and cause |\n")
	p("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range slices.SortedStableFunc(slices.Values(rows), func(a, b row) int { return a.f.Scenario - b.f.Scenario }) {
		keep := "no: " + r.f.Why
		if r.f.Keep {
			keep = "yes: " + r.f.Why
		}
		diff := "same"
		if r.class != classSame {
			diff = "**" + r.class + "**: " + r.cause
		}
		p("| %d | %s | %s | %s | %s | %s | %s |\n", r.f.Scenario, code(r.f.Sym), r.f.Kind, keep, r.script, r.artprune, diff)
	}

	p("\n## How the script runs\n\n")
	p("- The script is extracted at test time from `../shared/seeds/skopeo-issue-2497.txt` (the lines between ")
	p("`#!/bin/bash` and its final `main \"$@\"`), never copied into the project. A wrapper defines only what it leaves ")
	p("undefined: `log_info`, `log_warn`, `DRY_RUN=false`, and a `main` that collects `%s` alone.\n", pruneRepo)
	p("- It runs twice, each time on a fresh emulator loaded with the pushed state: as written, and with ")
	p("`PARALLEL=\"%s\"` (see [above](#the-script-as-written-aborts)).\n", parallelNoQuote)
	p("- `jf rt curl` is [`scripts/jf`](../scripts/jf), a shim that runs curl against `JF_URL` with `JF_ACCESS_TOKEN`.\n")
	p("- `skopeo delete docker://artifactory.example.com/...`: skopeo 1.9 ignores `CONTAINERS_REGISTRIES_CONF`, and ")
	p("`skopeo delete` ignores a registries.conf `location` remap anyway (checked by hand with skopeo 1.9.3 and a rootless ")
	p("`~/.config/containers/registries.conf`: `skopeo inspect` follows the remap, `skopeo delete` still dials ")
	p("`artifactory.example.com`). So the host the script hard-codes is reached through the environment alone: ")
	p("`HTTPS_PROXY` names a proxy in the test that accepts ")
	p("`CONNECT artifactory.example.com:443` only, terminates TLS with a certificate of a CA made for the run ")
	p("(`SSL_CERT_FILE`), and forwards to the emulator; `REGISTRY_AUTH_FILE` holds the credentials for that host.\n")
	p("- The emulator models what Artifactory does on `DELETE /v2/<image>/manifests/<digest>`: the digest folder goes, ")
	p("and so does every tag folder of the image whose manifest has that digest.\n")
	p("- The script writes `/tmp/images_to_keep.txt` whatever `TMPDIR` says, so its runs here take turns, across suites ")
	p("running at the same time on the machine too (a lock file beside it). Two runs at once (two repositories collected ")
	p("in parallel, two CI jobs on one runner) overwrite each other's list of digests to keep, and then delete live ")
	p("folders: that is what happened when two runs of this suite overlapped before it took the lock.\n")
	return b.String()
}

// checkDoc compares the committed docs/comparison.md with the rendered one, or writes it when E2E_UPDATE=1.
func checkDoc(t *testing.T, path, doc string) {
	t.Helper()
	if os.Getenv("E2E_UPDATE") == "1" {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (generate it with E2E_UPDATE=1 make e2e)", path, err)
	}
	if string(b) == doc {
		return
	}
	got, want := strings.Split(string(b), "\n"), strings.Split(doc, "\n")
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("%s differs from what the test observed, first at line %d:\n  committed: %s\n  observed:  %s\n"+
				"review the change and regenerate it with E2E_UPDATE=1 make e2e", path, i+1, g, w)
			return
		}
	}
}
