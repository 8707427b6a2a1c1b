package artifactory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/artprune/artprune/prune"
)

// APIError is an unexpected answer from Artifactory. It matches prune's sentinel errors with errors.Is:
// 401 is prune.ErrUnauthorized, 403 prune.ErrForbidden, 404 prune.ErrNotFound.
type APIError struct {
	Op      string // what was being done, e.g. "read document"
	Path    string // the repository path or endpoint concerned
	Status  int
	Message string // the server's message, from its error envelope or plain-text body
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", e.Op, e.Path, e.answer())
	switch e.Status {
	case http.StatusUnauthorized:
		b.WriteString(" (check the access token, or the user and password)")
	case http.StatusForbidden:
		b.WriteString(" (the user lacks the permission this needs)")
	case http.StatusTooManyRequests:
		b.WriteString(" (Artifactory is rate limiting: lower --concurrency)")
	}
	return b.String()
}

// answer is the status and the server's message: "HTTP 502 Bad Gateway: upstream connect error".
func (e *APIError) answer() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is maps HTTP statuses to prune's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case prune.ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case prune.ErrForbidden:
		return e.Status == http.StatusForbidden
	case prune.ErrNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// apiError reads an error answer (at most 8 KiB of it) into an *APIError.
func apiError(op, path string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	return &APIError{Op: op, Path: path, Status: resp.StatusCode, Message: errorMessage(body)}
}

// errorMessage extracts the message of Artifactory's error envelope {"errors":[{"status":N,"message":"..."}]},
// or returns the plain-text body (AQL answers errors in plain text).
func errorMessage(body []byte) string {
	var env struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil && len(env.Errors) > 0 {
		msgs := make([]string, 0, len(env.Errors))
		for _, e := range env.Errors {
			msgs = append(msgs, e.Message)
		}
		return strings.Join(msgs, "; ")
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	return msg
}

// ErrNotDockerLocal is returned for a repository artprune must not prune.
var ErrNotDockerLocal = errors.New("not a local Docker repository")
