package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// downloads returns the emulator's count of reads (GET and HEAD of repository paths) and resets its counters.
func downloads(srv *artifactorytest.Server) int64 {
	counts, _ := srv.Stats().Snapshot()
	srv.Stats().Reset()
	return counts[string(artifactorytest.ClassDownload)]
}

// plannedPaths returns the deletions of a JSON report.
func plannedPaths(t *testing.T, stdout string) []string {
	t.Helper()
	var rep struct {
		Repositories []struct {
			Deletions []struct {
				Path string `json:"path"`
			} `json:"deletions"`
		} `json:"repositories"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout)
	}
	var out []string
	for _, r := range rep.Repositories {
		for _, d := range r.Deletions {
			out = append(out, d.Path)
		}
	}
	slices.Sort(out)
	return out
}

// TestCacheDirReadsOnlyNewDocuments: with --cache-dir, a second run over an unchanged repository reads no document,
// a run after new pushes reads only those, and a damaged entry is read again; the plans stay the same.
func TestCacheDirReadsOnlyNewDocuments(t *testing.T) {
	srv, _ := newSeedServer(t)
	cache := t.TempDir()
	args := []string{"prune", "--repo", "docker-local", "--output", "json", "--cache-dir", cache}
	run := func(label string) ([]string, int64) {
		t.Helper()
		srv.Stats().Reset()
		res := runCLI(t, env(srv), args...)
		if res.code != 0 {
			t.Fatalf("%s: exit %d\n%s", label, res.code, res.stderr)
		}
		return plannedPaths(t, res.stdout), downloads(srv)
	}

	plan1, reads1 := run("first run")
	if reads1 == 0 {
		t.Fatal("the first run read no document")
	}
	plan2, reads2 := run("second run")
	if reads2 != 0 {
		t.Errorf("the second run over an unchanged repository read %d documents, want 0", reads2)
	}
	if !slices.Equal(plan1, plan2) {
		t.Errorf("the cached run plans %v, the first %v", plan2, plan1)
	}

	// Three new documents: two platform manifests and the index of a new tag.
	p := artifactorytest.NewPusher(srv.Store(), "docker-local", 99)
	p.At = srv.Clock().Now().Add(-72 * time.Hour)
	var children []v1.Descriptor
	for _, arch := range []string{"amd64", "arm64"} {
		d, err := p.PushManifest("new-image", "", p.NewImage(100))
		if err != nil {
			t.Fatal(err)
		}
		d.Platform = &v1.Platform{Architecture: arch, OS: "linux"}
		children = append(children, d)
	}
	if _, err := p.PushIndex("new-image", "latest", "", children...); err != nil {
		t.Fatal(err)
	}
	plan3, reads3 := run("after three pushes")
	if reads3 != 3 {
		t.Errorf("after 3 new documents the run read %d, want 3", reads3)
	}
	if !slices.Equal(plan1, plan3) {
		t.Errorf("the plan changed with a live new image: %v, was %v", plan3, plan1)
	}

	// Damage one entry, cut another short: both are read again, the plan is the same.
	var entries []string
	_ = filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(d.Name()) == 64 {
			entries = append(entries, p)
		}
		return nil
	})
	if len(entries) < 2 {
		t.Fatalf("%d cache entries", len(entries))
	}
	b, err := os.ReadFile(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(entries[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(entries[1], 10); err != nil {
		t.Fatal(err)
	}
	plan4, reads4 := run("after damage")
	if reads4 != 2 {
		t.Errorf("after damaging 2 entries the run read %d documents, want 2", reads4)
	}
	if !slices.Equal(plan1, plan4) {
		t.Errorf("the plan changed with damaged entries: %v, was %v", plan4, plan1)
	}
	if _, reads5 := run("after repair"); reads5 != 0 {
		t.Errorf("the damaged entries were not stored again: %d reads", reads5)
	}
}

// TestTooManyRequestsSlowDownTheRun: the emulator answers 429 (Retry-After: 1) to a share of the requests; the run
// waits them out and plans and deletes exactly what it does without them.
func TestTooManyRequestsSlowDownTheRun(t *testing.T) {
	clean, _ := newSeedServer(t)
	want := runCLI(t, env(clean), "prune", "--repo", "docker-local", "--delete", "--output", "json")
	if want.code != 0 {
		t.Fatalf("exit %d\n%s", want.code, want.stderr)
	}
	srv, _ := newSeedServer(t, artifactorytest.WithSeed(3),
		artifactorytest.WithFaults(artifactorytest.FaultConfig{Rate: 0.1, Kinds: []artifactorytest.Fault{artifactorytest.Fault429}}))
	began := time.Now()
	got := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--output", "json", "--verbose")
	if got.code != 0 {
		t.Fatalf("429 answers failed the run: exit %d\n%s", got.code, got.stderr)
	}
	if a, b := plannedPaths(t, got.stdout), plannedPaths(t, want.stdout); !slices.Equal(a, b) {
		t.Errorf("with 429 answers the run deleted %v, without %v", a, b)
	}
	pauses := strings.Count(got.stderr, "the server asks to slow down")
	if pauses == 0 {
		t.Fatal("no 429 answer: raise the fault rate")
	}
	if took := time.Since(began); took < 900*time.Millisecond { // pauses at the same time overlap
		t.Errorf("%d pauses of a second took only %v", pauses, took)
	}
}

// TestPerfFlagsValidate covers the usage errors of the flags of perf.go.
func TestPerfFlagsValidate(t *testing.T) {
	srv, _ := newSeedServer(t)
	for _, args := range [][]string{
		{"--measure-limit", "-1"}, {"--rate", "-2"}, {"--cache-max-age", "0s"},
	} {
		res := runCLI(t, env(srv), append([]string{"prune", "--repo", "docker-local"}, args...)...)
		if res.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, res.code, ExitUsage, res.stderr)
		}
	}
}

// TestRateLimitsRequests: --rate spaces the requests of a run.
func TestRateLimitsRequests(t *testing.T) {
	srv, _ := newSeedServer(t)
	srv.Stats().Reset()
	began := time.Now()
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--rate", "50")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	took := time.Since(began)
	_, total := srv.Stats().Snapshot()
	if want := time.Duration(total-1) * time.Second / 50; took < want {
		t.Errorf("%d requests at 50 per second took %v, want at least %v", total, took, want)
	}
}
