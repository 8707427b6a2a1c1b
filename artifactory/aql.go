package artifactory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/artprune/artprune/prune"
)

// MaxQueryChars is Artifactory's limit on the length of an AQL query.
const MaxQueryChars = 6000

// Row is one AQL result row, with the fields artprune includes.
type Row struct {
	Repo     string `json:"repo"`
	Path     string `json:"path"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Created  string `json:"created"`
	Modified string `json:"modified"`
	Updated  string `json:"updated"`
}

// rowFields are the fields every artprune query includes: primary-domain fields only, so that sort and limit work.
var rowFields = []string{"repo", "path", "name", "type", "size", "sha256", "created", "modified", "updated"}

// aqlRange is the "range" object of an AQL answer.
type aqlRange struct {
	StartPos     int    `json:"start_pos"`
	EndPos       int    `json:"end_pos"`
	Total        int    `json:"total"`
	Limit        int    `json:"limit"`
	Notification string `json:"notification"`
}

// Query describes a paged search: Criteria is the JSON object given to items.find.
type Query struct {
	Criteria string
	// ConfirmEnd asks for pages until one comes back empty. Artifactory filters rows by permission after applying
	// the limit, so a short page does not prove the end; listings whose completeness matters for safety set it.
	ConfirmEnd bool
}

// Search runs q page by page, sorted by path and name, and calls fn for every row. Pages are keyed on the last
// (path, name) seen rather than on an offset: an offset skips rows when items are deleted between two pages, and a
// skipped tag would make its children look dangling. A page is decoded as a stream and delivered only once
// complete, so a failed page is retried without duplicates. A trimmed answer (range.notification) or a view
// filtered by permissions is an error wrapping prune.ErrIncomplete.
func (c *Client) Search(ctx context.Context, q Query, fn func(Row) error) error {
	var last *Row
	filtered := false
	for page := 0; ; page++ {
		criteria := q.Criteria
		if last != nil {
			criteria = fmt.Sprintf(`{"$and":[%s,{"$or":[{"path":{"$gt":%s}},{"$and":[{"path":{"$eq":%s}},{"name":{"$gt":%s}}]}]}]}`,
				q.Criteria, jsonString(last.Path), jsonString(last.Path), jsonString(last.Name))
		}
		query := fmt.Sprintf(`items.find(%s).include(%s).sort({"$asc":["path","name"]}).limit(%d)`,
			criteria, quoteList(rowFields), c.pageSize)
		if len(query) > MaxQueryChars {
			return fmt.Errorf("AQL query of %d characters exceeds Artifactory's limit of %d", len(query), MaxQueryChars)
		}
		rows, err := c.aqlPage(ctx, query)
		if err != nil {
			return fmt.Errorf("AQL page %d: %w", page+1, err)
		}
		if filtered && len(rows) > 0 {
			return fmt.Errorf("AQL results are filtered by permissions (a short page was followed by more rows): %w; "+
				"run artprune as a user who can read the whole repository", prune.ErrIncomplete)
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rows) == 0 || (len(rows) < c.pageSize && !q.ConfirmEnd) {
			return nil
		}
		if len(rows) < c.pageSize {
			filtered = true
		}
		last = &rows[len(rows)-1]
	}
}

// aqlPage runs one query and decodes its whole answer, retrying a failed or cut-short answer.
func (c *Client) aqlPage(ctx context.Context, query string) ([]Row, error) {
	var lastErr error
	for attempt := 1; attempt <= c.backoff.Attempts; attempt++ {
		rows, retry, err := c.aqlOnce(ctx, query)
		if err == nil {
			return rows, nil
		}
		if !retry || ctx.Err() != nil {
			return nil, err
		}
		lastErr = err
		c.log.Debug("retrying AQL page", "attempt", attempt, "error", err)
		if err := sleep(ctx, c.backoff.wait(attempt, 0)); err != nil {
			return nil, err
		}
	}
	return nil, lastErr
}

func (c *Client) aqlOnce(ctx context.Context, query string) (rows []Row, retry bool, err error) {
	sm, err := c.manager(ctx)
	if err != nil {
		return nil, false, err
	}
	details := c.httpDetails(sm)
	details.Headers["Content-Type"] = "text/plain"
	resp, _, _, err := sm.Client().Send(http.MethodPost, c.base+"api/search/aql", []byte(query), true, false, &details, "")
	if err != nil {
		return nil, retryableError(err), fmt.Errorf("search: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false, apiError("AQL search", "api/search/aql", resp)
	}
	rows, rng, err := decodeAQL(json.NewDecoder(resp.Body))
	if err != nil {
		return nil, true, fmt.Errorf("decode AQL answer: %w", err)
	}
	if rng.Notification != "" {
		return nil, false, fmt.Errorf("Artifactory trimmed the AQL results (%q): %w", rng.Notification, prune.ErrIncomplete)
	}
	if limit := c.pageSize; len(rows) > limit {
		return nil, false, fmt.Errorf("AQL answered %d rows for a limit of %d: %w", len(rows), limit, prune.ErrIncomplete)
	}
	return rows, false, nil
}

// decodeAQL decodes {"results":[...],"range":{...}} as a stream, row by row.
func decodeAQL(dec *json.Decoder) ([]Row, aqlRange, error) {
	var rows []Row
	var rng aqlRange
	if err := expectDelim(dec, '{'); err != nil {
		return nil, rng, err
	}
	seenResults := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, rng, err
		}
		key, _ := tok.(string)
		switch key {
		case "results":
			seenResults = true
			if err := expectDelim(dec, '['); err != nil {
				return nil, rng, err
			}
			for dec.More() {
				var r Row
				if err := dec.Decode(&r); err != nil {
					return nil, rng, err
				}
				rows = append(rows, r)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, rng, err
			}
		case "range":
			if err := dec.Decode(&rng); err != nil {
				return nil, rng, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, rng, err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, rng, err
	}
	if !seenResults {
		return nil, rng, errors.New(`AQL answer has no "results"`)
	}
	return rows, rng, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("malformed AQL answer: want %q, got %v", want, tok)
	}
	return nil
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func quoteList(fields []string) string {
	q := make([]string, len(fields))
	for i, f := range fields {
		q[i] = strconv.Quote(f)
	}
	return strings.Join(q, ",")
}

// ParseTime parses an Artifactory timestamp: ISO-8601 with milliseconds and a zone ("Z" or "+04:00").
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// Some versions print the zone without a colon: 2021-05-03T15:47:24.310+0000.
		t, err = time.Parse("2006-01-02T15:04:05.000Z0700", s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: want ISO-8601 such as 2021-05-03T15:47:24.310Z", s)
	}
	return t, nil
}
