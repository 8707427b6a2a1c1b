package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeRunsAndShutsDownOnSIGTERM runs serve as a process: it prunes at once, reports health and metrics, and
// exits 0 on SIGTERM while a run is going, after letting its deletions in flight finish.
func TestServeRunsAndShutsDownOnSIGTERM(t *testing.T) {
	srv, sc := newSeedServer(t)
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "addr")
	prom := filepath.Join(dir, "artprune.prom")
	p := startArtprune(t, "1", env(srv), "serve", "--every", "1h", "--listen", "127.0.0.1:0", "--addr-file", addrFile,
		"--repo", "docker-local", "--delete", "--metrics-file", prom)
	var addr string
	waitFor(t, func() bool {
		b, err := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	})
	base := "http://" + addr
	waitFor(t, func() bool {
		code, body := httpGet(t, base+"/healthz")
		return code == http.StatusOK && strings.Contains(body, "succeeded")
	})
	code, body := httpGet(t, base+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `artprune_runs_total{result="success"} 1`) ||
		!strings.Contains(body, `artprune_folders_deleted{repo="docker-local"} 5`) || !strings.Contains(body, "artprune_ticks_skipped_total 0") {
		t.Errorf("/metrics (%d):\n%s", code, body)
	}
	var want []string
	for f := range sc.Live {
		want = append(want, f)
	}
	slices.Sort(want)
	if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, want) {
		t.Errorf("after the first run: %v, want %v", got, want)
	}
	if _, err := os.Stat(prom); err != nil {
		t.Errorf("no metrics file: %v", err)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	res := p.wait(t, time.Minute)
	if res.code != ExitOK {
		t.Fatalf("exit %d on SIGTERM, want 0\nstderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "stopped") {
		t.Errorf("stderr does not say it stopped:\n%s", res.stderr)
	}
	if code, _ := httpGet(t, base+"/healthz"); code != 0 {
		t.Errorf("the HTTP server still answers after shutdown")
	}
}

// TestServeSIGTERMDuringARun: SIGTERM while deletions are in flight lets them finish, starts no other, and exits 0.
func TestServeSIGTERMDuringARun(t *testing.T) {
	srv, sc := newSeedServer(t)
	srv.SetFaults(artifactorytest.FaultConfig{Latency: 800 * time.Millisecond, LatencyClasses: []artifactorytest.Class{artifactorytest.ClassDelete}})
	p := startArtprune(t, "1", env(srv), "serve", "--every", "1h", "--listen", "127.0.0.1:0", "--repo", "docker-local",
		"--delete", "--concurrency", "2")
	waitForRequests(t, srv, artifactorytest.ClassDelete, 1)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	res := p.wait(t, time.Minute)
	if res.code != ExitOK {
		t.Fatalf("exit %d on SIGTERM, want 0\nstderr:\n%s", res.code, res.stderr)
	}
	counts, _ := srv.Stats().Snapshot()
	gone := len(sc.Dangling) + len(sc.Live) - len(digestFolders(t, srv, "docker-local"))
	if counts["delete"] < 1 || counts["delete"] > 2 || int64(gone) != counts["delete"] {
		t.Errorf("%d delete requests, %d folders gone: want the 1 or 2 in flight, finished, and no other", counts["delete"], gone)
	}
	if !strings.Contains(res.stderr, "run stopped by shutdown") {
		t.Errorf("stderr:\n%s", res.stderr)
	}
}

// TestServeHealthAfterAFailedRun: /healthz answers 503 with the reason once a run failed.
func TestServeHealthAfterAFailedRun(t *testing.T) {
	srv, _ := newSeedServer(t)
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "addr")
	p := startArtprune(t, "fast", env(srv), "serve", "--every", "1h", "--listen", "127.0.0.1:0", "--addr-file", addrFile,
		"--repo", "docker-remote")
	var addr string
	waitFor(t, func() bool {
		b, err := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	})
	waitFor(t, func() bool {
		code, body := httpGet(t, "http://"+addr+"/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "failed")
	})
	_, body := httpGet(t, "http://"+addr+"/metrics")
	if !strings.Contains(body, `artprune_runs_total{result="failure"} 1`) || !strings.Contains(body, `artprune_repository_failed{repo="docker-remote"} 1`) {
		t.Errorf("/metrics:\n%s", body)
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if res := p.wait(t, time.Minute); res.code != ExitOK {
		t.Errorf("exit %d on SIGINT, want 0\n%s", res.code, res.stderr)
	}
}
