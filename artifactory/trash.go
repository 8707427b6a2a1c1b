package artifactory

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/artprune/artprune/prune"
)

// TrashRepo is the key of Artifactory's Trash Can repository (TrashService.TRASH_KEY in Artifactory's source).
const TrashRepo = "auto-trashcan"

// Properties Artifactory sets on items it moves to the Trash Can, and the one its restore adds. A restore removes
// trash.time, trash.deletedBy, trash.originalRepositoryType and trash.originalPath, but leaves
// trash.originalRepository and adds trash.restoredTime (TrashServiceImpl.restoreBulk, TrashInterceptor.afterMove).
const (
	PropTrashTime         = "trash.time"
	PropTrashDeletedBy    = "trash.deletedBy"
	PropTrashOrigRepo     = "trash.originalRepository"
	PropTrashOrigPath     = "trash.originalPath"
	PropTrashRestoredTime = "trash.restoredTime"
)

var _ prune.Restorer = (*Client)(nil)

// ErrTrashAPIUnavailable is returned when the server answers that its edition has no Trash Can API.
var ErrTrashAPIUnavailable = errors.New("this Artifactory edition has no Trash Can REST API (it needs Artifactory Pro)")

// TrashStatus is what the server's configuration says of its Trash Can.
type TrashStatus struct {
	// Known is false when the configuration could not be read (it needs an admin); the other fields are then zero.
	Known bool
	// Enabled: deleted items go to the Trash Can and can be restored from it.
	Enabled bool
	// RetentionDays is how long the Trash Can keeps an item before garbage collection deletes it for good.
	RetentionDays int
}

// TrashStatus reads the Trash Can's configuration (trashcanConfig in GET api/system/configuration, admins only).
// A 401 is an error; a 403 returns Known false and no error: the caller reports the Trash Can as unknown.
func (c *Client) TrashStatus(ctx context.Context) (TrashStatus, error) {
	u := c.base + "api/system/configuration"
	resp, err := c.send(ctx, http.MethodGet, u, nil)
	if err != nil {
		return TrashStatus{}, fmt.Errorf("read the Trash Can configuration: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusForbidden, http.StatusNotFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return TrashStatus{}, nil
	default:
		return TrashStatus{}, apiError("read the Trash Can configuration at", u, resp)
	}
	var cfg struct {
		Trashcan *struct {
			Enabled             *bool `xml:"enabled"`
			RetentionPeriodDays *int  `xml:"retentionPeriodDays"`
		} `xml:"trashcanConfig"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 32<<20)).Decode(&cfg); err != nil {
		return TrashStatus{}, fmt.Errorf("read the Trash Can configuration: decode the XML: %w", err)
	}
	// Artifactory's defaults (TrashcanConfigDescriptor): enabled, 14 days, when the elements are absent.
	st := TrashStatus{Known: true, Enabled: true, RetentionDays: 14}
	if cfg.Trashcan != nil {
		if cfg.Trashcan.Enabled != nil {
			st.Enabled = *cfg.Trashcan.Enabled
		}
		if cfg.Trashcan.RetentionPeriodDays != nil {
			st.RetentionDays = *cfg.Trashcan.RetentionPeriodDays
		}
	}
	return st, nil
}

// Exists reports whether repo/path exists (GET api/storage): 200 is true, 404 false, anything else an error.
func (c *Client) Exists(ctx context.Context, repo, path string) (bool, error) {
	u := c.base + "api/storage/" + strings.TrimPrefix(c.fileURL(repo, path), c.base)
	resp, err := c.send(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("look up %s/%s: %w", repo, path, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return true, nil
	case http.StatusNotFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return false, nil
	}
	return false, apiError("look up", repo+"/"+path, resp)
}

// InTrash reports whether the Trash Can holds repo/path (at auto-trashcan/<repo>/<path>).
func (c *Client) InTrash(ctx context.Context, repo, path string) (bool, error) {
	return c.Exists(ctx, TrashRepo, repo+"/"+path)
}

// trashURL is base + "api/trash/<op>/<repo>/<path>", each segment escaped.
func (c *Client) trashURL(op, repo, path string) string {
	return c.base + "api/trash/" + op + "/" + strings.TrimPrefix(c.fileURL(repo, path), c.base)
}

// RestoreFromTrash moves auto-trashcan/<repo>/<path> back to repo/path (POST api/trash/restore, which needs an
// admin). It does not look whether repo/path exists again: Artifactory would merge into it, so callers check first.
// A restore whose answer was lost is retried by the transport, and the retry then finds nothing to restore: after an
// error, callers look whether the item is back and gone from the Trash Can before reporting a failure.
func (c *Client) RestoreFromTrash(ctx context.Context, repo, path string) error {
	u := c.trashURL("restore", repo, path) + "?to=" + url.QueryEscape(repo+"/"+path)
	resp, err := c.send(ctx, http.MethodPost, u, nil)
	if err != nil {
		return fmt.Errorf("restore %s/%s from the Trash Can: %w", repo, path, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted, http.StatusNoContent:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	aerr := apiError("restore from the Trash Can", repo+"/"+path, resp)
	if isProOnly(aerr) {
		return fmt.Errorf("restore %s/%s: %w", repo, path, ErrTrashAPIUnavailable)
	}
	return aerr
}

// DeleteFromTrash permanently deletes auto-trashcan/<repo>/<path> (DELETE api/trash/clean, admins only). An item
// already gone is prune.ErrNotFound.
func (c *Client) DeleteFromTrash(ctx context.Context, repo, path string) error {
	resp, err := c.send(ctx, http.MethodDelete, c.trashURL("clean", repo, path), nil)
	if err != nil {
		return fmt.Errorf("delete %s/%s from the Trash Can: %w", repo, path, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted, http.StatusNoContent:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	aerr := apiError("delete from the Trash Can", repo+"/"+path, resp)
	var ae *APIError
	if errors.As(aerr, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "Nothing to delete") {
		return fmt.Errorf("%w: %w", prune.ErrNotFound, aerr)
	}
	if isProOnly(aerr) {
		return fmt.Errorf("delete %s/%s from the Trash Can: %w", repo, path, ErrTrashAPIUnavailable)
	}
	return aerr
}

// DeleteProperties removes the property keys from repo/path and, for a folder, from everything below it
// (DELETE api/storage/...?properties=...&recursive=1).
func (c *Client) DeleteProperties(ctx context.Context, repo, path string, keys []string) error {
	return c.properties(ctx, http.MethodDelete, repo, path, strings.Join(keys, ","), true, "delete properties of", repo+"/"+path)
}

// properties sends method (PUT sets, DELETE removes) to api/storage/<repo>/<path>?properties=spec, recursively or
// not; op and what name the call in its error.
func (c *Client) properties(ctx context.Context, method, repo, path, spec string, recursive bool, op, what string) error {
	rec := "0"
	if recursive {
		rec = "1"
	}
	u := c.base + "api/storage/" + strings.TrimPrefix(c.fileURL(repo, path), c.base) +
		"?properties=" + url.QueryEscape(spec) + "&recursive=" + rec
	resp, err := c.send(ctx, method, u, nil)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, what, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	return apiError(op, what, resp)
}

func isProOnly(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusBadRequest && strings.Contains(ae.Message, "available only in Artifactory Pro")
}

// Restore implements prune.Restorer: it restores repo/path from the Trash Can, then removes the two properties
// Artifactory's restore leaves on every restored item (trash.originalRepository, trash.restoredTime) and artprune's
// own mark (artprune.trashed), so the folder holds the properties it had before it was deleted. (A folder that carried those properties before its delete,
// because it had been restored once already, loses them.)
func (c *Client) Restore(ctx context.Context, repo, path string) error {
	if err := c.RestoreFromTrash(ctx, repo, path); err != nil {
		return err
	}
	if err := c.DeleteProperties(ctx, repo, path, []string{PropTrashOrigRepo, PropTrashRestoredTime, PropTrashed}); err != nil {
		return fmt.Errorf("%w: %s/%s is back, but removing the properties Artifactory's restore leaves (%s, %s) failed: %w",
			prune.ErrRestoredIncompletely, repo, path, PropTrashOrigRepo, PropTrashRestoredTime, err)
	}
	return nil
}

// TrashCan returns what the report says of this status.
func (s TrashStatus) TrashCan() prune.TrashCan {
	switch {
	case !s.Known:
		return prune.TrashCan{State: prune.TrashUnknown}
	case !s.Enabled:
		return prune.TrashCan{State: prune.TrashDisabled}
	}
	days := s.RetentionDays
	return prune.TrashCan{State: prune.TrashEnabled, RetentionDays: &days}
}

var _ prune.Healer = (*Client)(nil)

// ReadTrashed implements prune.Healer: it reads the Trash Can's copy of repo/path.
func (c *Client) ReadTrashed(ctx context.Context, repo, path string, limit int64) ([]byte, error) {
	return c.ReadFile(ctx, TrashRepo, repo+"/"+path, limit)
}

// PropTrashed marks a folder artprune deleted, on its copy in the Trash Can. Its value is "<repo>@<trash.time>": the
// repository and the trash.time (epoch milliseconds) of the copy artprune marked, which binds the mark to that one
// deletion. Artifactory keeps an item's properties through a restore and copies them into the Trash Can on every
// later delete, so a mark can be carried onto someone else's deletion (an admin restores the folder outside artprune,
// someone deletes it again); that copy has another trash.time, so its mark does not match and it is not artprune's.
// Only folders whose mark matches their trash.time are ever purged (--purge-trash-after); a mark of an older artprune
// ("<repo>" alone) records no deletion and is never purged either.
const PropTrashed = "artprune.trashed"

// markValue is PropTrashed's value for the copy of a folder of repo trashed at trashTime (epoch milliseconds).
func markValue(repo, trashTime string) string { return repo + "@" + trashTime }

// MarkTrashed sets PropTrashed on the Trash Can's copy of repo/folder (PUT api/storage/auto-trashcan/...?properties,
// on the folder only), bound to the copy's trash.time, which it reads first (GET ...?properties). A copy without a
// trash.time is not marked (an error): an unmarked folder is never purged. It needs an admin, like everything in the
// Trash Can.
func (c *Client) MarkTrashed(ctx context.Context, repo, folder string) error {
	trashPath := repo + "/" + folder
	props, err := c.trashProps(ctx, trashPath)
	if err != nil {
		return fmt.Errorf("mark %s/%s in the Trash Can: %w", repo, folder, err)
	}
	at := props[PropTrashTime]
	if len(at) != 1 {
		return fmt.Errorf("mark %s/%s in the Trash Can: its copy has %d values of %s, want one: not marked", repo, folder, len(at), PropTrashTime)
	}
	if _, err := strconv.ParseInt(at[0], 10, 64); err != nil {
		return fmt.Errorf("mark %s/%s in the Trash Can: its %s %q is not a number: not marked", repo, folder, PropTrashTime, at[0])
	}
	return c.properties(ctx, http.MethodPut, TrashRepo, trashPath, PropTrashed+"="+markValue(repo, at[0]), false,
		"mark in the Trash Can", repo+"/"+folder)
}

var _ prune.TrashPurger = (*Client)(nil)

// TrashedFolders implements prune.TrashPurger: the Trash Can's folders of repo that carry PropTrashed for repo (bound
// to a deletion or, from an older artprune, not), each with its trash.time and the trash.time its mark records (read
// with the storage API).
func (c *Client) TrashedFolders(ctx context.Context, repo string, fn func(prune.TrashedFolder) error) error {
	q := Query{Criteria: fmt.Sprintf(`{"repo":%s,"type":"folder","$or":[{"@%s":%s},{"@%s":{"$match":%s}}]}`,
		jsonString(TrashRepo), PropTrashed, jsonString(repo), PropTrashed, jsonString(repo+"@*"))}
	var rows []Row
	if err := c.Search(ctx, q, func(r Row) error { rows = append(rows, r); return nil }); err != nil {
		return err
	}
	for _, r := range rows {
		trashPath := joinRel(r.Path, r.Name)
		folder, ok := strings.CutPrefix(trashPath, repo+"/")
		if !ok {
			continue
		}
		props, err := c.trashProps(ctx, trashPath)
		if err != nil {
			return err
		}
		tf := prune.TrashedFolder{Path: folder}
		raw := ""
		if v := props[PropTrashTime]; len(v) == 1 {
			if ms, err := strconv.ParseInt(v[0], 10, 64); err == nil {
				tf.TrashedAt, raw = time.UnixMilli(ms).UTC(), v[0]
			}
		}
		for _, v := range props[PropTrashed] {
			rest, ok := strings.CutPrefix(v, repo+"@")
			if !ok {
				continue // an older artprune's mark, or another repository's: it records no deletion
			}
			ms, err := strconv.ParseInt(rest, 10, 64)
			if err != nil {
				continue
			}
			if tf.MarkedAt.IsZero() || (raw != "" && v == markValue(repo, raw)) {
				tf.MarkedAt = time.UnixMilli(ms).UTC()
			}
		}
		if err := fn(tf); err != nil {
			return err
		}
	}
	return nil
}

// trashProps reads the properties of auto-trashcan/<trashPath> that the mark needs (trash.time, PropTrashed); an
// item without properties, or gone, has none.
func (c *Client) trashProps(ctx context.Context, trashPath string) (map[string][]string, error) {
	u := c.base + "api/storage/" + strings.TrimPrefix(c.fileURL(TrashRepo, trashPath), c.base) +
		"?properties=" + url.QueryEscape(PropTrashTime+","+PropTrashed)
	resp, err := c.send(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("read the properties of %s/%s: %w", TrashRepo, trashPath, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError("read the properties of", TrashRepo+"/"+trashPath, resp)
	}
	var body struct {
		Properties map[string][]string `json:"properties"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("read the properties of %s/%s: %w", TrashRepo, trashPath, err)
	}
	return body.Properties, nil
}

// TrashedFiles implements prune.TrashPurger: the files of the Trash Can's copies of repo's folders.
func (c *Client) TrashedFiles(ctx context.Context, repo string, folders []string, fn func(prune.File) error) error {
	clauses := make([]string, len(folders))
	for i, f := range folders {
		clauses[i] = fmt.Sprintf(`{"path":%s}`, jsonString(repo+"/"+f))
	}
	return c.searchBatched(ctx, TrashRepo, clauses, func(r Row) error {
		return fn(prune.File{Repo: r.Repo, Path: r.Path, Name: r.Name, Size: r.Size, SHA256: r.SHA256})
	})
}

// ChecksumHoldersAnywhere implements prune.TrashPurger: every file holding one of sums, in every repository the
// caller sees and in the Trash Can. AQL leaves the Trash Can out of queries without a repository equality
// (Artifactory's SpecialReposDecorator), so it is asked separately.
func (c *Client) ChecksumHoldersAnywhere(ctx context.Context, sums []string, fn func(prune.File) error) error {
	clauses := make([]string, len(sums))
	for i, s := range sums {
		clauses[i] = fmt.Sprintf(`{"sha256":%s}`, jsonString(s))
	}
	emit := func(r Row) error {
		return fn(prune.File{Repo: r.Repo, Path: r.Path, Name: r.Name, Size: r.Size, SHA256: r.SHA256})
	}
	if err := c.searchAll(ctx, clauses, emit); err != nil {
		return err
	}
	return c.searchBatched(ctx, TrashRepo, clauses, emit)
}

// searchAll runs {"type":"file","$or":[clauses...]} over every repository, in as few queries as AQL allows.
func (c *Client) searchAll(ctx context.Context, clauses []string, fn func(Row) error) error {
	return c.searchClauses(ctx, `{"type":"file","$or":[`, clauses, fn)
}
