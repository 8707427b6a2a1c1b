package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/prune"
)

// TestKeepPulledWithin: a dangling index pulled by digest within the window is kept with its children, locally or
// through another Artifactory; its unpulled siblings go; once the window has passed, everything dangling goes.
func TestKeepPulledWithin(t *testing.T) {
	for _, remote := range []bool{false, true} {
		name := "local"
		if remote {
			name = "remote"
		}
		t.Run(name, func(t *testing.T) {
			srv, sc := newSeedServer(t)
			st := srv.Store()
			// The dangling push-by-digest index (the only dangling list.manifest.json) and its two children.
			var index string
			for _, f := range sc.Dangling {
				if _, ok := st.Get("docker-local", f+"/list.manifest.json"); ok {
					index = f
				}
			}
			if index == "" {
				t.Fatal("the seed story has no dangling index")
			}
			var err error
			if remote {
				err = st.RecordRemoteDownload("docker-local", index+"/list.manifest.json", "edge-eu", "docker-local/"+index+"/list.manifest.json", "kubelet", 1, srv.Clock().Now().Add(-6*24*time.Hour))
			} else {
				err = st.RecordDownload("docker-local", index+"/list.manifest.json", "kubelet", srv.Clock().Now().Add(-6*24*time.Hour))
			}
			if err != nil {
				t.Fatal(err)
			}
			res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--keep-pulled-within", "7d", "--delete", "-o", "json")
			if res.code != ExitOK {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			if !strings.Contains(res.stderr, "--keep-pulled-within without --cache-dir") {
				t.Errorf("no warning about the missing document cache:\n%s", res.stderr)
			}
			var rep prune.Report
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			pulled := map[string]bool{}
			for _, k := range rep.Repositories[0].Kept {
				if k.Reason == string(prune.ReasonPulled) {
					pulled[k.Path] = true
				}
			}
			if len(pulled) != 3 || !pulled[index] || rep.Totals.Kept.Pulled != 3 {
				t.Fatalf("kept as pulled: %v (count %d), want the index %s and its two children", pulled, rep.Totals.Kept.Pulled, index)
			}
			var want []string // live, plus the pulled index and its children
			for f := range sc.Live {
				want = append(want, f)
			}
			for f := range pulled {
				want = append(want, f)
			}
			slices.Sort(want)
			if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, want) {
				t.Fatalf("after --delete:\n  %v\nwant\n  %v", got, want)
			}

			// Eight days later the window has passed (for the pull and for artprune's own reads): they go too.
			srv.Store().Age(8 * 24 * time.Hour)
			res = runCLI(t, env(srv), "prune", "--repo", "docker-local", "--keep-pulled-within", "7d", "--delete", "-q")
			if res.code != ExitOK {
				t.Fatalf("second run: exit %d\n%s", res.code, res.stderr)
			}
			want = want[:0]
			for f := range sc.Live {
				if sc.Live[f] != "young" { // the young ones are old by now, and dangling
					want = append(want, f)
				}
			}
			slices.Sort(want)
			if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, want) {
				t.Fatalf("after the window:\n  %v\nwant\n  %v", got, want)
			}
		})
	}
}

// TestKeepPulledWithinFromConfig: the window can come from the config file.
func TestKeepPulledWithinFromConfig(t *testing.T) {
	srv, sc := newSeedServer(t)
	var index string
	for _, f := range sc.Dangling {
		if _, ok := srv.Store().Get("docker-local", f+"/list.manifest.json"); ok {
			index = f
		}
	}
	if err := srv.Store().RecordDownload("docker-local", index+"/list.manifest.json", "kubelet", time.Time{}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "artprune.yaml")
	if err := os.WriteFile(cfg, []byte("repo:\n  - docker-local\nkeep-pulled-within: 7d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, env(srv), "prune", "--config", cfg, "-o", "json")
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	var rep prune.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Kept.Pulled != 3 {
		t.Errorf("kept as pulled: %d, want the index and its two children", rep.Totals.Kept.Pulled)
	}
}

// TestKeepPulledWithinUsage: a negative window is a usage error, and nothing is done.
func TestKeepPulledWithinUsage(t *testing.T) {
	srv, _ := newSeedServer(t)
	before := digestFolders(t, srv, "docker-local")
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--keep-pulled-within", "-1h", "--delete")
	if res.code != ExitUsage || !strings.Contains(res.stderr, "--keep-pulled-within") {
		t.Fatalf("negative window: exit %d\n%s", res.code, res.stderr)
	}
	if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, before) {
		t.Fatalf("a refused run changed the repository")
	}
}

// TestKeepPulledWithinFailsClosed: a statistics query that fails (here the remote one, after its retries) deletes
// nothing in its repository, says why, and exits 1; the other repository is pruned regardless.
func TestKeepPulledWithinFailsClosed(t *testing.T) {
	srv, sc, url, _ := wrappedSeedServer(t, failing(func(r *http.Request, body string) bool {
		return strings.HasSuffix(r.URL.Path, "/api/search/aql") && strings.Contains(body, `"docker-local"`) &&
			strings.Contains(body, `"stat.remote_downloaded"`)
	}))
	before := digestFolders(t, srv, "docker-local")
	report := filepath.Join(t.TempDir(), "report.json")
	e := map[string]string{"JF_URL": url, "JF_ACCESS_TOKEN": testToken}
	res := runWith(t, fastCtx(fastRetries, 0), e, "prune", "--repo", "docker-local", "--repo", "docker-other",
		"--keep-pulled-within", "7d", "--delete", "--report", report)
	if res.code != ExitFailure {
		t.Errorf("exit %d, want %d", res.code, ExitFailure)
	}
	if !strings.Contains(res.stdout, "stat.remote_downloaded") {
		t.Errorf("the report does not name the failed statistics query:\n%s", res.stdout)
	}
	if after := digestFolders(t, srv, "docker-local"); !slices.Equal(after, before) {
		t.Errorf("docker-local changed:\n  %v\nwant\n  %v", after, before)
	}
	checkFinished(t, srv, sc, "docker-other")
}

// TestKeepPulledWithinPlanThenApply: the plan's own reads are downloads (as on Artifactory), so apply, judging
// again with the plan's window, keeps every folder whose document the plan read, and says so; nothing is deleted.
func TestKeepPulledWithinPlanThenApply(t *testing.T) {
	srv, sc := newSeedServer(t)
	planPath := filepath.Join(t.TempDir(), "plan.json")
	if res := runCLI(t, env(srv), "plan", "--repo", "docker-local", "--keep-pulled-within", "7d", "--out", planPath, "-q"); res.code != ExitOK {
		t.Fatalf("plan: exit %d\n%s", res.code, res.stderr)
	}
	before := digestFolders(t, srv, "docker-local")
	res := runCLI(t, env(srv), "apply", planPath, "-o", "json")
	if res.code != ExitOK {
		t.Fatalf("apply: exit %d\n%s", res.code, res.stderr)
	}
	var rep prune.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, before) {
		t.Errorf("apply deleted folders the plan read within the window")
	}
	notApplied := map[string]string{}
	for _, na := range rep.Repositories[0].NotApplied {
		notApplied[na.Path] = na.Why
	}
	for _, f := range sc.Dangling {
		if !strings.Contains(notApplied[f], "pulled") {
			t.Errorf("%s: not applied for %q, want kept now: pulled", f, notApplied[f])
		}
	}
}
