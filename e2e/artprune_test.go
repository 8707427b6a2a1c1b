//go:build e2e

package e2e

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/prune"
)

// TestArtprune prunes the emulator the real clients pushed to: a dry run that must change nothing, then --delete,
// then the clients prove that nothing live was lost, and the snapshots that exactly the dangling folders went.
func TestArtprune(t *testing.T) {
	w := sharedWorld(t)
	e := w.p
	dir := suiteTemp(t, "artprune")
	before := e.snapshot(t)
	if d := diffSnapshots(w.fixture, before); !d.empty() {
		t.Fatalf("the emulator changed since the scenarios' snapshot: %+v", d)
	}

	// The dry run changes nothing, and plans what --delete then deletes.
	dry := runArtprune(t, e, dir, "dry-run", false)
	if d := diffSnapshots(before, e.snapshot(t)); !d.empty() {
		t.Errorf("the dry run changed the emulator: removed %v, added %v, changed %v", d.removed, d.added, d.changed)
	}
	planned := deletedPaths(dry)
	for p, outcome := range planned {
		if outcome != "would-delete" {
			t.Errorf("dry run: %s has outcome %q, want would-delete", p, outcome)
		}
	}

	began := time.Now()
	del := runArtprune(t, e, dir, "delete", true)
	after := e.snapshot(t)
	deleted := deletedPaths(del)
	t.Logf("artprune deleted %d folders in %s", len(deleted), time.Since(began).Round(time.Millisecond))
	for p, outcome := range deleted {
		if outcome != "deleted" {
			t.Errorf("--delete: %s has outcome %q, want deleted", p, outcome)
		}
		if _, ok := planned[p]; !ok {
			t.Errorf("--delete deleted %s, which the dry run did not plan", p)
		}
	}
	for p := range planned {
		if _, ok := deleted[p]; !ok {
			t.Errorf("the dry run planned %s, which --delete did not delete", p)
		}
	}

	// Exactly the dangling folders of pruneRepo are deleted; each kept one for the oracle's reason.
	checkAgainstOracle(t, w, del, "artprune")

	// The snapshots: every deleted folder is gone entirely, nothing else changed (otherRepo included).
	states, stray := w.folderStates(before, after)
	for _, s := range stray {
		t.Errorf("outside the folders artprune deleted: %s", s)
	}
	for _, f := range w.folders {
		_, reported := deleted[f.key()]
		switch st := states[f.Sym]; {
		case reported && st != "deleted":
			t.Errorf("%s (%s): the report says deleted, the emulator says %s", f.key(), f.Sym, st)
		case !reported && st != "kept":
			t.Errorf("%s (%s): not in the report's deletions, but the emulator says %s", f.key(), f.Sym, st)
		}
	}
	for p := range deleted {
		if !strings.HasPrefix(p, pruneRepo+"/") {
			t.Errorf("%s: artprune deleted outside --repo %s", p, pruneRepo)
			continue
		}
		image, dg, _ := strings.Cut(strings.TrimPrefix(p, pruneRepo+"/"), "/sha256:")
		if status, body, err := e.getManifest(pruneRepo, image, "sha256:"+dg); err != nil || status != http.StatusNotFound {
			t.Errorf("%s: deleted, but GET /v2/%s/%s/manifests/sha256:%s answers %d %s (%v), want 404", p, pruneRepo, image, dg, status, body, err)
		}
	}

	// The real clients: every tag pulls completely, every referrer of a live image is listed and fetchable.
	v := &verifier{w: w, e: e, c: w.pc}
	began = time.Now()
	for _, p := range v.verifyLive(t) {
		t.Errorf("after artprune --delete: %s", p)
	}
	t.Logf("verified with crane, regctl and skopeo in %s", time.Since(began).Round(time.Millisecond))
	if d := diffSnapshots(after, e.snapshot(t)); !d.empty() {
		t.Errorf("pulling changed the emulator: %+v", d)
	}

	// A second run finds nothing left to delete.
	if again := deletedPaths(runArtprune(t, e, dir, "again", false)); len(again) != 0 {
		t.Errorf("a second dry run still plans %v", slices.Sorted(maps.Keys(again)))
	}
}

// checkAgainstOracle checks an artprune report of pruneRepo against the oracle: every folder the oracle says
// dangles is deleted, every other digest folder is kept, for the reason the oracle gives.
func checkAgainstOracle(t *testing.T, w *world, r *prune.Report, who string) {
	t.Helper()
	deleted, kept := deletedPaths(r), keptReasons(r)
	known := map[string]bool{}
	for _, f := range w.folders {
		if f.Repo != pruneRepo {
			continue
		}
		known[f.key()] = true
		_, del := deleted[f.key()]
		reason, isKept := kept[f.key()]
		switch {
		case f.Keep && del:
			t.Errorf("%s deleted %s (%s), which is live: %s", who, f.key(), f.Sym, f.Why)
		case !f.Keep && !del:
			t.Errorf("%s kept %s (%s, reason %q), which dangles: %s", who, f.key(), f.Sym, reason, f.Why)
		case f.isTag() && (del || isKept):
			t.Errorf("%s's report lists the tag folder %s (%s) as a digest folder", who, f.key(), f.Sym)
		case !f.isTag() && f.Keep && !isKept:
			t.Errorf("%s's report does not list %s (%s) as kept", who, f.key(), f.Sym)
		case !f.isTag() && f.Keep && reason != f.Reason:
			t.Errorf("%s kept %s (%s) for reason %q, want %q (%s)", who, f.key(), f.Sym, reason, f.Reason, f.Why)
		}
	}
	for p := range deleted {
		if !known[p] {
			t.Errorf("%s deleted %s, a folder no scenario declared", who, p)
		}
	}
	for p := range kept {
		if !known[p] {
			t.Errorf("%s's report keeps %s, a folder no scenario declared", who, p)
		}
	}
}
