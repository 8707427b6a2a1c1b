//go:build e2e

package e2e

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// TestRestoreUndoesPrune: on the repository the real clients pushed, artprune prune --delete --report, then
// artprune restore on the report: the repositories then hold exactly what they held, every path, checksum and
// property, and every tag and referrer pulls with crane, regctl and skopeo.
func TestRestoreUndoesPrune(t *testing.T) {
	w := sharedWorld(t)
	dir := suiteTemp(t, "restore")
	e := startEmulator(t, "restore", t.Cleanup, "--fixture", w.fixturePath)
	before := e.snapshot(t)

	del := runArtprune(t, e, dir, "delete", true)
	deleted := deletedPaths(del)
	if len(deleted) == 0 {
		t.Fatal("artprune deleted nothing: the test proves nothing")
	}
	if d := repoDiff(before, e.snapshot(t)); len(d) == 0 {
		t.Fatal("the delete changed nothing")
	}

	report := filepath.Join(dir, "delete.report.json")
	home := filepath.Join(dir, "restore.home")
	env := append(isolatedEnv(t, home), "JF_URL="+e.artifactoryURL(), "JF_ACCESS_TOKEN="+e.token)
	out, errOut, err := runCmd(cmdTimeout, env, dir, nil, binary(t, "artprune"), "restore", report, "--dry-run", "-o", "json", "--quiet")
	if err != nil {
		t.Fatalf("artprune restore --dry-run: %v\n%s\n%s", err, errOut, out)
	}
	var dry prune.RestoreReport
	if err := json.Unmarshal([]byte(out), &dry); err != nil || dry.Counts[prune.RestoreWouldRestore] != len(deleted) {
		t.Fatalf("restore --dry-run: %v, counts %v for %d deleted folders\n%s", err, dry.Counts, len(deleted), out)
	}

	out, errOut, err = runCmd(cmdTimeout, env, dir, nil, binary(t, "artprune"), "restore", report, "-o", "json", "--quiet")
	if err != nil {
		t.Fatalf("artprune restore: %v\n%s\n%s", err, errOut, out)
	}
	var rep prune.RestoreReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("restore report: %v\n%s", err, out)
	}
	var restored []string
	for _, f := range rep.Folders {
		if f.Outcome != prune.RestoreRestored {
			t.Errorf("%s/%s: %s %s", f.Repo, f.Path, f.Outcome, f.Error)
		}
		restored = append(restored, f.Repo+"/"+f.Path)
	}
	if want := slices.Sorted(maps.Keys(deleted)); !slices.Equal(restored, want) {
		t.Errorf("restored %q, want %q", restored, want)
	}
	if d := repoDiff(before, e.snapshot(t)); len(d) != 0 {
		t.Errorf("after restore the repositories differ from before the run:\n%s", strings.Join(d, "\n"))
	}
	v := &verifier{w: w, e: e, c: newClients(t, e, filepath.Join(dir, "clients"))}
	for _, p := range v.verifyLive(t) {
		t.Errorf("after restore: %s", p)
	}
}

// repoDiff lists the items outside the Trash Can whose path, kind, checksums or properties differ.
func repoDiff(a, b *snapshot) []string {
	var out []string
	same := func(x, y artifactorytest.FixtureItem) bool {
		return x.Type == y.Type && x.Size == y.Size && x.SHA256 == y.SHA256 && x.SHA1 == y.SHA1 && x.MD5 == y.MD5 &&
			maps.EqualFunc(x.Properties, y.Properties, slices.Equal[[]string])
	}
	for k, x := range a.items {
		if strings.HasPrefix(k, artifactorytest.TrashRepo+"/") {
			continue
		}
		y, ok := b.items[k]
		switch {
		case !ok:
			out = append(out, "removed "+k)
		case !same(x, y):
			out = append(out, "changed "+k)
		}
	}
	for k := range b.items {
		if _, ok := a.items[k]; !ok && !strings.HasPrefix(k, artifactorytest.TrashRepo+"/") {
			out = append(out, "added "+k)
		}
	}
	slices.Sort(out)
	return out
}
