package artifactory

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrRedirected is returned when the server answered a DELETE with a redirect. artprune never follows one: Go's
// HTTP client turns a DELETE into a GET on 301, 302 and 303 (golang/go#21469), and jfrog-client-go's Send follows
// redirects for every method but POST, so a followed redirect answers 200 without deleting anything, and a delete
// counted as done would be a lie in the report.
var ErrRedirected = errors.New("the server redirected a delete, which artprune never follows")

// ErrRedirectRefused is returned for a redirect artprune does not follow: of a POST (an AQL query), or from https
// to http.
var ErrRedirectRefused = errors.New("a redirect artprune does not follow")

// redirectPolicy is the CheckRedirect of the client's http.Client, for a client of base:
//   - a redirect of a DELETE is not followed: the 3xx answer comes back to the caller (http.ErrUseLastResponse),
//     which fails the delete (checkDeleteAnswer);
//   - only GET and HEAD follow redirects (jfrog-client-go follows a POST's redirect itself unless told not to, so
//     artprune's POSTs never ask it to; see [Client.send]);
//   - a redirect from https to http is refused: the request would travel in clear;
//   - a redirect to another origin (scheme, host and port) than base's goes without the credentials: net/http keeps
//     the Authorization header for the same host on another port or scheme, and for subdomains, which are not
//     the server the credentials were given for. Artifactory's direct cloud-storage download redirects a GET to a
//     signed URL of the storage, which needs no credentials of ours.
//
// At most 10 redirects are followed, as net/http does by default.
func redirectPolicy(base *url.URL) func(req *http.Request, via []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0]
		switch {
		case first.Method == http.MethodDelete:
			return http.ErrUseLastResponse
		case first.Method != http.MethodGet && first.Method != http.MethodHead:
			return fmt.Errorf("%s %s redirected to %s: %w", first.Method, redactURL(first.URL.String()), redactURL(req.URL.String()), ErrRedirectRefused)
		case len(via) >= 10:
			return errors.New("stopped after 10 redirects")
		case strings.EqualFold(via[len(via)-1].URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https"):
			return fmt.Errorf("%s redirected from https to %s: %w; point --url at the server itself", redactURL(first.URL.String()),
				redactURL(req.URL.String()), ErrRedirectRefused)
		}
		if !sameOrigin(req.URL, base) {
			for _, h := range []string{"Authorization", "Cookie", "X-JFrog-Art-Api"} {
				req.Header.Del(h)
			}
		}
		return nil
	}
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// checkRedirected returns an error wrapping ErrRedirectRefused when jfrog-client-go's Send reports that it did not
// follow a redirect (artprune sends POSTs with followRedirect false).
func checkRedirected(method, rawURL, redirectURL string) error {
	if redirectURL == "" {
		return nil
	}
	return fmt.Errorf("%s %s: the server redirected it to %s: %w; nothing was sent there: point --url at the server "+
		"itself (not a proxy or an old address that redirects)", method, redactURL(rawURL), redactURL(redirectURL), ErrRedirectRefused)
}

// checkDeleteAnswer returns an error wrapping ErrRedirected when resp is not the answer to the DELETE itself: a 3xx
// status, or an answer to another request (a redirect followed by some other layer).
func checkDeleteAnswer(resp *http.Response, repo, folder string) error {
	where := ""
	if loc := resp.Header.Get("Location"); loc != "" {
		where = " to " + redactURL(loc)
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("delete %s/%s: HTTP %d %s%s: %w; nothing was deleted: point --url at the server that holds "+
			"the repository itself (not a proxy or an old address that redirects)", repo, folder, resp.StatusCode,
			http.StatusText(resp.StatusCode), where, ErrRedirected)
	case resp.Request != nil && resp.Request.Method != http.MethodDelete:
		return fmt.Errorf("delete %s/%s: the answer (HTTP %d) is to a %s of %s, not to the DELETE: %w; the folder is "+
			"not known to be deleted: point --url at the server that holds the repository itself", repo, folder,
			resp.StatusCode, resp.Request.Method, redactURL(resp.Request.URL.String()), ErrRedirected)
	}
	return nil
}
