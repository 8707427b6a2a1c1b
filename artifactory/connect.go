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
// "version" and "revision" from that URL itself. A 401 refuses the credentials; since a proxy in front of a Platform may refuse unknown paths, the next
// candidate is still asked, and the refusal (wrapping prune.ErrUnauthorized) is returned when no candidate answers
// as Artifactory. Anything else (404, a web page, a redirect elsewhere) means "not here". An untrusted TLS
// certificate or a cancelled ctx returns its error at once. When a candidate failed for a reason that may pass (a
// transient failure that outlasted the retries, a 403 from a proxy's policy), Connect goes on with that candidate,
// as the credential check always did: the run then reports failures where they happen. When no candidate answers
// as Artifactory, the error wraps [ErrNotArtifactory] and says what each answered.
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
	var unsure *Client // the first candidate that could not answer for a reason that may pass
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
		case probeUnsure:
			if unsure == nil {
				unsure = c
			}
			c.log.Debug("the version check failed; going on", "url", c.base, "error", err)
		}
		answers = append(answers, fmt.Sprintf("%sapi/system/version: %v", c.base, err))
	}
	if refused != nil {
		return nil, refused
	}
	if unsure != nil {
		first.log.Warn("could not read Artifactory's version: going on with this URL", "url", unsure.base,
			"answers", strings.Join(answers, "; "))
		conn.Client, conn.Platform = unsure, unsure != first
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
	probeUnsure // a transient failure, or a 403: the URL may be right
	probeFatal
)

// probeVersion asks c's base for its version. Only the answer of that URL itself counts (a redirect to another
// server is not this server's version), and only with Artifactory's "version" and "revision".
func (c *Client) probeVersion(ctx context.Context) (*ServerVersion, probeVerdict, error) {
	asked := c.base + "api/system/version"
	resp, err := c.send(ctx, http.MethodGet, asked, nil)
	if err != nil {
		if ctx.Err() == nil && retryableError(err) {
			return nil, probeUnsure, err
		}
		return nil, probeFatal, fmt.Errorf("connect to %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, probeRefused, apiError("check the credentials at", c.base, resp)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden:
		return nil, probeUnsure, apiError("version", c.base, resp)
	case resp.Request != nil && resp.Request.URL.String() != asked:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, probeNotHere, fmt.Errorf("redirected to %s", redactURL(resp.Request.URL.String()))
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, probeNotHere, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var v ServerVersion
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil || v.Version == "" || v.Revision == "" {
		return nil, probeNotHere, fmt.Errorf("HTTP 200 that is not Artifactory's version JSON (Content-Type %q)", resp.Header.Get("Content-Type"))
	}
	return &v, probeArtifactory, nil
}
