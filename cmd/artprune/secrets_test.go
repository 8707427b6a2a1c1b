package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// Secrets with a recognisable shape, so that any leak, whole or encoded, is found.
const (
	adminSecret   = "adm1n-T0KEN-5ecret-9f8e7d"  // valid: the emulator's admin token (and admin's basic password)
	wrongToken    = "wr0ng-T0KEN-5ecret-1a2b3c"  // refused
	wrongPassword = "wr0ng-PASSW0RD-5ecret-4d5e" // refused
)

// leaks returns the forms of the secrets found in s: as is, in a basic Authorization header, or base64-encoded.
func leaks(s string) []string {
	var found []string
	for _, secret := range []string{adminSecret, wrongToken, wrongPassword} {
		forms := []string{secret, base64.StdEncoding.EncodeToString([]byte("admin:" + secret)), base64.StdEncoding.EncodeToString([]byte(secret))}
		for _, f := range forms {
			if strings.Contains(s, f) {
				found = append(found, f)
			}
		}
	}
	return found
}

// TestSecretsNeverShow runs every command, succeeding and failing, with known secrets in flags, files and the
// environment, as processes (so that anything any library writes to the process's stderr is seen), verbose, and
// scans stdout, stderr and every file the runs wrote for the secrets.
func TestSecretsNeverShow(t *testing.T) {
	srv, err := artifactorytest.NewServer(
		artifactorytest.WithAdminToken(adminSecret),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}),
		artifactorytest.WithSeed(11),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenFile, passwordFile, wrongFile := write("token", adminSecret), write("password", adminSecret), write("wrong", wrongToken)
	url := srv.ArtifactoryURL()
	withCreds := strings.Replace(url, "http://", "http://admin:"+adminSecret+"@", 1)
	report := func(name string) string { return filepath.Join(dir, name+".json") }
	envToken := map[string]string{"JF_URL": url, "JF_ACCESS_TOKEN": adminSecret}
	envBasic := map[string]string{"JF_URL": url, "JF_USER": "admin", "JF_PASSWORD": adminSecret}
	envAll := map[string]string{"JF_URL": url, "JF_ACCESS_TOKEN": adminSecret, "JF_USER": "admin", "JF_PASSWORD": wrongPassword}
	envURL := map[string]string{"JF_URL": url}
	jfHome := filepath.Join(dir, "jfhome")
	if err := os.Mkdir(jfHome, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(jfHome, "jfrog-cli.conf.v6"), []byte(`{"servers":[{"serverId":"emu","artifactoryUrl":"`+url+`","accessToken":"`+adminSecret+`"}],"version":"6"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	runs := []struct {
		name  string
		env   map[string]string
		args  []string
		codes []int
		fault float64
	}{
		{"dry run, token flag", envURL, []string{"prune", "--repo", "docker-local", "-v", "--access-token", adminSecret}, []int{0}, 0},
		{"dry run, token env, json", envToken, []string{"prune", "--repo", "docker-local", "-v", "-o", "json", "--report", report("r1")}, []int{0}, 0},
		{"dry run, basic env", envBasic, []string{"prune", "--repo", "docker-local", "-v"}, []int{0}, 0},
		{"faults, token file", envURL, []string{"prune", "--repo", "docker-local", "-v", "--access-token-file", tokenFile, "--report", report("r2")}, []int{0, 1}, 0.5},
		{"delete, token file", envURL, []string{"prune", "--repo", "docker-local", "--delete", "-v", "--access-token-file", tokenFile, "--report", report("r3")}, []int{0}, 0},
		{"delete, basic with password file", envURL, []string{"prune", "--repo", "docker-local", "--delete", "-v", "--user", "admin", "--password-file", passwordFile, "--report", report("r4")}, []int{0}, 0},
		{"wrong token flag", envURL, []string{"prune", "--repo", "docker-local", "--delete", "-v", "--access-token", wrongToken}, []int{1}, 0},
		{"wrong token file", envURL, []string{"prune", "--repo", "docker-local", "-v", "--access-token-file", wrongFile, "--report", report("r5")}, []int{1}, 0},
		{"wrong password", envURL, []string{"prune", "--repo", "docker-local", "-v", "--user", "admin", "--password", wrongPassword}, []int{1}, 0},
		{"unreachable URL", envToken, []string{"prune", "--repo", "docker-local", "-v", "--url", "http://127.0.0.1:1/artifactory", "--access-token-file", tokenFile, "--report", report("r6")}, []int{1}, 0},
		{"--url with the environment's token", envToken, []string{"prune", "--repo", "docker-local", "-v", "--url", "http://127.0.0.1:1/artifactory"}, []int{2}, 0},
		{"credentials in the URL", envURL, []string{"prune", "--repo", "docker-local", "-v", "--url", withCreds, "--access-token", adminSecret}, []int{2}, 0},
		{"usage error", envAll, []string{"prune", "-v", "--access-token", adminSecret}, []int{2}, 0},
		{"token twice", envAll, []string{"prune", "--repo", "x", "--access-token", adminSecret, "--access-token-file", tokenFile}, []int{2}, 0},
		{"token and password", envURL, []string{"prune", "--repo", "x", "--access-token", adminSecret, "--user", "admin", "--password", wrongPassword}, []int{2}, 0},
		{"bad flag value", envAll, []string{"prune", "--repo", "x", "--concurrency", "many", "--access-token", adminSecret}, []int{2}, 0},
		{"plan, token flag", envURL, []string{"plan", "--repo", "docker-*", "-v", "--access-token", adminSecret, "--out", report("plan"),
			"--metrics-file", filepath.Join(dir, "plan.prom"), "--summary-markdown", filepath.Join(dir, "plan.md")}, []int{0}, 0},
		{"apply, token file", envURL, []string{"apply", report("plan"), "-v", "--access-token-file", tokenFile, "--report", report("r7")}, []int{0}, 0},
		{"config file with a token", envURL, []string{"prune", "--config", write("cfg.yaml", "access-token: "+adminSecret+"\nrepo: docker-local\nlog-format: json\n"), "-v"}, []int{0}, 0},
		{"config file with a wrong token", envURL, []string{"prune", "--config", write("bad.yaml", "access-token: "+wrongToken+"\nrepo: docker-local\n"), "-v"}, []int{1}, 0},
		{"server-id", map[string]string{"JFROG_CLI_HOME_DIR": jfHome}, []string{"prune", "--server-id", "emu", "--repo", "docker-local", "-v"}, []int{0}, 0},
		{"version", envAll, []string{"version"}, []int{0}, 0},
		{"help", envAll, []string{"--help"}, []int{0}, 0},
		{"prune help", envAll, []string{"prune", "--help", "--access-token", adminSecret}, []int{0}, 0},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			srv.SetFaults(artifactorytest.FaultConfig{Rate: r.fault})
			defer srv.SetFaults(artifactorytest.FaultConfig{})
			res := runArtprune(t, "fast", r.env, r.args...)
			if !containsInt(r.codes, res.code) {
				t.Errorf("exit %d, want one of %v\nstdout:\n%s\nstderr:\n%s", res.code, r.codes, res.stdout, res.stderr)
			}
			if res.stdout == "" && res.stderr == "" {
				t.Errorf("no output at all")
			}
			if l := leaks(res.stdout + res.stderr); len(l) > 0 {
				t.Errorf("output shows %v\nstdout:\n%s\nstderr:\n%s", l, res.stdout, res.stderr)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	reports := 0
	for _, e := range entries {
		if e.IsDir() { // the JFrog CLI home: an input
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".json") {
			reports++
		}
		if e.Name() == "token" || e.Name() == "password" || e.Name() == "wrong" || strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		if l := leaks(string(data)); len(l) > 0 {
			t.Errorf("file %s shows %v", e.Name(), l)
		}
	}
	if reports < 4 {
		t.Errorf("%d reports written, want at least 4 to scan", reports)
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// tlsSeedServer serves the seed story over HTTPS with httptest's own certificate, counting connections.
func tlsSeedServer(t *testing.T) (*httptest.Server, *artifactorytest.Emulator, *atomic.Int32) {
	t.Helper()
	emu, err := artifactorytest.New(artifactorytest.WithAdminToken(testToken),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := artifactorytest.SeedStory(emu.Store(), "docker-local", emu.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(emu)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts, emu, &conns
}

// TestTLSVerification: verification is on by default and a failure is one clear message, not retried;
// --ca-cert FILE and --insecure-tls are the explicit ways around it.
func TestTLSVerification(t *testing.T) {
	ts, emu, conns := tlsSeedServer(t)
	e := map[string]string{"JF_URL": ts.URL + "/artifactory/", "JF_ACCESS_TOKEN": testToken}
	ctx := fastCtx(fastRetries, 0)

	res := runWith(t, ctx, e, "prune", "--repo", "docker-local")
	if res.code != ExitFailure || !strings.Contains(res.stderr, "certificate") || strings.Count(res.stderr, "certificate") > 2 {
		t.Errorf("untrusted certificate: exit %d, stderr:\n%s", res.code, res.stderr)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for an untrusted certificate, want 1: a verification failure is not retried", n)
	}
	if _, total := emu.Stats().Snapshot(); total != 0 {
		t.Errorf("%d requests reached the server over an unverified connection", total)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := runWith(t, ctx, e, "prune", "--repo", "docker-local", "--ca-cert", ca); res.code != ExitOK {
		t.Errorf("--ca-cert: exit %d\n%s", res.code, res.stderr)
	}
	res = runWith(t, ctx, e, "prune", "--repo", "docker-local", "--insecure-tls")
	if res.code != ExitOK || !strings.Contains(res.stderr, "TLS certificate verification is off") {
		t.Errorf("--insecure-tls: exit %d, want 0 with a warning\n%s", res.code, res.stderr)
	}
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := runWith(t, ctx, e, "prune", "--repo", "docker-local", "--ca-cert", notPEM); res.code != ExitUsage || !strings.Contains(res.stderr, notPEM) {
		t.Errorf("--ca-cert with no certificate: exit %d\n%s", res.code, res.stderr)
	}
	// The client's own default is verification on, too.
	c, err := artifactory.New(ts.URL+"/artifactory/", artifactory.WithAccessToken(testToken), artifactory.WithBackoff(fastRetries))
	if err != nil {
		t.Fatal(err)
	}
	var certErr *tls.CertificateVerificationError
	if err := c.CheckCredentials(ctx); err == nil || !errors.As(err, &certErr) {
		t.Errorf("the client trusted an unknown certificate: %v", err)
	}
}

// TestPlainHTTPWarning: an http:// URL to a host other than this machine warns that credentials travel in clear.
func TestPlainHTTPWarning(t *testing.T) {
	ctx := fastCtx(artifactory.Backoff{Attempts: 1, Base: time.Millisecond, Max: time.Millisecond, MaxRetryAfter: time.Millisecond}, 300*time.Millisecond)
	res := runWith(t, ctx, map[string]string{"JF_URL": "http://artifactory.invalid:8081/artifactory", "JF_ACCESS_TOKEN": testToken}, "prune", "--repo", "docker-local")
	if !strings.Contains(res.stderr, "plain http") || res.code != ExitFailure {
		t.Errorf("exit %d, want 1 and a warning about plain http:\n%s", res.code, res.stderr)
	}
	srv, _ := newSeedServer(t)
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local"); strings.Contains(res.stderr, "plain http") {
		t.Errorf("a loopback URL warned:\n%s", res.stderr)
	}
}
