package artifactory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/artprune/artprune/prune"
)

var _ prune.RecheckSource = (*Client)(nil)

// RecheckImages implements prune.RecheckSource: one listing (with the inventory's paging and completeness checks)
// per group of images that fits an AQL query, of the manifest files directly inside a folder of one of images
// (path matching "<image>/*" but not "<image>/*/*") that are in a tag folder (path not matching "*/sha256:*"), or
// were created, modified or updated after since.
//
// In AQL's $match, "*" matches any characters, "/" included, and "?" one; Artifactory turns the pattern into a SQL
// LIKE, where "_", legal in image names, also matches any one character. The patterns can therefore only match
// more paths, never fewer: a row of another image is ignored by prune, and no tag folder "<image>/<tag>" can match
// "*/sha256:*", since neither image names nor tags hold a colon.
func (c *Client) RecheckImages(ctx context.Context, repo string, images []string, since time.Time, fn func(prune.ManifestFile) error) error {
	ts := jsonString(since.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	changedOrTag := fmt.Sprintf(`{"$or":[{"path":{"$nmatch":"*/sha256:*"}},{"created":{"$gt":%s}},{"modified":{"$gt":%s}},{"updated":{"$gt":%s}}]}`, ts, ts, ts)
	head := fmt.Sprintf(`{"$and":[%s,%s,{"$or":[`, manifestCriteria(repo), changedOrTag)
	const overhead = 1200 // the query around the criteria: include, sort, limit, keyset paging on a long path
	var batch []string
	size := len(head) + overhead
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		criteria := head + strings.Join(batch, ",") + "]}]}"
		batch, size = batch[:0], len(head)+overhead
		return c.searchManifests(ctx, repo, criteria, fn)
	}
	for _, img := range images {
		if img == "" || strings.ContainsAny(img, "*?") {
			return fmt.Errorf("re-check of image %q in %s: not an image name: %w", img, repo, prune.ErrUnsafePath)
		}
		clause := fmt.Sprintf(`{"$and":[{"path":{"$match":%s}},{"path":{"$nmatch":%s}}]}`, jsonString(img+"/*"), jsonString(img+"/*/*"))
		if len(batch) > 0 && size+len(clause)+1 > MaxQueryChars {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, clause)
		size += len(clause) + 1
	}
	return flush()
}

// Backoff returns the client's retry policy, for callers that retry on their own (prune.WithDeleteRetries).
func (c *Client) Backoff() Backoff { return c.backoff }

// Wait returns how long to wait before retry number n (1-based) of this policy.
func (b Backoff) Wait(n int) time.Duration { return b.wait(n, 0) }

// notSent reports whether a transport error proves that the request never reached the server: it failed while
// connecting. Only then may a DELETE be retried blindly.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// blindRetry reports whether the retry layer may retry req after err (a transport error) or an answer with status
// (when err is nil). A DELETE whose outcome is unknown is not retried blindly: prune.Apply re-checks the folder
// before trying again (see prune.WithDeleteRetries). A 429 was not acted on, and a DELETE that never left can go
// again.
func blindRetry(req *http.Request, status int, err error) bool {
	if req.Method != http.MethodDelete {
		return true
	}
	if err != nil {
		return notSent(err)
	}
	return status == http.StatusTooManyRequests
}

// outcomeUnknownStatus reports whether a DELETE answered status may still have been carried out: an error of the
// server or of a gateway in front of it, which may have answered after Artifactory acted.
func outcomeUnknownStatus(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
