package artifactory

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Politeness towards the server: a cap on requests in flight, an optional rate, and a shared pause when the server
// answers 429 Too Many Requests. The politeTransport sits under the retry layer, so that every attempt counts.

// WithRate limits the requests sent to perSecond, every attempt counted (0, the default, means no limit). Requests
// are spaced evenly: a burst is never sent.
func WithRate(perSecond float64) Option {
	return func(c *clientConfig) error {
		if perSecond < 0 {
			return fmt.Errorf("rate %v: must be positive (or 0 for no limit)", perSecond)
		}
		c.rate = perSecond
		return nil
	}
}

// WithMaxInFlight caps the requests in flight at once, whatever the caller does (0, the default, means no cap). A
// request holds its place until its answer's body is closed.
func WithMaxInFlight(n int) Option {
	return func(c *clientConfig) error {
		if n < 0 {
			return fmt.Errorf("max in flight %d: must be positive (or 0 for no cap)", n)
		}
		c.maxInFlight = n
		return nil
	}
}

const (
	// defaultPause is how long everything waits after a 429 without a Retry-After.
	defaultPause = time.Second
	// tooManyBudget and tooManyTries bound how long, and how many times, one request keeps waiting out 429 answers
	// before it lets the retry layer count the 429 as a failed attempt.
	tooManyBudget = 2 * time.Minute
	tooManyTries  = 50
)

// politeTransport spaces requests (rate), caps them (sem) and, on a 429, pauses every request for the Retry-After
// the server asked for and sends the same request again, within tooManyBudget: a server that sheds load slows the
// run down instead of failing it.
type politeTransport struct {
	next     http.RoundTripper
	sem      chan struct{} // nil: no cap
	interval time.Duration // 0: no rate
	maxPause time.Duration
	log      *slog.Logger

	mu         sync.Mutex
	nextSend   time.Time // the earliest time the next request may go (rate)
	pauseUntil time.Time // no request goes before (429)
	pauses     int
}

func newPoliteTransport(next http.RoundTripper, cfg clientConfig, log *slog.Logger) *politeTransport {
	t := &politeTransport{next: next, maxPause: cfg.backoff.MaxRetryAfter, log: log}
	if cfg.maxInFlight > 0 {
		t.sem = make(chan struct{}, cfg.maxInFlight)
	}
	if cfg.rate > 0 {
		t.interval = time.Duration(float64(time.Second) / cfg.rate)
	}
	if t.maxPause <= 0 {
		t.maxPause = time.Minute
	}
	return t
}

// Pauses returns how many times a 429 answer paused the requests.
func (t *politeTransport) Pauses() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pauses
}

// wait blocks until the request may go: after any pause, and in its turn for the rate.
func (t *politeTransport) wait(ctx context.Context) error {
	t.mu.Lock()
	now := time.Now()
	at := now
	if t.pauseUntil.After(at) {
		at = t.pauseUntil
	}
	if t.interval > 0 {
		if t.nextSend.After(at) {
			at = t.nextSend
		}
		t.nextSend = at.Add(t.interval)
	}
	t.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return sleep(ctx, d)
	}
	return nil
}

// pause makes every request wait d from now.
func (t *politeTransport) pause(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pauses++
	if until := time.Now().Add(d); until.After(t.pauseUntil) {
		t.pauseUntil = until
	}
}

func (t *politeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if t.sem != nil {
		select {
		case t.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	release := func() {
		if t.sem != nil {
			<-t.sem
		}
	}
	began := time.Now()
	for try := 1; ; try++ {
		if err := t.wait(ctx); err != nil {
			release()
			return nil, err
		}
		resp, err := t.next.RoundTrip(req)
		if err != nil {
			release()
			return nil, err
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
			return resp, nil
		}
		d := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if d <= 0 {
			d = defaultPause
		}
		d = min(d, t.maxPause)
		t.pause(d)
		// Send the same request again, unless its body cannot be replayed or it has waited long enough: then the
		// retry layer counts the 429 as an attempt, and waits the Retry-After too.
		if req.Body != nil && req.GetBody == nil || time.Since(began)+d > tooManyBudget || try >= tooManyTries {
			resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		t.log.Debug("the server asks to slow down (429): every request pauses", "method", req.Method, "path", req.URL.Path, "pause", d, "try", try)
		if req.GetBody != nil {
			b, err := req.GetBody()
			if err != nil {
				release()
				return nil, err
			}
			r := *req // a RoundTripper must not modify its request
			r.Body = b
			req = &r
		}
	}
}

// releaseBody gives the request's place back when its body is closed.
type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
