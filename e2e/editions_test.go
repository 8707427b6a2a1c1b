//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/prune"
)

// TestArtpruneOnEveryEdition loads what the real clients pushed into emulators of each other edition
// (fakeartifactory --edition): artprune prunes exactly as on pro (the oracle's deletions, nothing else changed,
// exit 0) and names the edition; a filtered view and a trimmed listing delete nothing and exit 1 with what to do.
func TestArtpruneOnEveryEdition(t *testing.T) {
	w := sharedWorld(t)
	for _, ed := range []struct {
		name, edition string
		sorts         bool
		filteredSays  string
	}{
		{"jcr", "jcr", false, "run artprune as an admin user"},
		{"oss", "oss", false, "run artprune as an admin user"},
		{"saas", "pro", true, "filtered by permissions"}, // a loopback host is not under jfrog.io
	} {
		t.Run(ed.name, func(t *testing.T) {
			dir := suiteTemp(t, "edition-"+ed.name)
			e := startEmulator(t, ed.name, t.Cleanup, "--fixture", w.fixturePath, "--edition", ed.name,
				"--token", "team:team-"+randomHex(t, 8)+":read,delete::"+pruneRepo+"/**/list.manifest.json")
			if d := diffSnapshots(w.fixture, e.snapshot(t)); !d.empty() {
				t.Fatalf("emulator %s differs from the fixture: %+v", ed.name, d)
			}
			rep := runArtprune(t, e, dir, "delete", true)
			if rep.Server == nil || rep.Server.Edition != ed.edition || rep.Server.AQLSort != ed.sorts || !rep.Server.Admin {
				t.Errorf("report server %+v: want edition %s, aql_sort %v, admin", rep.Server, ed.edition, ed.sorts)
			}
			checkAgainstOracle(t, w, rep, "artprune on "+ed.name)
			states, stray := w.folderStates(w.fixture, e.snapshot(t))
			for _, s := range stray {
				t.Errorf("outside the folders artprune deleted: %s", s)
			}
			deleted := deletedPaths(rep)
			for _, f := range w.folders {
				_, reported := deleted[f.key()]
				if st := states[f.Sym]; reported != (st == "deleted") {
					t.Errorf("%s (%s): reported deleted %v, emulator says %s", f.key(), f.Sym, reported, st)
				}
			}
			v := &verifier{w: w, e: e, c: newClients(t, e, suiteTemp(t, "edition-clients-"+ed.name))}
			for _, p := range v.verifyLive(t) {
				t.Errorf("after artprune --delete on %s: %s", ed.name, p)
			}
		})
	}
}

// TestUnprovableListingsOnEveryEdition: a user who may not see the indexes, and a server that trims answers, get
// nothing deleted and exit 1 on every edition.
func TestUnprovableListingsOnEveryEdition(t *testing.T) {
	w := sharedWorld(t)
	for _, ed := range []string{"pro", "jcr", "oss", "saas"} {
		t.Run(ed, func(t *testing.T) {
			dir := suiteTemp(t, "unprovable-"+ed)
			teamTok := "team-" + randomHex(t, 8)
			e := startEmulator(t, "unprovable-"+ed, t.Cleanup, "--fixture", w.fixturePath, "--edition", ed,
				"--token", "team:"+teamTok+":read,delete::"+pruneRepo+"/**/list.manifest.json")
			want := "filtered by permissions"
			if ed == "jcr" || ed == "oss" {
				want = "run artprune as an admin user"
			}
			checkFailsClosed(t, e, dir, "filtered", teamTok, want)
			// Trimmed to one row: too few to split a partition, so every edition fails (jcr and oss split
			// partitions a server trims to more rows until they fit).
			trimmed := startEmulator(t, "trimmed-"+ed, t.Cleanup, "--fixture", w.fixturePath, "--edition", ed, "--aql-max-results", "1")
			checkFailsClosed(t, trimmed, dir, "trimmed", trimmed.token, "trimmed")
		})
	}
}

// checkFailsClosed runs artprune --delete as tok: it must exit 1, say want, and change nothing.
func checkFailsClosed(t *testing.T, e *emulator, dir, label, tok, want string) {
	t.Helper()
	before := e.snapshot(t)
	env := append(isolatedEnv(t, filepath.Join(dir, label+".home")), "JF_URL="+e.artifactoryURL(), "JF_ACCESS_TOKEN="+tok)
	out, errOut, err := runCmd(cmdTimeout, env, dir, nil, binary(t, "artprune"), "prune", "--repo", pruneRepo, "--delete", "-o", "json", "--quiet")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("%s on %s: %v, want exit 1\n%s\n%s", label, e.name, err, out, errOut)
	}
	var rep prune.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Repositories) != 1 || !strings.Contains(rep.Repositories[0].Error, want) ||
		len(rep.Repositories[0].Deletions) != 0 {
		t.Errorf("%s on %s: want no deletion and an error saying %q; got %v\n%s", label, e.name, want, err, out)
	}
	if d := diffSnapshots(before, e.snapshot(t)); !d.empty() {
		t.Errorf("%s on %s changed the emulator: %+v", label, e.name, d)
	}
}

// scratchRepo is the empty repository the doctor's scratch checks may fill and empty.
const scratchRepo = "docker-scratch"

// TestDoctorOnEveryEdition runs artprune doctor, scratch checks included, against each edition loaded with what
// the real clients pushed: exit 0, and the emulator is as before (the scratch image is removed).
func TestDoctorOnEveryEdition(t *testing.T) {
	w := sharedWorld(t)
	for _, ed := range []string{"pro", "jcr", "oss", "saas"} {
		t.Run(ed, func(t *testing.T) {
			dir := suiteTemp(t, "doctor-"+ed)
			// An empty scratch repository of its own: doctor refuses one that holds data (docker-other does).
			e := startEmulator(t, "doctor-"+ed, t.Cleanup, "--fixture", w.fixturePath, "--edition", ed, "--repo", scratchRepo)
			env := append(isolatedEnv(t, filepath.Join(dir, "home")), "JF_URL="+e.artifactoryURL(), "JF_ACCESS_TOKEN="+e.token)
			out, errOut, err := runCmd(cmdTimeout, env, dir, nil, binary(t, "artprune"), "doctor", "--repo", pruneRepo, "--scratch-repo", scratchRepo)
			if err != nil {
				t.Fatalf("artprune doctor on %s: %v\n%s\n%s", ed, err, out, errOut)
			}
			if !strings.Contains(out, "doctor: everything artprune needs holds") || !strings.Contains(out, "both list.manifest.json and manifest.json") {
				t.Errorf("artprune doctor on %s:\n%s", ed, out)
			}
			// Deleting the probe puts it in the Trash Can; doctor takes it out where the Trash Can API exists (not on
			// jcr and oss, where it is Pro only). Folders the Trash Can made for the repository may stay.
			d := diffSnapshots(w.fixture, e.snapshot(t))
			var probeInTrash []string
			d.added = slices.DeleteFunc(d.added, func(k string) bool {
				rest, ok := strings.CutPrefix(k, "auto-trashcan/")
				if ok && strings.Contains(rest, "artprune-doctor-probe-") && ed != "jcr" && ed != "oss" {
					probeInTrash = append(probeInTrash, k)
				}
				return ok
			})
			if !d.empty() || len(probeInTrash) > 0 {
				t.Errorf("doctor left the emulator changed: removed %v, added %v, changed %v; in the Trash Can %v", d.removed, d.added, d.changed, probeInTrash)
			}
		})
	}
}
