package artifactory

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// CheckCredentials asks Artifactory for its version (GET api/system/version), which any authenticated user may read,
// so that refused credentials or an untrusted TLS certificate are reported once, before any repository is looked
// at. It returns an error wrapping prune.ErrUnauthorized (an *APIError with status 401) when the credentials are
// refused, and the error when the connection failed for good (TLS verification) or ctx ended. Anything else, such
// as a transient failure that outlasted the retries or another status, is not the credentials' fault and returns
// nil: the run goes on and reports what fails where it fails.
func (c *Client) CheckCredentials(ctx context.Context) error {
	resp, err := c.send(ctx, http.MethodGet, c.base+"api/system/version", nil)
	if err != nil {
		if ctx.Err() == nil && retryableError(err) {
			c.log.Debug("the version check failed; going on", "error", err)
			return nil
		}
		return fmt.Errorf("connect to %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return apiError("check the credentials at", c.base, resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		c.log.Debug("the version check answered other than 200; going on", "status", resp.StatusCode)
	}
	return nil
}
