package artifactory_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/prune"
)

// TestConnectFindsArtifactory: the Artifactory URL and the JFrog Platform URL (Artifactory under /artifactory, as
// JF_URL is set for JFrog's own tools) both reach the emulator's Artifactory; the Artifactory URL costs one request.
func TestConnectFindsArtifactory(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct {
		name, url    string
		wantPlatform bool
		wantRequests int64
	}{
		{"artifactory URL", srv.ArtifactoryURL(), false, 1},
		{"artifactory URL without slash", strings.TrimSuffix(srv.ArtifactoryURL(), "/"), false, 1},
		{"platform URL", srv.URL, true, 2},
		{"platform URL with slash", srv.URL + "/", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Stats().Reset()
			conn, err := artifactory.Connect(context.Background(), tc.url, artifactory.WithAccessToken(token), artifactory.WithBackoff(fastBackoff))
			if err != nil {
				t.Fatal(err)
			}
			if got := conn.Client.BaseURL(); got != srv.ArtifactoryURL() {
				t.Errorf("base %q, want %q", got, srv.ArtifactoryURL())
			}
			if conn.Platform != tc.wantPlatform {
				t.Errorf("platform %v, want %v", conn.Platform, tc.wantPlatform)
			}
			if conn.Version == nil || conn.Version.Version == "" {
				t.Errorf("no version read: %+v", conn.Version)
			}
			if _, total := srv.Stats().Snapshot(); total != tc.wantRequests {
				t.Errorf("%d requests, want %d", total, tc.wantRequests)
			}
			// The client found works: it lists the repository.
			if _, err := conn.Client.Repository(context.Background(), "docker-local"); err != nil {
				t.Errorf("the client found does not reach the repository: %v", err)
			}
		})
	}
}

// TestConnectRefusals: refused credentials are reported as such at either URL, with one request at the
// Artifactory URL; a server that is no Artifactory gets a message that says so and what to give instead.
func TestConnectRefusals(t *testing.T) {
	srv := newServer(t)
	const wrong = "wrong-token-for-connect"
	for _, u := range []string{srv.ArtifactoryURL(), srv.URL} {
		srv.Stats().Reset()
		_, err := artifactory.Connect(context.Background(), u, artifactory.WithAccessToken(wrong), artifactory.WithBackoff(fastBackoff))
		if !errors.Is(err, prune.ErrUnauthorized) || strings.Contains(err.Error(), wrong) {
			t.Errorf("%s with a wrong token: %v, want ErrUnauthorized without the token", u, err)
		}
		if _, total := srv.Stats().Snapshot(); u == srv.ArtifactoryURL() && total != 1 {
			t.Errorf("%d requests for a refused token at the Artifactory URL, want 1", total)
		}
	}

	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Welcome</body></html>"))
	}))
	t.Cleanup(web.Close)
	_, err := artifactory.Connect(context.Background(), web.URL, artifactory.WithAccessToken(token), artifactory.WithBackoff(fastBackoff))
	if !errors.Is(err, artifactory.ErrNotArtifactory) {
		t.Fatalf("a web server: %v, want ErrNotArtifactory", err)
	}
	for _, want := range []string{web.URL + "/api/system/version", web.URL + "/artifactory/api/system/version", "text/html", "JFrog Platform URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message does not say %q: %v", want, err)
		}
	}
}

// TestConnectBehindAProxyThatRefusesUnknownPaths: a proxy in front of a JFrog Platform that answers 401 outside
// /artifactory does not stop Connect from finding the Artifactory under it.
func TestConnectBehindAProxyThatRefusesUnknownPaths(t *testing.T) {
	srv := newServer(t)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/artifactory/") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	conn, err := artifactory.Connect(context.Background(), proxy.URL, artifactory.WithAccessToken(token), artifactory.WithBackoff(fastBackoff))
	if err != nil {
		t.Fatal(err)
	}
	if !conn.Platform || conn.Client.BaseURL() != proxy.URL+"/artifactory/" {
		t.Errorf("got base %q (platform %v), want %s/artifactory/", conn.Client.BaseURL(), conn.Platform, proxy.URL)
	}
}

// TestConnectGoesOnAfterTransientFailures: a server that keeps failing the version check is not declared "not
// Artifactory": the run goes on with the URL as given, as the credential check always did.
func TestConnectGoesOnAfterTransientFailures(t *testing.T) {
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(flaky.Close)
	conn, err := artifactory.Connect(context.Background(), flaky.URL+"/artifactory", artifactory.WithAccessToken(token),
		artifactory.WithBackoff(artifactory.Backoff{Attempts: 2, Base: 1, Max: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if conn.Client.BaseURL() != flaky.URL+"/artifactory/" || conn.Version != nil {
		t.Errorf("got base %q, version %+v", conn.Client.BaseURL(), conn.Version)
	}
}
