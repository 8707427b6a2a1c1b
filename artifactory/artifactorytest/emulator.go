// Package artifactorytest is an emulator of JFrog Artifactory for tests, in the spirit of net/http/httptest.
//
// It serves, on one handler, the parts of Artifactory that artprune and real clients touch: the REST API under
// /artifactory (ping, version, repositories, deploy/download/delete of paths, storage info, properties), AQL
// (POST /artifactory/api/search/aql, a real parser and evaluator of the items domain), and the Docker Registry V2 API
// with Artifactory's repository-path addressing (/v2/<repo>/<image>/...), writing Artifactory's storage layout.
// It models Artifactory's clock (movable), permissions, deduplicated binaries, result trimming, latency and faults.
// What it does not model is listed in the project's README.
package artifactorytest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Version is the Artifactory version the emulator reports.
const Version = "7.104.15"

// DefaultAdminToken is the admin token of an emulator built without WithAdminToken.
const DefaultAdminToken = "emulator-admin-token"

// DefaultAQLMaxResults is Artifactory SaaS's hard limit on AQL results (7.100.2+).
const DefaultAQLMaxResults = 500000

type config struct {
	adminToken    string
	users         []User
	repos         []Repo
	faults        FaultConfig
	seed          uint64
	aqlMaxResults int
	start         time.Time
	loc           *time.Location
	referrers     bool
	fixture       *Fixture
	logger        *slog.Logger
	trash         TrashConfig
	edition       Edition
	licenses      LicensesShape
	// aqlConcurrency and aqlPending configure the AQL concurrency limiter (aqlConcurrencySet: given explicitly).
	aqlConcurrency    int
	aqlPending        time.Duration
	aqlConcurrencySet bool
	// aqlSilentCap cuts every AQL answer to this many rows without range.notification (0: off).
	aqlSilentCap int
}

// Option configures an Emulator.
type Option func(*config) error

// WithAdminToken sets the token of user "admin" (accepted as Bearer, and as the password of basic auth).
func WithAdminToken(tok string) Option {
	return func(c *config) error {
		if tok == "" {
			return fmt.Errorf("admin token must not be empty")
		}
		c.adminToken = tok
		return nil
	}
}

// WithUser adds a user with its own token and permissions.
func WithUser(u User) Option {
	return func(c *config) error {
		if u.Name == "" || u.Token == "" || u.Name == "admin" {
			return fmt.Errorf("user needs a name other than admin, and a token")
		}
		c.users = append(c.users, u)
		return nil
	}
}

// WithRepo creates a repository.
func WithRepo(r Repo) Option {
	return func(c *config) error { c.repos = append(c.repos, r); return nil }
}

// WithFaults sets injected latency and faults.
func WithFaults(fc FaultConfig) Option {
	return func(c *config) error {
		if fc.Rate < 0 || fc.Rate > 1 {
			return fmt.Errorf("fault rate %v out of [0,1]", fc.Rate)
		}
		c.faults = fc
		return nil
	}
}

// WithSeed makes fault injection (and generation) reproducible.
func WithSeed(seed uint64) Option { return func(c *config) error { c.seed = seed; return nil } }

// WithAQLMaxResults sets the hard limit past which AQL results are trimmed.
func WithAQLMaxResults(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("AQL max results must be positive")
		}
		c.aqlMaxResults = n
		return nil
	}
}

// WithAQLSilentCap cuts every AQL answer to at most n rows, without range.notification and whatever the query's
// .limit. No source shows an Artifactory doing this: it is an assumption of what a misconfigured server or a proxy
// that cuts answers would do (the review of issue 10 reproduced it with a transport), so that tests can show
// artprune catching it instead of taking a short answer for a whole one.
func WithAQLSilentCap(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("AQL silent cap must be positive")
		}
		c.aqlSilentCap = n
		return nil
	}
}

// WithClock starts the clock at start (zero: real time) in loc (nil: UTC).
func WithClock(start time.Time, loc *time.Location) Option {
	return func(c *config) error { c.start, c.loc = start, loc; return nil }
}

// WithReferrersAPI turns the OCI referrers API on (the default) or off, to exercise the tag-schema fallback.
func WithReferrersAPI(on bool) Option { return func(c *config) error { c.referrers = on; return nil } }

// WithTrash configures the Trash Can (default: DefaultTrashConfig, Artifactory's: enabled for 14 days).
func WithTrash(tc TrashConfig) Option {
	return func(c *config) error {
		if tc.RetentionDays < 0 {
			return fmt.Errorf("trash retention %d days: must not be negative", tc.RetentionDays)
		}
		c.trash = tc
		return nil
	}
}

// WithFixture loads a fixture at start.
func WithFixture(f *Fixture) Option { return func(c *config) error { c.fixture = f; return nil } }

// WithLogger logs every request at debug level and failures at warn level.
func WithLogger(l *slog.Logger) Option { return func(c *config) error { c.logger = l; return nil } }

// Emulator is an Artifactory emulator. It is an http.Handler.
type Emulator struct {
	cfg      config
	clock    *Clock
	store    *Store
	auth     *authenticator
	faults   *injector
	stats    Stats
	docker   *dockerRegistry
	adminTok string
	log      *slog.Logger
	aqlLimit *aqlLimiter // nil: no AQL concurrency limit
}

// New builds an emulator.
func New(opts ...Option) (*Emulator, error) {
	cfg := config{adminToken: DefaultAdminToken, aqlMaxResults: DefaultAQLMaxResults, referrers: true, seed: 1, edition: EditionPro,
		trash: DefaultTrashConfig}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.edition == EditionSaaS && !cfg.aqlConcurrencySet {
		cfg.aqlConcurrency, cfg.aqlPending = SaaSAQLConcurrency, SaaSAQLPendingTimeout
	}
	e := &Emulator{cfg: cfg, adminTok: cfg.adminToken, aqlLimit: newAQLLimiter(cfg.aqlConcurrency, cfg.aqlPending)}
	e.log = cmp.Or(cfg.logger, slog.New(slog.DiscardHandler))
	start := cfg.start
	if cfg.fixture != nil && !cfg.fixture.Now.IsZero() && start.IsZero() {
		start = cfg.fixture.Now
	}
	e.clock = NewClock(start, cfg.loc)
	e.store = NewStore(e.clock)
	e.store.SetTrash(cfg.trash)
	users := append([]User{{Name: "admin", Token: cfg.adminToken, Perms: []Permission{PermAdmin}}}, cfg.users...)
	e.auth = newAuthenticator(e.clock, users)
	e.faults = newInjector(cfg.seed, cfg.faults)
	e.docker = newDockerRegistry(e)
	for _, r := range cfg.repos {
		if err := e.store.AddRepo(r); err != nil {
			return nil, err
		}
	}
	if cfg.fixture != nil {
		if err := cfg.fixture.Load(e.store); err != nil {
			return nil, fmt.Errorf("load fixture: %w", err)
		}
	}
	return e, nil
}

// Store returns the emulator's storage, for seeding and inspecting state directly.
func (e *Emulator) Store() *Store { return e.store }

// Clock returns the emulator's clock.
func (e *Emulator) Clock() *Clock { return e.clock }

// Stats returns the request counters.
func (e *Emulator) Stats() *Stats { return &e.stats }

// SetFaults changes latency and faults at run time.
func (e *Emulator) SetFaults(fc FaultConfig) { e.faults.set(fc) }

// SetReferrersAPI switches the OCI referrers API on or off at run time.
func (e *Emulator) SetReferrersAPI(on bool) { e.docker.setReferrers(on) }

// SetTrash changes the Trash Can's configuration at run time.
func (e *Emulator) SetTrash(tc TrashConfig) { e.store.SetTrash(tc) }

// CollectGarbage runs binary garbage collection as Artifactory's does: first the Trash Can's files older than its
// retention period go (their paths are returned), then every binary no path holds is freed (the emulator frees
// those at once, so that step has nothing left to do).
func (e *Emulator) CollectGarbage() []string { return e.store.PruneTrash() }

// AdminToken returns the admin's access token.
func (e *Emulator) AdminToken() string { return e.adminTok }

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", e.clock.Now().UTC().Format(http.TimeFormat))
	w.Header().Set("Server", "Artifactory/"+Version)
	w.Header().Set("X-Artifactory-Id", "artprune-emulator")
	p := r.URL.Path
	if strings.HasPrefix(p, "/_emulator/") {
		e.serveAdmin(w, r)
		return
	}
	class := classify(r)
	e.stats.add(class)
	if l := e.aqlLimit; l != nil && class == ClassAQL { // see SaaSAQLConcurrency for the source
		// A query holds its slot while the server works on it, injected latency included.
		if !l.acquire(r) {
			writeText(w, http.StatusTooManyRequests, "Too many concurrent AQL queries, try again later")
			return
		}
		defer l.release()
	}
	latency, fault := e.faults.decide(class)
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	e.log.Debug("request", "method", r.Method, "path", p, "class", class, "fault", fault)
	next := http.HandlerFunc(e.route)
	if fault != "" && fault != FaultSlow {
		serveFault(w, r, fault, next)
		return
	}
	next(w, r)
}

func classify(r *http.Request) Class {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v2/") || p == "/v2" || strings.HasPrefix(p, "/artifactory/api/docker/"):
		return ClassDocker
	case p == "/artifactory/api/search/aql":
		return ClassAQL
	case strings.HasPrefix(p, "/artifactory/api/storage/") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return ClassDownload
	case strings.HasPrefix(p, "/artifactory/api/"):
		return ClassOther
	case strings.HasPrefix(p, "/artifactory/") && r.Method == http.MethodDelete:
		return ClassDelete
	case strings.HasPrefix(p, "/artifactory/") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return ClassDownload
	}
	return ClassOther
}

func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/v2" || strings.HasPrefix(p, "/v2/"):
		e.docker.serve(w, r, strings.TrimPrefix(p, "/v2"))
	case strings.HasPrefix(p, "/artifactory/api/docker/"):
		e.docker.serveAPI(w, r, strings.TrimPrefix(p, "/artifactory/api/docker/"))
	case strings.HasPrefix(p, "/artifactory/api/"):
		e.serveAPI(w, r, strings.TrimPrefix(p, "/artifactory/api/"))
	case strings.HasPrefix(p, "/artifactory/"):
		e.serveRepoPath(w, r, strings.TrimPrefix(p, "/artifactory/"))
	case p == "/artifactory" || p == "/":
		http.Redirect(w, r, "/artifactory/", http.StatusFound)
	default:
		writeErrors(w, http.StatusNotFound, "Not Found")
	}
}

// requireUser authenticates r as Artifactory's REST API does: no anonymous access, 401 on bad credentials.
func (e *Emulator) requireUser(w http.ResponseWriter, r *http.Request) (*User, bool) {
	u, res := e.auth.authenticate(r)
	switch res {
	case authOK:
		return u, true
	case authBad:
		w.Header().Set("WWW-Authenticate", `Basic realm="Artifactory Realm"`)
		writeErrors(w, http.StatusUnauthorized, "Bad credentials")
	default:
		w.Header().Set("WWW-Authenticate", `Basic realm="Artifactory Realm"`)
		writeErrors(w, http.StatusUnauthorized, "Authentication is required")
	}
	return nil, false
}

// errorBody is Artifactory's error envelope outside AQL.
type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

func writeErrors(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Errors: []errorEntry{{Status: status, Message: msg}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// baseURL is the absolute URL of the emulator as the client addressed it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// formatTime formats t as Artifactory's REST API does: ISO-8601 with milliseconds in the server's zone.
func (e *Emulator) formatTime(t time.Time) string {
	return FormatTime(t, e.clock.Location())
}

// FormatTime formats t as Artifactory does: "2021-04-14T14:19:03.556Z" on UTC servers, "...+04:00" elsewhere.
func FormatTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02T15:04:05.000Z07:00")
}

// Server is an Emulator listening on a loopback port, like httptest.Server.
type Server struct {
	*Emulator
	// URL is the server's root, "http://127.0.0.1:PORT"; Artifactory's base URL is URL + "/artifactory/".
	URL string
	srv *httptest.Server
}

// NewServer starts an emulator on a loopback port. Call Close when done.
func NewServer(opts ...Option) (*Server, error) {
	e, err := New(opts...)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(e)
	return &Server{Emulator: e, URL: srv.URL, srv: srv}, nil
}

// ArtifactoryURL returns the base URL clients configure: URL + "/artifactory/".
func (s *Server) ArtifactoryURL() string { return s.URL + "/artifactory/" }

// Host returns host:port, the registry name Docker clients use.
func (s *Server) Host() string { return strings.TrimPrefix(s.URL, "http://") }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }
