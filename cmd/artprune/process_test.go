package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// asMainEnv makes the test binary run as artprune: "1" as built, "fast" with short retries (fastRetries). Tests that
// need a real process (signals, everything a library might print on the process's own stderr) start it so, which
// runs main's code under the same build flags (-race included) without a separate go build.
const asMainEnv = "ARTPRUNE_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	switch os.Getenv(asMainEnv) {
	case "1":
		os.Exit(runProcess(context.Background()))
	case "fast":
		os.Exit(runProcess(fastCtx(fastRetries, 0)))
	}
	os.Exit(m.Run())
}

// process is artprune running as a child process.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
}

// startArtprune starts artprune with args, in mode "1" or "fast", with an environment holding only env and what a
// process needs to run (PATH, HOME, TMPDIR, coverage and race settings).
func startArtprune(t *testing.T, mode string, env map[string]string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	p.cmd.Env = []string{asMainEnv + "=" + mode}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOCOVERDIR", "GORACE", "SYSTEMROOT"} {
		if v, ok := os.LookupEnv(k); ok {
			p.cmd.Env = append(p.cmd.Env, k+"="+v)
		}
	}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to exit and returns its result.
func (p *process) wait(t *testing.T, timeout time.Duration) cliResult {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("artprune did not exit within %v\nstdout:\n%s\nstderr:\n%s", timeout, p.stdout.String(), p.stderr.String())
	}
	return cliResult{code: p.code, stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// runArtprune runs artprune as a process to its end.
func runArtprune(t *testing.T, mode string, env map[string]string, args ...string) cliResult {
	t.Helper()
	return startArtprune(t, mode, env, args...).wait(t, 2*time.Minute)
}

// jfrogLogLines returns the lines jfrog-client-go's own logger would write ("[Warn] ...").
func jfrogLogLines(s string) []string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		for _, p := range []string{"[Warn]", "[Info]", "[Debug]", "[Error]", "[Output]"} {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return out
}
