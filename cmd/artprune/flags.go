package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/artprune/artprune/artifactory"
)

// JFrog CLI environment variables artprune reads.
const (
	envURL      = "JF_URL"
	envToken    = "JF_ACCESS_TOKEN"
	envUser     = "JF_USER"
	envPassword = "JF_PASSWORD"
)

// connFlags are the flags that say how to reach and authenticate to Artifactory.
type connFlags struct {
	url          string
	token        string
	tokenFile    string
	user         string
	password     string
	passwordFile string
	insecureTLS  bool
	caCert       string
}

func (c *connFlags) register(f *pflag.FlagSet) {
	f.StringVar(&c.url, "url", "", "Artifactory base URL, such as https://example.jfrog.io/artifactory (env "+envURL+")")
	f.StringVar(&c.token, "access-token", "", "access token (env "+envToken+"); prefer --access-token-file, flags show in process lists")
	f.StringVar(&c.tokenFile, "access-token-file", "", "file holding the access token")
	f.StringVar(&c.user, "user", "", "user for basic authentication (env "+envUser+")")
	f.StringVar(&c.password, "password", "", "password, API key or token for --user (env "+envPassword+")")
	f.StringVar(&c.passwordFile, "password-file", "", "file holding the password for --user")
	f.BoolVar(&c.insecureTLS, "insecure-tls", false, "skip TLS certificate verification (unsafe; prefer --ca-cert)")
	f.StringVar(&c.caCert, "ca-cert", "", "PEM file of CA certificates to trust in addition to the system's")
}

// resolved holds the connection settings after flags, files and environment are combined.
type resolved struct {
	url, token, user, password string
}

// resolve combines flags, files and the environment: flags win. Credential flags of any kind make artprune ignore
// the credential variables, so that a flag never mixes with a variable meant for another user.
func (c *connFlags) resolve(getenv func(string) string) (resolved, error) {
	r := resolved{url: c.url, token: c.token, user: c.user, password: c.password}
	if r.url == "" {
		r.url = getenv(envURL)
	}
	if r.url == "" {
		return r, usageErrorf("no Artifactory URL: give --url or set %s", envURL)
	}
	if c.token != "" && c.tokenFile != "" {
		return r, usageErrorf("give --access-token or --access-token-file, not both")
	}
	if c.password != "" && c.passwordFile != "" {
		return r, usageErrorf("give --password or --password-file, not both")
	}
	var err error
	if c.tokenFile != "" {
		if r.token, err = readSecretFile(c.tokenFile, "--access-token-file"); err != nil {
			return r, err
		}
	}
	if c.passwordFile != "" {
		if r.password, err = readSecretFile(c.passwordFile, "--password-file"); err != nil {
			return r, err
		}
	}
	credFlags := r.token != "" || r.user != "" || r.password != ""
	if !credFlags {
		r.token = getenv(envToken)
		if r.token == "" {
			r.user, r.password = getenv(envUser), getenv(envPassword)
		}
	}
	switch {
	case r.token != "" && (r.user != "" || (r.password != "" && credFlags)):
		return r, usageErrorf("give an access token or a user and password, not both")
	case r.token == "" && r.user == "" && r.password == "":
		return r, usageErrorf("no credentials: give --access-token-file (or --access-token, or --user with --password-file), or set %s", envToken)
	case r.token == "" && r.user == "":
		return r, usageErrorf("--password needs --user")
	case r.token == "" && r.password == "":
		return r, usageErrorf("--user needs --password or --password-file")
	}
	return r, nil
}

func readSecretFile(path, flag string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usageErrorf("%s: %v", flag, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", usageErrorf("%s: %s is empty", flag, path)
	}
	return s, nil
}

// client builds the Artifactory client from the flags and the environment.
func (c *connFlags) client(getenv func(string) string, log *slog.Logger, extra ...artifactory.Option) (*artifactory.Client, error) {
	r, err := c.resolve(getenv)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(r.url)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, usageErrorf("--url %q: want http(s)://host[:port]/artifactory", redact(r.url))
	}
	if u.User != nil {
		return nil, usageErrorf("--url must not carry credentials; use --access-token-file or --user with --password-file")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		log.Warn("the Artifactory URL is plain http to a host that is not this machine: credentials travel unencrypted", "url", u.String())
	}
	opts := []artifactory.Option{artifactory.WithLogger(log), artifactory.WithUserAgent("artprune/" + orUnknown(version))}
	if r.token != "" {
		opts = append(opts, artifactory.WithAccessToken(r.token))
	} else {
		opts = append(opts, artifactory.WithBasicAuth(r.user, r.password))
	}
	if c.insecureTLS {
		log.Warn("TLS certificate verification is off (--insecure-tls)")
		opts = append(opts, artifactory.WithInsecureTLS(true))
	}
	if c.caCert != "" {
		opts = append(opts, artifactory.WithCACert(c.caCert))
	}
	cl, err := artifactory.New(r.url, append(opts, extra...)...)
	if err != nil {
		return nil, usageError{err}
	}
	return cl, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		u.User = url.User("***")
	}
	return u.String()
}

// durationValue is a pflag.Value for Go durations that also accepts whole days ("7d", "1d12h").
type durationValue time.Duration

func (d *durationValue) String() string {
	v := time.Duration(*d)
	if v != 0 && v%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	}
	return v.String()
}

// Set implements pflag.Value.
func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// Type implements pflag.Value.
func (d *durationValue) Type() string { return "duration" }

// parseDuration parses a Go duration optionally led by whole days: "36h", "7d", "1d12h".
func parseDuration(s string) (time.Duration, error) {
	var days int64
	rest := s
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 36h, 7d or 1d12h", s)
		}
		days, rest = n, s[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 36h, 7d or 1d12h", s)
		}
	}
	total := time.Duration(days)*24*time.Hour + d
	if total < 0 || days < 0 || days > 100*365 {
		return 0, fmt.Errorf("%q: must be positive and under a century", s)
	}
	return total, nil
}
