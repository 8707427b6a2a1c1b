//go:build e2e

package e2e

// Running the shell script of skopeo#2497 against an emulator, unmodified. It is extracted at test time from the
// seed (../shared/seeds/skopeo-issue-2497.txt); the wrapper defines only what the script leaves undefined
// (log_info, log_warn, DRY_RUN, the repository to collect) and runs it. `jf rt curl` is scripts/jf; jq, GNU
// parallel and skopeo are the real programs.
//
// The script deletes with `skopeo delete docker://artifactory.example.com/<repo>/<image>@<digest>`, a hard-coded
// host, over HTTPS, with no credentials on the command line. skopeo 1.9 ignores CONTAINERS_REGISTRIES_CONF, and
// `skopeo delete` does not apply a registries.conf `location` remap anyway (checked by hand with skopeo 1.9.3 and a
// rootless ~/.config/containers/registries.conf: `skopeo inspect` follows the remap, `skopeo delete` still dials the
// reference's own host). So the script reaches the emulator
// through the environment alone: HTTPS_PROXY points at a small proxy that accepts CONNECT to
// artifactory.example.com:443 only, terminates TLS with a certificate for that name signed by a CA made for the
// run (SSL_CERT_FILE), and forwards to the emulator; REGISTRY_AUTH_FILE holds admin:TOKEN for that host.

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/artprune/artprune/internal/scriptproxy"
)

const (
	// scriptHost is the host the script hard-codes (ART_HOSTNAME).
	scriptHost = "artifactory.example.com"
	seedFile   = "seeds/skopeo-issue-2497.txt"
	// imagesToKeep is the file the script hard-codes.
	imagesToKeep = "/tmp/images_to_keep.txt"
)

// sharedDir locates the shared folder beside the clone: $ARTPRUNE_SHARED, <repo>/../shared, then /work/shared.
func sharedDir() (string, []string) {
	var tried []string
	for _, d := range []string{os.Getenv("ARTPRUNE_SHARED"), filepath.Join(repoRoot, "..", "shared"), "/work/shared"} {
		if d == "" {
			continue
		}
		tried = append(tried, filepath.Join(d, seedFile))
		if st, err := os.Stat(filepath.Join(d, seedFile)); err == nil && !st.IsDir() {
			return d, tried
		}
	}
	return "", tried
}

// extractScript returns the script of the seed: the lines after `#!/bin/bash` and before its final `main "$@"`.
func extractScript(t *testing.T, seed string) string {
	t.Helper()
	b, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	start, end := -1, -1
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case "#!/bin/bash":
			if start < 0 {
				start = i
			}
		case `main "$@"`:
			if start >= 0 {
				end = i
			}
		}
	}
	if start < 0 || end < 0 {
		t.Fatalf("%s: no script between `#!/bin/bash` and `main \"$@\"`", seed)
	}
	body := strings.Join(lines[start+1:end], "\n") + "\n"
	for _, want := range []string{"garbage_collect_dandling_images(){", "delete_image(){", "skopeo delete", "parallel", "/tmp/images_to_keep.txt"} {
		if !strings.Contains(body, want) {
			t.Fatalf("%s: the extracted script lacks %q: is this the seed of skopeo#2497?", seed, want)
		}
	}
	return body
}

// scriptWrapper defines what the script leaves undefined, sources it and runs its collection on one repository.
const scriptWrapper = `#!/bin/bash
# Defines only what the skopeo#2497 script leaves undefined, then runs it unmodified on one repository.
log_info() { printf 'INFO: %b\n' "$*" >&2; }
log_warn() { printf 'WARN: %b\n' "$*" >&2; }
DRY_RUN=false
# shellcheck source=/dev/null
source "$(dirname "$0")/skopeo-2497.sh"   # the script, without its last line (main "$@")
main() { garbage_collect_dandling_images "@REPO@"; }
main "$@"
`

// scriptRun is what one run of the script printed.
type scriptRun struct {
	stdout, stderr string
	deletes        []string // "<image>@<digest>" of its "Delete dandling image" lines
	keeps          []string // of its "Keep image still referenced" lines
	proxied        int64    // requests skopeo sent through the proxy
	took           time.Duration
}

// parallelNoQuote, as the PARALLEL environment variable, makes GNU parallel insert {} unquoted. parallel shell-quotes
// a replacement string holding a character such as ':' (every sha256: folder), and the script writes "...{}" inside
// double quotes, so the quotes become part of the path it asks for. This setting is the only way to see what the
// script would do without that defect, without editing its code.
const parallelNoQuote = "--rpl '{} uq()'"

// runScript runs the seed's script against the emulator on pruneRepo, with PARALLEL=parallelEnv when not empty. It
// returns the run and the script's exit error. It skips the test when the seed is missing.
func runScript(t *testing.T, e *emulator, label, parallelEnv string) (*scriptRun, error) {
	t.Helper()
	shared, tried := sharedDir()
	if shared == "" {
		t.Skipf("the shared folder with %s is not beside the clone (tried %s): set ARTPRUNE_SHARED to compare with the script", seedFile, strings.Join(tried, ", "))
	}
	for _, name := range []string{"bash", "jq", "parallel", "skopeo", "curl"} {
		tool(t, name)
	}
	dir := suiteTemp(t, "script-"+label)
	if err := os.WriteFile(filepath.Join(dir, "skopeo-2497.sh"), []byte(extractScript(t, filepath.Join(shared, seedFile))), 0o644); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "run.sh")
	if err := os.WriteFile(wrapper, []byte(strings.ReplaceAll(scriptWrapper, "@REPO@", pruneRepo)), 0o755); err != nil {
		t.Fatal(err)
	}
	binDir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(repoRoot, "scripts", "jf"), filepath.Join(binDir, "jf")); err != nil {
		t.Fatal(err)
	}
	px := startScriptProxy(t, e, dir)

	home := filepath.Join(dir, "home")
	env := isolatedEnv(t, home)
	for i, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == "PATH" {
			env[i] = "PATH=" + binDir + string(os.PathListSeparator) + v
		}
	}
	auth := map[string]any{"auths": map[string]any{scriptHost: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte("admin:" + e.token))}}}
	b, _ := json.Marshal(auth)
	if err := os.WriteFile(filepath.Join(home, "auth.json"), b, 0o600); err != nil { // REGISTRY_AUTH_FILE
		t.Fatal(err)
	}
	env = append(env,
		"JF_URL="+e.artifactoryURL(), "JF_ACCESS_TOKEN="+e.token,
		"HTTPS_PROXY=http://"+px.Addr, "https_proxy=http://"+px.Addr, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"SSL_CERT_FILE="+px.CAFile,
	)
	if parallelEnv != "" {
		env = append(env, "PARALLEL="+parallelEnv)
	}

	// The script writes /tmp/images_to_keep.txt whatever TMPDIR says. Its runs here are sequential, and a lock keeps
	// those of suites running at the same time on this machine (a CI run beside a developer's) from sharing the file.
	unlock := lockScriptRuns(t)
	defer unlock()
	_, statErr := os.Stat(imagesToKeep)
	preexisting := statErr == nil
	began := time.Now()
	out, errOut, err := runCmd(5*time.Minute, env, dir, nil, tool(t, "bash"), wrapper)
	if !preexisting {
		_ = os.Remove(imagesToKeep)
	}
	run := &scriptRun{stdout: out, stderr: errOut, proxied: px.Requests(), took: time.Since(began)}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if s, ok := strings.CutPrefix(line, "Delete dandling image "); ok {
			run.deletes = append(run.deletes, s)
		} else if s, ok := strings.CutPrefix(line, "Keep image still referenced "); ok {
			run.keeps = append(run.keeps, s)
		}
	}
	if strings.Contains(errOut, "WARN: Image could not be deleted") {
		t.Errorf("the script could not delete some images (skopeo delete failed):\n%s", errOut)
	}
	if len(run.deletes) > 0 && run.proxied == 0 {
		t.Errorf("the script deleted %d images, but no request went through the proxy for %s", len(run.deletes), scriptHost)
	}
	return run, err
}

// lockScriptRuns takes an exclusive lock shared by every run of this suite on the machine, for as long as the
// script uses imagesToKeep.
func lockScriptRuns(t *testing.T) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(filepath.Dir(imagesToKeep), "artprune-e2e-script.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("lock for %s: %v", imagesToKeep, err)
	}
	began := time.Now()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", f.Name(), err)
	}
	if waited := time.Since(began); waited > time.Second {
		t.Logf("waited %s for another run of the script (%s)", waited.Round(time.Millisecond), f.Name())
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// ---- the proxy that lets skopeo delete reach artifactory.example.com ----

// startScriptProxy starts the HTTPS proxy for scriptHost in front of the emulator e, stopped when t ends.
func startScriptProxy(t *testing.T, e *emulator, dir string) *scriptproxy.Proxy {
	t.Helper()
	p, err := scriptproxy.Start("127.0.0.1:0", scriptHost, "http://"+e.host, filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}
