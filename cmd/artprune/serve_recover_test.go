package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// TestServeRecoversFromA503Blip: serve with a cap of two requests in flight (--concurrency 2) meets a server that
// answers 503 to everything, long enough for several scheduled runs to fail on final 503 answers (every retry used
// up); once the server is back, the next run succeeds. Before the bodies of those final answers were closed, each
// kept its place under the cap, the cap filled up within the first failed run, and every later run waited forever.
func TestServeRecoversFromA503Blip(t *testing.T) {
	srv, _ := newSeedServer(t)
	srv.SetFaults(artifactorytest.FaultConfig{Rate: 1, Kinds: []artifactorytest.Fault{artifactorytest.Fault503}})
	addrFile := filepath.Join(t.TempDir(), "addr")
	b := artifactory.Backoff{Attempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond, MaxRetryAfter: time.Millisecond}
	ctx, cancel := context.WithCancel(withMinEvery(withClientOptions(context.Background(), artifactory.WithBackoff(b)), time.Millisecond))
	defer cancel()
	e := env(srv)
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--every", "20ms", "--listen", "127.0.0.1:0", "--addr-file", addrFile,
			"--repo", "docker-local", "--concurrency", "2", "-q"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb},
			func(k string) string { return e[k] })
	}()
	var addr string
	waitFor(t, func() bool {
		b, err := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	})
	// Several failed runs, each ending on final 503 answers.
	waitFor(t, func() bool {
		_, body := httpGet(t, "http://"+addr+"/metrics")
		return strings.Contains(body, `artprune_runs_total{result="failure"} 3`)
	})
	if code, body := httpGet(t, "http://"+addr+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz during the blip: %d %s", code, body)
	}
	srv.SetFaults(artifactorytest.FaultConfig{})
	waitFor(t, func() bool {
		code, body := httpGet(t, "http://"+addr+"/healthz")
		return code == http.StatusOK && strings.Contains(body, "succeeded")
	})
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("serve exited %d after its context ended, want 0\nstderr:\n%s", code, errb.String())
	}
}
