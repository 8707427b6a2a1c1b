package artifactory

import (
	"fmt"
	"io"
	"net/http"
)

// closeDropped drains and closes the body of an answer that jfrog-client-go returned together with an error (it
// does so on a final 429 or 5xx, when its own retries, which artprune turns off, are used up), so that the answer
// gives back its connection and its place under the cap on requests in flight. It returns err, with the status
// added when there was an answer.
func closeDropped(resp *http.Response, err error) error {
	if resp == nil || resp.Body == nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return fmt.Errorf("HTTP %d %s after every retry: %w", resp.StatusCode, http.StatusText(resp.StatusCode), err)
}
