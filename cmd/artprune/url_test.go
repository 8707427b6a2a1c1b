package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// TestPlatformAndArtifactoryURLs: JF_URL (and --url) may be the JFrog Platform URL, as JFrog's own tools take it,
// or the Artifactory URL; both prune the same folders, and the logs say which Artifactory was used.
func TestPlatformAndArtifactoryURLs(t *testing.T) {
	for _, tc := range []struct {
		name, url, wantLog string
		viaFlag            bool
	}{
		{"JF_URL platform", "", "using the Artifactory under the JFrog Platform URL", false},
		{"JF_URL artifactory", "/artifactory", "using Artifactory", false},
		{"--url platform", "/", "using the Artifactory under the JFrog Platform URL", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, sc := newSeedServer(t)
			e := map[string]string{}
			args := []string{"prune", "--repo", "docker-local", "--delete"}
			if tc.viaFlag { // the URL and the token from the same source
				args = append(args, "--url", srv.URL+tc.url, "--access-token", testToken)
			} else {
				e["JF_URL"], e["JF_ACCESS_TOKEN"] = srv.URL+tc.url, testToken
			}
			res := runCLI(t, e, args...)
			if res.code != ExitOK {
				t.Fatalf("exit %d\nstderr:\n%s", res.code, res.stderr)
			}
			if !strings.Contains(res.stderr, tc.wantLog) || !strings.Contains(res.stderr, srv.ArtifactoryURL()) {
				t.Errorf("the logs do not say %q with %s:\n%s", tc.wantLog, srv.ArtifactoryURL(), res.stderr)
			}
			var want []string
			for f := range sc.Live {
				want = append(want, f)
			}
			slices.Sort(want)
			if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, want) {
				t.Errorf("after --delete the digest folders are\n  %v\nwant (the live ones)\n  %v", got, want)
			}
		})
	}
}

// TestURLThatIsNoArtifactory: a URL that answers as no Artifactory does (a web page) fails with a message that
// says so and what URL to give, before any repository is looked at.
func TestURLThatIsNoArtifactory(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Company portal</title>"))
	}))
	t.Cleanup(web.Close)
	res := runCLI(t, map[string]string{"JF_URL": web.URL, "JF_ACCESS_TOKEN": testToken}, "prune", "--repo", "docker-local")
	if res.code != ExitFailure {
		t.Errorf("exit %d, want %d", res.code, ExitFailure)
	}
	for _, want := range []string{"no Artifactory answers at this URL", "JFrog Platform URL (https://acme.jfrog.io)", "Artifactory URL (https://acme.jfrog.io/artifactory)"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
		}
	}
	if strings.Contains(res.stdout+res.stderr, testToken) {
		t.Errorf("the token leaks")
	}
}

// TestFailedRepositoryShowsItsSettings: the report line of a repository that could not be planned shows the grace
// period the run used, not a zero.
func TestFailedRepositoryShowsItsSettings(t *testing.T) {
	srv, _ := newSeedServer(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "repository nosuch (server time -, min age 1d0h)"},
		{[]string{"--min-age", "36h"}, "repository nosuch (server time -, min age 1d12h)"},
	} {
		res := runCLI(t, env(srv), append([]string{"prune", "--repo", "nosuch"}, tc.args...)...)
		if res.code != ExitFailure || !strings.Contains(res.stdout, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q in:\n%s", tc.args, res.code, ExitFailure, tc.want, res.stdout)
		}
	}
}

// TestGuideMessagesSayWhatToDo: each mistake a new user can make in the README's five-minute guide gets a message
// that names what to do about it, and the exit code the README gives for it.
func TestGuideMessagesSayWhatToDo(t *testing.T) {
	srv, _ := newSeedServer(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token.txt")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(dir, "artprune.yaml")
	if err := os.WriteFile(badConfig, []byte("repos:\n  - docker-local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	platform := map[string]string{"JF_URL": srv.URL}
	withToken := map[string]string{"JF_URL": srv.URL, "JF_ACCESS_TOKEN": testToken}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string // every one must appear in stdout or stderr
	}{
		{"no URL", map[string]string{"JF_ACCESS_TOKEN": testToken}, []string{"prune", "--repo", "docker-local"}, ExitUsage,
			[]string{"give --url, set JF_URL"}},
		{"no credentials", platform, []string{"prune", "--repo", "docker-local"}, ExitUsage,
			[]string{"give --access-token-file", "set JF_ACCESS_TOKEN"}},
		{"token file missing", platform, []string{"prune", "--access-token-file", filepath.Join(dir, "nope.txt"), "--repo", "docker-local"}, ExitUsage,
			[]string{"--access-token-file", "no such file"}},
		{"wrong token", map[string]string{"JF_URL": srv.URL, "JF_ACCESS_TOKEN": "wrong-token"}, []string{"prune", "--repo", "docker-local"}, ExitFailure,
			[]string{"HTTP 401", "check the access token"}},
		{"no --repo", withToken, []string{"prune"}, ExitUsage,
			[]string{"name the local Docker repositories", "--all-repos"}},
		{"misspelt repository", withToken, []string{"prune", "--repo", "docker-locl"}, ExitFailure,
			[]string{`repository "docker-locl" does not exist`, "check the key", "may read the repository"}},
		{"glob matching nothing", withToken, []string{"prune", "--repo", "dock-*"}, ExitFailure,
			[]string{"matches no repository", "check the pattern"}},
		{"remote repository", withToken, []string{"prune", "--repo", "docker-remote"}, ExitFailure,
			[]string{"prunes only local Docker repositories"}},
		{"bad grace period", withToken, []string{"prune", "--repo", "docker-local", "--min-age", "7days"}, ExitUsage,
			[]string{"want a duration such as 36h, 7d"}},
		{"short grace period", withToken, []string{"prune", "--repo", "docker-local", "--min-age", "5m"}, ExitOK,
			[]string{"the grace period is short", "could look dangling"}},
		{"unknown config key", withToken, []string{"prune", "--config", badConfig}, ExitUsage,
			[]string{`unknown key "repos"`, "long names of artprune's flags"}},
		{"read-only token deleting", map[string]string{"JF_URL": srv.URL, "JF_ACCESS_TOKEN": "reader-token"}, []string{"prune", "--repo", "docker-local", "--delete"}, ExitFailure,
			[]string{"missing Delete permission", "needs DELETE permission"}},
		{"plan file missing", withToken, []string{"apply", filepath.Join(dir, "plan.json")}, ExitUsage,
			[]string{"read the plan file", "artprune plan --out writes it"}},
		{"dry run", withToken, []string{"prune", "--repo", "docker-local"}, ExitOK,
			[]string{"DRY RUN: nothing was deleted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, tc.env, tc.args...)
			if res.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tc.code, res.stdout, res.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stdout+res.stderr, w) {
					t.Errorf("the output does not say %q:\nstdout:\n%s\nstderr:\n%s", w, res.stdout, res.stderr)
				}
			}
		})
	}
}

// TestImageFiltersDoNotHideATagFolder: excluding an image does not hide that one of its tag folders holds another
// image; that nested image is still skipped (fail closed), not judged as if the tag folder were not there.
func TestImageFiltersDoNotHideATagFolder(t *testing.T) {
	srv, _ := newSeedServer(t)
	p := artifactorytest.NewPusher(srv.Store(), "docker-local", 7)
	p.At = srv.Clock().Now().Add(-30 * 24 * time.Hour)
	if _, err := p.PushManifest("team/app", "v1", p.NewImage(100)); err != nil { // tag v1 of team/app
		t.Fatal(err)
	}
	inner, err := p.PushManifest("team/app/v1", "", p.NewImage(200)) // a digest folder of image team/app/v1
	if err != nil {
		t.Fatal(err)
	}
	innerFolder := "docker-local/team/app/v1/" + string(inner.Digest)
	for _, filter := range [][]string{{"--exclude-image", "team/app"}, {"--include-image", "team/app/*"}} {
		res := runCLI(t, env(srv), append([]string{"prune", "--repo", "docker-local", "--delete", "-o", "json"}, filter...)...)
		if _, ok := srv.Store().Get("docker-local", strings.TrimPrefix(innerFolder, "docker-local/")+"/manifest.json"); !ok {
			t.Fatalf("%v: %s was deleted, although it lies in the tag folder v1 of team/app\n%s", filter, innerFolder, res.stderr)
		}
		if res.code != ExitFailure || !strings.Contains(res.stdout, "image-skipped") || !strings.Contains(res.stdout, "also the tag") {
			t.Errorf("%v: exit %d, want %d with team/app/v1 skipped:\n%s", filter, res.code, ExitFailure, res.stdout)
		}
	}
}
