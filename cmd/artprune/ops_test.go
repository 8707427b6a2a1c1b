package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/internal/metrics"
	"github.com/artprune/artprune/planfile"
	"github.com/artprune/artprune/prune"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func decodeReport(t *testing.T, res cliResult) prune.Report {
	t.Helper()
	var rep prune.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("report JSON: %v\nstdout:\n%s\nstderr:\n%s", err, res.stdout, res.stderr)
	}
	return rep
}

func repoKeys(rep prune.Report) []string {
	var out []string
	for _, r := range rep.Repositories {
		out = append(out, r.Repo)
	}
	return out
}

// TestConnPrecedence checks the order flags > JFrog CLI server of --server-id > environment > config file >
// config file's server-id, for the URL and the credentials separately.
func TestConnPrecedence(t *testing.T) {
	dir := t.TempDir()
	tokFlag := writeFile(t, dir, "flag-token", "tok-flag\n")
	jf := writeFile(t, dir, "jfrog-cli.conf.v6", `{"servers":[{"serverId":"jf","url":"https://jf.example/","accessToken":"tok-jf"}],"version":"6"}`)
	tests := []struct {
		name     string
		flags    connFlags
		env      map[string]string
		file     connLayer
		fileSID  string
		wantURL  string
		wantTok  string
		wantUser string
		err      string
	}{
		{name: "flags win", flags: connFlags{url: "https://flag/artifactory", tokenFile: tokFlag},
			env: map[string]string{envURL: "https://env/artifactory", envToken: "tok-env"}, file: connLayer{url: "https://file/artifactory", token: "tok-file"},
			wantURL: "https://flag/artifactory", wantTok: "tok-flag"},
		{name: "environment beats the file", env: map[string]string{envURL: "https://env/artifactory", envToken: "tok-env"},
			file: connLayer{url: "https://file/artifactory", token: "tok-file"}, wantURL: "https://env/artifactory", wantTok: "tok-env"},
		{name: "file alone", file: connLayer{url: "https://file/artifactory", tokenFile: tokFlag}, wantURL: "https://file/artifactory", wantTok: "tok-flag"},
		{name: "--url takes no credentials from a file", flags: connFlags{url: "https://flag/artifactory"},
			file: connLayer{user: "bob", password: "pw"}, err: "comes from --url, but the credentials come from the config file"},
		{name: "credentials never mix", env: map[string]string{envURL: "https://env/artifactory", envUser: "alice", envPassword: "pw-env"},
			file: connLayer{token: "tok-file"}, wantURL: "https://env/artifactory", wantUser: "alice"},
		{name: "server-id flag beats the environment", flags: connFlags{serverID: "jf"},
			env: map[string]string{envURL: "https://env/artifactory", envToken: "tok-env"}, wantURL: "https://jf.example/artifactory/", wantTok: "tok-jf"},
		{name: "server-id in the file ranks last", env: map[string]string{envURL: "https://env/artifactory", envToken: "tok-env"}, fileSID: "jf",
			wantURL: "https://env/artifactory", wantTok: "tok-env"},
		{name: "a file's server-id takes no token from the environment", env: map[string]string{envToken: "tok-env"}, fileSID: "jf",
			err: "comes from the JFrog CLI server jf, which has credentials of its own, but the credentials would come from the environment"},
		{name: "bad pair in the file", env: map[string]string{envURL: "https://env/artifactory"}, file: connLayer{token: "a", tokenFile: tokFlag}, err: "not both (config file)"},
		{name: "nothing", err: "no Artifactory URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.flags
			c.fromConfig = tt.file
			c.serverIDFromConfig = tt.fileSID
			c.jfrogConfig = func(func(string) string) string { return jf }
			r, err := c.resolve(func(k string) string { return tt.env[k] }, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.url != tt.wantURL || r.token != tt.wantTok || r.user != tt.wantUser {
				t.Errorf("resolved url=%q token=%q user=%q, want %q %q %q", r.url, r.token, r.user, tt.wantURL, tt.wantTok, tt.wantUser)
			}
		})
	}
}

// TestConfigFile runs whole commands with a config file: flags and the environment win over it, and unknown keys
// are errors naming the key.
func TestConfigFile(t *testing.T) {
	srv, _ := newSeedServer(t)
	dir := t.TempDir()
	tok := writeFile(t, dir, "token", testToken)
	good := writeFile(t, dir, "good.yaml", `# scheduled job
url: `+srv.ArtifactoryURL()+`
access-token-file: `+tok+`
repo:
  - docker-local
min-age: 30d
output: json
every: 6h   # serve's: ignored by prune
`)
	res := runCLI(t, map[string]string{}, "prune", "--config", good)
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rep := decodeReport(t, res)
	if !slices.Equal(repoKeys(rep), []string{"docker-local"}) || rep.Repositories[0].MinAgeSeconds != 30*86400 {
		t.Errorf("config not applied: repos %v min age %d", repoKeys(rep), rep.Repositories[0].MinAgeSeconds)
	}

	// Flags win over the file.
	res = runCLI(t, map[string]string{}, "prune", "--config", good, "--repo", "docker-other", "--min-age", "2d")
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rep = decodeReport(t, res)
	if !slices.Equal(repoKeys(rep), []string{"docker-other"}) || rep.Repositories[0].MinAgeSeconds != 2*86400 {
		t.Errorf("flags did not win: repos %v min age %d", repoKeys(rep), rep.Repositories[0].MinAgeSeconds)
	}

	// The environment wins over the file: a bad URL and token in the file change nothing.
	bad := writeFile(t, dir, "bad-conn.yaml", "url: http://127.0.0.1:1/artifactory\naccess-token: wrong\nrepo: docker-local\n")
	res = runCLI(t, env(srv), "prune", "--config", bad, "-q")
	if res.code != ExitOK {
		t.Errorf("environment did not win over the config file: exit %d\n%s", res.code, res.stderr)
	}

	for _, c := range []struct{ doc, want string }{
		{"repo: docker-local\nrepos: x\n", `line 2: unknown key "repos"`},
		{"repo: docker-local\nmin-age: [1d, 2d]\n", "takes one value"},
		{"repo: docker-local\nmin-age: soon\n", "line 2: min-age"},
		{"- docker-local\n", "want a mapping"},
	} {
		p := writeFile(t, dir, "bad.yaml", c.doc)
		res := runCLI(t, env(srv), "prune", "--config", p)
		if res.code != ExitUsage || !strings.Contains(res.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", c.doc, res.code, res.stderr, c.want)
		}
	}
}

func TestServerIDFromJFrogCLIConfig(t *testing.T) {
	srv, sc := newSeedServer(t)
	home := t.TempDir()
	writeFile(t, home, "jfrog-cli.conf.v6", `{"servers":[{"serverId":"emu","url":"`+srv.URL+`/","artifactoryUrl":"`+srv.ArtifactoryURL()+
		`","accessToken":"`+testToken+`","isDefault":true}],"version":"6"}`)
	e := map[string]string{"JFROG_CLI_HOME_DIR": home}
	res := runCLI(t, e, "prune", "--server-id", "emu", "--repo", "docker-local", "-o", "json")
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if got := decodeReport(t, res).Totals.Deletions; got != len(sc.Dangling) {
		t.Errorf("deletions %d, want %d", got, len(sc.Dangling))
	}
	res = runCLI(t, e, "prune", "--server-id", "nope", "--repo", "docker-local")
	if res.code != ExitUsage || !strings.Contains(res.stderr, `no server "nope"`) {
		t.Errorf("unknown server: exit %d %s", res.code, res.stderr)
	}
	encHome := t.TempDir()
	writeFile(t, encHome, "jfrog-cli.conf.v6", `{"servers":[{"serverId":"emu","url":"x","accessToken":"Zm9vYmFy"}],"version":"6","enc":true}`)
	res = runCLI(t, map[string]string{"JFROG_CLI_HOME_DIR": encHome}, "prune", "--server-id", "emu", "--repo", "docker-local")
	if res.code != ExitUsage || !strings.Contains(res.stderr, "encrypted") || !strings.Contains(res.stderr, "--access-token-file") {
		t.Errorf("encrypted config: exit %d %s", res.code, res.stderr)
	}
}

func TestRepoGlobsAndAllRepos(t *testing.T) {
	srv, _ := newSeedServer(t)
	for _, args := range [][]string{{"--repo", "docker-*"}, {"--all-repos"}, {"--repo", "docker-o*", "--repo", "docker-l?cal"}} {
		res := runCLI(t, env(srv), append([]string{"prune", "-o", "json"}, args...)...)
		if res.code != ExitOK {
			t.Fatalf("%v: exit %d\n%s", args, res.code, res.stderr)
		}
		rep := decodeReport(t, res)
		keys := repoKeys(rep)
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"docker-local", "docker-other"}) {
			t.Errorf("%v: repositories %v", args, keys)
		}
		if args[0] != "--repo" || args[1] == "docker-*" {
			if len(rep.SkippedRepositories) != 1 || rep.SkippedRepositories[0].Repo != "docker-remote" || rep.SkippedRepositories[0].Reason == "" {
				t.Errorf("%v: skipped %+v", args, rep.SkippedRepositories)
			}
		}
	}
	res := runCLI(t, env(srv), "prune", "--repo", "nothing-*")
	if res.code != ExitFailure || !strings.Contains(res.stderr, "matches no repository") {
		t.Errorf("glob matching nothing: exit %d %s", res.code, res.stderr)
	}
	// Text output names the skipped repository.
	res = runCLI(t, env(srv), "prune", "--repo", "docker-*", "-q")
	if !strings.Contains(res.stdout, "skipped repository docker-remote") {
		t.Errorf("text report does not name the skipped repository:\n%s", res.stdout)
	}
}

func TestImageFilters(t *testing.T) {
	srv, sc := newSeedServer(t)
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--exclude-image", "my-*", "--delete", "-o", "json")
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rep := decodeReport(t, res)
	rr := rep.Repositories[0]
	if !slices.Equal(rr.ExcludedImages, []string{"my-image"}) || rr.Summary.ExcludedImages != 1 {
		t.Errorf("excluded images %v", rr.ExcludedImages)
	}
	for _, img := range rr.Images {
		if img.Image == "my-image" {
			t.Errorf("my-image was judged")
		}
	}
	if got := digestFolders(t, srv, "docker-local"); !slices.Contains(got, sc.Dangling[0]) {
		t.Errorf("a folder of an excluded image was deleted")
	}
	res = runCLI(t, env(srv), "prune", "--repo", "docker-other", "--include-image", "other-image", "-o", "json")
	rep = decodeReport(t, res)
	if ex := rep.Repositories[0].ExcludedImages; !slices.Equal(ex, []string{"my-image"}) || rep.Totals.Deletions != 0 {
		t.Errorf("--include-image: excluded %v, deletions %d", ex, rep.Totals.Deletions)
	}
}

func TestKeepPropertyFlag(t *testing.T) {
	srv, sc := newSeedServer(t)
	keep := sc.Dangling[0]
	if err := srv.Store().SetProps("docker-local", keep, map[string][]string{"artprune.keep": {"true"}}, true); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "-q")
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if got := digestFolders(t, srv, "docker-local"); !slices.Contains(got, keep) {
		t.Fatalf("the protected folder %s was deleted", keep)
	}
	// Another property name: the folder is not protected any more.
	res = runCLI(t, env(srv), "prune", "--repo", "docker-local", "--keep-property", "retain", "--delete", "-q")
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if got := digestFolders(t, srv, "docker-local"); slices.Contains(got, keep) {
		t.Errorf("%s kept without its property", keep)
	}
}

// TestPlanThenApply writes a plan, changes the repository and the plan in the ways apply must notice, and checks
// that apply deletes exactly the approved folders whose evidence holds.
func TestPlanThenApply(t *testing.T) {
	srv, sc := newSeedServer(t)
	dir := t.TempDir()
	planPath := filepath.Join(dir, "plan.json")
	res := runCLI(t, env(srv), "plan", "--repo", "docker-local", "--out", planPath, "-q")
	if res.code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "DRY RUN") {
		t.Errorf("plan's report is not a dry run")
	}
	pl, err := planfile.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, f := range pl.Repositories[0].Folders {
		planned = append(planned, f.Path)
		if len(f.Manifests) == 0 || f.Digest == "" || f.MediaType == "" || f.AgeSeconds < 86400 || f.Reason == "" {
			t.Errorf("weak evidence: %+v", f)
		}
	}
	slices.Sort(planned)
	if !slices.Equal(planned, sc.Dangling) || pl.URL != srv.ArtifactoryURL() || pl.MinAgeSeconds != 86400 || pl.KeepProperty != DefaultKeepProperty {
		t.Fatalf("plan %+v\nwant folders %v", pl, sc.Dangling)
	}
	if got := digestFolders(t, srv, "docker-local"); len(got) != len(sc.Dangling)+len(sc.Live) {
		t.Fatalf("plan deleted something")
	}

	// Four changes: one folder gone, one not approved (left out of the plan), one whose evidence changed (another
	// checksum in the plan), one kept now (a keep property since the plan).
	gone, notApproved, changed, keptNow := sc.Dangling[0], sc.Dangling[1], sc.Dangling[2], sc.Dangling[3]
	if _, err := srv.Store().Delete("docker-local", gone); err != nil {
		t.Fatal(err)
	}
	if err := srv.Store().SetProps("docker-local", keptNow, map[string][]string{"artprune.keep": {"true"}}, true); err != nil {
		t.Fatal(err)
	}
	folders := pl.Repositories[0].Folders[:0]
	for _, f := range pl.Repositories[0].Folders {
		switch f.Path {
		case notApproved:
			continue
		case changed:
			f.Manifests[0].SHA256 = strings.Repeat("0", 64)
		}
		folders = append(folders, f)
	}
	pl.Repositories[0].Folders = folders
	if err := planfile.WriteFile(planPath, pl); err != nil {
		t.Fatal(err)
	}

	report := filepath.Join(dir, "applied.json")
	res = runCLI(t, env(srv), "apply", planPath, "--report", report, "-o", "json")
	if res.code != ExitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	rep := decodeReport(t, res)
	rr := rep.Repositories[0]
	var deleted []string
	for _, d := range rr.Deletions {
		if d.Outcome == string(prune.OutcomeDeleted) {
			deleted = append(deleted, d.Path)
		}
	}
	slices.Sort(deleted)
	var want []string
	for _, d := range sc.Dangling {
		if d != gone && d != notApproved && d != changed && d != keptNow {
			want = append(want, d)
		}
	}
	if !slices.Equal(deleted, want) {
		t.Errorf("apply deleted\n  %v\nwant\n  %v", deleted, want)
	}
	left := digestFolders(t, srv, "docker-local")
	for _, p := range []string{notApproved, changed, keptNow} {
		if !slices.Contains(left, p) {
			t.Errorf("%s was deleted", p)
		}
	}
	whys := map[string]string{}
	for _, na := range rr.NotApplied {
		whys[na.Path] = na.Why
	}
	for path, want := range map[string]string{gone: "no longer present", changed: "changed since the plan was approved", keptNow: "kept now: protected"} {
		if !strings.Contains(whys[path], want) {
			t.Errorf("not applied %s: %q, want %q", path, whys[path], want)
		}
	}
	if _, listed := whys[notApproved]; listed || rr.Summary.Kept.NotApproved != 2 {
		t.Errorf("not-approved: listed %v, kept count %d (want 2: the folder outside the plan and the changed one)", listed, rr.Summary.Kept.NotApproved)
	}

	// A plan for another server, or tampered with, is refused before anything is done.
	pl.URL = "http://127.0.0.1:1/artifactory/"
	if err := planfile.WriteFile(planPath, pl); err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, env(srv), "apply", planPath)
	if res.code != ExitUsage || !strings.Contains(res.stderr, "the plan was made against") {
		t.Errorf("plan of another server: exit %d %s", res.code, res.stderr)
	}
	b, _ := os.ReadFile(planPath)
	os.WriteFile(planPath, []byte(strings.Replace(string(b), `"kind"`, `"force": true, "kind"`, 1)), 0o600)
	res = runCLI(t, env(srv), "apply", planPath)
	if res.code != ExitUsage || !strings.Contains(res.stderr, "unknown field") {
		t.Errorf("tampered plan: exit %d %s", res.code, res.stderr)
	}
}

func TestMetricsFileAndSummary(t *testing.T) {
	srv, sc := newSeedServer(t)
	dir := t.TempDir()
	prom := filepath.Join(dir, "artprune.prom")
	md := filepath.Join(dir, "summary.md")
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--repo", "docker-other", "--delete", "-q",
		"--metrics-file", prom, "--summary-markdown", md)
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	f, err := os.Open(prom)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fams, err := metrics.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name, repo string) float64 {
		for _, m := range fams[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "repo" && l.GetValue() == repo || repo == "" {
					return m.GetGauge().GetValue()
				}
			}
			if repo == "" {
				return m.GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s{repo=%q}", name, repo)
		return 0
	}
	if got := get("artprune_folders_deleted", "docker-local"); got != float64(len(sc.Dangling)) {
		t.Errorf("folders_deleted = %v, want %d", got, len(sc.Dangling))
	}
	if got := get("artprune_folders_scanned", "docker-other"); got != float64(len(sc.Dangling)+len(sc.Live)) {
		t.Errorf("folders_scanned = %v", got)
	}
	if get("artprune_run_success", "") != 1 || get("artprune_last_success_timestamp_seconds", "") < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("run_success / last_success wrong")
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "| docker-local | ok |") || !strings.Contains(string(b), "## artprune") {
		t.Errorf("summary:\n%s", b)
	}
}

// TestSchedulerNeverOverlaps drives the scheduler with a fake ticker and a run that blocks until released.
func TestSchedulerNeverOverlaps(t *testing.T) {
	var active, maxActive, started atomic.Int32
	var skipped atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	sc := &scheduler{
		run: func(ctx context.Context, n int) {
			started.Add(1)
			if a := active.Add(1); a > maxActive.Load() {
				maxActive.Store(a)
			}
			defer active.Add(-1)
			if n == 1 {
				<-release
			}
		},
		skipped: func() { skipped.Add(1) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	done := make(chan error, 1)
	go func() { done <- sc.loop(ctx, ticks, nil) }()
	for range 3 {
		ticks <- time.Now() // the first run still goes: each is skipped
	}
	once.Do(func() { close(release) })
	waitFor(t, func() bool { return !sc.running.Load() })
	ticks <- time.Now() // runs
	waitFor(t, func() bool { return started.Load() == 2 && active.Load() == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if maxActive.Load() != 1 || skipped.Load() != 3 || started.Load() != 2 {
		t.Errorf("max active %d, skipped %d, started %d; want 1, 3, 2", maxActive.Load(), skipped.Load(), started.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ = artifactorytest.PermRead

// TestProgressOffATerminal: with stderr not a terminal (a buffer, as in CI), there are no bars, only a log line at
// the end of each phase with its count; --log-format json makes every line JSON.
func TestProgressOffATerminal(t *testing.T) {
	srv, sc := newSeedServer(t)
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete")
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if strings.ContainsAny(res.stderr, "\r\x1b") {
		t.Errorf("terminal control characters on a non-terminal stderr: %q", res.stderr)
	}
	for _, want := range []string{"phase=inventory count=19", "phase=documents", "phase=deletes count=" + strconv.Itoa(len(sc.Dangling))} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	res = runCLI(t, env(srv), "prune", "--repo", "docker-other", "--log-format", "json")
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	phases := 0
	for line := range strings.SplitSeq(strings.TrimSpace(res.stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("not a JSON log line: %q", line)
			continue
		}
		if m["msg"] == "phase done" {
			phases++
		}
	}
	if phases != 2 {
		t.Errorf("%d phase lines in a dry run, want 2 (inventory, documents)", phases)
	}
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-other", "-q"); res.stderr != "" {
		t.Errorf("--quiet still logs:\n%s", res.stderr)
	}
}
