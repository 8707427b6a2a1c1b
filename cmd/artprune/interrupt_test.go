package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// waitForRequests waits until the emulator has counted at least n requests of class c.
func waitForRequests(t *testing.T, srv *artifactorytest.Server, c artifactorytest.Class, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if counts, _ := srv.Stats().Snapshot(); counts[string(c)] >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s request within 30s", c)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestInterruptDuringDeletion sends SIGINT or SIGTERM to artprune while its first deletions are in flight (the
// emulator holds each delete for 800ms): no new deletion may start, those in flight finish, the report is written
// and says what was deleted and what remains, the exit code is 130 or 143, and a second run finishes the job.
func TestInterruptDuringDeletion(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGINT, "SIGINT", ExitInterrupted}, {syscall.SIGTERM, "SIGTERM", ExitTerminated}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, sc := newSeedServer(t)
			before := snapshot(t, srv, "docker-local")
			srv.SetFaults(artifactorytest.FaultConfig{Latency: 800 * time.Millisecond, LatencyClasses: []artifactorytest.Class{artifactorytest.ClassDelete}})
			report := filepath.Join(t.TempDir(), "report.json")
			p := startArtprune(t, "1", env(srv), "prune", "--repo", "docker-local", "--delete", "--concurrency", "2", "--report", report)
			waitForRequests(t, srv, artifactorytest.ClassDelete, 1)
			if err := p.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			res := p.wait(t, time.Minute)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tc.code, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stderr, tc.name+" received") || !strings.Contains(res.stderr, "interrupted") {
				t.Errorf("stderr does not say what happened:\n%s", res.stderr)
			}
			data, _ := os.ReadFile(report)
			if strings.Contains(res.stdout+res.stderr+string(data), testToken) {
				t.Errorf("the token shows in the output or the report of an interrupted run")
			}
			rep := readReport(t, report)
			gone := checkTruth(t, srv, sc, before, rep)
			o := rep.Totals.Outcomes
			if o.Deleted < 1 || o.Deleted > 2 || o.NotAttempted < 1 || o.Deleted+o.NotAttempted != len(sc.Dangling) {
				t.Errorf("outcomes %+v: want the 1 or 2 deletions in flight done and the rest of %d not attempted", o, len(sc.Dangling))
			}
			if len(gone["docker-local"]) != o.Deleted {
				t.Errorf("%d folders gone, the report says %d deleted", len(gone["docker-local"]), o.Deleted)
			}
			if counts, _ := srv.Stats().Snapshot(); counts["delete"] != int64(o.Deleted) {
				t.Errorf("%d delete requests after the signal settled, want %d (no new deletion may start)", counts["delete"], o.Deleted)
			}
			if !strings.Contains(res.stdout, string(prune.OutcomeNotAttempted)) || !strings.Contains(res.stdout, "stopped") {
				t.Errorf("the text report does not say what remains:\n%s", res.stdout)
			}

			srv.SetFaults(artifactorytest.FaultConfig{})
			again := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "-o", "json")
			if again.code != ExitOK {
				t.Fatalf("second run: exit %d\n%s", again.code, again.stderr)
			}
			checkFinished(t, srv, sc, "docker-local")
		})
	}
}

// TestInterruptDuringPlanning interrupts while the inventory runs: nothing is deleted and the report says so.
func TestInterruptDuringPlanning(t *testing.T) {
	srv, _ := newSeedServer(t)
	before := digestFolders(t, srv, "docker-local")
	srv.SetFaults(artifactorytest.FaultConfig{Latency: 300 * time.Millisecond, LatencyClasses: []artifactorytest.Class{artifactorytest.ClassAQL}})
	report := filepath.Join(t.TempDir(), "report.json")
	p := startArtprune(t, "1", env(srv), "prune", "--repo", "docker-local", "--repo", "docker-other", "--delete", "--report", report)
	waitForRequests(t, srv, artifactorytest.ClassAQL, 1)
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	res := p.wait(t, time.Minute)
	if res.code != ExitInterrupted {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if got := digestFolders(t, srv, "docker-local"); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Errorf("something was deleted after an interrupt during planning")
	}
	rep := readReport(t, report)
	if rep.Totals.FailedRepositories != 2 || rep.Totals.Outcomes.Deleted != 0 {
		t.Errorf("report totals %+v: want both repositories failed (not planned), nothing deleted", rep.Totals)
	}
}

// TestSecondSignalQuitsAtOnce: a second SIGINT while a slow deletion is in flight ends the process at once, without
// the report.
func TestSecondSignalQuitsAtOnce(t *testing.T) {
	srv, sc := newSeedServer(t)
	before := snapshot(t, srv, "docker-local")
	srv.SetFaults(artifactorytest.FaultConfig{Latency: 20 * time.Second, LatencyClasses: []artifactorytest.Class{artifactorytest.ClassDelete}})
	report := filepath.Join(t.TempDir(), "report.json")
	p := startArtprune(t, "1", env(srv), "prune", "--repo", "docker-local", "--delete", "--concurrency", "1", "--report", report)
	waitForRequests(t, srv, artifactorytest.ClassDelete, 1)
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(100 * time.Millisecond)
	began := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	res := p.wait(t, 10*time.Second)
	if res.code != ExitInterrupted || time.Since(began) > 5*time.Second || !strings.Contains(res.stderr, "second SIGINT") {
		t.Errorf("exit %d after %v, stderr:\n%s", res.code, time.Since(began), res.stderr)
	}
	if _, err := os.Stat(report); !os.IsNotExist(err) {
		t.Errorf("a report was written after the second signal: %v", err)
	}
	checkTruth(t, srv, sc, before, nil)
}

// TestLibrariesPrintNothing runs a failing --delete as a process and checks its stderr for lines from
// jfrog-client-go's own logger, which writes to the process's stderr (server answers, connection failures) unless
// artprune silences it.
func TestLibrariesPrintNothing(t *testing.T) {
	srv, _ := newSeedServer(t, artifactorytest.WithSeed(3))
	srv.SetFaults(artifactorytest.FaultConfig{Rate: 1, Classes: []artifactorytest.Class{artifactorytest.ClassOther},
		Kinds: []artifactorytest.Fault{artifactorytest.Fault500, artifactorytest.FaultReset}})
	res := runArtprune(t, "fast", env(srv), "prune", "--repo", "docker-local", "--delete", "-v")
	if res.code != ExitFailure {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if lines := jfrogLogLines(res.stderr); len(lines) > 0 {
		t.Errorf("jfrog-client-go's logger wrote to stderr:\n%s", strings.Join(lines, "\n"))
	}
}
