package artifactory

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	jfutils "github.com/jfrog/jfrog-client-go/utils"
)

// closeDropped drains and closes the body of an answer that jfrog-client-go returned together with an error (it
// does so on a final 429 or 5xx, when its own retries, which artprune turns off, are used up), so that the answer
// gives back its connection and its place under the cap on requests in flight. It returns an error that says what
// the server answered: the status and the server's message, in place of jfrog-client-go's "executor timeout"
// text, which says nothing of either; any other error is kept, with the status added.
//
// With sentOnce (a DELETE answered other than 429: the retry layer never retries it blindly, see blindRetry) the
// error is the answer as an *APIError, and says nothing of retries: there were none.
func closeDropped(resp *http.Response, err error, sentOnce bool) error {
	if resp == nil || resp.Body == nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if sentOnce {
		path := ""
		if resp.Request != nil && resp.Request.URL != nil {
			path = redactURL(resp.Request.URL.String())
		}
		return &APIError{Op: "delete", Path: path, Status: resp.StatusCode, Message: errorMessage(body)}
	}
	status := fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if msg := errorMessage(body); msg != "" {
		status += ": " + msg
	}
	var retriesUsed jfutils.RetryExecutorTimeoutError
	if errors.As(err, &retriesUsed) {
		return fmt.Errorf("%s, still after every retry: %w", status, errRetriesUsed)
	}
	return fmt.Errorf("%s: %w", status, err)
}

// errRetriesUsed is wrapped by the error of a request whose last attempt, after every retry, still got a 429 or
// 5xx answer.
var errRetriesUsed = errors.New("the server kept failing")
