//go:build e2e

package e2e

// The harness: the suite's temporary directory, the binaries and tools, the emulator as a subprocess, its admin
// endpoints and snapshots, and artprune as a subprocess.

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"go/build"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

const (
	// pruneRepo is the repository both artprune and the script prune; otherRepo must never change.
	pruneRepo = "docker-local"
	otherRepo = "docker-other"
	// cmdTimeout bounds every subprocess but the script.
	cmdTimeout = 2 * time.Minute
)

var (
	suiteDir string // the suite's temporary directory, removed at the end unless E2E_KEEP=1
	repoRoot string

	cleanupMu      sync.Mutex
	globalCleanups []func() // for what outlives one test: the shared world's emulator
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if repoRoot, err = findRepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if suiteDir, err = os.MkdirTemp("", "artprune-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer func() {
		if os.Getenv("E2E_KEEP") == "1" {
			fmt.Fprintln(os.Stderr, "e2e: kept", suiteDir)
			return
		}
		_ = os.RemoveAll(suiteDir)
	}()
	defer runGlobalCleanups()
	return m.Run()
}

func addGlobalCleanup(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	globalCleanups = append(globalCleanups, f)
}

func runGlobalCleanups() {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for i := len(globalCleanups) - 1; i >= 0; i-- {
		globalCleanups[i]()
	}
	globalCleanups = nil
}

func findRepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/artprune/artprune\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of github.com/artprune/artprune above %s", wd)
		}
	}
}

// suiteTemp makes a fresh directory under the suite's temporary directory (which, unlike t.TempDir, outlives the
// test that made it).
func suiteTemp(t *testing.T, name string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(suiteDir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := os.MkdirTemp(filepath.Join(suiteDir, "tmp"), safeName(name)+"-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// binary returns the path of one of the project's binaries, built by `make build` (`make e2e` builds them first).
func binary(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(cmp.Or(os.Getenv("ARTPRUNE_BIN_DIR"), filepath.Join(repoRoot, "bin")), name)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		t.Fatalf("%s is missing: run `make e2e` (it builds bin/ first) or `make build`", p)
	}
	return p
}

var toolInstall = map[string]string{
	"crane":    "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1",
	"regctl":   "go install github.com/regclient/regclient/cmd/regctl@v0.11.7",
	"skopeo":   "apt-get install -y skopeo",
	"parallel": "apt-get install -y parallel",
	"jq":       "apt-get install -y jq",
	"curl":     "apt-get install -y curl",
	"bash":     "apt-get install -y bash",
}

var toolPaths sync.Map

// tool returns the path of a client or tool, from PATH or $(go env GOPATH)/bin. The end-to-end suite needs them all:
// a missing one fails the test (with how to install it) rather than skipping it. .ci/run installs them.
func tool(t *testing.T, name string) string {
	t.Helper()
	if p, ok := toolPaths.Load(name); ok {
		return p.(string)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		dirs := []string{os.Getenv("GOBIN")}
		for _, d := range filepath.SplitList(cmp.Or(os.Getenv("GOPATH"), build.Default.GOPATH)) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
		for _, d := range dirs {
			if d == "" {
				continue
			}
			if st, err := os.Stat(filepath.Join(d, name)); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				p = filepath.Join(d, name)
				break
			}
		}
	}
	if p == "" {
		t.Fatalf("%s is not on PATH nor in $(go env GOPATH)/bin; install it with: %s (.ci/run does)", name, toolInstall[name])
	}
	toolPaths.Store(name, p)
	return p
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName turns a symbolic name into a file name.
func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "-") }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randomHex(t *testing.T, n int) string { return hex.EncodeToString(randomBytes(t, n)) }

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// isolatedEnv is the process environment without anything that points a client, the JFrog CLI or a proxy at the
// user's configuration, plus a private HOME and XDG directories under home.
func isolatedEnv(t *testing.T, home string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch lk := strings.ToLower(k); {
		case k == "HOME" || k == "DOCKER_CONFIG" || k == "REGISTRY_AUTH_FILE" || k == "DOCKER_HOST" || k == "TMPDIR",
			strings.HasPrefix(k, "XDG_"), strings.HasPrefix(k, "REGCTL_"), strings.HasPrefix(k, "CONTAINERS_"),
			strings.HasPrefix(k, "JF_"), strings.HasPrefix(k, "JFROG_"), strings.HasPrefix(k, "SSL_CERT_"),
			lk == "http_proxy" || lk == "https_proxy" || lk == "no_proxy" || lk == "all_proxy":
			continue
		}
		env = append(env, kv)
	}
	for _, d := range []string{".docker", ".config", "run", "cache", "tmp"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return append(env,
		"HOME="+home,
		"DOCKER_CONFIG="+filepath.Join(home, ".docker"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_RUNTIME_DIR="+filepath.Join(home, "run"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"),
		"TMPDIR="+filepath.Join(home, "tmp"),
		"REGISTRY_AUTH_FILE="+filepath.Join(home, "auth.json"),
	)
}

// runCmd runs a command and returns its standard output and error.
func runCmd(timeout time.Duration, env []string, dir string, stdin io.Reader, bin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Dir, cmd.Stdin = env, dir, stdin
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timed out after %s)", err, timeout)
	}
	return out.String(), errb.String(), err
}

// ---- the emulator ----

// logSink collects a subprocess's output and calls onLine for every complete line.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	onLine  func(string)
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := string(s.partial[:i])
		s.partial = s.partial[i+1:]
		if s.onLine != nil {
			s.onLine(line)
		}
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// emulator is bin/fakeartifactory running as a subprocess on a loopback port.
type emulator struct {
	name  string
	host  string // 127.0.0.1:PORT, the registry name Docker clients use
	token string // the admin token
	cmd   *exec.Cmd
	logs  *logSink
	done  chan struct{}
	http  *http.Client
}

// startEmulator starts bin/fakeartifactory on a free loopback port (it picks the port itself and logs it) and waits
// until it answers ping. onCleanup registers its stop: t.Cleanup, or addGlobalCleanup for the shared world.
func startEmulator(t *testing.T, name string, onCleanup func(func()), args ...string) *emulator {
	t.Helper()
	e := &emulator{name: name, token: "e2e-" + randomHex(t, 12), logs: &logSink{}, done: make(chan struct{}),
		http: &http.Client{Timeout: time.Minute}}
	urlc := make(chan string, 1)
	e.logs.onLine = func(line string) {
		if !strings.Contains(line, `msg="fakeartifactory listening"`) {
			return
		}
		if _, after, ok := strings.Cut(line, " url="); ok {
			u, _, _ := strings.Cut(after, " ")
			select {
			case urlc <- u:
			default:
			}
		}
	}
	full := append([]string{"--listen", "127.0.0.1:0", "--admin-token", e.token}, args...)
	e.cmd = exec.Command(binary(t, "fakeartifactory"), full...)
	e.cmd.Stdout, e.cmd.Stderr = e.logs, e.logs
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start fakeartifactory %s: %v", name, err)
	}
	var waitErr error
	go func() { waitErr = e.cmd.Wait(); close(e.done) }()
	onCleanup(e.stop)
	select {
	case u := <-urlc:
		e.host = strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/artifactory/")
	case <-e.done:
		t.Fatalf("fakeartifactory %s exited at start: %v\n%s", name, waitErr, e.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("fakeartifactory %s did not log its address within 30s:\n%s", name, e.logs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := e.http.Get("http://" + e.host + "/artifactory/api/system/ping")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(b)) == "OK" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("fakeartifactory %s on %s: ping not OK within 30s (%v)\n%s", name, e.host, err, e.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("fakeartifactory %s listening on %s", name, e.host)
	return e
}

// stop sends SIGTERM to the emulator it started, and SIGKILL if it has not exited 10s later.
func (e *emulator) stop() {
	if e.cmd.Process == nil {
		return
	}
	select {
	case <-e.done:
		return
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

func (e *emulator) artifactoryURL() string { return "http://" + e.host + "/artifactory" }

// do sends a request to the emulator; auth is "admin" (the admin token as Bearer) or "basic" (admin:TOKEN).
func (e *emulator) do(method, urlPath, auth string, hdr map[string]string) (int, []byte, http.Header, error) {
	req, err := http.NewRequest(method, "http://"+e.host+urlPath, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	switch auth {
	case "admin":
		req.Header.Set("Authorization", "Bearer "+e.token)
	case "basic":
		req.SetBasicAuth("admin", e.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// admin calls one of the emulator's /_emulator/ endpoints and fails the test unless it answers 2xx.
func (e *emulator) admin(t *testing.T, method, urlPath string) []byte {
	t.Helper()
	status, body, _, err := e.do(method, urlPath, "admin", nil)
	if err != nil || status/100 != 2 {
		t.Fatalf("%s %s on emulator %s: %d %s (%v)", method, urlPath, e.name, status, body, err)
	}
	return body
}

// advanceClock lets d pass: every item becomes d older. The emulator's clock stays with this machine's, as a real
// server's does, since artprune fails closed when the server's Date runs ahead of its own clock (?advance= does that).
func (e *emulator) advanceClock(t *testing.T, d string) {
	t.Helper()
	e.admin(t, http.MethodPost, "/_emulator/clock?age="+d)
}

func (e *emulator) setReferrersAPI(t *testing.T, on bool) {
	t.Helper()
	e.admin(t, http.MethodPost, fmt.Sprintf("/_emulator/referrers?enabled=%t", on))
}

// snapshot reads the emulator's whole state.
func (e *emulator) snapshot(t *testing.T) *snapshot {
	t.Helper()
	return parseSnapshot(t, e.admin(t, http.MethodGet, "/_emulator/snapshot"))
}

const manifestAccept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
	"application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"

// getManifest reads repo/image's manifest ref (tag or digest) through the Docker API.
func (e *emulator) getManifest(repo, image, ref string) (int, []byte, error) {
	status, body, _, err := e.do(http.MethodGet, "/v2/"+repo+"/"+image+"/manifests/"+ref, "basic", map[string]string{"Accept": manifestAccept})
	return status, body, err
}

// ---- snapshots ----

// snapshot is the emulator's state, as GET /_emulator/snapshot answers it (the --fixture format).
type snapshot struct {
	raw   []byte
	fix   *artifactorytest.Fixture
	items map[string]artifactorytest.FixtureItem // by "repo/path/name"
}

func parseSnapshot(t *testing.T, raw []byte) *snapshot {
	t.Helper()
	fix, err := artifactorytest.DecodeFixture(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	s := &snapshot{raw: raw, fix: fix, items: map[string]artifactorytest.FixtureItem{}}
	for _, it := range fix.Items {
		s.items[it.Repo+"/"+relPath(it)] = it
	}
	return s
}

// relPath is an item's path in its repository.
func relPath(it artifactorytest.FixtureItem) string {
	if it.Path == "" || it.Path == "." {
		return it.Name
	}
	return it.Path + "/" + it.Name
}

// manifestFile is a manifest.json or list.manifest.json of a snapshot, in "<image>/<folder>/".
type manifestFile struct {
	Repo, Image, Folder, Name string
	Digest                    string
	Content                   []byte
}

// manifests returns every manifest file of the snapshot, by "repo/image/folder".
func (s *snapshot) manifests() map[string]manifestFile {
	out := map[string]manifestFile{}
	for _, it := range s.fix.Items {
		if it.Type == "folder" || (it.Name != "manifest.json" && it.Name != "list.manifest.json") {
			continue
		}
		image, folder := path.Split(it.Path)
		image = strings.TrimSuffix(image, "/")
		if image == "" || folder == "_uploads" {
			continue
		}
		out[it.Repo+"/"+it.Path] = manifestFile{Repo: it.Repo, Image: image, Folder: folder, Name: it.Name,
			Digest: "sha256:" + it.SHA256, Content: it.Content}
	}
	return out
}

// under returns the keys of the items at or below repo/folder.
func (s *snapshot) under(repo, folder string) []string {
	var out []string
	prefix := repo + "/" + folder
	for k := range s.items {
		if k == prefix || strings.HasPrefix(k, prefix+"/") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// snapDiff is what changed between two snapshots, as sorted "repo/path" keys.
type snapDiff struct {
	removed, added, changed []string
}

func (d snapDiff) empty() bool { return len(d.removed)+len(d.added)+len(d.changed) == 0 }

func diffSnapshots(a, b *snapshot) snapDiff {
	var d snapDiff
	for k, ia := range a.items {
		ib, ok := b.items[k]
		switch {
		case !ok:
			d.removed = append(d.removed, k)
		case !sameItem(ia, ib):
			d.changed = append(d.changed, k)
		}
	}
	for k := range b.items {
		if _, ok := a.items[k]; !ok {
			d.added = append(d.added, k)
		}
	}
	slices.Sort(d.removed)
	slices.Sort(d.added)
	slices.Sort(d.changed)
	return d
}

// sameItem compares everything but the content, which the checksums stand for.
func sameItem(a, b artifactorytest.FixtureItem) bool {
	return a.Type == b.Type && a.Size == b.Size && a.SHA256 == b.SHA256 && a.SHA1 == b.SHA1 && a.MD5 == b.MD5 &&
		a.Created.Equal(b.Created) && a.Modified.Equal(b.Modified) && a.Updated.Equal(b.Updated) &&
		a.CreatedBy == b.CreatedBy && a.ModifiedBy == b.ModifiedBy &&
		maps.EqualFunc(a.Properties, b.Properties, slices.Equal[[]string])
}

// ---- artprune ----

// runArtprune runs bin/artprune prune on pruneRepo with the default grace period, as a dry run or with --delete,
// and returns its JSON report. Any exit code but 0 fails the test.
func runArtprune(t *testing.T, e *emulator, dir, label string, del bool) *prune.Report {
	t.Helper()
	reportPath := filepath.Join(dir, label+".report.json")
	args := []string{"prune", "--repo", pruneRepo, "--output", "json", "--report", reportPath, "--quiet"}
	if del {
		args = append(args, "--delete")
	}
	home := filepath.Join(dir, label+".home")
	env := append(isolatedEnv(t, home), "JF_URL="+e.artifactoryURL(), "JF_ACCESS_TOKEN="+e.token)
	began := time.Now()
	out, errOut, err := runCmd(cmdTimeout, env, dir, nil, binary(t, "artprune"), args...)
	if err != nil {
		t.Fatalf("artprune %s (%s) on emulator %s: %v\nstderr: %s\nstdout: %s", strings.Join(args, " "), label, e.name, err, errOut, out)
	}
	t.Logf("artprune %s on emulator %s: %s", label, e.name, time.Since(began).Round(time.Millisecond))
	var fromStdout, fromFile prune.Report
	if err := json.Unmarshal([]byte(out), &fromStdout); err != nil {
		t.Fatalf("artprune %s: stdout is not a JSON report: %v\n%s", label, err, out)
	}
	b, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatalf("artprune %s: --report %s: %v", label, reportPath, err)
	}
	if err := json.Unmarshal(b, &fromFile); err != nil {
		t.Fatalf("artprune %s: %s: %v", label, reportPath, err)
	}
	if fromFile.SchemaVersion != prune.ReportSchemaVersion || fromFile.DryRun != !del || len(fromFile.Repositories) != 1 ||
		fromFile.Repositories[0].Repo != pruneRepo {
		t.Fatalf("artprune %s: report %s: schema %d, dry_run %t, repositories %d", label, reportPath,
			fromFile.SchemaVersion, fromFile.DryRun, len(fromFile.Repositories))
	}
	if rr := fromFile.Repositories[0]; rr.Error != "" || rr.ApplyError != "" || rr.Summary.FailedImages > 0 {
		t.Fatalf("artprune %s: repository %s failed: %q %q (failed images %d)", label, pruneRepo, rr.Error, rr.ApplyError, rr.Summary.FailedImages)
	}
	return &fromFile
}

// deletedPaths returns the paths of a report's deletions, with their outcomes.
func deletedPaths(r *prune.Report) map[string]string {
	out := map[string]string{}
	for _, rr := range r.Repositories {
		for _, d := range rr.Deletions {
			out[rr.Repo+"/"+d.Path] = d.Outcome
		}
	}
	return out
}

// keptReasons returns the reason of each kept digest folder of a report.
func keptReasons(r *prune.Report) map[string]string {
	out := map[string]string{}
	for _, rr := range r.Repositories {
		for _, k := range rr.Kept {
			out[rr.Repo+"/"+k.Path] = k.Reason
		}
	}
	return out
}
