package main

import (
	"context"
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
	"github.com/artprune/artprune/internal/config"
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
	serverID     string
	insecureTLS  bool
	caCert       string

	// fromConfig holds the connection keys of the --config file; they rank below the environment.
	fromConfig connLayer
	// serverIDFromConfig is a server-id key of the --config file.
	serverIDFromConfig string
	// jfrogConfig returns the path of the JFrog CLI configuration (tests point it elsewhere).
	jfrogConfig func(getenv func(string) string) string
}

func (c *connFlags) register(f *pflag.FlagSet) {
	f.StringVar(&c.url, "url", "", "JFrog Platform URL (https://example.jfrog.io) or Artifactory URL (https://example.jfrog.io/artifactory) (env "+envURL+")")
	f.StringVar(&c.token, "access-token", "", "access token (env "+envToken+"); prefer --access-token-file, flags show in process lists")
	f.StringVar(&c.tokenFile, "access-token-file", "", "file holding the access token")
	f.StringVar(&c.user, "user", "", "user for basic authentication (env "+envUser+")")
	f.StringVar(&c.password, "password", "", "password, API key or token for --user (env "+envPassword+")")
	f.StringVar(&c.passwordFile, "password-file", "", "file holding the password for --user")
	f.StringVar(&c.serverID, "server-id", "", "take the URL and credentials of this server of the JFrog CLI configuration (jf c add), from $JFROG_CLI_HOME_DIR or ~/.jfrog")
	f.BoolVar(&c.insecureTLS, "insecure-tls", false, "skip TLS certificate verification (unsafe; prefer --ca-cert)")
	f.StringVar(&c.caCert, "ca-cert", "", "PEM file of CA certificates to trust in addition to the system's")
}

// connKeys are the flags whose --config values rank below the environment (see connFlags.resolve).
var connKeys = []string{"url", "access-token", "access-token-file", "user", "password", "password-file", "server-id"}

// setFromConfig records the config file's value of a connection key.
func (c *connFlags) setFromConfig(key, value string) {
	l := &c.fromConfig
	switch key {
	case "url":
		l.url = value
	case "access-token":
		l.token = value
	case "access-token-file":
		l.tokenFile = value
	case "user":
		l.user = value
	case "password":
		l.password = value
	case "password-file":
		l.passwordFile = value
	case "server-id":
		c.serverIDFromConfig = value
	}
}

// resolved holds the connection settings after flags, files and the environment are combined.
type resolved struct {
	url, token, user, password string
}

// connLayer is one source of connection settings.
type connLayer struct {
	name                                                string
	url, token, tokenFile, user, password, passwordFile string
}

func (l connLayer) hasCreds() bool {
	return l.token != "" || l.tokenFile != "" || l.user != "" || l.password != "" || l.passwordFile != ""
}

// resolve combines, from the highest rank to the lowest: the flags, the JFrog CLI server named by --server-id,
// the environment (JF_URL, JF_ACCESS_TOKEN, JF_USER, JF_PASSWORD), the --config file's keys, and the server named
// by the file's server-id. The URL comes from the first source that has one; the credentials all come from the
// first source that has any, so that a token never mixes with a user meant for another account; and checkPairing
// refuses a URL and credentials whose sources do not belong together (connrule.go).
//
// A JFrog CLI config token in the environment (a JF_ENV_* variable holding what `jf c export` prints, as
// setup-jfrog-cli takes it) stands for the environment's URL and credentials; environ lists the environment to find
// it. It may not be combined with JF_URL, JF_ACCESS_TOKEN, JF_USER or JF_PASSWORD, nor with a second token: which
// one was meant is then unknown, and the usage error names them.
func (c *connFlags) resolve(getenv func(string) string, environ []string) (resolved, error) {
	flags := connLayer{name: "flags", url: c.url, token: c.token, tokenFile: c.tokenFile, user: c.user, password: c.password, passwordFile: c.passwordFile}
	env := connLayer{name: "environment", url: getenv(envURL), token: getenv(envToken)}
	if env.token == "" {
		env.user, env.password = getenv(envUser), getenv(envPassword)
	}
	if names, values := config.ConfigTokens(environ); len(names) > 0 {
		tok, err := tokenLayer(env, names, values)
		if err != nil {
			return resolved{}, err
		}
		env = tok
	}
	file := c.fromConfig
	file.name = "config file"
	layers := []connLayer{flags}
	if c.serverID != "" {
		l, err := c.serverLayer(getenv, c.serverID)
		if err != nil {
			return resolved{}, err
		}
		layers = append(layers, l)
	}
	layers = append(layers, env, file)
	if c.serverIDFromConfig != "" && c.serverID == "" {
		l, err := c.serverLayer(getenv, c.serverIDFromConfig)
		if err != nil {
			return resolved{}, err
		}
		layers = append(layers, l)
	}

	var r resolved
	var urlFrom connLayer
	for _, l := range layers {
		if r.url == "" {
			r.url, urlFrom = l.url, l
		}
	}
	if r.url == "" {
		return r, usageErrorf("no Artifactory URL: give --url, set %s, or name a JFrog CLI server with --server-id", envURL)
	}
	for _, l := range layers {
		if !l.hasCreds() {
			continue
		}
		if err := checkURLUserinfo(r.url); err != nil {
			return r, err
		}
		if err := checkPairing(urlFrom, l); err != nil {
			return r, err
		}
		creds, err := l.credentials()
		creds.url = r.url
		return creds, err
	}
	return r, usageErrorf("no credentials: give --access-token-file (or --access-token, or --user with --password-file), set %s, or use --server-id", envToken)
}

// tokenLayer is the environment's layer when it holds the JFrog CLI config tokens names (with values): exactly one,
// and none of the separate variables of env.
func tokenLayer(env connLayer, names, values []string) (connLayer, error) {
	var set []string
	for _, k := range []string{envURL, envToken, envUser, envPassword} {
		if (k == envURL && env.url != "") || (k == envToken && env.token != "") || (k == envUser && env.user != "") || (k == envPassword && env.password != "") {
			set = append(set, k)
		}
	}
	switch {
	case len(names) > 1:
		return connLayer{}, usageErrorf("the environment holds several JFrog CLI config tokens (%s): keep the one for this "+
			"Artifactory, or give --url with --access-token-file", strings.Join(names, ", "))
	case len(set) > 0:
		return connLayer{}, usageErrorf("the environment holds a JFrog CLI config token (%s) and also %s: which one is meant is "+
			"unknown; unset one of them", names[0], strings.Join(set, ", "))
	}
	s, err := config.ParseConfigToken(values[0])
	if err != nil {
		return connLayer{}, usageErrorf("%s: %v (write it with 'jf c export SERVER_ID')", names[0], err)
	}
	l := connLayer{name: "JFrog CLI config token " + names[0], url: s.ArtifactoryURL, token: s.AccessToken}
	if l.token == "" { // jf uses the access token when the server has one
		l.user, l.password = s.User, s.Password
	}
	return l, nil
}

// credentials reads the layer's credential files and checks that its credentials make sense together.
func (l connLayer) credentials() (resolved, error) {
	r := resolved{url: "", token: l.token, user: l.user, password: l.password}
	where := ""
	if l.name != "flags" {
		where = " (" + l.name + ")"
	}
	if l.token != "" && l.tokenFile != "" {
		return r, usageErrorf("give --access-token or --access-token-file, not both%s", where)
	}
	if l.password != "" && l.passwordFile != "" {
		return r, usageErrorf("give --password or --password-file, not both%s", where)
	}
	var err error
	if l.tokenFile != "" {
		if r.token, err = readSecretFile(l.tokenFile, "--access-token-file"); err != nil {
			return r, err
		}
	}
	if l.passwordFile != "" {
		if r.password, err = readSecretFile(l.passwordFile, "--password-file"); err != nil {
			return r, err
		}
	}
	switch {
	case r.token != "" && (r.user != "" || (r.password != "" && l.name != "environment")):
		return r, usageErrorf("give an access token or a user and password, not both%s", where)
	case r.token == "" && r.user == "":
		return r, usageErrorf("--password needs --user%s", where)
	case r.token == "" && r.password == "":
		return r, usageErrorf("--user needs --password or --password-file%s", where)
	}
	return r, nil
}

// serverLayer reads server id of the JFrog CLI configuration.
func (c *connFlags) serverLayer(getenv func(string) string, id string) (connLayer, error) {
	path := ""
	if c.jfrogConfig != nil {
		path = c.jfrogConfig(getenv)
	} else {
		home, _ := os.UserHomeDir()
		path = config.JFrogConfigPath(getenv, home)
	}
	s, err := config.LoadJFrogServer(path, id)
	if err != nil {
		return connLayer{}, usageError{err}
	}
	return connLayer{name: "JFrog CLI server " + id, url: s.ArtifactoryURL, token: s.AccessToken, user: s.User, password: s.Password}, nil
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

// client builds the Artifactory client from the flags and the environment, finds the Artifactory that the URL
// names (the Artifactory URL, or the JFrog Platform URL with Artifactory under /artifactory) and checks the
// credentials: refused credentials or an untrusted certificate give one message before any repository is looked at.
func (c *connFlags) client(ctx context.Context, getenv func(string) string, log *slog.Logger, extra ...artifactory.Option) (*artifactory.Client, error) {
	r, err := c.resolve(getenv, environOf(ctx))
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(r.url)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, usageErrorf("--url %q: want the JFrog Platform URL (https://host) or the Artifactory URL (https://host/artifactory)", redact(r.url))
	}
	if err := checkURLUserinfo(r.url); err != nil {
		return nil, err
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
	if _, err := artifactory.New(r.url, append(opts, extra...)...); err != nil {
		return nil, usageError{err} // a bad option: no request made
	}
	conn, err := artifactory.Connect(ctx, r.url, append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	attrs := []any{"url", conn.Client.BaseURL()}
	if conn.Platform {
		attrs = append(attrs, "platform_url", conn.Given)
	}
	if conn.Version != nil {
		attrs = append(attrs, "version", conn.Version.Version)
	}
	if conn.Platform {
		log.Info("using the Artifactory under the JFrog Platform URL", attrs...)
	} else {
		log.Info("using Artifactory", attrs...)
	}
	return conn.Client, nil
}

// checkURLUserinfo refuses a URL that carries credentials.
func checkURLUserinfo(raw string) error {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return usageErrorf("--url must not carry credentials; use --access-token-file or --user with --password-file")
	}
	return nil
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
