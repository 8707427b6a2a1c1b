// Package artifactory is artprune's access to JFrog Artifactory: AQL inventories, document reads and folder
// deletes, built on jfrog-client-go. It implements the ports that package prune defines.
package artifactory

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	jfartifactory "github.com/jfrog/jfrog-client-go/artifactory"
	"github.com/jfrog/jfrog-client-go/artifactory/auth"
	jfauth "github.com/jfrog/jfrog-client-go/auth"
	"github.com/jfrog/jfrog-client-go/config"
	"github.com/jfrog/jfrog-client-go/utils/io/httputils"
)

// DefaultPageSize is the number of AQL rows asked for per page.
const DefaultPageSize = 10000

// Client talks to one Artifactory instance. It is safe for concurrent use.
type Client struct {
	base string // ends with "/"
	// creds is a function, so that formatting a Client with package fmt, in any way, shows an address, never a
	// secret (fmt prints the fields of pointed-to structs, but never calls functions).
	creds      func() credentials
	httpClient *http.Client
	pageSize   int
	backoff    Backoff
	log        *slog.Logger
	srv        *serverCache  // the edition, found once (see Server)
	aqlSlots   chan struct{} // at most MaxAQLInFlight AQL queries at once
	clock      *clockWatch   // what the Date headers of the ping and the AQL answers say (clock.go)
}

func (c *Client) acquireAQL(ctx context.Context) error {
	select {
	case c.aqlSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) releaseAQL() { <-c.aqlSlots }

type clientConfig struct {
	token, user, password string
	insecureTLS           bool
	caFile                string
	backoff               Backoff
	pageSize              int
	timeout               time.Duration
	userAgent             string
	transport             http.RoundTripper
	log                   *slog.Logger
	rate                  float64 // requests per second; 0: no limit
	maxInFlight           int     // 0: no cap
}

// Option configures a Client.
type Option func(*clientConfig) error

// WithAccessToken authenticates with an access token (sent as Bearer).
func WithAccessToken(tok string) Option {
	return func(c *clientConfig) error { c.token = tok; return nil }
}

// WithBasicAuth authenticates with a user name and a password (or an API key or token used as the password).
func WithBasicAuth(user, password string) Option {
	return func(c *clientConfig) error { c.user, c.password = user, password; return nil }
}

// WithInsecureTLS skips TLS certificate verification.
func WithInsecureTLS(insecure bool) Option {
	return func(c *clientConfig) error { c.insecureTLS = insecure; return nil }
}

// WithCACert trusts the PEM certificates in file in addition to the system's.
func WithCACert(file string) Option {
	return func(c *clientConfig) error { c.caFile = file; return nil }
}

// WithBackoff sets the retry policy.
func WithBackoff(b Backoff) Option {
	return func(c *clientConfig) error {
		if b.Attempts < 1 {
			return errors.New("backoff needs at least one attempt")
		}
		c.backoff = b
		return nil
	}
}

// WithPageSize sets the number of AQL rows per page.
func WithPageSize(n int) Option {
	return func(c *clientConfig) error {
		if n < 1 {
			return fmt.Errorf("page size %d: must be at least 1", n)
		}
		c.pageSize = n
		return nil
	}
}

// WithRequestTimeout bounds each attempt of an HTTP request, reading its body included (default 5 minutes). An
// attempt that times out is retried, like a connection reset.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *clientConfig) error { c.timeout = d; return nil }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *clientConfig) error { c.userAgent = ua; return nil }
}

// WithTransport replaces the base HTTP transport (tests use it to count or break requests).
func WithTransport(rt http.RoundTripper) Option {
	return func(c *clientConfig) error { c.transport = rt; return nil }
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) error { c.log = l; return nil }
}

// New returns a client for the Artifactory at baseURL ("https://host/artifactory").
func New(baseURL string, opts ...Option) (*Client, error) {
	cfg := clientConfig{backoff: DefaultBackoff, pageSize: DefaultPageSize, timeout: 5 * time.Minute, userAgent: "artprune"}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("artifactory URL %q: want http(s)://host[:port]/artifactory", redactURL(baseURL))
	}
	if u.User != nil {
		return nil, errors.New("artifactory URL must not carry credentials: use an access token or --user/--password")
	}
	if cfg.token != "" && (cfg.user != "" || cfg.password != "") {
		return nil, errors.New("give either an access token or a user and password, not both")
	}
	if cfg.token == "" && (cfg.user == "") != (cfg.password == "") {
		return nil, errors.New("basic authentication needs both a user and a password")
	}
	base := strings.TrimSuffix(u.String(), "/") + "/"
	rt, err := baseTransport(cfg)
	if err != nil {
		return nil, err
	}
	log := cmp.Or(cfg.log, slog.New(slog.DiscardHandler))
	return &Client{
		base:     base,
		creds:    func() credentials { return credentials{token: cfg.token, user: cfg.user, password: cfg.password} },
		pageSize: cfg.pageSize,
		backoff:  cfg.backoff,
		log:      log,
		srv:      &serverCache{},
		aqlSlots: make(chan struct{}, MaxAQLInFlight),
		clock:    newClockWatch(),
		httpClient: &http.Client{
			CheckRedirect: redirectPolicy(u),
			Transport:     &retryTransport{next: newPoliteTransport(keepAliveTransport{rt}, cfg, log), backoff: cfg.backoff, timeout: cfg.timeout, log: log, agent: cfg.userAgent},
		},
	}, nil
}

func baseTransport(cfg clientConfig) (http.RoundTripper, error) {
	if cfg.transport != nil {
		return cfg.transport, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.insecureTLS} //nolint:gosec // explicit --insecure-tls
	if cfg.caFile != "" {
		pem, err := os.ReadFile(cfg.caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA certificate: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate %s: no PEM certificate found", cfg.caFile)
		}
		tlsCfg.RootCAs = pool
	}
	t.TLSClientConfig = tlsCfg
	return t, nil
}

// PageSize returns the number of AQL rows asked for per page (and per partition, where AQL refuses sort).
func (c *Client) PageSize() int { return c.pageSize }

// BaseURL returns the Artifactory base URL, ending with "/".
func (c *Client) BaseURL() string { return c.base }

// credentials are kept out of every message: no method of Client formats them, and Client holds them only
// behind a function.
type credentials struct{ token, user, password string }

// serviceDetails returns fresh jfrog-client-go service details: jfrog-client-go stores a client in them on first
// use, so sharing one value between goroutines would race.
func (c *Client) serviceDetails() jfauth.ServiceDetails {
	d := auth.NewArtifactoryDetails()
	d.SetUrl(c.base)
	if creds := c.creds(); creds.token != "" {
		d.SetAccessToken(creds.token)
	} else {
		d.SetUser(creds.user)
		d.SetPassword(creds.password)
	}
	return d
}

// manager returns a jfrog-client-go services manager whose requests are bound to ctx. It is cheap: the HTTP client
// (and so its connection pool and retry layer) is shared; jfrog-client-go's own retries are off.
func (c *Client) manager(ctx context.Context) (jfartifactory.ArtifactoryServicesManager, error) {
	cfg, err := config.NewConfigBuilder().
		SetServiceDetails(c.serviceDetails()).
		SetContext(ctx).
		SetHttpClient(c.httpClient).
		SetHttpRetries(0).
		SetThreads(1).
		Build()
	if err != nil {
		return nil, fmt.Errorf("configure the Artifactory client: %w", err)
	}
	return jfartifactory.New(cfg)
}

// httpDetails returns the per-request details (credentials, headers) jfrog-client-go's HTTP client takes.
func (c *Client) httpDetails(sm jfartifactory.ArtifactoryServicesManager) httputils.HttpClientDetails {
	d := sm.GetConfig().GetServiceDetails().CreateHttpClientDetails()
	if d.Headers == nil {
		d.Headers = map[string]string{}
	}
	return d
}

// redactURL drops any user info from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.Index(s, "@"); i >= 0 && strings.Contains(s[:i], "://") {
			return s[:strings.Index(s, "://")+3] + "***@" + s[i+1:]
		}
		return s
	}
	u.User = url.User("***")
	return u.String()
}
