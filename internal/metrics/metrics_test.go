package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/artprune/artprune/prune"
)

func sampleReport(dryRun bool) *prune.Report {
	freed := int64(4096)
	bytes := int64(8192)
	rr := prune.RepoReport{Repo: "docker-local"}
	rr.Summary.DigestFolders = 10
	rr.Summary.Deletions = 3
	rr.Summary.Kept = prune.KeptCounts{Total: 7, Tagged: 4, Young: 2, Protected: 1}
	rr.Summary.Bytes, rr.Summary.FreedBytesEstimate = &bytes, &freed
	if dryRun {
		rr.Summary.Outcomes.WouldDelete = 3
	} else {
		rr.Summary.Outcomes = prune.OutcomeCounts{Deleted: 2, AlreadyGone: 1}
	}
	bad := prune.RepoReport{Repo: "docker-bad", Error: "AQL trimmed"}
	bad.Summary.Outcomes.Failed = 0
	return &prune.Report{DryRun: dryRun, Repositories: []prune.RepoReport{rr, bad}}
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	fam, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range fam.GetMetric() {
		for _, lp := range m.GetLabel() {
			if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
				continue next
			}
		}
		if m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("no %s with labels %v", name, labels)
	return 0
}

func readFile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fams, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func TestTextfileContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "artprune.prom")
	ok := time.Unix(1_700_000_000, 0)
	if err := WriteTextfile(path, Run{Report: sampleReport(false), Finished: ok, Duration: 1500 * time.Millisecond, Success: true}); err != nil {
		t.Fatal(err)
	}
	fams := readFile(t, path)
	repo := map[string]string{"repo": "docker-local"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"artprune_folders_scanned", repo, 10},
		{"artprune_folders_kept", map[string]string{"repo": "docker-local", "reason": "tagged"}, 4},
		{"artprune_folders_kept", map[string]string{"repo": "docker-local", "reason": "young"}, 2},
		{"artprune_folders_kept", map[string]string{"repo": "docker-local", "reason": "protected"}, 1},
		{"artprune_folders_deleted", repo, 3},
		{"artprune_folders_failed", repo, 0},
		{"artprune_deletions", map[string]string{"repo": "docker-local", "outcome": "already-gone"}, 1},
		{"artprune_bytes_freed_estimate", repo, 4096},
		{"artprune_bytes_reclaimable_estimate", repo, 4096},
		{"artprune_repository_failed", map[string]string{"repo": "docker-bad"}, 1},
		{"artprune_repository_failed", repo, 0},
		{"artprune_run_duration_seconds", nil, 1.5},
		{"artprune_run_success", nil, 1},
		{"artprune_dry_run", nil, 0},
		{"artprune_last_success_timestamp_seconds", nil, 1_700_000_000},
		{"artprune_last_run_timestamp_seconds", nil, 1_700_000_000},
	} {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// A failed run keeps the previous last-success time.
	if err := WriteTextfile(path, Run{Report: sampleReport(true), Finished: ok.Add(time.Hour), Duration: time.Second, Success: false}); err != nil {
		t.Fatal(err)
	}
	fams = readFile(t, path)
	if got := value(t, fams, LastSuccessName, nil); got != 1_700_000_000 {
		t.Errorf("last success after a failed run = %v", got)
	}
	if got := value(t, fams, "artprune_run_success", nil); got != 0 {
		t.Errorf("run_success = %v after a failed run", got)
	}
	if got := value(t, fams, "artprune_bytes_freed_estimate", repo); got != 0 {
		t.Errorf("a dry run freed %v bytes", got)
	}

	// A first run that fails has no last-success time at all.
	fresh := filepath.Join(t.TempDir(), "fresh.prom")
	if err := WriteTextfile(fresh, Run{Report: sampleReport(true), Finished: ok, Success: false}); err != nil {
		t.Fatal(err)
	}
	if _, found := readFile(t, fresh)[LastSuccessName]; found {
		t.Errorf("a file with no successful run has a last-success time")
	}
}

func TestPush(t *testing.T) {
	var mu sync.Mutex
	var methods, paths []string
	var body string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		methods, paths, body = append(methods, r.Method), append(paths, r.URL.Path), string(b)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	run := Run{Report: sampleReport(false), Finished: time.Unix(1_700_000_000, 0), Success: true}
	if err := Push(context.Background(), gw.URL, "artprune", run, nil); err != nil {
		t.Fatal(err)
	}
	run.Success = false
	if err := Push(context.Background(), gw.URL, "artprune", run, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(methods) != 2 || methods[0] != http.MethodPut || methods[1] != http.MethodPost {
		t.Errorf("methods = %v, want PUT then POST", methods)
	}
	if paths[0] != "/metrics/job/artprune" {
		t.Errorf("path = %s", paths[0])
	}
	if len(body) == 0 || strings.Contains(body, "last_success") {
		t.Errorf("the failed run's push (POST) must not carry a last-success time; body %d bytes", len(body))
	}
}

func TestServeCounters(t *testing.T) {
	m := New(true)
	m.Observe(Run{Report: sampleReport(true), Finished: time.Now(), Success: true})
	m.Observe(Run{Report: sampleReport(true), Finished: time.Now(), Success: false})
	m.SkippedTick()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	if got := value(t, byName, "artprune_runs_total", map[string]string{"result": "success"}); got != 1 {
		t.Errorf("runs_total{success} = %v", got)
	}
	if got := value(t, byName, "artprune_runs_total", map[string]string{"result": "failure"}); got != 1 {
		t.Errorf("runs_total{failure} = %v", got)
	}
	if got := value(t, byName, "artprune_ticks_skipped_total", nil); got != 1 {
		t.Errorf("ticks_skipped_total = %v", got)
	}
}
