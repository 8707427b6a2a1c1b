package main

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
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
			e := map[string]string{"JF_ACCESS_TOKEN": testToken}
			args := []string{"prune", "--repo", "docker-local", "--delete"}
			if tc.viaFlag {
				args = append(args, "--url", srv.URL+tc.url)
			} else {
				e["JF_URL"] = srv.URL + tc.url
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
