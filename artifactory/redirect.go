package artifactory

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrRedirected is returned when the server answered a DELETE with a redirect. artprune never follows one: Go's
// HTTP client turns a DELETE into a GET on 301, 302 and 303 (golang/go#21469), and jfrog-client-go's Send follows
// redirects for every method but POST, so a followed redirect answers 200 without deleting anything, and a delete
// counted as done would be a lie in the report.
var ErrRedirected = errors.New("the server redirected a delete, which artprune never follows")

// noDeleteRedirect is the CheckRedirect of the client's http.Client: a redirect of a DELETE is not followed, and
// the 3xx answer comes back to the caller (http.ErrUseLastResponse), which fails the delete (checkDeleteAnswer).
// Other requests follow redirects as net/http does by default (at most 10).
func noDeleteRedirect(req *http.Request, via []*http.Request) error {
	for _, r := range via {
		if r.Method == http.MethodDelete {
			return http.ErrUseLastResponse
		}
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
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
