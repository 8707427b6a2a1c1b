package artifactory_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/prune"
)

const redirectFolder = "img/sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// movedRepo is a server that redirects every artifact path to /moved/..., where a GET answers 200 and a DELETE
// would be counted: the shape of a repository that moved behind a proxy.
type movedRepo struct {
	status  int
	deletes atomic.Int64
	gets    atomic.Int64
}

func (m *movedRepo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/moved/"):
		if r.Method == http.MethodDelete {
			m.deletes.Add(1)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		m.gets.Add(1)
		_, _ = io.WriteString(w, "{}")
	default:
		http.Redirect(w, r, "/moved"+r.URL.Path, m.status)
	}
}

// TestDeleteNeverFollowsARedirect: a DELETE answered with any redirect is a failure wrapping ErrRedirected, not a
// deletion, and the redirect is not followed (no GET turns the DELETE into a 200, no DELETE goes elsewhere).
func TestDeleteNeverFollowsARedirect(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			m := &movedRepo{status: status}
			srv := httptest.NewServer(m)
			t.Cleanup(srv.Close)
			c := politeClient(t, srv.URL)
			err := c.DeleteFolder(context.Background(), "docker-local", redirectFolder)
			if !errors.Is(err, artifactory.ErrRedirected) {
				t.Fatalf("DeleteFolder after a %d: %v, want an error wrapping ErrRedirected", status, err)
			}
			if errors.Is(err, prune.ErrNotFound) {
				t.Errorf("a redirect must not count as already gone: %v", err)
			}
			if !strings.Contains(err.Error(), "docker-local/"+redirectFolder) || !strings.Contains(err.Error(), "/moved/") {
				t.Errorf("the message should name the folder and where it was redirected: %v", err)
			}
			if g, d := m.gets.Load(), m.deletes.Load(); g != 0 || d != 0 {
				t.Errorf("the redirect was followed: %d GET, %d DELETE at the target", g, d)
			}
		})
	}
}

// answerOf is a transport that answers every request with status, as if it came from a request of method: what a
// layer that follows redirects on its own would hand back.
type answerOf struct {
	method string
	status int
}

func (a answerOf) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	other := req.Clone(req.Context())
	other.Method = a.method
	return &http.Response{StatusCode: a.status, Status: http.StatusText(a.status), Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("")), Request: other, ContentLength: 0}, nil
}

// TestDeleteAnswerMustBeToTheDelete: a 200 whose request is a GET is not a deletion.
func TestDeleteAnswerMustBeToTheDelete(t *testing.T) {
	c := politeClient(t, "http://artifactory.invalid", artifactory.WithTransport(answerOf{method: http.MethodGet, status: http.StatusOK}))
	err := c.DeleteFolder(context.Background(), "docker-local", redirectFolder)
	if !errors.Is(err, artifactory.ErrRedirected) {
		t.Fatalf("DeleteFolder answered by a GET: %v, want an error wrapping ErrRedirected", err)
	}
	c = politeClient(t, "http://artifactory.invalid", artifactory.WithTransport(answerOf{method: http.MethodDelete, status: http.StatusNoContent}))
	if err := c.DeleteFolder(context.Background(), "docker-local", redirectFolder); err != nil {
		t.Fatalf("DeleteFolder answered 204 by the DELETE: %v", err)
	}
}
