package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// fastRetries keeps fault tests quick: the emulator's 429 and 503 ask for a one-second Retry-After, capped here
// (Retry-After itself is tested in package artifactory).
var fastRetries = artifactory.Backoff{Attempts: 6, Base: time.Millisecond, Max: 8 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond}

// runWith runs artprune like runCLI, with ctx (which may carry client options).
func runWith(t *testing.T, ctx context.Context, env map[string]string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	code := Main(ctx, args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, func(k string) string { return env[k] })
	return cliResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// fastCtx carries short retries and, if given, a per-attempt timeout.
func fastCtx(b artifactory.Backoff, attemptTimeout time.Duration) context.Context {
	opts := []artifactory.Option{artifactory.WithBackoff(b)}
	if attemptTimeout > 0 {
		opts = append(opts, artifactory.WithRequestTimeout(attemptTimeout))
	}
	return withClientOptions(context.Background(), opts...)
}

// readReport parses a --report file.
func readReport(t *testing.T, file string) *prune.Report {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the report was not written: %v", err)
	}
	var rep prune.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, data)
	}
	return &rep
}

// state is what a repository held before a run.
type state struct {
	paths   []string
	folders []string
}

func snapshot(t *testing.T, srv *artifactorytest.Server, repos ...string) map[string]state {
	t.Helper()
	out := map[string]state{}
	for _, r := range repos {
		out[r] = state{paths: allPaths(t, srv, r), folders: digestFolders(t, srv, r)}
	}
	return out
}

// checkSafeRun checks a run against the fault-free plan sc (the same in every repository of before): no live folder
// and nothing outside a deleted dangling folder disappeared, the report tells the truth about every deletion, and
// the exit code matches the report: 0 only when the job is done. It returns the folders deleted, by repository.
func checkSafeRun(t *testing.T, srv *artifactorytest.Server, sc *artifactorytest.Scenario, before map[string]state, res cliResult, rep *prune.Report) map[string][]string {
	t.Helper()
	if res.code != ExitOK && res.code != ExitFailure {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	if strings.Contains(res.stderr, "panic") || strings.Contains(res.stderr, "goroutine ") {
		t.Fatalf("stderr shows a panic:\n%s", res.stderr)
	}
	gone := checkTruth(t, srv, sc, before, rep)
	if run.Failed(rep) != (res.code == ExitFailure) {
		t.Errorf("exit %d, but the report's failures say %v:\n%s", res.code, run.Failed(rep), res.stdout)
	}
	if res.code == ExitOK {
		for repo := range before {
			if got := slices.Sorted(slices.Values(gone[repo])); !slices.Equal(got, sc.Dangling) {
				t.Errorf("%s: exit 0, but deleted %v of %v", repo, got, sc.Dangling)
			}
		}
	}
	return gone
}

// checkTruth checks what a run did against sc and its report (if not nil): nothing live and nothing outside a
// deleted dangling folder is gone, and the report's outcome of every deletion matches the repository. It returns
// the folders deleted, by repository.
func checkTruth(t *testing.T, srv *artifactorytest.Server, sc *artifactorytest.Scenario, before map[string]state, rep *prune.Report) map[string][]string {
	t.Helper()
	gone := map[string][]string{}
	for repo, st := range before {
		after := digestFolders(t, srv, repo)
		for _, f := range st.folders {
			if slices.Contains(after, f) {
				continue
			}
			if why, live := sc.Live[f]; live {
				t.Errorf("%s: LIVE folder %s (%s) was deleted", repo, f, why)
			} else if !slices.Contains(sc.Dangling, f) {
				t.Errorf("%s: %s was deleted but is not in the fault-free plan", repo, f)
			}
			gone[repo] = append(gone[repo], f)
		}
		// Nothing else disappeared: every missing path lies in a deleted dangling folder.
		now := allPaths(t, srv, repo)
		for _, p := range st.paths {
			if !slices.Contains(now, p) && !slices.ContainsFunc(gone[repo], func(f string) bool { return p == f || strings.HasPrefix(p, f+"/") }) {
				t.Errorf("%s: %s disappeared, outside every deleted folder", repo, p)
			}
		}
	}
	if rep == nil {
		return gone
	}
	for _, rr := range rep.Repositories {
		outcome := map[string]prune.DeletionReport{}
		for _, d := range rr.Deletions {
			outcome[d.Path] = d
			isGone := slices.Contains(gone[rr.Repo], d.Path)
			switch prune.Outcome(d.Outcome) {
			case prune.OutcomeDeleted, prune.OutcomeAlreadyGone:
				if !isGone {
					t.Errorf("%s: the report says %s is %s, but it is still there", rr.Repo, d.Path, d.Outcome)
				}
			case prune.OutcomeNotAttempted, prune.OutcomeForbidden:
				if isGone {
					t.Errorf("%s: the report says %s was %s, but it is gone", rr.Repo, d.Path, d.Outcome)
				}
			}
			if d.Outcome != string(prune.OutcomeDeleted) && d.Outcome != string(prune.OutcomeWouldDelete) && d.Error == "" &&
				d.Outcome != string(prune.OutcomeNotAttempted) {
				t.Errorf("%s: %s is %s without an error saying why", rr.Repo, d.Path, d.Outcome)
			}
		}
		for _, f := range gone[rr.Repo] {
			if d, ok := outcome[f]; !ok || (d.Outcome != string(prune.OutcomeDeleted) && d.Outcome != string(prune.OutcomeAlreadyGone) && d.Outcome != string(prune.OutcomeFailed)) {
				t.Errorf("%s: %s is gone, but the report says %+v", rr.Repo, f, d)
			}
		}
		if rr.Summary.FailedRepositories > 0 && rr.Error == "" {
			t.Errorf("%s failed without an error", rr.Repo)
		}
		for _, img := range rr.Images {
			if img.Error != "" && !strings.Contains(img.Error, img.Image) {
				t.Errorf("%s: image %s skipped with an error that does not name it: %s", rr.Repo, img.Image, img.Error)
			}
		}
	}
	return gone
}

// checkFinished checks that every dangling folder is gone and every live one is there.
func checkFinished(t *testing.T, srv *artifactorytest.Server, sc *artifactorytest.Scenario, repos ...string) {
	t.Helper()
	want := slices.Sorted(maps.Keys(sc.Live))
	for _, repo := range repos {
		if got := digestFolders(t, srv, repo); !slices.Equal(got, want) {
			t.Errorf("%s holds\n  %v\nwant the live folders\n  %v", repo, got, want)
		}
	}
}

// TestFaultSweep runs prune --delete on two repositories holding the seed story while the emulator injects 500,
// 503, 429 with Retry-After, connection resets and cut-short bodies at 5%, 20% and 50% of the requests of each
// endpoint class (and of all at once), over several seeds. Whatever fails, no live folder may go, every deletion
// must be one of the fault-free plan, the report must tell the truth, and exit 0 must mean the job is done. A
// fault-free run afterwards finishes the job.
func TestFaultSweep(t *testing.T) {
	classes := []struct {
		name    string
		classes []artifactorytest.Class
	}{
		{"aql", []artifactorytest.Class{artifactorytest.ClassAQL}},
		{"download", []artifactorytest.Class{artifactorytest.ClassDownload}},
		{"delete", []artifactorytest.Class{artifactorytest.ClassDelete}},
		{"other", []artifactorytest.Class{artifactorytest.ClassOther}},
		{"all", nil},
	}
	seeds := []uint64{1, 2, 3, 4, 5}
	if testing.Short() {
		seeds = seeds[:1]
	}
	repos := []string{"docker-local", "docker-other"}
	outcomes := map[int]int{}
	for _, rate := range []float64{0.05, 0.2, 0.5} {
		for _, cl := range classes {
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("%s/%g/seed%d", cl.name, rate, seed), func(t *testing.T) {
					srv, sc := newSeedServer(t, artifactorytest.WithSeed(seed))
					before := snapshot(t, srv, repos...)
					srv.SetFaults(artifactorytest.FaultConfig{Rate: rate, Classes: cl.classes})
					report := filepath.Join(t.TempDir(), "report.json")
					res := runWith(t, fastCtx(fastRetries, 0), env(srv), "prune", "--repo", repos[0], "--repo", repos[1],
						"--delete", "--concurrency", "4", "--page-size", "4", "--report", report)
					srv.SetFaults(artifactorytest.FaultConfig{})
					checkSafeRun(t, srv, sc, before, res, readReport(t, report))
					outcomes[res.code]++

					again := runWith(t, fastCtx(fastRetries, 0), env(srv), "prune", "--repo", repos[0], "--repo", repos[1], "--delete", "-q")
					if again.code != ExitOK {
						t.Errorf("the fault-free run after: exit %d\n%s%s", again.code, again.stdout, again.stderr)
					}
					checkFinished(t, srv, sc, repos...)
				})
			}
		}
	}
	t.Logf("exit codes over the sweep: %v", outcomes)
	if !testing.Short() && (outcomes[ExitOK] == 0 || outcomes[ExitFailure] == 0) {
		t.Errorf("exit codes %v: the sweep should see both completed and failed-closed runs", outcomes)
	}
}

// TestSlowResponses answers 20% of all requests only after 300ms, with a per-attempt timeout of 60ms: the slow
// attempts time out and are retried, and the run completes.
func TestSlowResponses(t *testing.T) {
	srv, sc := newSeedServer(t, artifactorytest.WithSeed(5))
	repos := []string{"docker-local", "docker-other"}
	before := snapshot(t, srv, repos...)
	srv.SetFaults(artifactorytest.FaultConfig{Rate: 0.2, Kinds: []artifactorytest.Fault{artifactorytest.FaultSlow}, Slow: 300 * time.Millisecond})
	b := fastRetries
	b.Attempts = 8 // 0.2^8: no request fails every attempt
	report := filepath.Join(t.TempDir(), "report.json")
	srv.Stats().Reset()
	res := runWith(t, fastCtx(b, 60*time.Millisecond), env(srv), "prune", "--repo", repos[0], "--repo", repos[1], "--delete", "--report", report)
	checkSafeRun(t, srv, sc, before, res, readReport(t, report))
	if res.code != ExitOK {
		t.Errorf("exit %d: slow answers must be retried, not fail the run\n%s%s", res.code, res.stdout, res.stderr)
	}
	checkFinished(t, srv, sc, repos...)
}

// wrappedSeedServer serves the seed story in docker-local and docker-other, plus an old dangling manifest in
// docker-local's image third-image, through wrap.
func wrappedSeedServer(t *testing.T, wrap func(http.Handler) http.Handler) (*artifactorytest.Server, *artifactorytest.Scenario, string, string) {
	t.Helper()
	srv, sc := newSeedServer(t)
	p := artifactorytest.NewPusher(srv.Store(), "docker-local", 7)
	p.At = srv.Clock().Now().Add(-30 * 24 * time.Hour)
	third, err := p.PushManifest("third-image", "", p.NewImage(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(wrap(srv.Emulator))
	t.Cleanup(front.Close)
	return srv, sc, front.URL + "/artifactory/", "third-image/sha256:" + third.Digest.Encoded()
}

// failing answers 500 to the requests match selects (reading the body of AQL searches for it), and passes the
// others to next.
func failing(match func(r *http.Request, body string) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if match(r, string(body)) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(w, `{"errors":[{"status":500,"message":"injected by the test"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestFailClosedScopes breaks one thing for good and checks that exactly its scope deletes nothing while the rest
// of the run goes on: a failed AQL page or a failed re-check stops its repository; an unreadable document its image.
func TestFailClosedScopes(t *testing.T) {
	isAQL := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/api/search/aql") }
	tests := []struct {
		name  string
		match func(r *http.Request, body string) bool
		// what docker-local keeps: "repo" (nothing deleted) or "image" (my-image untouched, third-image deleted)
		scope string
		says  string
	}{
		{"failed AQL page", func(r *http.Request, body string) bool {
			return isAQL(r) && strings.Contains(body, `"docker-local"`) && strings.Contains(body, `{"path":{"$gt":`)
		}, "repo", "AQL page 2"},
		{"failed re-check", func(r *http.Request, body string) bool {
			return isAQL(r) && strings.Contains(body, `"docker-local"`) && strings.Contains(body, `{"created":{"$gt":`)
		}, "repo", "rechecking repository docker-local"},
		{"failed completeness probe", func(r *http.Request, body string) bool {
			return isAQL(r) && strings.Contains(body, `"docker-local"`) && strings.Contains(body, `"$desc"`)
		}, "repo", "completeness probe"},
		{"unreadable index", func(r *http.Request, _ string) bool {
			return r.URL.Path == "/artifactory/docker-local/my-image/latest/list.manifest.json"
		}, "image", "docker-local/my-image/latest/list.manifest.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sc, url, third := wrappedSeedServer(t, failing(tt.match))
			before := digestFolders(t, srv, "docker-local")
			report := filepath.Join(t.TempDir(), "report.json")
			e := map[string]string{"JF_URL": url, "JF_ACCESS_TOKEN": testToken}
			res := runWith(t, fastCtx(fastRetries, 0), e, "prune", "--repo", "docker-local", "--repo", "docker-other",
				"--delete", "--page-size", "5", "--report", report)
			if res.code != ExitFailure {
				t.Errorf("exit %d, want %d", res.code, ExitFailure)
			}
			if !strings.Contains(res.stdout, tt.says) {
				t.Errorf("the report does not say %q:\n%s", tt.says, res.stdout)
			}
			after := digestFolders(t, srv, "docker-local")
			want := before
			if tt.scope == "image" {
				want = slices.DeleteFunc(slices.Clone(before), func(f string) bool { return f == third })
			}
			if !slices.Equal(after, want) {
				t.Errorf("docker-local holds\n  %v\nwant\n  %v", after, want)
			}
			checkFinished(t, srv, sc, "docker-other") // the other repository is pruned regardless
			rep := readReport(t, report)
			if rep.Repositories[1].Error != "" || rep.Repositories[1].Summary.Outcomes.Deleted != len(sc.Dangling) {
				t.Errorf("docker-other: %+v", rep.Repositories[1].Summary)
			}
		})
	}
}
