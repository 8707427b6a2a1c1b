package progress

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/vbauerster/mpb/v8"
)

// TestLogOffATerminal: off a terminal there are no bars, only a log line per phase with its count.
func TestLogOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	if IsTerminal(&buf) {
		t.Fatal("a buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Fatal("a file is a terminal")
	}
	r := NewLog(slog.New(slog.NewTextHandler(&buf, nil)))
	p := r.Start("docker-local", PhaseDocuments, 100)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { p.Add(3) })
	}
	wg.Wait()
	p.Done()
	p.Done() // once
	r.Close()
	out := buf.String()
	if strings.Count(out, "phase done") != 1 || !strings.Contains(out, "phase=documents") || !strings.Contains(out, "count=30") {
		t.Errorf("log:\n%s", out)
	}
	if strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("control characters in the log: %q", out)
	}
}

// TestBarsDraw draws bars into a buffer (as a terminal would get them) and checks they end.
func TestBarsDraw(t *testing.T) {
	var buf bytes.Buffer
	b := newBars(&buf, mpb.WithAutoRefresh()) // mpb draws on terminals only, unless told
	p := b.Start("docker-local", PhaseDeletes, 5)
	for range 5 {
		p.Add(1)
	}
	p.Done()
	s := b.Start("docker-local", PhaseInventory, 0)
	s.Add(42)
	s.Done()
	b.Close()
	if !strings.Contains(buf.String(), "docker-local deletes") {
		t.Errorf("bars output: %q", buf.String())
	}
}
