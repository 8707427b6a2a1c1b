package artifactory_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
)

// shedding is a server that answers 429 with Retry-After to its first n requests, then 200.
type shedding struct {
	n, retryAfter string
	tooMany       atomic.Int64
	limit         int64
	inFlight, max atomic.Int64
	mu            sync.Mutex
	arrivals      []time.Time
	hold          time.Duration
}

func (s *shedding) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.max.Load(); n > m && !s.max.CompareAndSwap(m, n); m = s.max.Load() {
	}
	s.mu.Lock()
	s.arrivals = append(s.arrivals, time.Now())
	s.mu.Unlock()
	if s.tooMany.Add(1) <= s.limit {
		w.Header().Set("Retry-After", s.retryAfter)
		http.Error(w, `{"errors":[{"status":429,"message":"Too Many Requests"}]}`, http.StatusTooManyRequests)
		return
	}
	time.Sleep(s.hold)
	_, _ = w.Write([]byte("{}"))
}

func politeClient(t *testing.T, url string, opts ...artifactory.Option) *artifactory.Client {
	t.Helper()
	b := artifactory.Backoff{Attempts: 2, Base: time.Millisecond, Max: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Second}
	c, err := artifactory.New(url+"/artifactory", append([]artifactory.Option{artifactory.WithAccessToken(token), artifactory.WithBackoff(b)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTooManyRequestsSlowsTheRunDown: more 429 answers in a row than the retry layer's attempts, each honoured for
// its Retry-After; the read succeeds.
func TestTooManyRequestsSlowsTheRunDown(t *testing.T) {
	s := &shedding{retryAfter: "1", limit: 3}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := politeClient(t, srv.URL)
	began := time.Now()
	if _, err := c.ReadFile(context.Background(), "docker-local", "app/latest/manifest.json", 1<<20); err != nil {
		t.Fatalf("the read failed on three 429 answers (the retry layer has 2 attempts): %v", err)
	}
	if took := time.Since(began); took < 2900*time.Millisecond {
		t.Errorf("took %v: three 429s with Retry-After: 1 should take 3 seconds", took)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.arrivals) != 4 {
		t.Errorf("%d requests, want 4", len(s.arrivals))
	}
	for i := 1; i < len(s.arrivals); i++ {
		if gap := s.arrivals[i].Sub(s.arrivals[i-1]); gap < 900*time.Millisecond {
			t.Errorf("request %d came %v after a 429 with Retry-After: 1", i+1, gap)
		}
	}
}

// TestTooManyRequestsPausesEveryRequest: after a 429, other requests wait for the Retry-After too.
func TestTooManyRequestsPausesEveryRequest(t *testing.T) {
	s := &shedding{retryAfter: "1", limit: 1}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := politeClient(t, srv.URL)
	ctx := context.Background()
	if _, err := c.ReadFile(ctx, "docker-local", "first/latest/manifest.json", 1<<20); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.arrivals, s.limit = nil, 2 // the next request is answered 429 again
	s.tooMany.Store(1)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if i > 0 {
				time.Sleep(100 * time.Millisecond) // after the 429 of the first
			}
			if _, err := c.ReadFile(ctx, "docker-local", "app/latest/manifest.json", 1<<20); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, at := range s.arrivals[1:] {
		if gap := at.Sub(s.arrivals[0]); gap < 900*time.Millisecond {
			t.Errorf("request %d came %v after another's 429 with Retry-After: 1", i+2, gap)
		}
	}
}

func TestRateSpacesRequests(t *testing.T) {
	s := &shedding{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := politeClient(t, srv.URL, artifactory.WithRate(20))
	ctx := context.Background()
	began := time.Now()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := c.ReadFile(ctx, "docker-local", "a/b/manifest.json", 1<<20); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Only a lower bound: a loaded machine can make the run slower, never faster. Gaps between arrivals at the
	// server are not checked: scheduling can deliver two requests sent 50 ms apart a few ms apart.
	if took := time.Since(began); took < 440*time.Millisecond {
		t.Errorf("10 requests at 20 per second took %v, want at least 450ms less scheduling noise", took)
	}
	if _, err := artifactory.New(srv.URL, artifactory.WithRate(-1)); err == nil || !strings.Contains(err.Error(), "rate") {
		t.Errorf("a negative rate: %v", err)
	}
}

func TestMaxInFlightCapsRequests(t *testing.T) {
	s := &shedding{hold: 20 * time.Millisecond}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := politeClient(t, srv.URL, artifactory.WithMaxInFlight(3))
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := c.ReadFile(ctx, "docker-local", "a/b/manifest.json", 1<<20); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := s.max.Load(); m > 3 || m < 2 {
		t.Errorf("%d requests in flight at most, want 3", m)
	}
}
