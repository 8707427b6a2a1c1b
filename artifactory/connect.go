package artifactory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ServerVersion is Artifactory's answer to GET api/system/version.
type ServerVersion struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
	// Addons is nil when the answer has no "addons", and empty when it lists none (Artifactory OSS and JCR).
	Addons  []string `json:"addons"`
	License string   `json:"license"`
}

// Connection is what [Connect] found at the URL it was given.
type Connection struct {
	// Client talks to the Artifactory found.
	Client *Client
	// Given is the URL Connect was given, normalised to end with "/".
	Given string
	// Platform is true when Given is a JFrog Platform URL and the Artifactory is under it, at Given + "artifactory/".
	Platform bool
	// Version is the server's version answer; nil when it could not be read (a transient failure outlasted the
	// retries: the run goes on and reports failures where they happen).
	Version *ServerVersion
}

// ErrNotArtifactory is returned by [Connect] when nothing at the URL answers as Artifactory does.
var ErrNotArtifactory = errors.New("no Artifactory answers at this URL")

// Connect finds the Artifactory that rawURL names and checks the credentials with one request when rawURL is the
// Artifactory URL ("https://acme.jfrog.io/artifactory"). JFrog's tools take the JFrog Platform URL instead
// ("https://acme.jfrog.io": the JF_URL of setup-jfrog-cli and `jf c add --url`), with Artifactory under
// /artifactory; when rawURL does not answer as Artifactory, Connect asks rawURL + "/artifactory/". A candidate answers
// as Artifactory when GET api/system/version, which any authenticated user may read, returns its JSON with a
// version. A 401 refuses the credentials; since a proxy in front of a Platform may refuse unknown paths, the next
// candidate is still asked, and the refusal (wrapping prune.ErrUnauthorized) is returned when no candidate answers
// as Artifactory. Anything else (404, a web page) means "not here". An untrusted TLS certificate or a cancelled ctx returns its error at once. When
// a candidate failed for a transient reason that outlasted the retries, Connect goes on with rawURL as given, as
// before: the run then reports failures where they happen. When no candidate answers as Artifactory, the error
// wraps [ErrNotArtifactory] and says what each answered.
func Connect(ctx context.Context, rawURL string, opts ...Option) (*Connection, error) {
	first, err := New(rawURL, opts...)
	if err != nil {
		return nil, err
	}
	conn := &Connection{Client: first, Given: first.base}
	candidates := []*Client{first}
	if u, _ := url.Parse(first.base); !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/artifactory") {
		under, err := New(first.base+"artifactory/", opts...)
		if err != nil {
			return nil, err
		}
		candidates = append(candidates, under)
	}
	var answers []string
	var refused error
	transient := false
	for i, c := range candidates {
		v, verdict, err := c.probeVersion(ctx)
		switch verdict {
		case probeArtifactory:
			conn.Client, conn.Platform, conn.Version = c, i > 0, v
			c.srv.mu.Lock()
			c.srv.version = v
			c.srv.mu.Unlock()
			return conn, nil
		case probeFatal:
			return nil, err
		case probeRefused:
			if refused == nil {
				refused = err
			}
		case probeTransient:
			transient = true
			c.log.Debug("the version check failed; going on", "url", c.base, "error", err)
		}
		answers = append(answers, fmt.Sprintf("%sapi/system/version: %v", c.base, err))
	}
	if refused != nil {
		return nil, refused
	}
	if transient {
		first.log.Warn("could not tell whether the URL is Artifactory's or the JFrog Platform's: going on with it as given",
			"url", first.base, "answers", strings.Join(answers, "; "))
		return conn, nil
	}
	return nil, fmt.Errorf("%s: %w (%s); give the JFrog Platform URL (https://acme.jfrog.io) or the Artifactory URL "+
		"(https://acme.jfrog.io/artifactory)", first.base, ErrNotArtifactory, strings.Join(answers, "; "))
}

type probeVerdict int

const (
	probeNotHere probeVerdict = iota
	probeArtifactory
	probeRefused
	probeTransient
	probeFatal
)

// probeVersion asks c's base for its version.
func (c *Client) probeVersion(ctx context.Context) (*ServerVersion, probeVerdict, error) {
	resp, err := c.send(ctx, http.MethodGet, c.base+"api/system/version", nil)
	if err != nil {
		if ctx.Err() == nil && retryableError(err) {
			return nil, probeTransient, err
		}
		return nil, probeFatal, fmt.Errorf("connect to %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, probeRefused, apiError("check the credentials at", c.base, resp)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, probeTransient, apiError("version", c.base, resp)
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, probeNotHere, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var v ServerVersion
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil || v.Version == "" {
		return nil, probeNotHere, fmt.Errorf("HTTP 200 that is not Artifactory's version JSON (Content-Type %q)", resp.Header.Get("Content-Type"))
	}
	return &v, probeArtifactory, nil
}
