package artifactory

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Backoff is the retry policy: exponential backoff with full jitter, honouring Retry-After.
type Backoff struct {
	// Attempts is the total number of tries of one request (1 means no retry).
	Attempts int
	// Base is the first wait; each retry doubles it, up to Max.
	Base, Max time.Duration
	// MaxRetryAfter caps the wait a server may ask for with Retry-After.
	MaxRetryAfter time.Duration
}

// DefaultBackoff is the retry policy of a Client built without WithBackoff.
var DefaultBackoff = Backoff{Attempts: 6, Base: 250 * time.Millisecond, Max: 8 * time.Second, MaxRetryAfter: time.Minute}

// wait returns how long to wait before retry number n (1-based), given the server's Retry-After if any.
func (b Backoff) wait(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, b.MaxRetryAfter)
	}
	d := b.Base << (n - 1)
	if d <= 0 || d > b.Max {
		d = b.Max
	}
	return d/2 + rand.N(d/2+1) // "equal jitter": never less than half, never a thundering herd
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryableStatus reports whether a status is worth another try: overload and transient server errors.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func parseRetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return t.Sub(now)
	}
	return 0
}

// retryTransport retries requests whose answer is transient (429, 5xx) or that failed to connect or were reset.
// Every request artprune sends is idempotent (GET, HEAD, DELETE of a path, and AQL searches), but a DELETE whose
// answer was lost could, retried blindly, delete a folder pushed again meanwhile: a DELETE is retried here only
// when it was not acted on (429, or a failure to connect); otherwise the caller decides (see blindRetry).
//
// Each attempt is bounded by timeout (zero: unbounded), reading the body included; an attempt that times out while
// the caller's context is still live is retried like a reset, so a slow answer costs one attempt, not the run.
type retryTransport struct {
	next    http.RoundTripper
	backoff Backoff
	timeout time.Duration
	log     *slog.Logger
	agent   string
}

// cancelBody cancels its attempt's context once the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.agent != "" && req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.agent)
	}
	var body []byte
	if req.Body != nil && req.GetBody == nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 || body != nil {
			r = req.Clone(ctx)
			switch {
			case body != nil:
				r.Body = io.NopCloser(bytes.NewReader(body))
			case req.GetBody != nil:
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = b
			}
		}
		cancel := context.CancelFunc(func() {})
		if t.timeout > 0 {
			var actx context.Context
			actx, cancel = context.WithTimeout(ctx, t.timeout)
			r = r.WithContext(actx)
		}
		resp, err := t.next.RoundTrip(r)
		last := attempt >= t.backoff.Attempts
		switch {
		case err != nil:
			cancel()
			timedOut := ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)
			if last || ctx.Err() != nil || !(retryableError(err) || timedOut) || !blindRetry(req, 0, err) {
				return nil, err
			}
			t.log.Debug("retrying after a transport error", "method", req.Method, "path", req.URL.Path, "attempt", attempt, "error", err)
			if werr := sleep(ctx, t.backoff.wait(attempt, 0)); werr != nil {
				return nil, err
			}
		case retryableStatus(resp.StatusCode) && !last && blindRetry(req, resp.StatusCode, nil):
			wait := t.backoff.wait(attempt, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
			cancel()
			t.log.Debug("retrying after a transient answer", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode, "attempt", attempt, "wait", wait)
			if werr := sleep(ctx, wait); werr != nil {
				return nil, werr
			}
		default:
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
	}
}

// retryableError reports whether a transport error may be transient. Cancellation and TLS or URL errors are not.
func retryableError(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrRedirectRefused),
		errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return false
	}
	return true
}
