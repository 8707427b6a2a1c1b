package artifactory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/artprune/artprune/prune"
)

// Compile-time checks that Client implements prune's ports.
var (
	_ prune.Source  = (*Client)(nil)
	_ prune.Deleter = (*Client)(nil)
)

// send performs one request through jfrog-client-go's HTTP client, with the body left open for the caller.
func (c *Client) send(ctx context.Context, method, rawURL string, body []byte) (*http.Response, error) {
	return c.sendWith(ctx, method, rawURL, body, nil)
}

// sendWith is send with extra headers. Redirects follow [redirectPolicy]; a POST is sent with jfrog-client-go's
// followRedirect off, since jfrog-client-go would otherwise send the POST again itself, credentials included, to
// wherever the server redirects it: such a redirect is an error wrapping ErrRedirectRefused.
func (c *Client) sendWith(ctx context.Context, method, rawURL string, body []byte, headers map[string]string) (*http.Response, error) {
	sm, err := c.manager(ctx)
	if err != nil {
		return nil, err
	}
	details := c.httpDetails(sm)
	for k, v := range headers {
		details.Headers[k] = v
	}
	resp, _, redirectURL, err := sm.Client().Send(method, rawURL, body, method != http.MethodPost, false, &details, "")
	sentOnce := method == http.MethodDelete && resp != nil && resp.StatusCode != http.StatusTooManyRequests
	if rerr := checkRedirected(method, rawURL, redirectURL); rerr != nil {
		_ = closeDropped(resp, err, sentOnce)
		return nil, rerr
	}
	if err != nil {
		return nil, closeDropped(resp, err, sentOnce)
	}
	return resp, nil
}

// Now returns the server's clock, read from the Date header of a ping.
func (c *Client) Now(ctx context.Context) (time.Time, error) {
	sent := time.Now()
	resp, err := c.send(ctx, http.MethodGet, c.base+"api/system/ping", nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("ping %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	c.clock.observe("the ping's Date", resp, sent, time.Now())
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, apiError("ping", c.base+"api/system/ping", resp)
	}
	t, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return time.Time{}, fmt.Errorf("ping %s: the answer has no valid Date header to read the server's clock from", c.base)
	}
	return t, nil
}

// RepoInfo is what artprune needs of a repository's configuration.
type RepoInfo struct {
	Key         string `json:"key"`
	Class       string `json:"rclass"`      // local, remote, virtual, federated
	PackageType string `json:"packageType"` // docker, generic, ...
}

// Repository returns the configuration of repository key.
func (c *Client) Repository(ctx context.Context, key string) (RepoInfo, error) {
	resp, err := c.send(ctx, http.MethodGet, c.base+"api/repositories/"+url.PathEscape(key), nil)
	if err != nil {
		return RepoInfo{}, fmt.Errorf("read repository %s: %w", key, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusBadRequest, http.StatusNotFound:
		return RepoInfo{}, fmt.Errorf("repository %q does not exist or is not visible to this user (%w): check the key, which is "+
			"case-sensitive, and that the user may read the repository", key, prune.ErrNotFound)
	default:
		return RepoInfo{}, apiError("read repository", key, resp)
	}
	var info RepoInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
		return RepoInfo{}, fmt.Errorf("read repository %s: %w", key, err)
	}
	return info, nil
}

// CheckDockerLocal returns an error wrapping ErrNotDockerLocal unless key is a local Docker repository.
func (c *Client) CheckDockerLocal(ctx context.Context, key string) error {
	info, err := c.Repository(ctx, key)
	if err != nil {
		return err
	}
	if !strings.EqualFold(info.Class, "local") || !strings.EqualFold(info.PackageType, "docker") {
		return fmt.Errorf("repository %s is a %s %s repository: %w; artprune prunes only local Docker repositories "+
			"(remote caches and virtual repositories hold no dangling manifests of their own)", key, info.Class, info.PackageType, ErrNotDockerLocal)
	}
	return nil
}

// manifestCriteria selects every manifest file of a repository.
func manifestCriteria(repo string) string {
	return fmt.Sprintf(`{"repo":%s,"type":"file","$or":[{"name":"manifest.json"},{"name":"list.manifest.json"}]}`, jsonString(repo))
}

// Manifests implements prune.Source.
func (c *Client) Manifests(ctx context.Context, repo string, fn func(prune.ManifestFile) error) error {
	return c.searchManifests(ctx, repo, manifestCriteria(repo), fn)
}

// ManifestsChangedSince implements prune.Source.
func (c *Client) ManifestsChangedSince(ctx context.Context, repo string, since time.Time, fn func(prune.ManifestFile) error) error {
	ts := jsonString(since.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	criteria := fmt.Sprintf(`{"$and":[%s,{"$or":[{"created":{"$gt":%s}},{"modified":{"$gt":%s}},{"updated":{"$gt":%s}}]}]}`,
		manifestCriteria(repo), ts, ts, ts)
	return c.searchManifests(ctx, repo, criteria, fn)
}

func (c *Client) searchManifests(ctx context.Context, repo, criteria string, fn func(prune.ManifestFile) error) error {
	return c.Search(ctx, Query{Criteria: criteria, ConfirmEnd: true}, func(r Row) error {
		mf, err := r.manifestFile()
		if err != nil {
			return fmt.Errorf("%s/%s/%s: %w: %w", repo, r.Path, r.Name, err, prune.ErrIncomplete)
		}
		return fn(mf)
	})
}

func (r Row) manifestFile() (prune.ManifestFile, error) {
	mf := prune.ManifestFile{Repo: r.Repo, Path: r.Path, Name: r.Name, Size: r.Size, SHA256: r.SHA256}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&mf.Created, r.Created}, {&mf.Modified, r.Modified}, {&mf.Updated, r.Updated}} {
		if *f.dst, err = ParseTime(f.src); err != nil {
			return mf, err
		}
	}
	return mf, nil
}

// fileURL returns the download URL of repo/path, escaping each segment.
func (c *Client) fileURL(repo, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.base + url.PathEscape(repo) + "/" + strings.Join(segs, "/")
}

// ReadFile implements prune.Source. It verifies nothing about the content: the planner checks the digest.
func (c *Client) ReadFile(ctx context.Context, repo, path string, limit int64) ([]byte, error) {
	var lastErr error
	for attempt := 1; attempt <= c.backoff.Attempts; attempt++ {
		data, retry, err := c.readOnce(ctx, repo, path, limit)
		if err == nil {
			return data, nil
		}
		if !retry || ctx.Err() != nil {
			return nil, err
		}
		lastErr = err
		if err := sleep(ctx, c.backoff.wait(attempt, 0)); err != nil {
			return nil, err
		}
	}
	return nil, lastErr
}

func (c *Client) readOnce(ctx context.Context, repo, path string, limit int64) (data []byte, retry bool, err error) {
	resp, err := c.send(ctx, http.MethodGet, c.fileURL(repo, path), nil)
	if err != nil {
		return nil, retryableError(err), fmt.Errorf("read %s/%s: %w", repo, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false, apiError("read", repo+"/"+path, resp)
	}
	if resp.ContentLength > limit {
		return nil, false, fmt.Errorf("read %s/%s: %d bytes: %w (limit %d)", repo, path, resp.ContentLength, prune.ErrTooLarge, limit)
	}
	if cl := resp.ContentLength; cl >= 0 {
		// The length is known (and net/http reads no further): one buffer of that size, read full.
		data = make([]byte, cl)
		n, err := io.ReadFull(resp.Body, data)
		if err != nil {
			return nil, true, fmt.Errorf("read %s/%s: got %d of %d bytes: %w", repo, path, n, cl, err)
		}
		if err := checkSHA256Header(resp, data, repo, path); err != nil {
			return nil, true, err
		}
		return data, false, nil
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, true, fmt.Errorf("read %s/%s: %w", repo, path, err)
	}
	if int64(len(data)) > limit {
		return nil, false, fmt.Errorf("read %s/%s: %w (limit %d bytes)", repo, path, prune.ErrTooLarge, limit)
	}
	if resp.ContentLength >= 0 && int64(len(data)) != resp.ContentLength {
		return nil, true, fmt.Errorf("read %s/%s: got %d of %d bytes", repo, path, len(data), resp.ContentLength)
	}
	if err := checkSHA256Header(resp, data, repo, path); err != nil {
		return nil, true, err
	}
	return data, false, nil
}

// checkSHA256Header returns an error if the answer carries an X-Checksum-Sha256 that data does not match.
func checkSHA256Header(resp *http.Response, data []byte, repo, path string) error {
	if want := resp.Header.Get("X-Checksum-Sha256"); want != "" {
		sum := sha256.Sum256(data)
		if !strings.EqualFold(hex.EncodeToString(sum[:]), want) {
			return fmt.Errorf("read %s/%s: content does not match its X-Checksum-Sha256", repo, path)
		}
	}
	return nil
}

// DeleteFolder implements prune.Deleter: DELETE <repo>/<folder>/, which deletes the folder recursively. The DELETE
// is sent once (it is retried only after a 429 or a failure to connect, which Artifactory never acted on); when
// its outcome is unknown, the error says so once, wrapping prune.ErrOutcomeUnknown, and prune.Apply decides
// whether to try again.
func (c *Client) DeleteFolder(ctx context.Context, repo, folder string) error {
	resp, err := c.send(ctx, http.MethodDelete, c.fileURL(repo, folder)+"/", nil)
	var answer *APIError
	switch {
	case err != nil && errors.As(err, &answer):
		return deleteAnswered(repo, folder, answer)
	case err != nil && notSent(err):
		return fmt.Errorf("delete %s/%s: not sent: %w", repo, folder, err)
	case err != nil && errors.Is(err, errRetriesUsed): // 429 after every retry: never acted on
		return fmt.Errorf("delete %s/%s: not deleted: %w", repo, folder, err)
	case err != nil:
		return fmt.Errorf("delete %s/%s: sent once, and its answer was lost (%v): %w", repo, folder, err, prune.ErrOutcomeUnknown)
	}
	defer resp.Body.Close()
	if err := checkDeleteAnswer(resp, repo, folder); err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK, http.StatusAccepted:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	return deleteAnswered(repo, folder, apiError("delete", repo+"/"+folder, resp).(*APIError))
}

// deleteAnswered is the error of a DELETE of repo/folder that was answered with the error answer.
func deleteAnswered(repo, folder string, answer *APIError) error {
	answer.Op, answer.Path = "delete", repo+"/"+folder
	if outcomeUnknownStatus(answer.Status) {
		return &deleteUnknown{answer: answer, msg: fmt.Sprintf("delete %s/%s: sent once, answered %s, which a server or gateway "+
			"may send after Artifactory deleted it: %v", repo, folder, answer.answer(), prune.ErrOutcomeUnknown)}
	}
	return answer
}

// deleteUnknown is the error of a DELETE answered with an error that Artifactory may have sent after acting: it
// wraps the answer and prune.ErrOutcomeUnknown, and names the folder once.
type deleteUnknown struct {
	answer *APIError
	msg    string
}

func (e *deleteUnknown) Error() string   { return e.msg }
func (e *deleteUnknown) Unwrap() []error { return []error{e.answer, prune.ErrOutcomeUnknown} }

// FolderFiles implements prune.Source: it lists the files of many folders in few queries, grouping folders by
// image (one $match on "<image>/sha256:*" per image) within AQL's query length limit, and keeps only the files of
// the folders asked for.
func (c *Client) FolderFiles(ctx context.Context, repo string, folders []string, fn func(prune.File) error) error {
	want := make(map[string]bool, len(folders))
	var clauses []string
	seen := map[string]bool{}
	for _, f := range folders {
		want[f] = true
		i := strings.LastIndexByte(f, '/')
		clause := ""
		if i > 0 && !strings.ContainsAny(f[:i], "*?") {
			clause = fmt.Sprintf(`{"path":{"$match":%s}}`, jsonString(f[:i]+"/sha256:*"))
		} else {
			clause = fmt.Sprintf(`{"path":%s}`, jsonString(f))
		}
		if !seen[clause] {
			seen[clause] = true
			clauses = append(clauses, clause)
		}
	}
	return c.searchBatched(ctx, repo, clauses, func(r Row) error {
		if !want[r.Path] {
			return nil
		}
		return fn(prune.File{Repo: r.Repo, Path: r.Path, Name: r.Name, Size: r.Size, SHA256: r.SHA256})
	})
}

// ChecksumHolders implements prune.Source. For a few checksums it asks for them by value; for many it lists the
// repository's files once, which costs fewer requests than thousands of small queries.
func (c *Client) ChecksumHolders(ctx context.Context, repo string, sums []string, fn func(prune.File) error) error {
	const byValueLimit = 2000
	emit := func(r Row) error {
		return fn(prune.File{Repo: r.Repo, Path: r.Path, Name: r.Name, Size: r.Size, SHA256: r.SHA256})
	}
	if len(sums) > byValueLimit {
		want := make(map[string]bool, len(sums))
		for _, s := range sums {
			want[s] = true
		}
		return c.Search(ctx, Query{Criteria: fmt.Sprintf(`{"repo":%s,"type":"file"}`, jsonString(repo))}, func(r Row) error {
			if !want[r.SHA256] {
				return nil
			}
			return emit(r)
		})
	}
	clauses := make([]string, len(sums))
	for i, s := range sums {
		clauses[i] = fmt.Sprintf(`{"sha256":%s}`, jsonString(s))
	}
	return c.searchBatched(ctx, repo, clauses, emit)
}

// searchBatched runs {"repo":R,"type":"file","$or":[clauses...]} in as few queries as AQL's length limit allows.
// The budget covers the keyset bound of a sorted page; where AQL refuses sort, a partition adds two bounds whose
// length depends on the paths of the rows, so a query that turns out too long (found before it is sent) has its
// batch split in two and asked again, down to single clauses. A row is delivered once per batch: rows of the
// partitions a too-long batch already delivered are not delivered again.
func (c *Client) searchBatched(ctx context.Context, repo string, clauses []string, fn func(Row) error) error {
	return c.searchClauses(ctx, fmt.Sprintf(`{"repo":%s,"type":"file","$or":[`, jsonString(repo)), clauses, fn)
}

// searchClauses runs head + clauses... + "]}" (head opens an $or) in as few queries as AQL's length limit allows.
// A batch whose query turns out too long once the listing adds its bounds (the partitions of an edition without
// sort) is split in half, down to single clauses; each row is delivered once per batch.
func (c *Client) searchClauses(ctx context.Context, head string, clauses []string, fn func(Row) error) error {
	const overhead = 700 // the query text around the clauses, keyset paging included
	type key struct{ repo, path, name string }
	var search func(batch []string, seen map[key]bool) error
	search = func(batch []string, seen map[key]bool) error {
		q := Query{Criteria: head + strings.Join(batch, ",") + "]}"}
		err := c.Search(ctx, q, func(r Row) error {
			k := key{r.Repo, r.Path, r.Name}
			if seen[k] {
				return nil
			}
			seen[k] = true
			return fn(r)
		})
		if errors.Is(err, errQueryTooLong) && len(batch) > 1 && ctx.Err() == nil {
			c.log.Debug("AQL query too long with its bounds: splitting the batch", "clauses", len(batch))
			half := len(batch) / 2
			if err := search(batch[:half], seen); err != nil {
				return err
			}
			return search(batch[half:], seen)
		}
		return err
	}
	var batch []string
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b := slices.Clone(batch)
		batch, size = batch[:0], 0
		return search(b, map[key]bool{})
	}
	for _, cl := range clauses {
		if size+len(cl)+len(head)+overhead > MaxQueryChars {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, cl)
		size += len(cl) + 1
	}
	return flush()
}
