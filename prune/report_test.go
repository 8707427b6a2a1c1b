package prune_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/prune"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/prune")

// golden compares got with the golden file name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("..", "testdata", "prune", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./prune -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

// reportFixture is a run over two repositories with every kind of decision and outcome.
func reportFixture(t *testing.T) (*fakeStore, []string) {
	t.Helper()
	s := newStore(t)
	m := func(seed string, subject ...doc) doc { return ociManifest(t, seed, subject...) }

	amd, att, old1, old2, yng, absent := m("amd64"), m("attestation"), m("old-amd64"), m("old-arm64"), m("young"), m("absent")
	sig := m("signature", amd)
	s.put("app/latest", seedIndex(t, amd, att), 2*time.Hour)
	s.put("app/v0", ociIndex(t, amd, absent), old)
	for _, d := range []doc{amd, att, old1, old2, sig} {
		s.put(at("app", d), d, old)
	}
	s.put(at("app", yng), yng, young)
	s.put("app/_uploads/"+string(yng.digest), yng, old)

	m1, p1, d1, d2, d3 := m("api-v1"), m("pinned"), m("d1"), m("d2"), m("d3")
	s.put("team/api/v1", m1, old)
	s.put(at("team/api", m1), m1, old)
	s.put(at("team/api", p1), p1, old, withProps("artprune.keep", "true"))
	for _, d := range []doc{d1, d2, d3} {
		s.put(at("team/api", d), d, 50*time.Hour+17*time.Minute)
	}
	s.deleteErr[repo+"/"+at("team/api", d1)] = fmt.Errorf("HTTP 403 Not enough permissions: %w", prune.ErrForbidden)
	s.deleteErr[repo+"/"+at("team/api", d2)] = fmt.Errorf("HTTP 404 Could not locate artifact: %w", prune.ErrNotFound)
	s.deleteErr[repo+"/"+at("team/api", d3)] = errBoom

	b1 := m("b1")
	s.put("broken/latest", ociIndex(t, b1), old)
	s.put(at("broken", b1), b1, old)
	s.readErr[repo+"/broken/latest/list.manifest.json"] = errBoom

	c1 := m("c1")
	s.put(at("busy", c1), c1, old)
	s.put("latest", ociIndex(t, c1), old) // outside any image

	s.putIn("docker-broken", "app/latest", m("x"), old)
	return s, []string{repo, "docker-broken"}
}

func TestReportGolden(t *testing.T) {
	ctx := context.Background()
	s, repos := reportFixture(t)
	p := newPlanner(t, s, prune.Options{KeepProperty: "artprune.keep=true"})
	var plans []*prune.RepoPlan
	for _, r := range repos {
		if r == "docker-broken" {
			s.manifestsErr = fmt.Errorf("aql page 2: results trimmed: %w", prune.ErrIncomplete)
		}
		plan, _ := p.Plan(ctx, r)
		plans = append(plans, plan)
	}
	s.manifestsErr = nil

	var dry bytes.Buffer
	if err := prune.NewReport(true, plans, nil).WriteText(&dry); err != nil {
		t.Fatal(err)
	}
	golden(t, "report-dry-run.golden.txt", dry.Bytes())
	if !strings.HasPrefix(dry.String(), "*** DRY RUN") || !strings.HasSuffix(dry.String(), "***\n") {
		t.Errorf("dry-run text is not framed by banners")
	}

	// A push to image busy during the run, then the real run.
	s.now = t0.Add(3 * time.Minute)
	s.put("busy/v2", m2(t), 0)
	var results []*prune.ApplyResult
	for _, plan := range plans {
		_ = prune.Recheck(ctx, s, plan)
		results = append(results, prune.Apply(ctx, s, plan, 2))
	}
	report := prune.NewReport(false, plans, results, prune.WithURL("https://artifactory.example.com/artifactory/"))
	b, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.json", append(b, '\n'))
	var text bytes.Buffer
	if err := report.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.txt", text.Bytes())
	if strings.Contains(text.String(), "DRY RUN") {
		t.Errorf("real run text says DRY RUN")
	}

	// The JSON reads back into the same report.
	var back prune.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if b2, _ := json.MarshalIndent(&back, "", "  "); !bytes.Equal(b, b2) {
		t.Errorf("JSON does not round-trip")
	}
}

func m2(t *testing.T) doc { return ociManifest(t, "pushed during the run") }
