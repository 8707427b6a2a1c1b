package artifactory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Request sends one request to rel, a path relative to the Artifactory base URL ("api/storage/repo/path",
// "api/docker/repo/v2/image/manifests/tag"), with the client's credentials, retries and limits, and extra headers.
// The caller closes the body. It is for checks such as artprune doctor that look at answers artprune's own calls
// do not expose; it refuses absolute URLs, so the credentials go only to the configured server.
func (c *Client) Request(ctx context.Context, method, rel string, body []byte, headers map[string]string) (*http.Response, error) {
	if strings.Contains(rel, "://") || strings.HasPrefix(rel, "/") {
		return nil, fmt.Errorf("request %q: want a path relative to the Artifactory base URL", rel)
	}
	sm, err := c.manager(ctx)
	if err != nil {
		return nil, err
	}
	details := c.httpDetails(sm)
	for k, v := range headers {
		details.Headers[k] = v
	}
	resp, _, _, err := sm.Client().Send(method, c.base+rel, body, true, false, &details, "")
	return resp, err
}

// AQL runs one AQL query as given, without paging or the checks of [Client.Search], and returns its rows and
// whether the answer was trimmed. An answer other than 200 is an *APIError (AQL answers errors in plain text).
func (c *Client) AQL(ctx context.Context, query string) (rows []Row, trimmed bool, err error) {
	if err := c.acquireAQL(ctx); err != nil {
		return nil, false, err
	}
	defer c.releaseAQL()
	resp, err := c.Request(ctx, http.MethodPost, "api/search/aql", []byte(query), map[string]string{"Content-Type": "text/plain"})
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false, apiError("AQL search", "api/search/aql", resp)
	}
	rows, rng, err := decodeAQL(json.NewDecoder(resp.Body))
	if err != nil {
		return nil, false, err
	}
	return rows, rng.Notification != "", nil
}
