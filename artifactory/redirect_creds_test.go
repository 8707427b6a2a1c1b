package artifactory_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/prune"
)

// authSeen records the Authorization headers a server received.
type authSeen struct {
	mu    sync.Mutex
	seen  []string
	reply func(w http.ResponseWriter, r *http.Request)
}

func (a *authSeen) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.seen = append(a.seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
	a.mu.Unlock()
	a.reply(w, r)
}

func (a *authSeen) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// TestRedirectsNeverCarryCredentialsElsewhere: a redirect to another origin (here the same host on another port,
// which net/http would send the Authorization header to) gets no credentials; an AQL POST is not followed at all
// (jfrog-client-go would otherwise post it again, token included, wherever it is sent), and its error says so.
func TestRedirectsNeverCarryCredentialsElsewhere(t *testing.T) {
	other := &authSeen{reply: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"results":[],"range":{"start_pos":0,"end_pos":0,"total":0}}`))
	}}
	otherSrv := httptest.NewServer(other)
	t.Cleanup(otherSrv.Close)
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, otherSrv.URL+r.URL.Path, status)
			}))
			t.Cleanup(front.Close)
			c, err := artifactory.New(front.URL+"/artifactory", artifactory.WithAccessToken(token), artifactory.WithBackoff(fastBackoff))
			if err != nil {
				t.Fatal(err)
			}
			before := len(other.requests())
			_, err = c.ReadFile(context.Background(), "docker-local", "img/latest/manifest.json", 1<<20)
			if err != nil {
				t.Fatalf("a GET redirected to storage elsewhere should be followed: %v", err)
			}
			_, _, err = c.AQL(context.Background(), `items.find({"repo":"docker-local"})`)
			if !errors.Is(err, artifactory.ErrRedirectRefused) || !strings.Contains(err.Error(), otherSrv.URL) {
				t.Errorf("a redirected AQL POST: %v, want ErrRedirectRefused naming where it was sent", err)
			}
			err = c.Manifests(context.Background(), "docker-local", func(_ prune.ManifestFile) error { return nil })
			if !errors.Is(err, artifactory.ErrRedirectRefused) {
				t.Errorf("a redirected inventory: %v, want ErrRedirectRefused", err)
			}
			got := other.requests()[before:]
			for _, r := range got {
				if strings.HasPrefix(r, "POST") {
					t.Errorf("the POST was sent to the other server: %s", r)
				}
				if !strings.HasSuffix(r, "auth=") {
					t.Errorf("the credentials travelled to another origin: %s", r)
				}
			}
			if len(got) == 0 || !strings.HasPrefix(got[0], "GET /artifactory/docker-local/img/latest/manifest.json") {
				t.Errorf("the other server got %v, want the redirected GET first", got)
			}
		})
	}
}

// TestRedirectFromHTTPSToHTTPIsRefused: a redirect that would send a request in clear is not followed.
func TestRedirectFromHTTPSToHTTPIsRefused(t *testing.T) {
	plain := &authSeen{reply: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{}")) }}
	plainSrv := httptest.NewServer(plain)
	t.Cleanup(plainSrv.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plainSrv.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(tlsSrv.Close)
	c, err := artifactory.New(tlsSrv.URL+"/artifactory", artifactory.WithAccessToken(token), artifactory.WithBackoff(fastBackoff),
		artifactory.WithInsecureTLS(true))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ReadFile(context.Background(), "docker-local", "img/latest/manifest.json", 1<<20)
	if !errors.Is(err, artifactory.ErrRedirectRefused) {
		t.Errorf("https to http: %v, want ErrRedirectRefused", err)
	}
	if got := plain.requests(); len(got) != 0 {
		t.Errorf("the plain-http server was asked: %v", got)
	}
}

// TestConnectTakesOnlyTheURLsOwnAnswer: a version answer that comes from another server through a redirect is not
// this URL's; a 403 (a proxy's policy) does not make a right URL wrong: Connect goes on with it.
func TestConnectTakesOnlyTheURLsOwnAnswer(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"version":"7.0.0","revision":"1"}`))
	}))
	t.Cleanup(elsewhere.Close)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(redirecting.Close)
	_, err := artifactory.Connect(context.Background(), redirecting.URL+"/artifactory", artifactory.WithAccessToken(token), artifactory.WithBackoff(fastBackoff))
	if !errors.Is(err, artifactory.ErrNotArtifactory) || !strings.Contains(err.Error(), "redirected to") {
		t.Errorf("a redirected version answer: %v, want ErrNotArtifactory saying it was redirected", err)
	}

	policy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"status":403,"message":"blocked by policy"}]}`))
	}))
	t.Cleanup(policy.Close)
	conn, err := artifactory.Connect(context.Background(), policy.URL+"/artifactory", artifactory.WithAccessToken(token), artifactory.WithBackoff(fastBackoff))
	if err != nil || conn.Client.BaseURL() != policy.URL+"/artifactory/" {
		t.Errorf("a 403 on the version: %v, want to go on with the URL as given", err)
	}
}
