package artifactory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/artprune/artprune/prune"
)

// MaxQueryChars is Artifactory's limit on the length of an AQL query.
const MaxQueryChars = 6000

// errQueryTooLong is wrapped by the error of a search whose query, bounds included, would exceed MaxQueryChars;
// it is found before the query is sent.
var errQueryTooLong = errors.New("AQL query too long")

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
	// ConfirmEnd makes Search prove that it saw every row: it asks for pages until one comes back empty, and then
	// runs the completeness probe (see [Client.Search]). Listings whose completeness matters for safety set it.
	ConfirmEnd bool
}

// ProbeMargin is how long before the server time of a listing's first page the completeness probe stops counting
// rows, so that rows created while the listing runs (and possibly missed by it) are not taken for hidden rows.
// It covers clock differences between the nodes of an Artifactory cluster.
const ProbeMargin = time.Minute

// Search runs q page by page, sorted by path and name, and calls fn for every row. Pages are keyed on the last
// (path, name) seen rather than on an offset: an offset skips rows when items are deleted between two pages, and a
// skipped tag would make its children look dangling. A page is decoded as a stream and delivered only once
// complete, so a failed page is retried without duplicates. A trimmed answer (range.notification) or a view
// filtered by permissions is an error wrapping prune.ErrIncomplete.
//
// Artifactory filters rows by permission after applying the offset and the limit, so a user who may not read
// some rows gets short or empty pages and no other sign. With q.ConfirmEnd, Search detects that:
//
//   - a short page followed by more rows means rows were filtered out;
//   - the completeness probe: let C be the server time of the first page minus [ProbeMargin], and k the number of
//     rows listed that were created before C. The same query, restricted to rows created before C and sorted by
//     path and name, is asked once ascending and once descending with .offset(k) and no limit (read only up to
//     its first row). Suppose n > k rows match, so some were hidden or missed. If more than k rows are visible,
//     one of them sits at an ascending position of k or more. Otherwise exactly k are: either a hidden row sits
//     among the first k ascending positions, pushing a visible row to position k or more, or the n-k hidden rows
//     sort last, so in descending order they come first and the visible rows fill positions n-k to n-1, and
//     n-1 >= k. Either way one of the two answers holds a row. If the view is complete, both answers are empty
//     and cost little. Rows created after C are left out of both counts, so pushes during the run cause no false
//     alarm. (With k = 0 nothing visible was listed, so nothing can be planned either way.)
//
// The probe relies on Artifactory applying .offset before the permission filter, as it does .limit, and on no row
// created before C being deleted while the listing runs (a deletion can hide a hidden row from the count).
//
// On a server whose AQL refuses sort (found by [Client.Server], or by the first refusal) Search lists in
// unsorted partitions instead, with the same promise for admins; see searchPartitioned.
func (c *Client) Search(ctx context.Context, q Query, fn func(Row) error) error {
	info, err := c.Server(ctx)
	if err != nil {
		return err
	}
	if !info.Sorts {
		return c.searchPartitioned(ctx, q, info, fn)
	}
	delivered := false
	err = c.searchSorted(ctx, q, func(r Row) error { delivered = true; return fn(r) })
	if msg, refused := isSortRefusal(err); refused && !delivered {
		c.sortRefused(msg)
		if info, err = c.Server(ctx); err != nil {
			return err
		}
		return c.searchPartitioned(ctx, q, info, fn)
	}
	return err
}

// searchSorted is Search keyset-paged on a sort.
func (c *Client) searchSorted(ctx context.Context, q Query, fn func(Row) error) error {
	var last *Row
	filtered := false
	var cutoff time.Time // C; zero when the first page had no Date header: then every row counts
	counted := 0         // rows listed that were created before C
	for page := 0; ; page++ {
		criteria := q.Criteria
		if last != nil {
			criteria = fmt.Sprintf(`{"$and":[%s,{"$or":[{"path":{"$gt":%s}},{"$and":[{"path":{"$eq":%s}},{"name":{"$gt":%s}}]}]}]}`,
				q.Criteria, jsonString(last.Path), jsonString(last.Path), jsonString(last.Name))
		}
		query := fmt.Sprintf(`items.find(%s).include(%s).sort({"$asc":["path","name"]}).limit(%d)`,
			criteria, quoteList(rowFields), c.pageSize)
		if len(query) > MaxQueryChars {
			return fmt.Errorf("AQL query of %d characters exceeds Artifactory's limit of %d: %w", len(query), MaxQueryChars, errQueryTooLong)
		}
		rows, date, err := c.aqlPage(ctx, query)
		if err != nil {
			return fmt.Errorf("AQL page %d: %w", page+1, err)
		}
		if page == 0 && !date.IsZero() {
			cutoff = date.Add(-ProbeMargin)
		}
		if filtered && len(rows) > 0 {
			return fmt.Errorf("AQL results are filtered by permissions (a short page was followed by more rows): %w; "+
				"run artprune as a user who can read the whole repository", prune.ErrIncomplete)
		}
		for _, r := range rows {
			if createdBefore(r, cutoff) {
				counted++
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(rows) == 0 && q.ConfirmEnd {
			return c.probeComplete(ctx, q.Criteria, cutoff, counted)
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

// createdBefore reports whether row r was created before cutoff (always, for a zero cutoff). A row whose creation
// time cannot be read is not counted, which can only make the probe fail closed.
func createdBefore(r Row, cutoff time.Time) bool {
	if cutoff.IsZero() {
		return true
	}
	t, err := ParseTime(r.Created)
	return err == nil && t.Before(cutoff)
}

// probeComplete runs the completeness probe of [Client.Search]: it returns an error wrapping prune.ErrIncomplete
// if the query matches more rows created before cutoff than the counted ones that were listed.
func (c *Client) probeComplete(ctx context.Context, criteria string, cutoff time.Time, counted int) error {
	if !cutoff.IsZero() {
		ts := jsonString(cutoff.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		criteria = fmt.Sprintf(`{"$and":[%s,{"created":{"$lt":%s}}]}`, criteria, ts)
	}
	for _, order := range []string{"$asc", "$desc"} {
		// No limit: a limit would look at a window of positions, which hidden rows can fill. The answer is read
		// only up to its first row.
		query := fmt.Sprintf(`items.find(%s).include(%s).sort({%q:["path","name"]}).offset(%d)`,
			criteria, quoteList(rowFields), order, counted)
		if len(query) > MaxQueryChars {
			return fmt.Errorf("AQL completeness probe of %d characters exceeds Artifactory's limit of %d: %w", len(query), MaxQueryChars, errQueryTooLong)
		}
		rows, _, err := c.aqlQuery(ctx, query, 1)
		if err != nil {
			return fmt.Errorf("AQL completeness probe: %w", err)
		}
		if len(rows) > 0 {
			r := rows[0]
			return fmt.Errorf("AQL results are filtered by permissions: %d rows were listed, but Artifactory holds more "+
				"(the completeness probe found %q at sorted position %d or beyond): %w; "+
				"run artprune as a user who can read the whole repository", counted, r.Repo+"/"+r.Path+"/"+r.Name, counted, prune.ErrIncomplete)
		}
	}
	return nil
}

// aqlPage runs one query and decodes its whole answer, retrying a failed or cut-short answer. It returns the rows
// and the server's time from the answer's Date header (zero if absent).
func (c *Client) aqlPage(ctx context.Context, query string) ([]Row, time.Time, error) {
	return c.aqlQuery(ctx, query, 0)
}

// aqlQuery is aqlPage reading at most maxRows rows of the answer (0: all of it, checked for trimming and size).
func (c *Client) aqlQuery(ctx context.Context, query string, maxRows int) ([]Row, time.Time, error) {
	var lastErr error
	for attempt := 1; attempt <= c.backoff.Attempts; attempt++ {
		rows, date, retry, err := c.aqlOnce(ctx, query, maxRows)
		if err == nil {
			return rows, date, nil
		}
		if !retry || ctx.Err() != nil {
			return nil, time.Time{}, err
		}
		lastErr = err
		c.log.Debug("retrying AQL page", "attempt", attempt, "error", err)
		if err := sleep(ctx, c.backoff.wait(attempt, 0)); err != nil {
			return nil, time.Time{}, err
		}
	}
	return nil, time.Time{}, lastErr
}

func (c *Client) aqlOnce(ctx context.Context, query string, maxRows int) (rows []Row, date time.Time, retry bool, err error) {
	if err := c.acquireAQL(ctx); err != nil {
		return nil, date, false, err
	}
	defer c.releaseAQL()
	sent := time.Now()
	resp, err := c.sendWith(ctx, http.MethodPost, c.base+"api/search/aql", []byte(query), map[string]string{"Content-Type": "text/plain"})
	if err != nil {
		return nil, date, retryableError(err), fmt.Errorf("search: %w", err)
	}
	c.clock.observe("an AQL answer's Date", resp, sent, time.Now())
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, date, false, apiError("AQL search", "api/search/aql", resp)
	}
	date, _ = http.ParseTime(resp.Header.Get("Date"))
	if maxRows > 0 {
		rows, err := decodeAQLHead(json.NewDecoder(resp.Body), maxRows)
		if err != nil {
			return nil, date, true, fmt.Errorf("decode AQL answer: %w", err)
		}
		return rows, date, false, nil
	}
	rows, rng, err := decodeAQL(json.NewDecoder(resp.Body))
	if err != nil {
		return nil, date, true, fmt.Errorf("decode AQL answer: %w", err)
	}
	if rng.Notification != "" {
		return nil, date, false, fmt.Errorf("Artifactory trimmed the AQL results (%q): %w", rng.Notification, prune.ErrIncomplete)
	}
	if limit := c.pageSize; len(rows) > limit {
		return nil, date, false, fmt.Errorf("AQL answered %d rows for a limit of %d: %w", len(rows), limit, prune.ErrIncomplete)
	}
	return rows, date, false, nil
}

// decodeAQL decodes {"results":[...],"range":{...}} as a stream, row by row. The answer must be that one object:
// a second "results" or "range" key, or anything after the object, is an error, since an answer that parsers could
// read in different ways cannot be trusted to be complete.
func decodeAQL(dec *json.Decoder) ([]Row, aqlRange, error) {
	var rows []Row
	var rng aqlRange
	if err := expectDelim(dec, '{'); err != nil {
		return nil, rng, err
	}
	seenResults, seenRange := false, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, rng, err
		}
		key, _ := tok.(string)
		switch key {
		case "results":
			if seenResults {
				return nil, rng, errors.New(`malformed AQL answer: two "results" arrays`)
			}
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
			if seenRange {
				return nil, rng, errors.New(`malformed AQL answer: two "range" objects`)
			}
			seenRange = true
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
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, rng, err
		}
		return nil, rng, fmt.Errorf("malformed AQL answer: %v after the answer", tok)
	}
	if !seenResults {
		return nil, rng, errors.New(`AQL answer has no "results"`)
	}
	return rows, rng, nil
}

// decodeAQLHead decodes the first rows of an AQL answer, at most max of them; an answer with fewer rows is read
// to its end like decodeAQL reads it.
func decodeAQLHead(dec *json.Decoder, max int) ([]Row, error) {
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if key, _ := tok.(string); key != "results" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return nil, err
		}
		var rows []Row
		for dec.More() && len(rows) < max {
			var r Row
			if err := dec.Decode(&r); err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
		if len(rows) == max {
			return rows, nil
		}
		if err := expectDelim(dec, ']'); err != nil {
			return nil, err
		}
		return rows, nil
	}
	return nil, errors.New(`AQL answer has no "results"`)
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
