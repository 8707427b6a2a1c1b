package artifactory

import (
	"context"
)

// CheckCredentials asks Artifactory for its version (GET api/system/version), which any authenticated user may read,
// so that refused credentials or an untrusted TLS certificate are reported once, before any repository is looked
// at. It returns an error wrapping prune.ErrUnauthorized (an *APIError with status 401) when the credentials are
// refused, and the error when the connection failed for good (TLS verification) or ctx ended. Anything else, such
// as a transient failure that outlasted the retries or another status, is not the credentials' fault and returns
// nil: the run goes on and reports what fails where it fails.
func (c *Client) CheckCredentials(ctx context.Context) error {
	_, verdict, err := c.probeVersion(ctx)
	switch verdict {
	case probeRefused, probeFatal:
		return err
	case probeTransient:
		c.log.Debug("the version check failed; going on", "error", err)
	case probeNotHere:
		c.log.Debug("the version check answered other than Artifactory's version; going on", "error", err)
	}
	return nil
}
