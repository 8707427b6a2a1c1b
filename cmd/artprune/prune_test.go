package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

const testToken = "s3cr3t-admin-token-for-tests"

// newSeedServer starts an emulator holding the seed story in docker-local and an untouched copy in docker-other.
func newSeedServer(t *testing.T, opts ...artifactorytest.Option) (*artifactorytest.Server, *artifactorytest.Scenario) {
	t.Helper()
	opts = append([]artifactorytest.Option{
		artifactorytest.WithAdminToken(testToken),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-other", Type: "local", PackageType: "docker"}),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-remote", Type: "remote", PackageType: "docker"}),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "generic-local", Type: "local", PackageType: "generic"}),
		artifactorytest.WithUser(artifactorytest.User{Name: "reader", Token: "reader-token", Perms: []artifactorytest.Permission{artifactorytest.PermRead}}),
	}, opts...)
	srv, err := artifactorytest.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	now := srv.Clock().Now()
	sc, err := artifactorytest.SeedStory(srv.Store(), "docker-local", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-other", now); err != nil {
		t.Fatal(err)
	}
	return srv, sc
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs artprune with args and an environment holding only env.
func runCLI(t *testing.T, env map[string]string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := Main(ctx, args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, func(k string) string { return env[k] })
	return cliResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// digestFolders lists every <image>/sha256:<hex> folder of repo.
func digestFolders(t *testing.T, srv *artifactorytest.Server, repo string) []string {
	t.Helper()
	var out []string
	err := srv.Store().Walk(repo, "", func(it *artifactorytest.Item) bool {
		if it.Folder && strings.HasPrefix(it.Name, "sha256:") {
			out = append(out, it.FullPath())
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// allPaths lists every item of repo.
func allPaths(t *testing.T, srv *artifactorytest.Server, repo string) []string {
	t.Helper()
	var out []string
	if err := srv.Store().Walk(repo, "", func(it *artifactorytest.Item) bool {
		out = append(out, it.FullPath())
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func env(srv *artifactorytest.Server) map[string]string {
	return map[string]string{"JF_URL": srv.ArtifactoryURL(), "JF_ACCESS_TOKEN": testToken}
}

func TestPruneDryRunThenDelete(t *testing.T) {
	srv, sc := newSeedServer(t)
	before := allPaths(t, srv, "docker-local")
	otherBefore := allPaths(t, srv, "docker-other")

	dry := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--output", "json")
	if dry.code != ExitOK {
		t.Fatalf("dry run: exit %d, stderr:\n%s", dry.code, dry.stderr)
	}
	if got := allPaths(t, srv, "docker-local"); !slices.Equal(got, before) {
		t.Fatalf("the dry run changed the repository")
	}
	var rep prune.Report
	if err := json.Unmarshal([]byte(dry.stdout), &rep); err != nil {
		t.Fatalf("dry run JSON: %v\n%s", err, dry.stdout)
	}
	if !rep.DryRun {
		t.Errorf("report says dry_run=false for a dry run")
	}
	var planned []string
	for _, d := range rep.Repositories[0].Deletions {
		planned = append(planned, d.Path)
		if d.Outcome != string(prune.OutcomeWouldDelete) {
			t.Errorf("%s: outcome %q in a dry run", d.Path, d.Outcome)
		}
	}
	slices.Sort(planned)
	if !slices.Equal(planned, sc.Dangling) {
		t.Errorf("dry run plans\n  %v\nwant\n  %v", planned, sc.Dangling)
	}

	report := filepath.Join(t.TempDir(), "report.json")
	del := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--report", report)
	if del.code != ExitOK {
		t.Fatalf("--delete: exit %d\nstdout:\n%s\nstderr:\n%s", del.code, del.stdout, del.stderr)
	}
	if strings.Contains(del.stdout, "DRY RUN") {
		t.Errorf("--delete output claims a dry run")
	}
	var want []string
	for f := range sc.Live {
		want = append(want, f)
	}
	slices.Sort(want)
	if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, want) {
		t.Errorf("after --delete the digest folders are\n  %v\nwant (the live ones)\n  %v", got, want)
	}
	// Tag folders are untouched.
	for _, tag := range []string{"my-image/latest/list.manifest.json", "my-image/1.0/manifest.json", "other-image/stable/list.manifest.json"} {
		if _, ok := srv.Store().Get("docker-local", tag); !ok {
			t.Errorf("%s was deleted", tag)
		}
	}
	if got := allPaths(t, srv, "docker-other"); !slices.Equal(got, otherBefore) {
		t.Errorf("a repository that was not named changed")
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("--report file: %v", err)
	}
	var written prune.Report
	if err := json.Unmarshal(data, &written); err != nil || written.DryRun || written.Totals.Outcomes.Deleted != len(sc.Dangling) {
		t.Errorf("--report file: err=%v dry_run=%v deleted=%d, want %d deleted", err, written.DryRun, written.Totals.Outcomes.Deleted, len(sc.Dangling))
	}

	again := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "-o", "json")
	if again.code != ExitOK || !strings.Contains(again.stdout, `"deletions": 0`) {
		t.Errorf("a second run should find nothing: exit %d\n%s", again.code, again.stdout)
	}
}

func TestPruneGracePeriodFollowsServerClock(t *testing.T) {
	srv, sc := newSeedServer(t)
	// With a 30-day grace period only the 40-day-old build of latest may go.
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--min-age", "30d", "--delete", "-q")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	gone := 0
	for _, f := range sc.Dangling {
		if _, ok := srv.Store().Get("docker-local", f); !ok {
			gone++
		}
	}
	if gone != 2 {
		t.Errorf("with --min-age 30d, %d dangling folders were deleted, want the 2 of the 40-day-old build", gone)
	}
	// Let 11 days pass (for the server and for this machine alike): now the 20-day-old push-by-digest index is 31
	// days old. (A server clock that runs ahead of this machine's fails the run closed: TestClockDisagreement.)
	srv.Store().Age(11 * 24 * time.Hour)
	res = runCLI(t, env(srv), "prune", "--repo", "docker-local", "--min-age", "30d", "--delete", "-q")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	for _, f := range sc.Dangling {
		if _, ok := srv.Store().Get("docker-local", f); ok {
			t.Errorf("%s survived although older than the grace period on the server's clock", f)
		}
	}
}

func TestPruneRefusesWhatItMustNotTouch(t *testing.T) {
	srv, _ := newSeedServer(t)
	for _, repo := range []string{"docker-remote", "generic-local", "no-such-repo"} {
		t.Run(repo, func(t *testing.T) {
			res := runCLI(t, env(srv), "prune", "--repo", repo, "--delete")
			if res.code != ExitFailure {
				t.Errorf("exit %d, want %d", res.code, ExitFailure)
			}
			if !strings.Contains(res.stdout+res.stderr, repo) {
				t.Errorf("the message does not name %s:\n%s%s", repo, res.stdout, res.stderr)
			}
		})
	}
}

func TestPruneTrimmedAQLDeletesNothing(t *testing.T) {
	srv, _ := newSeedServer(t, artifactorytest.WithAQLMaxResults(5))
	before := allPaths(t, srv, "docker-local")
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--page-size", "100")
	if res.code != ExitFailure {
		t.Errorf("exit %d, want %d", res.code, ExitFailure)
	}
	if !strings.Contains(res.stdout, "trimmed") {
		t.Errorf("the report does not say the results were trimmed:\n%s", res.stdout)
	}
	if got := allPaths(t, srv, "docker-local"); !slices.Equal(got, before) {
		t.Errorf("something was deleted after a trimmed AQL answer")
	}
}

func TestPruneSmallPagesGiveTheSamePlan(t *testing.T) {
	srv, sc := newSeedServer(t)
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--page-size", "2", "-o", "json")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	var rep prune.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, d := range rep.Repositories[0].Deletions {
		planned = append(planned, d.Path)
	}
	slices.Sort(planned)
	if !slices.Equal(planned, sc.Dangling) {
		t.Errorf("with 2-row pages the plan is\n  %v\nwant\n  %v", planned, sc.Dangling)
	}
}

func TestPruneUnreadableIndexFailsClosed(t *testing.T) {
	srv, sc := newSeedServer(t)
	// Corrupt the tag's index: its children must not be judged dangling.
	if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "docker-local", Path: "my-image/latest/list.manifest.json", Data: []byte("{not json")}); err != nil {
		t.Fatal(err)
	}
	before := digestFolders(t, srv, "docker-local")
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete")
	if res.code != ExitFailure {
		t.Errorf("exit %d, want %d", res.code, ExitFailure)
	}
	after := digestFolders(t, srv, "docker-local")
	for _, f := range before {
		if strings.HasPrefix(f, "my-image/") && !slices.Contains(after, f) {
			t.Errorf("%s was deleted although my-image has an unreadable index", f)
		}
	}
	// other-image has no dangling folders in the seed story; nothing else to check there, but the run must say why.
	if !strings.Contains(res.stdout, "my-image") || !strings.Contains(res.stdout, "list.manifest.json") {
		t.Errorf("the report does not name the image and file that failed:\n%s", res.stdout)
	}
	_ = sc
}

func TestPruneReadOnlyTokenReportsForbidden(t *testing.T) {
	srv, sc := newSeedServer(t)
	e := map[string]string{"JF_URL": srv.ArtifactoryURL(), "JF_ACCESS_TOKEN": "reader-token"}
	dry := runCLI(t, e, "prune", "--repo", "docker-local")
	if dry.code != ExitOK {
		t.Fatalf("a read-only token must allow a dry run: exit %d\n%s", dry.code, dry.stderr)
	}
	del := runCLI(t, e, "prune", "--repo", "docker-local", "--delete", "-o", "json")
	if del.code != ExitFailure {
		t.Errorf("exit %d, want %d", del.code, ExitFailure)
	}
	var rep prune.Report
	if err := json.Unmarshal([]byte(del.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if got := rep.Totals.Outcomes.Forbidden; got != len(sc.Dangling) {
		t.Errorf("forbidden outcomes %d, want one per planned folder (%d)", got, len(sc.Dangling))
	}
	if len(digestFolders(t, srv, "docker-local")) != len(sc.Dangling)+len(sc.Live) {
		t.Errorf("a read-only token deleted something")
	}

	// Each refusal once per folder: one DELETE per folder (403 is not retried), one line each in the text report.
	srv.Stats().Reset()
	text := runCLI(t, e, "prune", "--repo", "docker-local", "--delete")
	if text.code != ExitFailure {
		t.Errorf("text run: exit %d, want %d", text.code, ExitFailure)
	}
	if counts, _ := srv.Stats().Snapshot(); counts["delete"] != int64(len(sc.Dangling)) {
		t.Errorf("%d DELETE requests, want one per planned folder (%d)", counts["delete"], len(sc.Dangling))
	}
	for _, f := range sc.Dangling {
		n := 0
		for line := range strings.SplitSeq(text.stdout, "\n") {
			if strings.Contains(line, f) && strings.Contains(line, string(prune.OutcomeForbidden)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s is reported forbidden %d times, want once:\n%s", f, n, text.stdout)
		}
	}
	if !strings.Contains(text.stdout, "missing Delete permission") || strings.Count(text.stderr, "HTTP 403") > 0 {
		t.Errorf("the report should explain the 403s once each, and the log not repeat them:\nstdout:\n%s\nstderr:\n%s", text.stdout, text.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	srv, _ := newSeedServer(t)
	e := env(srv)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no repo", e, []string{"prune"}, "--repo is required"},
		{"no url", map[string]string{}, []string{"prune", "--repo", "x"}, "no Artifactory URL"},
		{"no credentials", map[string]string{"JF_URL": srv.ArtifactoryURL()}, []string{"prune", "--repo", "x"}, "no credentials"},
		{"bad min-age", e, []string{"prune", "--repo", "x", "--min-age", "3 weeks"}, "min-age"},
		{"zero min-age", e, []string{"prune", "--repo", "x", "--min-age", "0s"}, "must be positive"},
		{"bad output", e, []string{"prune", "--repo", "x", "-o", "yaml"}, "--output"},
		{"unknown flag", e, []string{"prune", "--repo", "x", "--dry-run"}, "unknown flag"},
		{"token and user", e, []string{"prune", "--repo", "x", "--access-token", "a", "--user", "u", "--password", "p"}, "not both"},
		{"url with credentials", e, []string{"prune", "--repo", "x", "--url", "http://u:pw@127.0.0.1/artifactory"}, "must not carry credentials"},
		{"bad repo glob", e, []string{"prune", "--repo", "docker-["}, "syntax error"},
		{"repo with a slash", e, []string{"prune", "--repo", "docker/local"}, "want a repository key"},
		{"bad image glob", e, []string{"prune", "--repo", "x", "--exclude-image", "/abs"}, "image glob"},
		{"bad keep property", e, []string{"prune", "--repo", "x", "--keep-property", "=v"}, "--keep-property"},
		{"bad log format", e, []string{"prune", "--repo", "x", "--log-format", "xml"}, "--log-format"},
		{"bad pushgateway", e, []string{"prune", "--repo", "x", "--pushgateway", "gw:9091"}, "--pushgateway"},
		{"plan without out", e, []string{"plan", "--repo", "x"}, "--out is required"},
		{"apply without plan", e, []string{"apply"}, "the plan file"},
		{"serve too often", e, []string{"serve", "--repo", "x", "--every", "10s"}, "--every"},
		{"missing token file", e, []string{"prune", "--repo", "x", "--access-token-file", "/nonexistent/token"}, "--access-token-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, tt.env, tt.args...)
			if res.code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", res.code, ExitUsage, res.stderr)
			}
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, res.stderr)
			}
			if strings.Contains(res.stderr, "pw@") {
				t.Errorf("stderr leaks the URL's password:\n%s", res.stderr)
			}
		})
	}
}

func TestBadCredentialsFailOnceWithoutLeaking(t *testing.T) {
	srv, _ := newSeedServer(t)
	const wrong = "wrong-token-value-1234"
	srv.Stats().Reset()
	report := filepath.Join(t.TempDir(), "report.json")
	res := runCLI(t, map[string]string{"JF_URL": srv.ArtifactoryURL(), "JF_ACCESS_TOKEN": wrong}, "prune",
		"--repo", "docker-local", "--repo", "docker-other", "--delete", "--report", report)
	if res.code != ExitFailure {
		t.Errorf("exit %d, want %d", res.code, ExitFailure)
	}
	out := res.stdout + res.stderr
	if !strings.Contains(out, "HTTP 401") || !strings.Contains(out, "access token") {
		t.Errorf("the message does not explain the authentication failure:\n%s", out)
	}
	for _, secret := range []string{wrong, testToken} {
		if strings.Contains(out, secret) {
			t.Errorf("output leaks a token:\n%s", out)
		}
	}
	if _, total := srv.Stats().Snapshot(); total != 1 {
		t.Errorf("%d requests for a bad token, want 1: the credentials are checked once, and 401 is not retried", total)
	}
	if n := strings.Count(out, "HTTP 401"); n != 1 {
		t.Errorf("the refusal is told %d times, want once:\n%s", n, out)
	}
	if _, err := os.Stat(report); !os.IsNotExist(err) {
		t.Errorf("a report was written although nothing was examined: %v", err)
	}
}

func TestVersion(t *testing.T) {
	res := runCLI(t, nil, "version")
	if res.code != ExitOK || !strings.Contains(res.stdout, "artprune ") || !strings.Contains(res.stdout, "go: go1.") {
		t.Errorf("version: exit %d\n%s", res.code, res.stdout)
	}
}
