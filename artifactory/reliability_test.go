package artifactory_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// seeded returns an emulator holding the seed story in docker-local, with extra options (users).
func seeded(t *testing.T, opts ...artifactorytest.Option) *artifactorytest.Server {
	t.Helper()
	srv := newServer(t, opts...)
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	return srv
}

func listAs(t *testing.T, srv *artifactorytest.Server, tok string, pageSize int) ([]string, error) {
	t.Helper()
	c, err := artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken(tok), artifactory.WithBackoff(fastBackoff), artifactory.WithPageSize(pageSize))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = c.Manifests(context.Background(), "docker-local", func(m prune.ManifestFile) error {
		got = append(got, m.Path+"/"+m.Name)
		return nil
	})
	return got, err
}

// TestFilteredViewIsDetected lists the seed story as users who may not read some of it. Artifactory filters AQL rows
// after the offset and the limit, so such users get short pages or nothing: every page size and every position of
// the hidden rows must be caught, including a hidden tag whose digest folders stay visible, and hidden rows on the
// last page, which a short-page check alone misses.
func TestFilteredViewIsDetected(t *testing.T) {
	excludes := map[string][]string{
		"the tag latest (its children visible)": {"docker-local/my-image/latest"},
		"the first rows":                        {"docker-local/my-image/1.0"},
		"the last rows":                         {"docker-local/other-image/stable/**"},
		"a whole image":                         {"docker-local/other-image"},
		"every index file":                      {"docker-local/**/list.manifest.json"},
		"a digest folder":                       {"docker-local/my-image/sha256:*"},
	}
	var users []artifactorytest.Option
	i := 0
	names := map[string]string{}
	for name, ex := range excludes {
		i++
		tok := fmt.Sprintf("filtered-%d", i)
		names[name] = tok
		users = append(users, artifactorytest.WithUser(artifactorytest.User{
			Name: tok, Token: tok, Perms: []artifactorytest.Permission{artifactorytest.PermRead, artifactorytest.PermDelete}, Exclude: ex,
		}))
	}
	users = append(users, artifactorytest.WithUser(artifactorytest.User{
		Name: "full", Token: "full-token", Perms: []artifactorytest.Permission{artifactorytest.PermRead, artifactorytest.PermDelete},
		Repos: []string{"docker-*"}, // sees every row of docker-local: not filtered
	}))
	srv := seeded(t, users...)
	all, err := listAs(t, srv, token, 10000)
	if err != nil || len(all) != 19 {
		t.Fatalf("admin listing: %d rows, %v", len(all), err)
	}
	for _, size := range []int{1, 2, 3, 5, 18, 19, 20, 10000} {
		got, err := listAs(t, srv, "full-token", size)
		if err != nil || !slices.Equal(got, all) {
			t.Errorf("page size %d: a user who may read the whole repository got %d rows, error %v", size, len(got), err)
		}
		for name, tok := range names {
			_, err := listAs(t, srv, tok, size)
			if !errors.Is(err, prune.ErrIncomplete) || !strings.Contains(err.Error(), "filtered by permissions") {
				t.Errorf("hiding %s, page size %d: got %v, want an error saying the view is filtered", name, size, err)
			}
		}
	}
}

// TestProbeIgnoresPushesDuringListing pushes manifests while a listing pages through, sorted before the paging
// cursor, so the listing misses them: that is not a filtered view, and must not fail the run.
func TestProbeIgnoresPushesDuringListing(t *testing.T) {
	srv := seeded(t)
	c := newClient(t, srv, artifactory.WithPageSize(3))
	n := 0
	err := c.Manifests(context.Background(), "docker-local", func(m prune.ManifestFile) error {
		n++
		if n == 6 {
			for _, p := range []string{"aaa/new/manifest.json", "my-image/0.1/manifest.json"} {
				if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "docker-local", Path: p, Data: []byte(`{}`)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("pushes during the listing failed it: %v", err)
	}
}

// TestSlowAttemptIsRetried hangs the first attempt of a request past the per-attempt timeout: the client must give
// up on it and try again, not fail the request or wait for ever.
func TestSlowAttemptIsRetried(t *testing.T) {
	srv := newServer(t)
	var calls atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 {
			<-r.Context().Done() // a server that never answers
			return nil, r.Context().Err()
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	c := newClient(t, srv, artifactory.WithTransport(rt), artifactory.WithRequestTimeout(50*time.Millisecond))
	began := time.Now()
	if _, err := c.Now(context.Background()); err != nil {
		t.Fatalf("a slow first attempt failed the request: %v", err)
	}
	if calls.Load() != 2 || time.Since(began) > 5*time.Second {
		t.Errorf("%d attempts in %v, want 2 shortly after the 50ms timeout", calls.Load(), time.Since(began))
	}

	// With the emulator answering every request slowly, each attempt times out and the request fails, closed.
	srv.SetFaults(artifactorytest.FaultConfig{Rate: 1, Kinds: []artifactorytest.Fault{artifactorytest.FaultSlow}, Slow: time.Second})
	slow := newClient(t, srv, artifactory.WithRequestTimeout(20*time.Millisecond),
		artifactory.WithBackoff(artifactory.Backoff{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond, MaxRetryAfter: time.Millisecond}))
	srv.Stats().Reset()
	err := slow.Manifests(context.Background(), "docker-local", func(prune.ManifestFile) error { return nil })
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("every answer too slow: got %v, want a timeout", err)
	}
	if counts, _ := srv.Stats().Snapshot(); counts["aql"] != 3 {
		t.Errorf("%d AQL attempts, want 3 (every attempt timed out and was retried)", counts["aql"])
	}
}

// TestRetriesBackOffExponentially checks the waits between attempts: growing, jittered within [d/2, d], capped.
func TestRetriesBackOffExponentially(t *testing.T) {
	srv := newServer(t)
	var stamps []time.Time
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		stamps = append(stamps, time.Now())
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})
	b := artifactory.Backoff{Attempts: 5, Base: 20 * time.Millisecond, Max: 80 * time.Millisecond, MaxRetryAfter: time.Second}
	c := newClient(t, srv, artifactory.WithTransport(rt), artifactory.WithBackoff(b))
	if _, err := c.Now(context.Background()); err == nil {
		t.Fatal("a server answering only 503 did not fail the request")
	}
	if len(stamps) != 5 {
		t.Fatalf("%d attempts, want 5", len(stamps))
	}
	for i, want := range []time.Duration{20, 40, 80, 80} { // Base<<n capped at Max
		want *= time.Millisecond
		gap := stamps[i+1].Sub(stamps[i])
		if gap < want/2 || gap > want+200*time.Millisecond { // a timer never fires early; a loaded machine may fire late
			t.Errorf("wait before attempt %d: %v, want between %v and %v", i+2, gap, want/2, want)
		}
	}
}

func TestCheckCredentials(t *testing.T) {
	srv := newServer(t)
	if err := newClient(t, srv).CheckCredentials(context.Background()); err != nil {
		t.Errorf("good token: %v", err)
	}
	bad, err := artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken("wrong-token"), artifactory.WithBackoff(fastBackoff))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stats().Reset()
	err = bad.CheckCredentials(context.Background())
	if !errors.Is(err, prune.ErrUnauthorized) || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("bad token: got %v, want ErrUnauthorized without the token", err)
	}
	if _, total := srv.Stats().Snapshot(); total != 1 {
		t.Errorf("%d requests for a refused token, want 1 (401 is not retried)", total)
	}
}

// TestClientNeverPrintsCredentials formats a client every way fmt can.
func TestClientNeverPrintsCredentials(t *testing.T) {
	const secret = "s3cret-in-client"
	for _, opt := range []artifactory.Option{artifactory.WithAccessToken(secret), artifactory.WithBasicAuth("user", secret)} {
		c, err := artifactory.New("https://example.com/artifactory", opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if s := fmt.Sprintf(verb, c); strings.Contains(s, secret) || strings.Contains(s, fmt.Sprintf("%x", secret)) {
				t.Errorf("fmt %s of a client shows the secret: %s", verb, s)
			}
			if s := fmt.Sprintf(verb, *c); strings.Contains(s, secret) || strings.Contains(s, fmt.Sprintf("%x", secret)) {
				t.Errorf("fmt %s of a client value shows the secret: %s", verb, s)
			}
		}
	}
}
